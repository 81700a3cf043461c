"""What is compiled from a policy, kept once per fingerprint and shared.

An engine's guards, fold rules, contact rules, counters and state machine are
each compiled once per policy and shared by every engine and thread that runs
it. They are kept by the policy's fingerprint, a hash of its content, so an
entry can never stand for other rules than the policy asked about.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from staged_collection.policy import Policy

__all__ = ["PerPolicy"]

T = TypeVar("T")


class PerPolicy(Generic[T]):
    """One ``T`` per policy fingerprint, built on first use under a lock (every thread gets
    the same one). Bounded: past ``size`` policies it starts again, since a process rarely
    runs more at once."""

    __slots__ = ("_items", "_lock", "_size")

    def __init__(self, size: int = 64) -> None:
        self._items: dict[str, T] = {}
        self._lock = threading.Lock()
        self._size = size

    def get(self, policy: Policy, build: Callable[[], T]) -> T:
        """The ``T`` of ``policy``; ``build()`` makes it when there is none yet."""
        key = policy.fingerprint
        found = self._items.get(key)
        if found is None:
            with self._lock:
                found = self._items.get(key)
                if found is None:
                    if len(self._items) >= self._size:
                        self._items.clear()
                    found = self._items[key] = build()
        return found

    def __iter__(self) -> Iterator[str]:
        """The fingerprints held."""
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

"""What the store hands back: appends, stored events, log lines, a log's verification."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from staged_collection.case import Case
from staged_collection.decision import Decision
from staged_collection.events import Event
from staged_collection.outcome import Revision
from staged_collection.store._chain import LogEntry, LogProblem

__all__ = ["AppendResult", "LogEntry", "LogReport", "StoredEvent"]


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What an append did: the stream's new version, the case, and the decisions made.

    ``decisions`` judges each appended action and contact, in order (a contact recorded
    as a breach included); ``revisions`` are the earlier actions a late fact in the append
    shows the rules would have refused (each reported once). ``replayed`` is true when the
    idempotency key had been used: nothing was written, and this is the first result.
    """

    stream_id: str
    version: int
    case: Case
    decisions: tuple[Decision, ...]
    revisions: tuple[Revision, ...] = ()
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as the store holds it: its global position, its stream and version."""

    position: int
    stream_id: str
    version: int
    event: Event
    policy: str  # the fingerprint of the policy that judged it

    @property
    def recorded_at(self) -> dt.datetime:
        """When the lender learned of the event (the caller's, or the store's clock)."""
        assert self.event.recorded_at is not None
        return self.event.recorded_at


@dataclass(frozen=True, slots=True)
class LogReport:
    """The result of verifying decision logs: how much was read, and the first problem of
    each stream whose log is not as the store wrote it."""

    streams: int
    lines: int
    problems: tuple[LogProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

"""Snapshots against replay: cost and size at 20, 200 and 2,000 events, and held-case memory.

Run: python bench/bench_durable.py

For a case of n events (a 12-instalment loan; calls, messages, notices and payments
spread over the history, the same last week), it measures in one interleaved run:
- ``replay`` of the n events (judged, as a service rebuilding a case would);
- ``replay(trusted=True)`` (folded without judging: a stored history);
- ``snapshot`` and ``restore``, and the snapshot's size in bytes;
and prints each as a ratio against ``replay`` of the 20-event case. Then the memory a
held case takes, with ``tracemalloc``: built by replay, and restored from a snapshot.

Aims (issue 10): restore at least 10x cheaper than replay of a 20-event case and flat
beyond; a restored case at most 8 KB.
"""

from __future__ import annotations

import datetime as dt
import gc
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _book import BORROWER, LOAN
from _timing import interleaved

from staged_collection import Case, Engine, Event, parse_event

ENGINE = Engine("cn")
END = dt.datetime(2026, 9, 1, 2, tzinfo=dt.UTC)


_KINDS = (
    {"type": "payment", "amount": "1.00"},
    {"type": "contact", "channel": "call", "number": "+8613800000000", "outcome": "no_answer"},
    {"type": "notice", "kind": "reminder"},
    {"type": "contact", "channel": "sms", "outcome": "delivered"},
)
_LAST_WEEK = 10


def history(n: int) -> list[Event]:
    """``n`` events ending on END, the last week the same whatever ``n``: the older ones
    spread over the 240 days before it, in daytime in Shanghai."""
    old = n - _LAST_WEEK
    per_day = max(1, -(-old // 240))
    first = END - dt.timedelta(days=8 + -(-old // per_day))
    times = [
        first + dt.timedelta(days=i // per_day, minutes=(i % per_day) * (8 * 60) // per_day)
        for i in range(old)
    ]
    week = END - dt.timedelta(days=7)
    times += [week + dt.timedelta(days=i // 2, hours=4 * (i % 2)) for i in range(_LAST_WEEK)]
    return [
        parse_event({**_KINDS[i % len(_KINDS)], "at": at.isoformat()}, currency="CNY")
        for i, at in enumerate(times)
    ]


def per_case_bytes(make: Callable[[], Case], n: int = 200) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    held = [make() for _ in range(n)]
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    total = sum(s.size_diff for s in after.compare_to(before, "filename"))
    del held
    return total / n


def main() -> None:
    sizes = (20, 200, 2000)
    histories = {n: history(n) for n in sizes}
    cases = {n: ENGINE.replay(LOAN, BORROWER, histories[n]) for n in sizes}
    snaps = {n: ENGINE.snapshot(cases[n]) for n in sizes}
    candidates: dict[str, tuple[Callable[[], object], int]] = {}
    for n in sizes:
        events, case, snap = histories[n], cases[n], snaps[n]
        reps = max(2, 2000 // n)
        candidates[f"replay {n}"] = (lambda e=events: ENGINE.replay(LOAN, BORROWER, e), reps)
        candidates[f"replay trusted {n}"] = (
            lambda e=events: ENGINE.replay(LOAN, BORROWER, e, trusted=True),
            reps,
        )
        candidates[f"snapshot {n}"] = (lambda c=case: ENGINE.snapshot(c), 300)
        candidates[f"restore {n}"] = (lambda s=snap: ENGINE.restore(s), 300)
    best = interleaved(candidates, rounds=9)
    ref = best["replay 20"]
    print(f"{'operation':<22}{'cost':>12}{'x replay 20':>14}{'bytes':>9}")
    for name, seconds in best.items():
        n = int(name.rsplit(" ", 1)[1])
        size = f"{len(snaps[n]):>9}" if name.startswith("snapshot") else ""
        print(f"{name:<22}{seconds * 1e6:>10.1f}us{seconds / ref:>13.3f}x{size}")
    print()
    print(f"restore 2000 vs restore 20: {best['restore 2000'] / best['restore 20']:.2f}x")
    print(f"replay 20 vs restore 20: restore is {ref / best['restore 20']:.1f}x cheaper")
    held = per_case_bytes(lambda: ENGINE.replay(LOAN, BORROWER, histories[20]))
    restored = per_case_bytes(lambda: ENGINE.restore(snaps[20]))
    print(f"held case, 20 events, built by replay: {held / 1024:.1f} KB (events shared)")
    print(f"held case, restored from its snapshot: {restored / 1024:.1f} KB")


if __name__ == "__main__":
    main()

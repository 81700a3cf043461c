"""The cost of ``apply`` and ``check``, as ratios against references measured in the same run.

Run: python bench/bench_engine.py

References:
- a bare ``transitions`` trigger (a model added to a Machine, one guarded
  transition fired), the cost of the state-machine library alone;
- a plain-Python dict-based transition (look the move up, call a guard);
- the event's pydantic validation (what building the event costs a caller).

The aim (issue 3): ``apply`` within 2x of a bare trigger plus the event's
validation, and flat in the length of the history (10 vs 1,000 events).
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _book import BORROWER, LOAN
from _timing import interleaved, table
from transitions import Machine

from staged_collection import (
    Case,
    Engine,
    Escalate,
    Escalated,
    Notice,
    Payment,
    parse_event,
)

UTC = dt.UTC
ENGINE = Engine("cn")
PAYMENT = {"type": "payment", "at": "2026-04-20T04:00:00Z", "amount": "10.00"}


def case_with(n_events: int) -> Case:
    """A case in ``negotiation`` with a formal demand on file and ``n_events`` events in all."""
    case = ENGINE.open_case(LOAN, BORROWER)
    start = dt.datetime(2026, 1, 2, tzinfo=UTC)
    fillers = n_events - 2
    for i in range(fillers):  # reminders spread over the first 60 days
        at = start + dt.timedelta(seconds=i * 60 * 24 * 3600 // max(fillers, 1))
        case = ENGINE.apply(case, Notice(kind="reminder", at=at))
    case = ENGINE.apply(case, Escalated(to="negotiation", at=dt.datetime(2026, 3, 5, tzinfo=UTC)))
    case = ENGINE.apply(case, Notice(kind="formal_demand", at=dt.datetime(2026, 3, 6, tzinfo=UTC)))
    assert len(case) == n_events
    return case


def references() -> dict[str, tuple[Callable[[], object], int]]:
    class Model:
        pass

    model = Model()
    machine = Machine(
        model=model,
        states=["reminder", "negotiation"],
        initial="reminder",
        auto_transitions=False,
    )
    machine.add_transition("go", "reminder", "negotiation", conditions=[lambda: True])
    machine.add_transition("back", "negotiation", "reminder", conditions=[lambda: True])

    def trigger_pair() -> None:
        model.go()  # type: ignore[attr-defined]
        model.back()  # type: ignore[attr-defined]

    table_ = {("reminder", "go"): "negotiation", ("negotiation", "back"): "reminder"}
    state = {"s": "reminder"}

    def guard(s: str) -> bool:
        return s != ""

    def dict_pair() -> None:
        for trig in ("go", "back"):
            dest = table_[(state["s"], trig)]
            if guard(dest):
                state["s"] = dest

    return {
        "transitions trigger (x2)": (trigger_pair, 2_000),
        "dict transition (x2)": (dict_pair, 20_000),
        "event validation": (lambda: parse_event(PAYMENT, currency="CNY"), 2_000),
    }


def main() -> None:
    payment = parse_event(PAYMENT, currency="CNY")
    assert isinstance(payment, Payment)
    escalation = Escalated(to="formal", at=dt.datetime(2026, 4, 20, 4, tzinfo=UTC))
    at = escalation.at
    candidates = references()
    for n in (10, 1_000):
        case = case_with(n)
        candidates[f"apply payment ({n:,} events)"] = (
            lambda c=case: ENGINE.apply(c, payment),
            2_000,
        )
        candidates[f"apply escalation ({n:,} events)"] = (
            lambda c=case: ENGINE.apply(c, escalation),
            1_000,
        )
        candidates[f"check escalation ({n:,} events)"] = (
            lambda c=case: ENGINE.check(c, Escalate(to="formal"), at=at),
            2_000,
        )
    timed = interleaved(candidates)
    timed["transitions trigger"] = timed.pop("transitions trigger (x2)") / 2
    timed["dict transition"] = timed.pop("dict transition (x2)") / 2
    base = timed["transitions trigger"] + timed["event validation"]
    order = ["transitions trigger", "dict transition", "event validation"]
    order += [k for k in candidates if k in timed and k not in order]
    rows = [(name, timed[name] * 1e6, timed[name] / base) for name in order]
    results = {
        (name, n): timed[f"{name} ({n:,} events)"]
        for name in ("apply payment", "apply escalation", "check escalation")
        for n in (10, 1_000)
    }
    print(f"Python {sys.version.split()[0]}; ratios against a bare transitions trigger plus the")
    print("event's pydantic validation, measured in this run:\n")
    print(table(rows, ("operation", "per call", "ratio")))
    print()
    for name in ("apply payment", "apply escalation", "check escalation"):
        flat = results[(name, 1_000)] / results[(name, 10)]
        print(f"{name}: 1,000 events cost {flat:.2f}x of 10 events")


if __name__ == "__main__":
    main()

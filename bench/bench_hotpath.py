"""The hot path against a bare ``transitions`` trigger, measured in the same run.

Run: python bench/bench_hotpath.py [--rounds N]

A dialer asks "may I call now?" for every number it is about to dial and "when
next?" for every refusal; a service calls ``check`` and ``apply`` on every request.
Each operation below runs on cases of 10, 1,000 and 10,000 events that end with the
same last week, and is reported as a ratio against a bare ``transitions`` trigger
with a condition (allowed), in CPU time, interleaved: the best round of N and the
median of the paired ratios (each round's operation against that round's trigger),
which is steadier than either figure alone on a shared machine.

Further references: python-statemachine firing one event (when installed), a plain
Python dict transition, and the pydantic validation of one event (what ``apply``'s
aim adds to the trigger).

Aims (issue 12): check of a contact at most 0.75x a trigger under cn and us;
next_allowed at most 3x from any single refusal; apply of an escalation at most
1.5x (trigger + event validation); every operation flat in history length (10,000
events at most 1.2x of 10).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import statistics
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

from transitions import Machine

from staged_collection import (
    Borrower,
    Case,
    ContactAttempt,
    Engine,
    Escalate,
    Event,
    Loan,
    _contact,  # private: to measure a first question, cache cleared
    parse_event,
)

Fn = Callable[[], object]


def cpu_per_call(fn: Fn, number: int) -> float:
    start = time.process_time()
    for _ in range(number):
        fn()
    return (time.process_time() - start) / number


def measure(candidates: dict[str, tuple[Fn, int]], rounds: int) -> dict[str, list[float]]:
    """Per-call CPU seconds of each candidate in every round, rounds interleaved."""
    out: dict[str, list[float]] = {name: [] for name in candidates}
    for fn, _ in candidates.values():
        fn()
    gc.disable()
    try:
        for _ in range(rounds):
            for name, (fn, number) in candidates.items():
                out[name].append(cpu_per_call(fn, number))
            gc.collect()
    finally:
        gc.enable()
    return out


# -- references ---------------------------------------------------------------------------


def references() -> dict[str, tuple[Fn, int]]:
    class Model:
        pass

    model = Model()
    machine = Machine(model=model, states=["a", "b"], initial="a", auto_transitions=False)
    machine.add_transition("go", "a", "b", conditions=[lambda: True])
    machine.add_transition("go", "b", "a", conditions=[lambda: True])
    out: dict[str, tuple[Fn, int]] = {"trigger": (model.go, 3000)}  # type: ignore[attr-defined]

    table = {("a", "go"): "b", ("b", "go"): "a"}
    state = {"s": "a"}

    def dict_move() -> None:
        key = (state["s"], "go")
        if key in table and (lambda: True)():
            state["s"] = table[key]

    out["plain dict transition"] = (dict_move, 20000)
    out["event validation"] = (
        lambda: parse_event(
            {"type": "escalate", "at": "2026-03-05T02:00:00Z", "to": "negotiation"}
        ),
        3000,
    )
    try:
        from statemachine import State, StateMachine

        class Flip(StateMachine):  # type: ignore[misc]
            a = State(initial=True)
            b = State()
            go = a.to(b, cond="ok") | b.to(a, cond="ok")

            def ok(self) -> bool:
                return True

        flip = Flip()
        out["python-statemachine event"] = (flip.go, 1000)
    except ImportError:  # pragma: no cover - an optional reference
        pass
    return out


# -- cases ----------------------------------------------------------------------------------

LOAN = {
    "id": "L1",
    "principal": "12000.00",
    "opened": "2023-11-01",
    "installments": [{"due": "2023-12-01", "amount": "12000.00"}],
}
NUMBER = "+8613800000000"


def ev(data: dict[str, object], currency: str) -> Event:
    return parse_event(data, currency=currency)


def build(policy: str, zone: str, n: int, week: list[dict[str, object]]) -> tuple[Engine, Case]:
    """A case of ``n`` events: emails long ago, then ``week`` (the same whatever ``n``)."""
    engine = Engine(policy)
    currency = {"cn": "CNY", "us": "USD"}[policy]
    loan = Loan.model_validate({**LOAN, "currency": currency})
    borrower = Borrower(id="B1", timezones=(zone,), phones=(NUMBER,))
    old = n - len(week)
    start = dt.datetime(2024, 1, 2, 14, tzinfo=dt.UTC)
    events = [
        ev(
            {
                "type": "contact",
                "at": (start + dt.timedelta(hours=i)).isoformat(),
                "channel": "email",
                "outcome": "delivered",
            },
            currency,
        )
        for i in range(old)
    ]
    events += [ev(e, currency) for e in week]
    return engine, engine.replay(loan, borrower, events, trusted=True)


def local(day: int, hour: int, zone: str) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, tzinfo=ZoneInfo(zone))


def call(at: dt.datetime, outcome: str) -> dict[str, object]:
    return {
        "type": "contact",
        "at": at.isoformat(),
        "channel": "call",
        "number": NUMBER,
        "outcome": outcome,
    }


def operations(n: int) -> dict[str, tuple[Fn, int]]:
    out: dict[str, tuple[Fn, int]] = {}
    attempt = ContactAttempt(channel="call", number=NUMBER)
    for policy, zone in (("cn", "Asia/Shanghai"), ("us", "America/New_York")):
        # The last week: a call a day unanswered, two this morning: under every cap (cn six
        # unanswered a number a day; us seven calls in seven days, so six here).
        week = [call(local(d, 10, zone), "no_answer") for d in range(4, 8)]
        week += [call(local(9, h, zone), "no_answer") for h in (9, 10)]
        engine, case = build(policy, zone, n, week)
        noon, late = local(9, 12, zone), local(9, 23, zone)
        assert engine.check(case, attempt, at=noon).allowed, policy  # what the name says
        assert not engine.check(case, attempt, at=late).allowed, policy
        out[f"{policy} check contact, allowed"] = (
            lambda e=engine, c=case, t=noon: e.check(c, attempt, at=t),
            1000,
        )
        out[f"{policy} check contact, refused"] = (
            lambda e=engine, c=case, t=late: e.check(c, attempt, at=t),
            1000,
        )
        out[f"{policy} next_allowed from quiet hours"] = (
            lambda e=engine, c=case, t=late: e.next_allowed(c, attempt, after=t),
            300,
        )
        # The same, as the first question about these hours (policy, channel, zones, stated
        # ranges): the allowed intervals of the days ahead worked out again, not shared.
        out[f"{policy} next_allowed from quiet hours, first"] = (
            lambda e=engine, c=case, t=late: (
                _contact._HOURS_CACHE.clear(),
                e.next_allowed(c, attempt, after=t),
            ),
            300,
        )
        # A cap: cn six unanswered today on the number; us seven calls in seven days.
        capped = (
            [call(local(9, 8 + h, zone), "no_answer") for h in range(6)]
            if policy == "cn"
            else [call(local(d, 10, zone), "no_answer") for d in range(3, 10)]
        )
        engine, full = build(policy, zone, n, capped)
        afternoon = local(9, 15, zone)
        out[f"{policy} next_allowed from a frequency cap"] = (
            lambda e=engine, c=full, t=afternoon: e.next_allowed(c, attempt, after=t),
            300,
        )
        if policy == "us":
            engine, talked = build(policy, zone, n, [call(local(7, 10, zone), "conversation")])
            out["us next_allowed from a cooldown"] = (
                lambda e=engine, c=talked, t=noon: e.next_allowed(c, attempt, after=t),
                300,
            )
    engine, case = build("cn", "Asia/Shanghai", n, [])
    pay = ev({"type": "payment", "at": "2026-03-05T02:00:00Z", "amount": "1.00"}, "CNY")
    up = ev({"type": "escalate", "at": "2026-03-05T02:00:00Z", "to": "negotiation"}, "CNY")
    dial = ev(call(local(5, 10, "Asia/Shanghai"), "no_answer"), "CNY")
    at = dt.datetime(2026, 3, 5, 2, tzinfo=dt.UTC)
    out["cn apply payment"] = (lambda e=engine, c=case: e.apply(c, pay), 1000)
    out["cn apply escalation"] = (lambda e=engine, c=case: e.apply(c, up), 1000)
    out["cn apply contact"] = (lambda e=engine, c=case: e.apply(c, dial), 1000)
    out["cn check escalation"] = (
        lambda e=engine, c=case: e.check(c, Escalate(to="negotiation"), at=at),
        1000,
    )
    out["cn state"] = (lambda e=engine, c=case: e.state(c, at=at), 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args()
    refs = references()
    sizes = (10, 1_000, 10_000)
    ops = {n: operations(n) for n in sizes}
    candidates = dict(refs)
    for n, table in ops.items():
        candidates.update({f"{name} [{n}]": item for name, item in table.items()})
    runs = measure(candidates, args.rounds)
    trigger = runs["trigger"]
    validation = runs["event validation"]

    def ratio(name: str, against: list[float]) -> tuple[float, float]:
        best = min(runs[name]) / min(against)
        paired = statistics.median(a / b for a, b in zip(runs[name], against, strict=True))
        return best, paired

    print(f"CPU time, best of {args.rounds} interleaved rounds; ratios: best / paired median.")
    print(f"bare transitions trigger: {min(trigger) * 1e6:.2f} us\n")
    for name in refs:
        if name != "trigger":
            best, paired = ratio(name, trigger)
            print(f"  {name:<34}{min(runs[name]) * 1e6:8.2f} us  {best:5.2f}x / {paired:5.2f}x")
    print()
    head = f"{'operation':<40}" + "".join(f"{n:>16,}" for n in sizes) + f"{'10,000 vs 10':>14}"
    print(head)
    for name in ops[10]:
        cells = []
        reference = trigger
        if name.startswith("cn apply escalation"):
            reference = [a + b for a, b in zip(trigger, validation, strict=True)]
        for n in sizes:
            best, paired = ratio(f"{name} [{n}]", reference)
            cells.append(f"{best:7.2f}/{paired:5.2f}x")
        # Paired too: each round's 10,000-event case against that round's 10-event case.
        flat = statistics.median(
            a / b for a, b in zip(runs[f"{name} [10000]"], runs[f"{name} [10]"], strict=True)
        )
        print(f"{name:<40}" + "".join(f"{c:>16}" for c in cells) + f"{flat:>13.2f}x")
    print("\n(apply escalation is against trigger + event validation, as its aim says;")
    print(" 10,000 vs 10 is the paired median of the two sizes' per-round times)")


if __name__ == "__main__":
    main()

"""What-if: a book under another policy reports exactly the decisions the changed rule flips."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from staged_collection import (
    Case,
    Contact,
    ContactAttempt,
    Engine,
    Escalate,
    Escalated,
    Policy,
    Stage,
    load_policy,
)
from staged_collection.portfolio.book import BookCase, history_batches
from staged_collection.portfolio.runners import run_inline, run_pool
from staged_collection.portfolio.synthetic import END, synthetic_book
from staged_collection.portfolio.whatif import WhatIf, flip_rows, report, whatif_batches

AT = END + dt.timedelta(minutes=30)  # 08:30 in Shanghai and Hong Kong, 06:30 in Urumqi

Key = tuple[str, str, Any, str, str, tuple[str, ...]]


@pytest.fixture(scope="module")
def book() -> list[BookCase]:
    return sorted(
        synthetic_book(50, policy="cn", days=60), key=lambda c: (c.borrower.id, c.loan.id)
    )


def overlay(tmp_path: Path, name: str, body: str) -> Policy:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"extends: cn\nname: {name}\n{body}", encoding="utf-8")
    return load_policy(path)


def narrower_calls(tmp_path: Path) -> Policy:
    return overlay(
        tmp_path,
        "cn-calls-9-to-9",
        """
contact:
  quiet_hours:
    citation: "Lender policy: calls from 09:00 to 21:00"
    windows:
      call: {start: "09:00", end: "21:00"}
""",
    )


def flips(batches: Any) -> set[Key]:
    return {
        (f.source, f.case_id, f.version, f.action, f.became, f.codes) for f in flip_rows(batches)
    }


def in_band(at: dt.datetime, zones: tuple[str, ...]) -> bool:
    """Inside cn's call window (08:00-22:00) somewhere and outside 09:00-21:00 there."""
    for zone in zones:
        hour = at.astimezone(ZoneInfo(zone)).hour
        if hour == 8 or hour == 21:
            return True
    return False


def by_borrower(engine: Engine, book: list[BookCase]) -> dict[str, list[tuple[BookCase, Case]]]:
    out: dict[str, list[tuple[BookCase, Case]]] = defaultdict(list)
    for c in book:
        out[c.borrower.id].append(
            (c, engine.replay(c.loan, c.borrower, c.events, on_refused="record"))
        )
    return out


def test_narrower_call_hours_flip_exactly_the_calls_in_the_hours_taken_away(
    book: list[BookCase], tmp_path: Path
) -> None:
    b = narrower_calls(tmp_path)
    cn = Engine("cn")
    expected: set[Key] = set()
    call = ContactAttempt(channel="call")
    quiet = ("contact.quiet_hours",)
    for cases in by_borrower(cn, book).values():
        for c, case in cases:
            refused = {d.version + 1 for d in case.breaches}
            zones = c.borrower.timezones
            for version, e in enumerate(c.events, start=1):
                if (
                    isinstance(e, Contact)
                    and e.channel == "call"
                    and e.initiated_by == "collector"
                    and version not in refused
                    and in_band(e.at, zones)
                ):
                    expected.add(("history", c.loan.id, version, "contact:call", "refused", quiet))
            others = [o for _, o in cases if o is not case]
            if cn.check(case, call, at=AT, others=others).allowed and in_band(AT, case.zones):
                expected.add(("sweep", c.loan.id, None, "contact:call", "refused", quiet))
    got = flips(whatif_batches(history_batches(book), baseline="cn", policy=b, at=AT))
    assert {k[0] for k in expected} == {"history", "sweep"}  # the book has both kinds
    assert got == expected
    # The other way round, the same decisions flip back, explained by the same rule.
    back = flips(whatif_batches(history_batches(book), baseline=b, policy="cn", at=AT))
    assert back == {(s, c, v, a, "allowed", codes) for s, c, v, a, _, codes in expected}


def test_a_higher_negotiation_threshold_flips_exactly_the_escalations_below_it(
    book: list[BookCase], tmp_path: Path
) -> None:
    b = overlay(
        tmp_path,
        "cn-negotiation-45",
        """
ladder:
  negotiation: {min_dpd: 45, citation: "Lender strategy: negotiation from 45 days"}
""",
    )
    cn = Engine("cn")
    expected: set[Key] = set()
    to_negotiation = Escalate(to="negotiation")
    for cases in by_borrower(cn, book).values():
        for c, case in cases:
            refused = {d.version + 1 for d in case.breaches}
            for version, e in enumerate(c.events, start=1):
                if (
                    not (isinstance(e, Escalated) and e.to is Stage.NEGOTIATION)
                    or version in refused
                ):
                    continue
                before = cn.replay(c.loan, c.borrower, c.events[: version - 1], on_refused="record")
                if cn.state(before, at=e.at).dpd < 45:
                    expected.add(
                        (
                            "history",
                            c.loan.id,
                            version,
                            "escalate:negotiation",
                            "refused",
                            ("transition.min_dpd",),
                        )
                    )
            if cn.check(case, to_negotiation, at=AT).allowed and cn.state(case, at=AT).dpd < 45:
                expected.add(
                    (
                        "sweep",
                        c.loan.id,
                        None,
                        "escalate:negotiation",
                        "refused",
                        ("transition.min_dpd",),
                    )
                )
    got = flips(whatif_batches(history_batches(book), baseline="cn", policy=b, at=AT))
    assert any(k[0] == "history" for k in expected)
    assert got == expected


def test_the_report_counts_flips_by_rule_code_with_examples(
    book: list[BookCase], tmp_path: Path
) -> None:
    b = narrower_calls(tmp_path)
    out = report(whatif_batches(history_batches(book), baseline="cn", policy=b, at=AT), keep=2)
    doc = out.to_json()
    assert {(r["code"], r["source"], r["became"]) for r in doc["by_code"]} == {
        ("contact.quiet_hours", "history", "refused"),
        ("contact.quiet_hours", "sweep", "refused"),
    }
    assert sum(r["count"] for r in doc["by_code"]) == doc["flips"] > 0
    assert all(len(r["examples"]) == 2 for r in doc["by_code"])
    assert doc["errors"] == []


def test_the_same_policy_flips_nothing(book: list[BookCase]) -> None:
    assert flips(whatif_batches(history_batches(book), baseline="cn", policy="cn", at=AT)) == set()


def test_the_pool_runs_the_what_if_as_the_inline_runner_does(
    book: list[BookCase], tmp_path: Path
) -> None:
    job = WhatIf(load_policy("cn"), narrower_calls(tmp_path), AT)
    inline = flips(run_inline(job, history_batches(book, batch_size=16)))
    pooled = flips(run_pool(job, history_batches(book, batch_size=16), workers=2, chunk_cases=20))
    assert pooled == inline != set()


def test_a_history_that_cannot_be_read_is_one_error_row_and_the_others_run(
    book: list[BookCase],
) -> None:
    import pyarrow as pa

    batch = next(history_batches(book[:6], batch_size=6))
    rows = batch.to_pylist()
    rows[2]["loan"]["currency"] = "XXX"
    broken = pa.RecordBatch.from_pylist(rows, schema=batch.schema)
    out = report(whatif_batches([broken], baseline="cn", policy="cn", at=AT))
    assert [case for case, _ in out.errors] == [rows[2]["case_id"]]
    assert "XXX" in out.errors[0][1]
    assert out.flips == 0

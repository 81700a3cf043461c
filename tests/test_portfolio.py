"""The sweep's core: its answers are the engine's, case by case, under cn, us and uk."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from staged_collection import (
    Borrower,
    Case,
    Channel,
    ContactAttempt,
    Engine,
    Escalate,
    InputError,
    LegalAction,
    NaiveDatetimeError,
    Refer,
    Report,
    WriteOff,
    parse_event,
)
from staged_collection.portfolio import schemas
from staged_collection.portfolio.answers import AGENCY
from staged_collection.portfolio.book import BookCase, history_batches, snapshot_table
from staged_collection.portfolio.core import sweep_batches
from staged_collection.portfolio.synthetic import END, synthetic_book
from staged_collection.testing.strategies import borrowers, histories, loans
from tests.builders import make_loan, monthly_dues

REQUESTS: dict[str, Any] = {
    "escalate:negotiation": Escalate(to="negotiation"),
    "escalate:formal": Escalate(to="formal"),
    "refer": None,  # evaluated on the case's local day
    "report": Report(),
    "legal_action": LegalAction(),
    "write_off": WriteOff(),
}
SHAPE = {"transition.not_allowed", "transition.terminal"}


def duty_row(d: Any) -> dict[str, Any]:
    return {"code": str(d.code), "citation": d.citation, "due": d.due, "overdue": d.overdue}


def attempts(engine: Engine) -> dict[Channel, ContactAttempt]:
    visit = engine.policy.contact.field_visit.min_collectors
    return {
        c: ContactAttempt(channel=c, collectors=visit if c is Channel.FIELD_VISIT else 1)
        for c in Channel
    }


def days_zone(engine: Engine, borrower: Borrower) -> str:
    # The borrower's first zone is the case's calendar (the policy's home zone if none).
    return borrower.timezones[0] if borrower.timezones else engine.policy.home_timezone


def snapshot_batches(engine: Engine, cases: list[BookCase], size: int = 7) -> list[pa.RecordBatch]:
    # Small batches, so that a borrower's cases straddle batch boundaries.
    batches: list[pa.RecordBatch] = snapshot_table(engine, cases).to_batches(max_chunksize=size)
    return batches


def assert_row_is_the_engines(
    engine: Engine,
    row: dict[str, Any],
    case: Case,
    borrower: Borrower,
    others: list[Case],
    at: dt.datetime,
) -> None:
    assert row["error"] is None, row["error"]
    state = engine.state(case, at=at)
    assert row["version"] == case.version
    assert row["stage"] == state.stage
    assert row["bureau"] == state.bureau
    assert row["bureau_disputed"] == state.bureau_disputed
    assert row["holds"] == [h.value for h in state.holds]
    assert row["dpd"] == state.dpd
    assert row["currency"] == state.overdue.currency
    assert row["overdue"] == state.overdue.amount
    assert row["balance"] == state.balance.amount
    assert row["duties"] == [duty_row(d) for d in state.duties]
    due = [m["dest"] for m in row["moves_due"]]
    assert due == ([state.stage.value] if state.stage != case.stage else [])
    listed = {e["action"]: e for e in row["escalations"]}
    day = at.astimezone(ZoneInfo(days_zone(engine, borrower))).date()
    for name, request in REQUESTS.items():
        d = engine.check(case, request or Refer(agency=AGENCY, evaluated_on=day), at=at)
        if name in listed:
            e = listed[name]
            assert (e["allowed"], e["codes"], e["retry_at"]) == (
                d.allowed,
                [str(c) for c in d.codes],
                d.retry_at,
            ), name
        else:  # left out: refused by the ladder's shape alone
            assert not d.allowed
            assert SHAPE & {str(c) for c in d.codes}, (name, d.codes)
    for channel, attempt in attempts(engine).items():
        expected = engine.next_allowed(case, attempt, after=at, others=others)
        assert row[schemas.next_column(channel)] == expected, (channel, row["case_id"])


def check_book(policy: str, book: list[BookCase], at: dt.datetime, *, via: str) -> int:
    engine = Engine(policy)
    book = sorted(book, key=lambda c: (c.borrower.id, c.loan.id))
    cases = {c.loan.id: engine.replay(c.loan, c.borrower, c.events, trusted=True) for c in book}
    by_borrower: dict[str, list[str]] = defaultdict(list)
    for c in book:
        by_borrower[c.borrower.id].append(c.loan.id)
    batches = (
        snapshot_batches(engine, book)
        if via == "snapshots"
        else list(history_batches(book, batch_size=5))
    )
    out = pa.Table.from_batches(list(sweep_batches(batches, policy=policy, at=at)))
    assert out.schema == schemas.todo()
    rows = out.to_pylist()
    assert [r["case_id"] for r in rows] == [c.loan.id for c in book]
    for row, c in zip(rows, book, strict=True):
        others = [cases[i] for i in by_borrower[c.borrower.id] if i != c.loan.id]
        assert_row_is_the_engines(engine, row, cases[c.loan.id], c.borrower, others, at)
    return len(rows)


BOOKS: dict[str, list[BookCase]] = {}


def book(policy: str) -> list[BookCase]:
    if policy not in BOOKS:
        BOOKS[policy] = list(synthetic_book(50, policy=policy, days=75))
    return BOOKS[policy]


# Instants at the book's end: morning and late evening in the books' zones, and a month on.
INSTANTS = (
    END + dt.timedelta(hours=1),
    END + dt.timedelta(hours=13, minutes=30),
    END + dt.timedelta(days=31, hours=5),
)


@pytest.mark.parametrize("policy", ["cn", "us", "uk"])
@pytest.mark.parametrize("at", INSTANTS, ids=["end+1h", "end+13h30", "end+31d"])
def test_the_sweep_of_a_generated_book_is_the_engines_case_by_case(
    policy: str, at: dt.datetime
) -> None:
    assert check_book(policy, book(policy), at, via="snapshots") > 40


def test_the_generated_books_reach_every_answer_the_comparison_needs() -> None:
    """The books above are worth comparing on: every stage open to contact, contacts allowed
    now, later and never, moves due, escalations allowed and refused."""
    seen: dict[str, set[Any]] = defaultdict(set)
    for policy in ("cn", "us", "uk"):
        engine = Engine(policy)
        cases = sorted(book(policy), key=lambda c: (c.borrower.id, c.loan.id))
        for at in INSTANTS:
            out = pa.Table.from_batches(
                list(sweep_batches(snapshot_batches(engine, cases, 64), policy=policy, at=at))
            )
            for row in out.to_pylist():
                for channel in Channel:
                    nxt = row[schemas.next_column(channel)]
                    kind = "never" if nxt is None else "now" if nxt == at else "later"
                    seen[kind].add((row["stage"], channel))
                seen["moves"].update(m["trigger"] for m in row["moves_due"])
                seen["escalations"].update((e["action"], e["allowed"]) for e in row["escalations"])
    open_stages = {"current", "reminder", "negotiation", "formal", "third_party"}
    assert open_stages <= {stage for stage, _ in seen["now"]}
    assert open_stages <= {stage for stage, _ in seen["later"]}
    assert {"resolved", "written_off"} <= {stage for stage, _ in seen["never"]}
    assert seen["moves"] == {"overdue"}
    for action in REQUESTS:
        assert (action, False) in seen["escalations"], action
    assert {a for a, allowed in seen["escalations"] if allowed} >= {
        "escalate:negotiation",
        "refer",
        "report",
        "legal_action",
        "write_off",
    }


@pytest.mark.parametrize("policy", ["us", "uk"])
def test_the_open_duties_are_the_states_with_their_deadlines(policy: str) -> None:
    engine = Engine(policy)
    cases = sorted(book(policy), key=lambda c: (c.borrower.id, c.loan.id))
    at = INSTANTS[0]
    out = pa.Table.from_batches(
        list(sweep_batches(snapshot_batches(engine, cases, 64), policy=policy, at=at))
    )
    seen = 0
    for row, c in zip(out.to_pylist(), cases, strict=True):
        state = engine.state(engine.replay(c.loan, c.borrower, c.events, trusted=True), at=at)
        assert row["duties"] == [duty_row(d) for d in state.duties]
        seen += len(row["duties"])
    assert seen, f"the {policy} book opens no duty: the comparison shows nothing"


@pytest.mark.parametrize("policy", ["cn", "us", "uk"])
def test_histories_give_the_same_answers_as_snapshots(policy: str) -> None:
    at = INSTANTS[0]
    engine = Engine(policy)
    cases = sorted(book(policy), key=lambda c: (c.borrower.id, c.loan.id))
    from_snapshots = pa.Table.from_batches(
        list(sweep_batches(snapshot_batches(engine, cases), policy=policy, at=at))
    )
    from_histories = pa.Table.from_batches(
        list(sweep_batches(history_batches(cases), policy=policy, at=at))
    )
    assert from_histories.equals(from_snapshots)


@st.composite
def small_books(draw: st.DrawFn) -> tuple[str, list[BookCase], dt.datetime]:
    """One borrower with one or two loans whose histories are drawn from the testing kit."""
    policy = draw(st.sampled_from(["cn", "us", "uk"]))
    currency = {"cn": "CNY", "us": "USD", "uk": "GBP"}[policy]
    borrower = draw(borrowers())
    out = []
    last = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for k in range(draw(st.integers(1, 2))):
        loan = draw(loans(currency)).model_copy(update={"id": f"L{k}"})
        events = draw(histories(loan, max_size=12))
        out.append(BookCase(loan, borrower, tuple(events)))
        last = max([last, *(e.at for e in events)])
    at = last + dt.timedelta(minutes=draw(st.integers(0, 60 * 24 * 40)))
    return policy, out, at


@given(small_books())
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_the_sweep_is_the_engine_on_drawn_histories(
    drawn: tuple[str, list[BookCase], dt.datetime],
) -> None:
    policy, cases, at = drawn
    engine = Engine(policy)
    # Replay under the policy recording refusals: the case a book would hold after them.
    folded = [engine.replay(c.loan, c.borrower, c.events, on_refused="record") for c in cases]
    rows = [
        {
            "case_id": c.loan.id,
            "borrower_id": c.borrower.id,
            "version": f.version,
            "snapshot": engine.snapshot(f),
        }
        for c, f in zip(cases, folded, strict=True)
    ]
    table = pa.Table.from_pylist(rows, schema=schemas.snapshots())
    out = pa.Table.from_batches(list(sweep_batches(table.to_batches(), policy=policy, at=at)))
    for row, c, case in zip(out.to_pylist(), cases, folded, strict=True):
        others = [f for f in folded if f is not case]
        assert_row_is_the_engines(engine, row, case, c.borrower, others, at)


def _talk(at: str) -> Any:
    return parse_event(
        {
            "type": "contact",
            "at": at,
            "channel": "call",
            "outcome": "conversation",
            "number": "+8613800000001",
        },
        currency="CNY",
    )


def test_per_debtor_caps_count_across_two_loans_of_one_borrower() -> None:
    """cn: three conversations a day per debtor, across all their loans."""
    engine = Engine("cn")
    borrower = Borrower(id="B1", timezones=("Asia/Shanghai",))
    a = make_loan(monthly_dues(2), loan_id="LA")
    b = make_loan(monthly_dues(2), loan_id="LB")
    # Two conversations on loan A and one on loan B, the same local day (2026-02-10).
    on_a = (_talk("2026-02-10T10:00:00+08:00"), _talk("2026-02-10T11:00:00+08:00"))
    on_b = (_talk("2026-02-10T12:00:00+08:00"),)
    cases = [BookCase(a, borrower, on_a), BookCase(b, borrower, on_b)]
    at = dt.datetime.fromisoformat("2026-02-10T15:00:00+08:00")
    out = pa.Table.from_batches(
        list(sweep_batches(snapshot_batches(engine, cases, size=1), policy="cn", at=at))
    ).to_pylist()
    tomorrow = dt.datetime.fromisoformat("2026-02-11T08:00:00+08:00")
    assert [r["next_call"] for r in out] == [tomorrow, tomorrow]
    assert [r["next_ai_voice"] for r in out] == [tomorrow, tomorrow]
    assert [r["next_sms"] for r in out] == [at, at]  # sms counts no conversations
    # Each loan alone is under the cap: the refusal comes from the other loan.
    alone = engine.replay(a, borrower, on_a, trusted=True)
    call = ContactAttempt(channel="call")
    assert engine.check(alone, call, at=at).allowed
    other = engine.replay(b, borrower, on_b, trusted=True)
    assert [str(c) for c in engine.check(alone, call, at=at, others=[other]).codes] == [
        "contact.frequency"
    ]


def test_a_case_that_cannot_be_swept_gets_an_error_row_and_the_others_are_swept() -> None:
    engine = Engine("cn")
    cases = sorted(book("cn")[:6], key=lambda c: (c.borrower.id, c.loan.id))
    table = snapshot_table(engine, cases)
    blobs = table.column("snapshot").to_pylist()
    blobs[1] = b"not a snapshot"
    blobs[2] = Engine("us").snapshot(
        Engine("us").open_case(
            make_loan(monthly_dues(1), loan_id=cases[2].loan.id, currency="USD"), cases[2].borrower
        )
    )
    table = table.set_column(3, "snapshot", pa.array(blobs, pa.binary()))
    out = pa.Table.from_batches(
        list(sweep_batches(table.to_batches(), policy="cn", at=INSTANTS[0]))
    )
    errors = out.column("error").to_pylist()
    assert errors[0] is None
    assert errors[3] is None
    assert "not a case snapshot" in errors[1]
    assert "another policy" in errors[2]
    assert out.column("stage").to_pylist()[1:3] == [None, None]
    # The same snapshots restored under their own policy with migrate=True are swept.
    migrated = sweep_batches(
        table.slice(2, 1).to_batches(), policy="cn", at=INSTANTS[0], migrate=True
    )
    assert next(iter(migrated)).column("error").to_pylist() == [None]


def test_a_row_naming_another_case_than_its_snapshot_is_an_error() -> None:
    engine = Engine("cn")
    cases = book("cn")[:1]
    table = snapshot_table(engine, cases)
    table = table.set_column(0, "case_id", pa.array(["L-other"]))
    out = next(iter(sweep_batches(table.to_batches(), policy="cn", at=INSTANTS[0])))
    assert out.column("error").to_pylist()[0].startswith("case_id: the row says 'L-other'")


def test_input_clustered_but_not_sorted_is_swept_and_a_borrower_apart_is_refused() -> None:
    engine = Engine("cn")
    cases = sorted(book("cn")[:12], key=lambda c: (c.borrower.id, c.loan.id))
    table = snapshot_table(engine, cases)
    expected = pa.Table.from_batches(
        list(sweep_batches(table.to_batches(), policy="cn", at=INSTANTS[0]))
    )
    backwards = table.take(pa.array(list(range(table.num_rows))[::-1]))  # still clustered
    got = pa.Table.from_batches(
        list(sweep_batches(backwards.to_batches(), policy="cn", at=INSTANTS[0]))
    )
    assert got.sort_by("case_id").equals(expected.sort_by("case_id"))
    ids = table.column("borrower_id").to_pylist()
    twice = next(i for i in range(1, len(ids)) if ids[i] == ids[i - 1])  # a borrower's 2nd loan
    apart = table.take(pa.array([i for i in range(len(ids)) if i != twice] + [twice]))
    with pytest.raises(InputError, match="appears again after other borrowers") as caught:
        list(sweep_batches(apart.to_batches(), policy="cn", at=INSTANTS[0]))
    assert caught.value.value == ids[twice]


def test_a_batch_of_neither_schema_is_refused() -> None:
    batch = pa.RecordBatch.from_pydict({"case_id": ["L1"], "borrower_id": ["B1"]})
    with pytest.raises(InputError, match="neither the snapshots nor the histories"):
        list(sweep_batches([batch], policy="cn", at=INSTANTS[0]))


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(NaiveDatetimeError, match="at"):
        sweep_batches([], policy="cn", at=dt.datetime(2026, 6, 1))  # noqa: DTZ001


def test_amounts_are_decimals_at_the_scale_and_nothing_is_a_float() -> None:
    for schema in (
        schemas.loans(),
        schemas.borrowers(),
        schemas.events(),
        schemas.snapshots(),
        schemas.histories(),
        schemas.todo(),
        schemas.decisions(),
    ):
        for t in _types(schema):
            assert not pa.types.is_floating(t), (schema, t)
            if pa.types.is_timestamp(t):
                assert (t.unit, t.tz) == ("us", "UTC")
    assert schemas.todo(3).field("overdue").type == pa.decimal128(18, 3)
    with pytest.raises(ValueError, match="0 to 4"):
        schemas.money(5)


def _types(schema: pa.Schema) -> list[pa.DataType]:
    out: list[pa.DataType] = []
    stack = [f.type for f in schema]
    while stack:
        t = stack.pop()
        out.append(t)
        if pa.types.is_list(t):
            stack.append(t.value_type)
        elif pa.types.is_struct(t):
            stack.extend(t.field(i).type for i in range(t.num_fields))
    return out


def test_an_amount_finer_than_the_output_scale_is_an_error_row_not_a_rounding() -> None:
    engine = Engine("cn")
    borrower = Borrower(id="B1", timezones=("Asia/Shanghai",))
    whole = make_loan(monthly_dues(2), amount="1000.00", loan_id="L1")
    cents = make_loan(monthly_dues(2), amount="1000.50", loan_id="L2")
    cases = [BookCase(whole, borrower, ()), BookCase(cents, borrower, ())]
    at = dt.datetime(2026, 1, 20, 3, tzinfo=dt.UTC)  # the first instalment is overdue
    batches = snapshot_batches(engine, cases)
    rows = pa.Table.from_batches(list(sweep_batches(batches, policy="cn", at=at, scale=0)))
    first, second = rows.to_pylist()
    assert first["error"] is None
    assert first["overdue"] == Decimal("1000")
    assert second["overdue"] is None
    assert second["error"].startswith("overdue: has more decimal places than the output's scale")
    at_cents = pa.Table.from_batches(list(sweep_batches(batches, policy="cn", at=at)))
    assert at_cents.column("overdue").to_pylist() == [Decimal("1000.00"), Decimal("1000.50")]


def test_decisions_are_the_log_lines_of_every_check_made() -> None:
    engine = Engine("cn")
    cases = sorted(book("cn")[:8], key=lambda c: (c.borrower.id, c.loan.id))
    out = pa.Table.from_batches(
        list(
            sweep_batches(
                snapshot_batches(engine, cases), policy="cn", at=INSTANTS[0], decisions=True
            )
        )
    )
    from staged_collection import Decision

    for row in out.to_pylist():
        decisions = [Decision.model_validate_json(line) for line in row["decisions"]]
        assert {d.loan_id for d in decisions} == {row["case_id"]}
        contacts = [d.request for d in decisions if isinstance(d.request, ContactAttempt)]
        assert [c.channel for c in contacts] == list(Channel)
        assert [d.action for d in decisions if d.action != "contact"] == [
            e["action"].split(":")[0] for e in row["escalations"]
        ]
        for d in decisions:
            if isinstance(d.request, ContactAttempt):
                now = row[schemas.next_column(d.request.channel)]
                assert (now == row["at"]) == d.allowed


@given(small_books(), st.data())
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_every_channel_at_once_is_check_and_next_allowed(
    drawn: tuple[str, list[BookCase], dt.datetime], data: st.DataObject
) -> None:
    # The sweep asks every channel in one call (``Engine._reach``: the case brought to the
    # instant once, no message written); its answers must be what ``check`` and
    # ``next_allowed`` answer for each attempt, codes in order, with and without the
    # borrower's other loans, now and in the past (an instant before the last event).
    policy, cases, at = drawn
    engine = Engine(policy)
    folded = [engine.replay(c.loan, c.borrower, c.events, on_refused="record") for c in cases]
    case, others = folded[0], folded[1:]
    tries = [
        *attempts(engine).values(),
        ContactAttempt(channel="call", number="+8613800000001"),
        ContactAttempt(channel="sms", placed_by="A1"),
        ContactAttempt(channel="call", recipient="third_party", relation="sister"),
    ]
    if data.draw(st.booleans(), label="in the past") and case.as_of is not None:
        at = case.as_of - dt.timedelta(minutes=data.draw(st.integers(0, 60 * 24 * 10)))
    answers = engine._reach(case, tries, at, others)
    for attempt, (allowed, codes, nxt) in zip(tries, answers, strict=True):
        d = engine.check(case, attempt, at=at, others=others)
        assert (allowed, codes) == (d.allowed, d.codes), attempt
        if d.allowed:
            assert nxt == at
        elif d.retry_at is not None:
            assert nxt == engine.next_allowed(case, attempt, after=at, others=others), attempt
        else:
            assert nxt is None, attempt

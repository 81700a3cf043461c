"""The published Arrow (and Parquet) schemas of the portfolio: what goes in, what comes out.

Every table names a case by ``case_id`` (the loan id: a case is its loan) and
a borrower by ``borrower_id``. Amounts are ``decimal128(18, scale)`` next to a
``currency`` column, never floats; every instant is ``timestamp[us, tz=UTC]``;
local dates are ``date32``; local wall times ISO 8601 text (``"08:30"``), as
Spark has no time-of-day type. ``scale`` is the
number of decimal places the book's amounts carry (2 for CNY, USD and GBP; 3
for a book with KWD; 0 for JPY): one scale per table, every amount in it
written to that scale. The same schemas are drawn in ``docs/sweep.md``.

- ``loans``: one row per case: the loan and its schedule.
- ``borrowers``: one row per borrower: zones, phone references, stated times.
  Phone numbers travel as pseudonymous references (``pseudonym``), never as
  numbers: the same reference in a borrower's ``work_phones`` and in a
  contact's ``number`` is the same phone.
- ``events``: one row per stored event, as the store keeps it: ``version`` is
  the case's version after the event (1 for the first), ``payload`` the
  event's other fields as JSON (amounts as decimal strings).
- ``snapshots``: one row per case: the latest snapshot (``Engine.snapshot``).
- ``histories``: one row per case, the three above nested (what the sweep
  reads when it replays instead of restoring).
- ``todo``: the sweep's output, one row per case.
- ``decisions``: decision log lines, one row per decision.
"""

from __future__ import annotations

import pyarrow as pa

from staged_collection.terms import Channel

__all__ = [
    "CHANNELS",
    "INSTANT",
    "SCALE",
    "borrowers",
    "decisions",
    "events",
    "histories",
    "loans",
    "markdown",
    "money",
    "next_column",
    "snapshots",
    "todo",
]

SCALE = 2
"""The default number of decimal places of amounts (CNY, USD, GBP, EUR)."""

INSTANT = pa.timestamp("us", tz="UTC")
"""Every instant: microseconds since the epoch, UTC."""

CHANNELS: tuple[Channel, ...] = tuple(Channel)
"""The channels the sweep answers for, in the order of the ``next_<channel>`` columns."""


def money(scale: int = SCALE) -> pa.DataType:
    """An amount: ``decimal128(18, scale)`` (its currency is in a column beside it)."""
    if not 0 <= scale <= 4:
        raise ValueError(f"scale {scale!r}: ISO 4217 amounts have 0 to 4 decimal places")
    return pa.decimal128(18, scale)


def _f(name: str, type_: pa.DataType, nullable: bool = False) -> pa.Field:
    return pa.field(name, type_, nullable=nullable)


def _installment(scale: int) -> pa.DataType:
    return pa.struct([_f("due", pa.date32()), _f("amount", money(scale))])


def _loan_fields(scale: int) -> list[pa.Field]:
    return [
        _f("currency", pa.string()),
        _f("principal", money(scale)),
        _f("opened", pa.date32()),
        _f("installments", pa.list_(_f("item", _installment(scale)))),
    ]


# Local wall times as ISO 8601 text ("12:00", "08:30:15"): Spark has no time-of-day type.
_TIME_RANGE = pa.struct([_f("start", pa.string()), _f("end", pa.string())])


def _borrower_fields() -> list[pa.Field]:
    return [
        _f("timezones", pa.list_(_f("item", pa.string()))),
        _f("phones", pa.list_(_f("item", pa.string()))),
        _f("work_phones", pa.list_(_f("item", pa.string()))),
        _f("inconvenient", pa.list_(_f("item", _TIME_RANGE))),
    ]


def _event_fields() -> list[pa.Field]:
    return [
        _f("version", pa.int64()),
        _f("type", pa.string()),
        _f("at", INSTANT),
        _f("recorded_at", INSTANT, nullable=True),
        _f("payload", pa.string()),
    ]


def loans(scale: int = SCALE) -> pa.Schema:
    """One row per case (``case_id`` is the loan id)."""
    return pa.schema(
        [_f("case_id", pa.string()), _f("borrower_id", pa.string()), *_loan_fields(scale)]
    )


def borrowers() -> pa.Schema:
    """One row per borrower; phones as pseudonymous references."""
    return pa.schema([_f("borrower_id", pa.string()), *_borrower_fields()])


def events() -> pa.Schema:
    """One row per stored event, in the store's columns."""
    return pa.schema([_f("case_id", pa.string()), *_event_fields()])


def snapshots() -> pa.Schema:
    """One row per case: its latest snapshot."""
    return pa.schema(
        [
            _f("case_id", pa.string()),
            _f("borrower_id", pa.string()),
            _f("version", pa.int64()),
            _f("snapshot", pa.binary()),
        ]
    )


def histories(scale: int = SCALE) -> pa.Schema:
    """One row per case: its loan, its borrower and its events (in version order)."""
    return pa.schema(
        [
            _f("case_id", pa.string()),
            _f("borrower_id", pa.string()),
            _f("loan", pa.struct(_loan_fields(scale))),
            _f("borrower", pa.struct(_borrower_fields())),
            _f("events", pa.list_(_f("item", pa.struct(_event_fields())))),
        ]
    )


def decisions() -> pa.Schema:
    """One row per decision: its case, the version it judged, its id and its log line."""
    return pa.schema(
        [
            _f("case_id", pa.string()),
            _f("version", pa.int64()),
            _f("decision_id", pa.string()),
            _f("line", pa.string()),
        ]
    )


def next_column(channel: Channel | str) -> str:
    """The output column holding the next allowed instant of a channel: ``next_call``."""
    return f"next_{Channel(channel).value}"


_MOVE = pa.struct(
    [
        _f("track", pa.string()),
        _f("trigger", pa.string()),
        _f("source", pa.string()),
        _f("dest", pa.string()),
    ]
)
_ESCALATION = pa.struct(
    [
        _f("action", pa.string()),
        _f("allowed", pa.bool_()),
        _f("codes", pa.list_(_f("item", pa.string()))),
        _f("retry_at", INSTANT, nullable=True),
    ]
)
_DUTY = pa.struct(
    [
        _f("code", pa.string()),
        _f("citation", pa.string()),
        _f("due", INSTANT),
        _f("overdue", pa.bool_()),
    ]
)


def todo(scale: int = SCALE) -> pa.Schema:
    """The sweep's output: one row per case, as of the sweep's instant ``at``.

    A case that cannot be swept (a damaged snapshot, a history the policy
    cannot fold) has only its ids, ``at`` and ``error`` set.
    """
    answered = [
        _f("version", pa.int64()),
        _f("stage", pa.string()),
        _f("bureau", pa.string()),
        _f("bureau_disputed", pa.bool_()),
        _f("holds", pa.list_(_f("item", pa.string()))),
        _f("dpd", pa.int32()),
        _f("currency", pa.string()),
        _f("overdue", money(scale)),
        _f("balance", money(scale)),
        _f("moves_due", pa.list_(_f("item", _MOVE))),
        _f("escalations", pa.list_(_f("item", _ESCALATION))),
        _f("duties", pa.list_(_f("item", _DUTY))),
    ]
    return pa.schema(
        [
            _f("case_id", pa.string()),
            _f("borrower_id", pa.string()),
            _f("at", INSTANT),
            # Null only on a row whose ``error`` says why the case could not be swept.
            *(f.with_nullable(True) for f in answered),
            *(_f(next_column(c), INSTANT, nullable=True) for c in CHANNELS),
            _f("decisions", pa.list_(_f("item", pa.string())), nullable=True),
            _f("error", pa.string(), nullable=True),
        ]
    )


def _type_name(t: pa.DataType) -> str:
    if pa.types.is_list(t):
        inner = t.value_type
        return "list of" if pa.types.is_struct(inner) else f"list of {_type_name(inner)}"
    if pa.types.is_struct(t):
        return "struct of"
    if pa.types.is_timestamp(t):
        return f"timestamp[{t.unit}, UTC]"
    if pa.types.is_decimal(t):
        return f"decimal128({t.precision}, {t.scale})"
    if pa.types.is_date32(t):
        return "date32"
    return str(t)


def _lines(fields: list[pa.Field], depth: int) -> list[str]:
    out = []
    for f in fields:
        pad = "  " * depth
        null = "  (null allowed)" if f.nullable else ""
        out.append(f"{pad}{f.name:<{24 - len(pad)}}{_type_name(f.type)}{null}")
        t = f.type.value_type if pa.types.is_list(f.type) else f.type
        if pa.types.is_struct(t):
            out += _lines([t.field(i) for i in range(t.num_fields)], depth + 1)
    return out


def markdown() -> str:
    """Every published schema as Markdown (``docs/sweep.md`` holds it; scripts/gen-docs)."""
    parts = []
    for name, schema in (
        ("loans", loans()),
        ("borrowers", borrowers()),
        ("events", events()),
        ("snapshots", snapshots()),
        ("histories", histories()),
        ("todo", todo()),
        ("decisions", decisions()),
    ):
        doc = (globals()[name].__doc__ or "").strip().splitlines()[0]
        body = "\n".join(_lines(list(schema), 0))
        parts.append(f"#### `{name}`\n\n{doc}\n\n```text\n{body}\n```\n")
    return "\n".join(parts)

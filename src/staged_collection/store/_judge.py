"""Judging an append: each event decided in turn on the stream's case, nothing written.

A fact dated before the snapshot the case was restored from is decided on the case rebuilt
from the stored events. Revisions already on the log (a breach the rules refused, or an
earlier revision, with the same codes) are not reported again.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from staged_collection.case import Case
from staged_collection.decision import Decision
from staged_collection.engine import Engine, recorded_case
from staged_collection.errors import OutOfOrderError
from staged_collection.events import Contact, Event
from staged_collection.outcome import Outcome, Revision
from staged_collection.store._records import AppendResult
from staged_collection.store._schema import decisions

if TYPE_CHECKING:
    from staged_collection.store._transaction import Head, Transaction

Line = tuple[str, int, Decision]
"""A decision line to write: its kind, the version whose append writes it, the decision."""


def judge(
    tx: Transaction, head: Head, engine: Engine, batch: list[Event], breach: bool, *, since: int
) -> tuple[AppendResult, list[Line]]:
    """Decide each event in turn; nothing is recorded here (the caller records it all)."""
    case = tx._case(head, engine)
    contacts = [e.at for e in batch if isinstance(e, Contact)]
    others = tx._others(head, engine, min(contacts)) if contacts else ()
    made: list[Decision] = []
    revisions: list[Revision] = []
    lines: list[Line] = []
    for version, event in enumerate(batch, start=since):
        outcome = _decide(tx, head, engine, case, event, breach, others)
        case = recorded_case(outcome, event)
        if outcome.decision is not None:
            made.append(outcome.decision)
            lines.append(("decision", version, outcome.decision))
        for revision in _unreported(tx, head, outcome.revisions, lines, since):
            revisions.append(revision)
            lines.append(("revision", version, revision.decision))
    result = AppendResult(
        stream_id=head.stream_id,
        version=since + len(batch) - 1,
        case=case,
        decisions=tuple(made),
        revisions=tuple(revisions),
    )
    return result, lines


def _decide(
    tx: Transaction,
    head: Head,
    engine: Engine,
    case: Case,
    event: Event,
    breach: bool,
    others: tuple[Case, ...],
) -> Outcome:
    try:
        return engine.decide(case, event, breach=breach, others=others)
    except OutOfOrderError:
        if not case.restored:
            raise  # an action back-dated: no history makes that acceptable
    # A fact older than the snapshot: the whole history takes it. The restored case's
    # own events (decided in this transaction, not yet written) follow the stored ones.
    full = tx._replay(head, engine, before=head.stored + 1, then=case.events)
    return engine.decide(full, event, breach=breach, others=others)


def _unreported(
    tx: Transaction,
    head: Head,
    found: tuple[Revision, ...],
    lines: list[Line],
    since: int,
) -> list[Revision]:
    """The revisions not already on the log: a breach or an earlier revision with the same
    codes (a case rebuilt from the store does not know the breaches it recorded)."""
    if not found:
        return []
    known: dict[int, set[str]] = {}

    def note(kind: str, line: dict[str, Any]) -> None:
        if kind == "revision" or not line.get("allowed", True):
            codes = {v.get("code") for v in line.get("violations", ())}
            known.setdefault(int(line.get("version", -1)), set()).update(codes)

    rows = tx._conn.execute(
        sa.select(decisions.c.kind, decisions.c.line)
        .where(decisions.c.stream_id == head.stream_id)
        .where(decisions.c.version < since)
    )
    for kind, line in rows:
        note(kind, json.loads(line))
    for row in head.lines:
        if row["version"] < since:
            note(row["kind"], json.loads(row["line"]))
    for kind, _, decision in lines:
        note(kind, json.loads(decision.to_log_line()))
    return [
        r
        for r in found
        if not {str(c) for c in r.decision.codes} <= known.get(r.decision.version, set())
    ]

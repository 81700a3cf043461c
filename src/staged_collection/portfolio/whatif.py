"""What-if: a book's histories under another policy, and the decisions that would flip.

For every case, its stored history is replayed under the baseline policy A
(the one the book ran under) and under the candidate B, both with
``on_refused="record"``: every action and contact of the history is judged
again and kept whatever the verdict, so both replays fold the same events
and judge the same moments. A decision *flips* when it is allowed under one
policy and refused under the other. Then both are swept as of ``at``: a
channel that would become reachable or unreachable now, an escalation that
would become allowed or refused, flips too.

Each flip names the rule codes that explain it: the codes of the refusal
(under B when B refuses, under A when B allows). ``report`` counts flips by
code, with examples. Replays judge each case alone (``Engine.replay`` takes no
``others``); the sweep's questions count a borrower's other loans as usual.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from staged_collection._localtime import require_aware
from staged_collection.actions import ContactAttempt, Escalate
from staged_collection.case import Case
from staged_collection.decision import Decision
from staged_collection.engine import Engine
from staged_collection.errors import InputError, StagedCollectionError
from staged_collection.policy import Policy, load_policy
from staged_collection.portfolio.answers import Answer, Plan
from staged_collection.portfolio.core import answers, groups, history

__all__ = [
    "FLIPS",
    "Flip",
    "WhatIf",
    "WhatIfReport",
    "flip_rows",
    "report",
    "run_whatif",
    "whatif_batches",
]

_INSTANT = pa.timestamp("us", tz="UTC")
FLIPS = pa.schema(
    [
        pa.field("case_id", pa.string(), nullable=False),
        pa.field("borrower_id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),  # "history" or "sweep"
        pa.field("version", pa.int64()),  # the event's version (history flips)
        pa.field("at", _INSTANT, nullable=False),
        pa.field("action", pa.string(), nullable=False),  # "contact:call", "escalate:formal"
        pa.field("became", pa.string(), nullable=False),  # "refused" or "allowed" under B
        pa.field("codes", pa.list_(pa.field("item", pa.string(), nullable=False)), nullable=False),
        pa.field("decision_id", pa.string()),
    ]
)
"""The what-if's output: one row per decision that flips (or per case that cannot be read,
with ``source`` ``error`` and the message in ``action``)."""


@dataclass(frozen=True, slots=True)
class Flip:
    """One decision allowed under one policy and refused under the other."""

    case_id: str
    borrower_id: str
    source: str
    version: int | None
    at: dt.datetime
    action: str
    became: str
    codes: tuple[str, ...]
    decision_id: str | None


def _policy(ref: Policy | str | Path) -> Policy:
    return ref if isinstance(ref, Policy) else load_policy(ref)


@dataclass(frozen=True, slots=True)
class WhatIf:
    """The what-if of ``policy`` against ``baseline`` as of ``at``; picklable, sent to workers."""

    baseline: Policy
    policy: Policy
    at: dt.datetime

    def __post_init__(self) -> None:
        require_aware(self.at, "at")

    def __call__(self, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        return _run(self, batches)

    def warm(self) -> None:
        Engine(self.baseline)
        Engine(self.policy)


def whatif_batches(
    batches: Iterable[pa.RecordBatch],
    *,
    baseline: Policy | str | Path,
    policy: Policy | str | Path,
    at: dt.datetime,
) -> Iterator[pa.RecordBatch]:
    """The flips of histories batches (clustered by borrower) from ``baseline`` to ``policy``."""
    return _run(WhatIf(_policy(baseline), _policy(policy), at), batches)


def _action(request: Any) -> str:
    if isinstance(request, ContactAttempt):
        return f"contact:{request.channel.value}"
    if isinstance(request, Escalate):
        return f"escalate:{request.to.value}"
    return str(request.action)


def _replayed(engine: Engine, case_id: str, found: Any) -> Case | str:
    try:
        return engine.replay(found.loan, found.borrower, found.events, on_refused="record")
    except StagedCollectionError as exc:
        return str(exc)


def _history_flips(case_id: str, borrower_id: str, a: Case, b: Case) -> Iterator[Flip]:
    refused_a = {d.version: d for d in a.breaches}
    refused_b = {d.version: d for d in b.breaches}
    for version in sorted(refused_a.keys() ^ refused_b.keys()):
        d: Decision = refused_b.get(version) or refused_a[version]
        became = "refused" if version in refused_b else "allowed"
        yield Flip(
            case_id,
            borrower_id,
            "history",
            version + 1,
            d.at.astimezone(dt.UTC),
            _action(d.request),
            became,
            tuple(str(c) for c in d.codes),
            d.decision_id,
        )


def _sweep_flips(a: Answer, b: Answer, at: dt.datetime) -> Iterator[Flip]:
    def flip(action: str, allowed: bool, codes: tuple[str, ...]) -> Flip:
        became = "allowed" if allowed else "refused"
        return Flip(a.case_id, a.borrower_id, "sweep", None, at, action, became, codes, None)

    base = {v.action: v for v in a.verdicts}
    cand = {v.action: v for v in b.verdicts}
    shape = ("transition.not_allowed",)  # an escalation the ladder's shape leaves out
    for action in sorted(base.keys() | cand.keys()):
        va, vb = base.get(action), cand.get(action)
        allowed_a = va is not None and va.allowed
        allowed_b = vb is not None and vb.allowed
        if allowed_a != allowed_b:
            refusal = va if allowed_b else vb
            yield flip(action, allowed_b, shape if refusal is None else refusal.codes)
    for ca, cb in zip(a.contacts, b.contacts, strict=True):
        if ca.allowed != cb.allowed:
            codes = (cb.codes if ca.allowed else ca.codes) or ()
            yield flip(f"contact:{ca.channel.value}", cb.allowed, codes)


def flips_of_group(
    job: WhatIf,
    engines: tuple[Engine, Engine],
    plans: tuple[Plan, Plan],
    borrower_id: str,
    rows: list[tuple[str, Any]],
) -> Iterator[Flip | tuple[str, str]]:
    """The flips of one borrower's histories; ``(case_id, error)`` for a case not read."""
    at = job.at.astimezone(dt.UTC)
    found = [(case_id, history(case_id, borrower_id, item)) for case_id, item in rows]
    replays: list[list[tuple[str, Case | str]]] = [[], []]
    for case_id, book in found:
        for k in (0, 1):
            replays[k].append(
                (case_id, book if isinstance(book, str) else _replayed(engines[k], case_id, book))
            )
    failed = set()
    for (case_id, a), (_, b) in zip(replays[0], replays[1], strict=True):
        if isinstance(a, str) or isinstance(b, str):
            failed.add(case_id)
            yield case_id, a if isinstance(a, str) else str(b)
            continue
        yield from _history_flips(case_id, borrower_id, a, b)
    swept = [list(answers(plans[k], borrower_id, replays[k], at)) for k in (0, 1)]
    for a_answer, b_answer in zip(swept[0], swept[1], strict=True):
        if isinstance(a_answer, Answer) and isinstance(b_answer, Answer):
            yield from _sweep_flips(a_answer, b_answer, at)
            continue
        wrong = a_answer if not isinstance(a_answer, Answer) else b_answer
        assert not isinstance(wrong, Answer)
        if wrong[0] not in failed:  # a case that could not be replayed is reported once
            yield wrong[0], wrong[2]


def _run(job: WhatIf, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    engines = (Engine(job.baseline), Engine(job.policy))
    plans = (Plan(engines[0]), Plan(engines[1]))
    rows: list[dict[str, Any]] = []
    for group in groups(batches):
        if group.kind != "histories":
            raise InputError(
                "batch", group.kind, "what-if replays histories: give loans, borrowers and events"
            )
        for flip in flips_of_group(job, engines, plans, group.borrower_id, group.rows):
            rows.append(_row(flip, group.borrower_id, job.at))
        if len(rows) >= 4096:
            yield pa.RecordBatch.from_pylist(rows, schema=FLIPS)
            rows = []
    if rows:
        yield pa.RecordBatch.from_pylist(rows, schema=FLIPS)


def _row(flip: Flip | tuple[str, str], borrower_id: str, at: dt.datetime) -> dict[str, Any]:
    if isinstance(flip, Flip):
        return {
            "case_id": flip.case_id,
            "borrower_id": flip.borrower_id,
            "source": flip.source,
            "version": flip.version,
            "at": flip.at,
            "action": flip.action,
            "became": flip.became,
            "codes": list(flip.codes),
            "decision_id": flip.decision_id,
        }
    case_id, error = flip
    return {
        "case_id": case_id,
        "borrower_id": borrower_id,
        "source": "error",
        "version": None,
        "at": at,
        "action": error,
        "became": "",
        "codes": [],
        "decision_id": None,
    }


def flip_rows(batches: Iterable[pa.RecordBatch]) -> Iterator[Flip]:
    """The flips in what-if output batches, as ``Flip`` values (error rows left out)."""
    for batch in batches:
        for row in batch.to_pylist():
            if row["source"] == "error":
                continue
            row["codes"] = tuple(row["codes"])
            yield Flip(**row)


@dataclass
class WhatIfReport:
    """Flips counted by rule code, with examples; errors counted apart."""

    by_code: Counter[tuple[str, str, str]] = field(
        default_factory=Counter
    )  # (code, source, became)
    examples: dict[tuple[str, str, str], list[Flip]] = field(default_factory=dict)
    flips: int = 0
    cases: set[str] = field(default_factory=set)
    errors: list[tuple[str, str]] = field(default_factory=list)

    def add(self, flip: Flip, keep: int = 3) -> None:
        self.flips += 1
        self.cases.add(flip.case_id)
        for code in flip.codes or ("(none)",):
            key = (code, flip.source, flip.became)
            self.by_code[key] += 1
            shown = self.examples.setdefault(key, [])
            if len(shown) < keep:
                shown.append(flip)

    def to_json(self) -> dict[str, Any]:
        return {
            "flips": self.flips,
            "cases": len(self.cases),
            "errors": [{"case_id": c, "error": e} for c, e in self.errors],
            "by_code": [
                {
                    "code": code,
                    "source": source,
                    "became": became,
                    "count": n,
                    "examples": [
                        {
                            "case_id": f.case_id,
                            "version": f.version,
                            "at": f.at.astimezone(dt.UTC).isoformat(),
                            "action": f.action,
                            "decision_id": f.decision_id,
                        }
                        for f in self.examples[(code, source, became)]
                    ],
                }
                for (code, source, became), n in sorted(
                    self.by_code.items(), key=lambda kv: (-kv[1], kv[0])
                )
            ],
        }


def run_whatif(
    job: WhatIf,
    batches: Iterable[pa.RecordBatch],
    *,
    runner: str = "pool",
    workers: int | None = None,
    out: Path | None = None,
    keep: int = 3,
    progress: Callable[[int], None] | None = None,
) -> WhatIfReport:
    """Run ``job`` over histories batches (inline or in a pool), write every flip to ``out``
    (Parquet) if given, and count them."""
    from staged_collection.portfolio.runners import run_inline, run_pool

    if runner == "inline":
        flips = run_inline(job, batches, progress=progress)
    else:
        flips = run_pool(job, batches, workers=workers, progress=progress)
    writer = None if out is None else pq.ParquetWriter(out, FLIPS)
    try:

        def written(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            for batch in batches:
                if writer is not None:
                    writer.write_batch(batch)
                yield batch

        return report(written(flips), keep=keep)
    finally:
        if writer is not None:
            writer.close()


def report(batches: Iterable[pa.RecordBatch], *, keep: int = 3) -> WhatIfReport:
    """The flips of what-if output batches, counted by rule code, with ``keep`` examples each."""
    out = WhatIfReport()
    for batch in batches:
        for row in batch.to_pylist():
            if row["source"] == "error":
                out.errors.append((row["case_id"], row["action"]))
                continue
            row["codes"] = tuple(row["codes"])
            out.add(Flip(**row), keep)
    return out

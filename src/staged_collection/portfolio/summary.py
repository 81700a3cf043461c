"""What a sweep found, in numbers: cases by stage, who may be reached now, duties overdue.

``Summary`` is counted from the output batches as they stream past (Arrow
compute on each batch, nothing kept); ``render`` draws it for a terminal in
at most 80 columns: a table and two bar charts that still read without
colour (a CI log, a pipe).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from staged_collection.portfolio import schemas
from staged_collection.terms import Stage

__all__ = ["Summary", "render"]


@dataclass
class Summary:
    """Counts over a sweep's output rows."""

    at: dt.datetime
    cases: int = 0
    errors: int = 0
    stages: Counter[str] = field(default_factory=Counter)
    overdue: dict[tuple[str, str], Decimal] = field(default_factory=dict)  # (stage, currency)
    reachable: Counter[str] = field(default_factory=Counter)  # channel -> cases reachable at ``at``
    escalations: Counter[str] = field(default_factory=Counter)  # action -> cases where allowed
    moves_due: int = 0
    duties_open: int = 0
    duties_overdue: int = 0
    first_errors: list[tuple[str, str]] = field(default_factory=list)

    def add(self, batch: pa.RecordBatch) -> None:
        """Count the rows of one output batch."""
        n = batch.num_rows
        if not n:
            return
        self.cases += n
        errors = batch.column("error")
        self.errors += n - errors.null_count
        if errors.null_count < n and len(self.first_errors) < 5:
            for case_id, error in zip(
                batch.column("case_id").to_pylist(), errors.to_pylist(), strict=True
            ):
                if error is not None and len(self.first_errors) < 5:
                    self.first_errors.append((case_id, error))
        stages = batch.column("stage").to_pylist()
        self.stages.update(s for s in stages if s is not None)
        for stage, currency, amount in zip(
            stages,
            batch.column("currency").to_pylist(),
            batch.column("overdue").to_pylist(),
            strict=True,
        ):
            if stage is not None and amount:
                key = (stage, currency)
                self.overdue[key] = self.overdue.get(key, Decimal(0)) + amount
        at = pa.scalar(self.at, type=schemas.INSTANT)
        for channel in schemas.CHANNELS:
            column = batch.column(schemas.next_column(channel))
            self.reachable[channel.value] += int(pc.sum(pc.equal(column, at)).as_py() or 0)
        self.moves_due += int(pc.sum(pc.list_value_length(batch.column("moves_due"))).as_py() or 0)
        items = pc.list_flatten(batch.column("escalations"))
        allowed = pc.filter(pc.struct_field(items, "action"), pc.struct_field(items, "allowed"))
        self.escalations.update(allowed.to_pylist())
        flat = pc.list_flatten(batch.column("duties"))  # an error row's null lists none
        self.duties_open += len(flat)
        self.duties_overdue += int(pc.sum(pc.struct_field(flat, "overdue")).as_py() or 0)


_STAGES = [s.value for s in Stage]
_WIDTH = 80
_BAR = 30


def _bar(n: int, most: int) -> str:
    if not n:
        return ""
    return "█" * max(1, round(_BAR * n / most)) if most else ""


def _amounts(summary: Summary, stage: str) -> str:
    parts = [
        f"{amount:,} {currency}"
        for (s, currency), amount in sorted(summary.overdue.items())
        if s == stage
    ]
    return "; ".join(parts) or "-"


def render(summary: Summary, console: Console, *, seconds: float | None = None) -> None:
    """Print the summary: cases by stage (with amounts overdue), reachable now, duties."""
    at = summary.at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    took = f" in {seconds:.1f} s" if seconds is not None else ""
    console.print(f"Sweep as of {at}: {summary.cases:,} cases{took}", markup=False)
    most = max(summary.stages.values(), default=0)
    stages = Table(title="Cases by stage", title_justify="left", show_edge=False, pad_edge=False)
    stages.add_column("stage", no_wrap=True)
    stages.add_column("cases", justify="right")
    stages.add_column("", no_wrap=True, max_width=_BAR)
    stages.add_column("overdue", overflow="fold")
    for stage in _STAGES:
        n = summary.stages.get(stage, 0)
        if n:
            stages.add_row(stage, f"{n:,}", _bar(n, most), _amounts(summary, stage))
    reach = Table(
        title=f"Reachable now (of {summary.cases - summary.errors:,} cases swept)",
        title_justify="left",
        show_edge=False,
        pad_edge=False,
    )
    reach.add_column("channel", no_wrap=True)
    reach.add_column("cases", justify="right")
    reach.add_column("", no_wrap=True, max_width=_BAR)
    top = max(summary.reachable.values(), default=0)
    for channel in schemas.CHANNELS:
        n = summary.reachable.get(channel.value, 0)
        reach.add_row(channel.value, f"{n:,}", _bar(n, top))
    lines = [
        f"Automatic moves due: {summary.moves_due:,}",
        "Escalations allowed now: "
        + (", ".join(f"{a} {n:,}" for a, n in sorted(summary.escalations.items())) or "none"),
    ]
    lines.append(f"Duties open: {summary.duties_open:,}, overdue: {summary.duties_overdue:,}")
    if summary.errors:
        lines.append(f"Cases that could not be swept: {summary.errors:,}")
        lines += [f"  {case_id}: {error}" for case_id, error in summary.first_errors]
    console.print(
        Group(stages, Text(""), reach, Text(""), Text("\n".join(lines))),
        width=min(console.width, _WIDTH),
        soft_wrap=False,  # wrap long lines at the width, even on a console that does not
    )

"""The demo's report: the stage funnel over time, refusals by rule, moves and outcomes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from staged_collection.terms import Stage

if TYPE_CHECKING:
    from staged_collection.demo import DemoResult

__all__ = ["render"]

# A colour and a glyph per stage: the bars still read without colour (a CI log, a pipe).
_STYLE = {
    Stage.CURRENT: ("green", "█"),
    Stage.REMINDER: ("yellow", "▓"),
    Stage.NEGOTIATION: ("dark_orange", "▒"),
    Stage.FORMAL: ("red", "░"),
    Stage.THIRD_PARTY: ("magenta", "▞"),
    Stage.RESOLVED: ("blue", "▄"),
    Stage.SETTLED: ("cyan", "▂"),
    Stage.WRITTEN_OFF: ("grey50", "·"),
}
_WIDTH = 60


def _funnel(result: DemoResult) -> Table:
    table = Table(title="Stage funnel, end of each week", show_edge=False, pad_edge=False)
    table.add_column("week", justify="right")
    table.add_column("cases by stage", no_wrap=True)
    table.add_column("delinquent", justify="right")
    for week, counts in sorted(result.totals.funnel.items()):
        total = sum(counts.values()) or 1
        bar = Text()
        used = 0
        for stage, (colour, glyph) in _STYLE.items():
            n = counts.get(stage.value, 0)
            cells = max(1, round(_WIDTH * n / total)) if n else 0
            cells = min(cells, _WIDTH - used)
            used += cells
            bar.append(glyph * cells, style=colour)
        delinquent = sum(
            counts.get(s.value, 0)
            for s in (Stage.REMINDER, Stage.NEGOTIATION, Stage.FORMAL, Stage.THIRD_PARTY)
        )
        table.add_row(str(week + 1), bar, f"{delinquent:,}")
    return table


def _legend() -> Text:
    legend = Text("  ")
    for stage, (colour, glyph) in _STYLE.items():
        legend.append(f"{glyph} ", style=colour)
        legend.append(f"{stage.value}  ")
    return legend


def _counts(title: str, rows: list[tuple[str, int]], first: str) -> Table:
    table = Table(title=title, show_edge=False)
    table.add_column(first)
    table.add_column("count", justify="right")
    for name, n in rows:
        table.add_row(Text(name), f"{n:,}")
    return table


def render(result: DemoResult, console: Console) -> None:
    c = result.config
    t = result.totals
    console.print(
        f"[bold]staged-collection demo[/]: {c.loans:,} loans x {c.days} days under "
        f"[bold]{escape(c.policy)}[/] ({result.fingerprint[:12]}), seed {c.seed}, "
        f"{c.workers} workers, "
        f"{result.seconds:.1f} s",
        markup=True,
    )
    console.print()
    console.print(_funnel(result))
    console.print(_legend())
    console.print()
    allowed = t.contacts.get("allowed", 0)
    refused = sorted(
        ((k, v) for k, v in t.contacts.items() if k != "allowed"), key=lambda kv: -kv[1]
    )
    attempts = Table.grid(padding=(0, 4))
    attempts.add_row(
        _counts(
            f"Contacts: {allowed:,} allowed; refused by rule",
            refused or [("(none)", 0)],
            "rule code",
        ),
        _counts(
            "Moves made, and refused by rule",
            sorted(t.moves.items(), key=lambda kv: (kv[0].startswith("refused"), -kv[1])),
            "move",
        ),
    )
    console.print(attempts)
    console.print()
    outcomes = [
        ("referrals to agencies", t.moves.get("refer", 0)),
        ("bureau reports", t.moves.get("report", 0)),
        ("cures (back to current)", t.events.get("cures", 0)),
        ("resolved (paid in full)", t.events.get("resolved", 0)),
        ("written off", t.moves.get("write_off", 0)),
        ("payments", t.events.get("payments", 0)),
        ("promises to pay", t.events.get("promises", 0)),
        ("  of which broken", t.events.get("promises broken", 0)),
        ("disputes", t.events.get("disputes", 0)),
        ("asked to stop contact", t.events.get("asked to stop", 0)),
        ("hardship holds", t.events.get("hardship holds", 0)),
    ]
    console.print(_counts("Outcomes", outcomes, "what"))
    console.print()
    console.print(
        f"Decision log: [bold]{escape(str(result.log))}[/] "
        f"({result.lines:,} decisions, one JSON object per line)",
        markup=True,
    )
    if result.stored:
        stored = t.stored
        console.print(
            f"Portfolio stored: [bold]{escape(str(c.store_path))}[/] "
            f"({stored['streams']:,} cases, {stored['events']:,} events, "
            f"{stored['decision lines']:,} decisions in a hash-chained log; "
            f"staged-collection log verify {escape(result.store or '')})",
            markup=True,
        )
    else:
        console.print(f"Portfolio not stored: {escape(result.store or '')}", markup=True)

"""The demo's report: a collections manager's morning after the run, in at most 80 columns.

Cases and amounts per stage as the run ends, what was collected and what is
still overdue, the weekly stage funnel, contacts allowed and refused by rule
(which refusals were deliberate), moves made and refused, the duties open,
and where the decision log and the store went. Tables and bars read without
colour (a CI log, a pipe); no cell is cut: rule codes, amounts and dates
are printed whole.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from staged_collection.terms import Stage

if TYPE_CHECKING:
    from staged_collection.demo import DemoResult

__all__ = ["WIDTH", "render"]

WIDTH = 80
"""The report's width at most, whatever the terminal's."""

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
_BAR = 50
_DELINQUENT = (Stage.REMINDER, Stage.NEGOTIATION, Stage.FORMAL, Stage.THIRD_PARTY)


def _table() -> Table:
    return Table(show_edge=False, pad_edge=False)


def _titled(title: str, *parts: RenderableType) -> Group:
    # A heading of its own wraps at the report's width, not at its table's.
    return Group(Text(title, style="bold"), *parts)


def _amount(value: Decimal) -> str:
    return f"{value:,.2f}"


def _stages(result: DemoResult) -> RenderableType:
    t = result.totals
    currency = t.currency
    table = _table()
    table.add_column("stage", no_wrap=True)
    table.add_column("cases", justify="right", no_wrap=True)
    table.add_column(f"balance {currency}", justify="right", no_wrap=True)
    table.add_column(f"overdue {currency}", justify="right", no_wrap=True)
    total_balance = total_overdue = Decimal(0)
    cases = 0
    for stage in Stage:
        figures = t.end.get(stage.value)
        if figures is None or not figures.cases:
            continue
        cases += figures.cases
        total_balance += figures.balance
        total_overdue += figures.overdue
        table.add_row(
            stage.value,
            f"{figures.cases:,}",
            _amount(figures.balance),
            _amount(figures.overdue),
        )
    table.add_section()
    table.add_row("all", f"{cases:,}", _amount(total_balance), _amount(total_overdue))
    collected, overdue = _amount(t.collected), _amount(total_overdue)
    width = max(len(collected), len(overdue))
    money = Text(
        f"Collected in the run:     {collected:>{width}} {currency}\n"
        f"Still overdue at its end: {overdue:>{width}} {currency}"
    )
    title = (
        f"Cases as the run ends (midnight after {result.config.last_day.isoformat()}, local time)"
    )
    return _titled(title, table, money)


def _funnel(result: DemoResult) -> RenderableType:
    table = _table()
    table.add_column("week", justify="right", no_wrap=True)
    table.add_column("cases by stage", no_wrap=True, max_width=_BAR)
    table.add_column("delinquent", justify="right", no_wrap=True)
    for week, counts in sorted(result.totals.funnel.items()):
        total = sum(counts.values()) or 1
        bar = Text()
        used = 0
        for stage, (colour, glyph) in _STYLE.items():
            n = counts.get(stage.value, 0)
            cells = max(1, round(_BAR * n / total)) if n else 0
            cells = min(cells, _BAR - used)
            used += cells
            bar.append(glyph * cells, style=colour)
        delinquent = sum(counts.get(s.value, 0) for s in _DELINQUENT)
        table.add_row(str(week + 1), bar, f"{delinquent:,}")
    legend = Text()
    for stage, (colour, glyph) in _STYLE.items():
        legend.append(f"{glyph} ", style=colour)
        legend.append(f"{stage.value}   ")
    return _titled("Stage funnel, end of each week", table, legend)


def _contacts(result: DemoResult) -> RenderableType:
    from staged_collection.demo import LATER, NEVER

    t = result.totals
    allowed = t.contacts.get("allowed", 0)
    refused = {k: v for k, v in t.contacts.items() if k != "allowed"}
    title = f"Contacts: {allowed:,} allowed, {_refused(result, 'contacts')}"
    table = _table()
    table.add_column("rule code", no_wrap=True)
    table.add_column("refused", justify="right", no_wrap=True)
    table.add_column("deliberate", justify="right", no_wrap=True)
    for code, n in sorted(refused.items(), key=lambda kv: (-kv[1], kv[0])):
        table.add_row(code, f"{n:,}", f"{t.deliberate.get(code, 0):,}")
    later, never = t.skipped.get(LATER, 0), t.skipped.get(NEVER, 0)
    skipped = Text(
        f"Planned attempts the dialer did not place: {later:,} not allowed before "
        f"its 21:00 cut-off that day, {never:,} never allowed as far as the case knows."
    )
    if not refused:
        return _titled(title, skipped)
    return _titled(title + "; by rule (an attempt may break several)", table, skipped)


def _refused(result: DemoResult, what: str) -> str:
    r = result.totals.refused
    deliberate = r.get(f"{what} deliberate", 0)
    total = r.get(what, 0) + deliberate
    return f"{total:,} refused ({deliberate:,} of them deliberate)"


def _moves(result: DemoResult) -> RenderableType:
    t = result.totals
    made = _table()
    made.add_column("move", no_wrap=True)
    made.add_column("count", justify="right", no_wrap=True)
    for move, n in sorted(t.moves.items(), key=lambda kv: (-kv[1], kv[0])):
        if not move.startswith("refused "):
            made.add_row(move, f"{n:,}")
    refused = _table()
    refused.add_column("move", no_wrap=True)
    refused.add_column("rule code", no_wrap=True)
    refused.add_column("refused", justify="right", no_wrap=True)
    refused.add_column("deliberate", justify="right", no_wrap=True)
    rows = 0
    for key, n in sorted(t.moves.items(), key=lambda kv: (-kv[1], kv[0])):
        if key.startswith("refused "):
            action, code = key.removeprefix("refused ").split(": ", 1)
            refused.add_row(action, code, f"{n:,}", f"{t.deliberate.get(key, 0):,}")
            rows += 1
    parts: list[RenderableType] = [_titled("Moves made", made), Text("")]
    if rows:
        title = f"Moves refused: {_refused(result, 'moves')}; by rule"
        parts.append(_titled(title, refused))
    else:
        parts.append(Text("Moves refused: none", style="bold"))
    return Group(*parts)


def _mistakes(result: DemoResult) -> Text:
    from staged_collection.demo import BLIND, STALE

    m = result.totals.mistakes
    return Text(
        "Deliberate mistakes, so that the rules have something to refuse: "
        f"{m.get(BLIND, 0):,} calls dialled blind (by hand at the planned slot, or late at "
        f"night, instead of at the dialer's allowed instant) and {m.get(STALE, 0):,} "
        "referrals naming an agency last evaluated 400 days before. Every other attempt "
        "and move was made where the morning's answer allowed it."
    )


def _duties(result: DemoResult) -> RenderableType:
    t = result.totals
    total, overdue = sum(t.duties.values()), sum(t.duties_overdue.values())
    title = f"Duties open as the run ends: {total:,}, of which overdue {overdue:,}"
    if not total:
        return Text(title, style="bold")
    table = _table()
    table.add_column("duty", no_wrap=True)
    table.add_column("open", justify="right", no_wrap=True)
    table.add_column("overdue", justify="right", no_wrap=True)
    for code, n in sorted(t.duties.items()):
        table.add_row(code, f"{n:,}", f"{t.duties_overdue.get(code, 0):,}")
    return _titled(title, table)


def _outcomes(result: DemoResult) -> RenderableType:
    t = result.totals
    table = _table()
    table.add_column("what", no_wrap=True)
    table.add_column("count", justify="right", no_wrap=True)
    for name, n in (
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
    ):
        table.add_row(name, f"{n:,}")
    return _titled("Outcomes", table)


def _files(result: DemoResult) -> Text:
    c, t = result.config, result.totals
    lines = [f"Decision log: {result.log} ({result.lines:,} decisions, one JSON object per line)."]
    if result.stored:
        stored = t.stored
        lines += [
            f"Portfolio stored: {c.store_path} ({stored['streams']:,} cases, "
            f"{stored['events']:,} events, {stored['decision lines']:,} decisions in a "
            "hash-chained log). Check it with:",
        ]
    else:
        lines.append(f"Portfolio not stored: {result.store}")
    return Text("\n".join(lines))


def render(result: DemoResult, console: Console) -> None:
    """Print the report in ``console``'s width, at most ``WIDTH`` columns."""
    c, t = result.config, result.totals
    head = Text()
    head.append("staged-collection demo", style="bold")
    head.append(
        f": {c.loans:,} loans x {c.days} days from {c.start.isoformat()} under "
        f"{c.policy} ({result.fingerprint[:12]}), seed {c.seed}, {c.workers} "
        f"workers, {result.seconds:.1f} s.\nEach morning the sweep answered for every case "
        f"with something overdue and no wait known ({t.asked:,} answers); the strategy "
        "escalated where its verdicts allowed, and the dialer called at the next allowed "
        "instant."
    )
    blank = Text("")
    console.print(
        Group(
            head,
            blank,
            _stages(result),
            blank,
            _funnel(result),
            blank,
            _contacts(result),
            blank,
            _moves(result),
            blank,
            _mistakes(result),
            blank,
            _duties(result),
            blank,
            _outcomes(result),
            blank,
            _files(result),
        ),
        width=min(console.width, WIDTH),
        soft_wrap=False,  # wrap long lines at the width, even on a console that does not
    )
    if result.stored:
        # A command to copy stays on one line, however long its path.
        command = Text(f"  staged-collection log verify {result.store}")
        console.print(command, soft_wrap=True)

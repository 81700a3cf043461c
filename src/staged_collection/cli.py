"""The ``staged-collection`` command line.

Exit codes, for every command: 0 when the answer is yes (allowed, passed,
valid), 1 when it is no (refused, a scenario failed), 2 when the input cannot
be read (a file, a field, a policy); errors are one line each, never a
traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from staged_collection.actions import ContactAttempt
from staged_collection.decision import Decision
from staged_collection.errors import StagedCollectionError
from staged_collection.policy import PRESETS, Policy, load_policy
from staged_collection.scenarios import read_case, read_request, run_scenarios

__all__ = ["main"]

F = TypeVar("F", bound=Callable[..., Any])

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _fail(message: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {escape(message)}", markup=True)
    sys.exit(2)


def _instant(value: str, name: str) -> dt.datetime:
    try:
        at = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        _fail(f"{name}: {value!r} is not an ISO 8601 instant")
    if at.tzinfo is None:
        _fail(f"{name}: {value!r} has no offset; add Z or +08:00")
    return at


def _policy_option(fn: F) -> F:
    return click.option(
        "--policy",
        "-p",
        metavar="P",
        help=f"A preset ({', '.join(PRESETS)}) or a policy file; overrides the case file's.",
    )(fn)


def _json_option(fn: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")(fn)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="staged-collection")
def cli() -> None:
    """Debt collection by the rules: check contacts and moves, explain cases, run scenarios.

    Exit codes: 0 yes (allowed, passed, valid); 1 no (refused, failed);
    2 the input cannot be read.
    """


# -- one case --------------------------------------------------------------------------------


def _print_decision(decision: Decision, as_json: bool) -> None:
    if as_json:
        out.print(decision.to_log_line(), markup=False)
        return
    verdict = "[bold green]ALLOWED[/]" if decision.allowed else "[bold red]REFUSED[/]"
    out.print(
        f"{verdict} {decision.action} on loan {escape(decision.loan_id)} at "
        f"{decision.at.isoformat()} (stage {decision.stage})",
        markup=True,
    )
    if decision.violations:
        table = Table("code", "why", "citation", "allowed from", show_lines=True)
        for v in decision.violations:
            retry = v.retry_at.astimezone(dt.UTC).isoformat() if v.retry_at else "-"
            table.add_row(Text(str(v.code)), Text(v.message), Text(v.citation), Text(retry))
        out.print(table)


def _case_and_attempt(help_text: str) -> Callable[[F], F]:
    def decorate(fn: F) -> F:
        fn = click.option(
            "--attempt",
            "attempt_file",
            required=True,
            metavar="ATTEMPT",
            type=click.Path(dir_okay=False),
            help=help_text,
        )(fn)
        fn = click.argument("case_file", metavar="CASE", type=click.Path(dir_okay=False))(fn)
        return _json_option(_policy_option(fn))

    return decorate


def _case_at(fn: F) -> F:
    fn = click.option("--at", "at_text", required=True, metavar="T", help="An ISO 8601 instant.")(
        fn
    )
    fn = click.argument("case_file", metavar="CASE", type=click.Path(dir_okay=False))(fn)
    return _json_option(_policy_option(fn))


@cli.command()
@_case_and_attempt("The action, with its instant: {action: contact, at: ..., channel: call}.")
def check(case_file: str, attempt_file: str, policy: str | None, as_json: bool) -> None:
    """May this action happen now? Exit 0 if allowed, 1 if refused."""
    engine, case = read_case(case_file, policy)
    request, at = read_request(attempt_file, "at")
    decision = engine.check(case, request, at=at)
    _print_decision(decision, as_json)
    sys.exit(0 if decision.allowed else 1)


@cli.command("next-allowed")
@_case_and_attempt("The contact, with the instant to search from: {channel: call, after: ...}.")
def next_allowed(case_file: str, attempt_file: str, policy: str | None, as_json: bool) -> None:
    """The earliest instant the contact would be allowed. Exit 1 if never."""
    engine, case = read_case(case_file, policy)
    request, after = read_request(attempt_file, "after")
    if not isinstance(request, ContactAttempt):
        _fail(f"{attempt_file}: action: next-allowed is for contacts")
    found = engine.next_allowed(case, request, after=after)
    if as_json:
        at = None if found is None else found.astimezone(dt.UTC).isoformat()
        out.print(json.dumps({"at": at, "never": found is None}), markup=False)
    elif found is None:
        out.print("never: nothing the case knows of ends what refuses it")
    else:
        out.print(found.astimezone(dt.UTC).isoformat())
    sys.exit(0 if found is not None else 1)


@cli.command()
@_case_at
def state(case_file: str, at_text: str, policy: str | None, as_json: bool) -> None:
    """The case as of T: stage, bureau status, holds, DPD, amounts."""
    engine, case = read_case(case_file, policy)
    result = engine.state(case, at=_instant(at_text, "--at"))
    if as_json:
        out.print(result.model_dump_json(), markup=False)
        return
    table = Table("field", "value", show_header=False)
    for key, value in result.model_dump(mode="json").items():
        table.add_row(Text(key), Text(str(value)))
    out.print(table)


@cli.command()
@_case_at
def explain(case_file: str, at_text: str, policy: str | None, as_json: bool) -> None:
    """Why the case is where it is at T, and what may come next."""
    engine, case = read_case(case_file, policy)
    result = engine.explain(case, at=_instant(at_text, "--at"))
    if as_json:
        out.print(result.model_dump_json(), markup=False)
        return
    for line in result.reasons:
        out.print(line, markup=False)


@cli.command()
@_policy_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["mermaid", "dot"]),
    default="mermaid",
    show_default=True,
    help="Mermaid state diagram or Graphviz dot.",
)
def diagram(policy: str | None, fmt: str) -> None:
    """The compiled state machine, guard names on the edges."""
    from staged_collection.engine import Engine

    out.print(Engine(load_policy(policy or "cn")).diagram(fmt), markup=False, end="")


# -- policies ------------------------------------------------------------------------------


@cli.group("policy")
def policy_group() -> None:
    """Show, validate and compare policies."""


@policy_group.command("show")
@click.argument("ref", metavar="P")
@_json_option
def policy_show(ref: str, as_json: bool) -> None:
    """A policy after overlays, with its fingerprint."""
    policy = load_policy(ref)
    data = policy.model_dump(mode="json")
    if as_json:
        out.print(json.dumps({"fingerprint": policy.fingerprint, **data}), markup=False)
        return
    import yaml

    out.print(f"# fingerprint: {policy.fingerprint}", markup=False)
    out.print(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), markup=False, end="")


@policy_group.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
def policy_validate(file: str) -> None:
    """Load FILE and report the first thing that cannot work. Exit 0 if valid, 2 if not."""
    policy = load_policy(file)
    out.print(f"valid: {policy.name} ({policy.fingerprint[:16]})")


def _flatten(value: Any, path: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{path}.{key}" if path else str(key)))
        return flat
    if (
        isinstance(value, list)
        and value
        and all(isinstance(i, dict) and "name" in i for i in value)
    ):
        flat = {}
        for item in value:
            flat.update(_flatten(item, f"{path}[{item['name']}]"))
        return flat
    if isinstance(value, list):
        return {path: sorted(value, key=str)}
    return {path: value}


def _citation(flat: dict[str, Any], path: str) -> str:
    parts = path.split(".")
    while parts:
        parts.pop()
        prefix = ".".join(parts)
        key = f"{prefix}.citation" if prefix else "citation"
        if key in flat:
            return str(flat[key])
    return ""


def policy_differences(a: Policy, b: Policy) -> list[dict[str, Any]]:
    """Every rule value that differs between two policies, with each side's citation."""
    fa, fb = _flatten(a.model_dump(mode="json")), _flatten(b.model_dump(mode="json"))
    rows = []
    for path in sorted(set(fa) | set(fb)):
        if path.endswith("citation") or path in ("name", "description"):
            continue
        if fa.get(path) != fb.get(path):
            rows.append(
                {
                    "rule": path,
                    "a": fa.get(path),
                    "b": fb.get(path),
                    "a_citation": _citation(fa, path),
                    "b_citation": _citation(fb, path),
                }
            )
    return rows


@policy_group.command("diff")
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@_json_option
def policy_diff(a: str, b: str, as_json: bool) -> None:
    """Which rules differ between policies A and B, with their citations. Exit 1 if any."""
    rows = policy_differences(load_policy(a), load_policy(b))
    if as_json:
        out.print(json.dumps(rows, ensure_ascii=False), markup=False)
    elif not rows:
        out.print("the policies enforce the same rules")
    else:
        table = Table(show_lines=True)
        table.add_column("rule", no_wrap=True)
        for title in (a, b, f"{a} citation", f"{b} citation"):
            table.add_column(title)
        for row in rows:
            table.add_row(
                *(
                    Text(cell)  # plain text: a rule path like counters[calls] is not markup
                    for cell in (
                        row["rule"],
                        json.dumps(row["a"], ensure_ascii=False),
                        json.dumps(row["b"], ensure_ascii=False),
                        row["a_citation"],
                        row["b_citation"],
                    )
                )
            )
        out.print(table)
    sys.exit(1 if rows else 0)


# -- scenarios -----------------------------------------------------------------------------


@cli.group("scenarios")
def scenarios_group() -> None:
    """Executable scenarios: what a policy must allow and refuse."""


@scenarios_group.command("run")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@_json_option
def scenarios_run(paths: tuple[str, ...], as_json: bool) -> None:
    """Run scenario files and folders.

    Exit 0 when all pass, 1 when a scenario fails, 2 when a file cannot be read.
    """
    report = run_scenarios(paths)
    if as_json:
        out.print(report.to_json(), markup=False)
        sys.exit(report.exit_code)
    for r in report.results:
        if r.error is not None:
            out.print(f"[bold yellow]ERROR[/] {escape(r.error)}", markup=True)
        elif r.passed:
            out.print(f"[green]PASS[/]  {escape(r.file)} :: {escape(r.name)}", markup=True)
        else:
            out.print(f"[bold red]FAIL[/]  {escape(r.file)} :: {escape(r.name)}", markup=True)
            for failure in r.failures:
                out.print(f"      {failure}", markup=False)
    out.print(
        f"\n{report.passed} passed, {report.failed} failed, {report.errors} errors",
        markup=False,
    )
    sys.exit(report.exit_code)


# -- calendars -----------------------------------------------------------------------------


@cli.group("calendar")
def calendar_group() -> None:
    """Public holidays and working days."""


@calendar_group.command("show", context_settings={"ignore_unknown_options": True})
@click.argument("name", metavar="CALENDAR")
@click.argument("year_text", metavar="YEAR")
@_json_option
def calendar_show(name: str, year_text: str, as_json: bool) -> None:
    """The holidays and adjusted working days of CALENDAR (cn, us, uk, uk-sct, uk-nir) in YEAR."""
    from staged_collection.calendars import (
        CALENDARS,
        FIRST_YEAR,
        LAST_YEAR,
        compile_calendar,
        preset_calendar,
    )

    if name not in CALENDARS:
        _fail(f"calendar: {name!r} is not a calendar; the calendars are {', '.join(CALENDARS)}")
    if not (year_text.isdigit() and FIRST_YEAR <= int(year_text) <= LAST_YEAR):
        _fail(f"year: {year_text!r} is not a year from {FIRST_YEAR} to {LAST_YEAR}")
    year = int(year_text)
    rules = preset_calendar(name)
    calendar = compile_calendar(rules)
    days = calendar.holidays_in(year)
    provisional = year > calendar.known_through
    if as_json:
        doc = {
            "calendar": name,
            "year": year,
            "known_through": calendar.known_through,
            "provisional": provisional,
            "citation": rules.citation,
            "days": [
                {
                    "date": d.date.isoformat(),
                    "weekday": f"{d.date:%a}",
                    "kind": d.kind,
                    "name": d.name,
                }
                for d in days
            ],
        }
        out.print(json.dumps(doc, ensure_ascii=False), markup=False)
        return
    out.print(f"# {name} {year}: {rules.citation}", markup=False)
    if provisional:
        out.print(
            f"# provisional: known through {calendar.known_through}; these are the statutory "
            "dates, and days announced later (one-off holidays, adjusted working days) are missing",
            markup=False,
        )
    for d in days:
        out.print(f"{d.date.isoformat()}  {d.date:%a}  {d.kind:<7}  {d.name}", markup=False)


# -- the portfolio: sweep, what-if, store export ---------------------------------------------
# One block (issue 14); the commands load the portfolio (pyarrow: the ``sweep`` extra) when run.


def _portfolio() -> Any:
    try:
        import staged_collection.portfolio as portfolio
    except ImportError as exc:
        _fail(str(exc))
    return portfolio


def _book_source(store_url: str | None, parquet: Path | None) -> None:
    if (store_url is None) == (parquet is None):
        _fail("give the book as --store URL or --parquet DIR (one of them)")


def _open_store(url: str) -> Any:
    try:
        from staged_collection.store import EventStore  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:
        _fail(f"--store: the event store is not available ({exc})")
    return EventStore(url)


def _first_snapshot_policy(store: Any) -> str | None:
    from staged_collection.portfolio.sources import snapshot_policy

    for _, _, data in store.iter_snapshots(batch_size=1):
        return snapshot_policy(data)
    return None


def _book_policy(ref: str | None, option: str, store: Any, parquet: Path | None) -> Policy:
    """The policy named, or the preset the book says it was stored under."""
    if ref is not None:
        return load_policy(ref)
    _portfolio()
    from staged_collection.portfolio.export import policy_of_export
    from staged_collection.portfolio.sources import preset_with

    fingerprint = None
    if store is not None:
        fingerprint = _first_snapshot_policy(store)
    elif parquet is not None and parquet.is_dir():
        fingerprint = policy_of_export(parquet)
    preset = None if fingerprint is None else preset_with(fingerprint)
    if preset is None:
        _fail(f"{option}: the book does not say which preset it ran under; pass {option} P")
    return load_policy(preset)


def _progress_bar(total: int | None, label: str) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    task = bar.add_task(label, total=total)
    return bar, lambda n: bar.advance(task, n)


def _book_options(fn: F) -> F:
    fn = click.option(
        "--parquet",
        type=click.Path(path_type=Path),
        metavar="DIR",
        help="A directory with snapshots.parquet, or loans, borrowers and events (store export).",
    )(fn)
    return click.option("--store", "store_url", metavar="URL", help="An event store URL.")(fn)


def _runner_options(fn: F) -> F:
    fn = click.option(
        "--workers", type=click.IntRange(1, 256), help="Worker processes (default: every core)."
    )(fn)
    return click.option(
        "--runner",
        type=click.Choice(["pool", "spark", "inline"]),
        default="pool",
        show_default=True,
        help="A process pool, Spark (--parquet only), or this process.",
    )(fn)


@cli.command("sweep")
@_book_options
@click.option("--at", "at_text", required=True, metavar="T", help="The instant (ISO 8601).")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@_runner_options
@_policy_option
@click.option(
    "--decisions",
    "decisions_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the log line of every check made (JSON Lines).",
)
@click.option(
    "--scale",
    type=click.IntRange(0, 4),
    default=2,
    show_default=True,
    help="Decimal places of the output amounts.",
)
@click.option("--migrate", is_flag=True, help="Restore snapshots taken under another policy.")
@_json_option
def sweep_command(
    store_url: str | None,
    parquet: Path | None,
    at_text: str,
    out_path: Path,
    runner: str,
    workers: int | None,
    policy: str | None,
    decisions_out: Path | None,
    scale: int,
    migrate: bool,
    as_json: bool,
) -> None:
    """The to-do list as of T: every case's stage, moves due, escalations, next contacts.

    Writes one row per case to OUT (Parquet) and prints a summary. Exit 0 when
    every case was swept, 1 when some could not be (their rows say why).
    """
    _book_source(store_url, parquet)
    at = _instant(at_text, "--at")
    _portfolio()
    from staged_collection.portfolio.sources import parquet_source, store_source
    from staged_collection.portfolio.summary import render
    from staged_collection.portfolio.todo import sweep_book, sweep_path_on_spark

    store = None if store_url is None else _open_store(store_url)
    chosen = _book_policy(policy, "--policy", store, parquet)
    if runner == "spark":
        if parquet is None:
            _fail("--runner spark reads Parquet: export the store first (store export)")
        try:
            import staged_collection.portfolio.spark  # noqa: F401
        except ImportError:
            _fail("--runner spark needs pyspark: pip install 'staged-collection[spark]'")
        done = sweep_path_on_spark(
            parquet,
            policy=chosen,
            at=at,
            out=out_path,
            decisions_out=decisions_out,
            scale=scale,
            migrate=migrate,
            workers=workers,
        )
    else:
        source = (
            store_source(store_url or "", store=store)
            if store is not None
            else parquet_source(parquet or Path())
        )
        bar, advance = _progress_bar(source.cases, f"sweeping {source.kind}")
        with bar:
            done = sweep_book(
                source,
                policy=chosen,
                at=at,
                runner="inline" if runner == "inline" else "pool",
                workers=workers,
                out=out_path,
                decisions_out=decisions_out,
                scale=scale,
                migrate=migrate,
                progress=advance,
            )
    summary = done.summary
    if as_json:
        out_doc = {
            "cases": summary.cases,
            "errors": summary.errors,
            "stages": dict(summary.stages),
            "reachable": dict(summary.reachable),
            "escalations": dict(summary.escalations),
            "moves_due": summary.moves_due,
            "duties": {"open": summary.duties_open, "overdue": summary.duties_overdue}
            if summary.duties_known
            else None,
            "seconds": round(done.seconds, 3),
            "peak_rss_mib": {str(k): v // 1024 for k, v in done.stats.peak_rss_kib.items()},
        }
        out.print(json.dumps(out_doc), markup=False)
    else:
        render(summary, out, seconds=done.seconds)
    sys.exit(1 if summary.errors else 0)


@cli.command("whatif")
@_book_options
@click.option(
    "--policy",
    "-p",
    "candidate",
    required=True,
    metavar="B",
    help="The policy to try: a preset or a policy file.",
)
@click.option(
    "--baseline", metavar="A", help="The policy the book ran under (default: the preset it names)."
)
@click.option(
    "--at",
    "at_text",
    metavar="T",
    help="The sweep's instant (default, for Parquet: the book's last event).",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write every flip (Parquet).",
)
@click.option("--examples", default=3, show_default=True, type=click.IntRange(0, 100))
@click.option("--runner", type=click.Choice(["pool", "inline"]), default="pool", show_default=True)
@click.option("--workers", type=click.IntRange(1, 256))
@_json_option
def whatif_command(
    store_url: str | None,
    parquet: Path | None,
    candidate: str,
    baseline: str | None,
    at_text: str | None,
    out_path: Path | None,
    examples: int,
    runner: str,
    workers: int | None,
    as_json: bool,
) -> None:
    """Replay the book under policy B and sweep it: which decisions flip, by rule code.

    Exit 0 when nothing flips, 1 when something does.
    """
    _book_source(store_url, parquet)
    _portfolio()
    from staged_collection.portfolio.book import BOOK_FILES, last_event_at
    from staged_collection.portfolio.sources import parquet_histories, store_histories
    from staged_collection.portfolio.whatif import WhatIf, run_whatif

    store = None if store_url is None else _open_store(store_url)
    if parquet is not None and not all((parquet / n).is_file() for n in BOOK_FILES):
        _fail(f"--parquet: {parquet} must hold {', '.join(BOOK_FILES)} (what-if replays them)")
    base = _book_policy(baseline, "--baseline", store, parquet)
    b = load_policy(candidate)
    if at_text is not None:
        at = _instant(at_text, "--at")
    elif parquet is not None:
        last = last_event_at(parquet)
        if last is None:
            _fail("--at: the book has no events; give --at T")
        at = last
    else:
        _fail("--at: give the sweep's instant for a store")
    source = (
        store_histories(store_url or "", store=store)
        if store is not None
        else parquet_histories(parquet or Path())
    )
    bar, advance = _progress_bar(source.cases, "replaying")
    with bar:
        flips = run_whatif(
            WhatIf(base, b, at),
            source.batches,
            runner=runner,
            workers=workers,
            out=out_path,
            keep=examples,
            progress=advance,
        )
    doc = flips.to_json()
    doc.update(baseline=base.name, policy=b.name, at=at.astimezone(dt.UTC).isoformat())
    if as_json:
        out.print(json.dumps(doc, ensure_ascii=False), markup=False)
    else:
        _print_flips(doc)
    sys.exit(1 if flips.flips else 0)


def _print_flips(doc: dict[str, Any]) -> None:
    console = out
    console.print(
        f"What if {doc['policy']} instead of {doc['baseline']} (swept at {doc['at']}): "
        f"{doc['flips']:,} decisions flip in {doc['cases']:,} cases",
        markup=False,
    )
    if not doc["by_code"]:
        return
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("rule", no_wrap=True)
    table.add_column("where")
    table.add_column("became")
    table.add_column("count", justify="right")
    table.add_column("e.g.", overflow="fold")
    for row in doc["by_code"]:
        shown = ", ".join(
            f"{e['case_id']}#{e['version']}" if e["version"] else f"{e['case_id']} {e['action']}"
            for e in row["examples"]
        )
        table.add_row(
            Text(row["code"]), row["source"], row["became"], f"{row['count']:,}", Text(shown)
        )
    console.print(table, width=min(console.width, 100))
    for case_id, error in ((e["case_id"], e["error"]) for e in doc["errors"][:5]):
        console.print(f"could not replay {case_id}: {error}", markup=False)


def _store_group() -> click.Group:
    """The ``store`` group: the event store's own (issue 11) when it is there, else a new one."""
    found = cli.commands.get("store")
    if isinstance(found, click.Group):
        return found
    group = click.Group("store", help="The event store.")
    cli.add_command(group)
    return group


@click.command("export")
@click.argument("url")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The key of the phone pseudonyms (default: $STAGED_COLLECTION_PSEUDONYM_KEY, "
    "else a new random key: references then match within this export only).",
)
def store_export(url: str, out_dir: Path, key_file: Path | None) -> None:
    """Export the store's book as Parquet (loans, borrowers, events, decisions, snapshots)."""
    import os

    _portfolio()
    from staged_collection.portfolio.export import export_store

    store = _open_store(url)
    key: bytes | None = None
    if key_file is not None:
        key = key_file.read_bytes()
    elif os.environ.get("STAGED_COLLECTION_PSEUDONYM_KEY"):
        key = os.environ["STAGED_COLLECTION_PSEUDONYM_KEY"].encode()
    done = export_store(store, out_dir, key=key)
    out.print(
        f"exported {done.cases:,} cases, {done.events:,} events and {done.decisions:,} "
        f"decision lines to {out_dir}",
        markup=False,
    )


def main(argv: list[str] | None = None) -> None:
    """Run the command line; input errors end in one line and exit code 2."""
    from staged_collection.demo import demo_command

    if "demo" not in cli.commands:
        cli.add_command(demo_command, "demo")
    try:
        cli.main(args=argv, prog_name="staged-collection", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except click.exceptions.Abort:
        err.print("aborted")
        sys.exit(130)
    except StagedCollectionError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{exc.filename or ''}: {exc.strerror or exc}")


# Registered last, so that the store's own group (if another block defines it) gets it.
_store_group().add_command(store_export)

if __name__ == "__main__":
    main()

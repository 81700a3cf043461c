"""The ``staged-collection`` command line.

Exit codes, for every command: 0 when the answer is yes (allowed, passed,
valid), 1 when it is no (refused, a scenario failed, an overlay that would
loosen a rule of law), 2 when the input cannot be read (a file, a field, a
policy); input errors are one line each, naming the file, the line and the
field, never a traceback. 3 is a crash of the library itself (a bug): its
traceback goes to stderr, to be reported.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import sys
import textwrap
import traceback
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

import click
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from staged_collection._files import one_line
from staged_collection.actions import ContactAttempt
from staged_collection.decision import Decision
from staged_collection.errors import LooseningOverlayError, StagedCollectionError
from staged_collection.policy import (
    PRESETS,
    Policy,
    PolicyDifference,
    load_policy,
    policy_differences,
    strategy_fields,
)
from staged_collection.scenarios import read_case, read_request, run_scenarios

if TYPE_CHECKING:
    from staged_collection.engine import Engine
    from staged_collection.events import Event
    from staged_collection.store import EventStore

__all__ = ["main"]

F = TypeVar("F", bound=Callable[..., Any])

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _fail(message: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {escape(one_line(message, 1000))}", markup=True)
    sys.exit(2)


def _crash() -> NoReturn:
    err.print(traceback.format_exc(), markup=False, end="")
    err.print(
        "[bold red]internal error:[/] staged-collection crashed (a bug, not a problem with the "
        "input): please report it with the traceback above",
        markup=True,
    )
    sys.exit(3)


def _utc(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _wrapped(label: str, text: str, indent: int) -> str:
    """``text`` after ``label``, wrapped to the terminal between words only: an instant, a
    zone or a rule code is never cut, however narrow the terminal."""
    return textwrap.fill(
        text,
        width=max(out.width, 40),
        initial_indent=label.ljust(indent),
        subsequent_indent=" " * indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def _plain(value: object) -> str:
    """A value as a person writes it: ``500.00 CNY``, ``no``, ``-`` for nothing."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list | frozenset | set):
        return ", ".join(_plain(v) for v in value) or "-"
    return str(value)


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
    2 the input cannot be read; 3 staged-collection crashed (a bug: report it).
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
    for v in decision.violations:
        when = f"allowed from {_utc(v.retry_at)}" if v.retry_at else "no known end"
        out.print(f"\n{v.code} ({when})", markup=False)
        out.print(_wrapped("  why:", v.message, 12), markup=False)
        out.print(_wrapped("  citation:", v.citation, 12), markup=False)


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
    if not isinstance(request, ContactAttempt):  # read_request refuses it: this narrows the type
        _fail(f"{attempt_file}: action: must be contact: the search is for contacts")
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
    names = list(type(result).model_fields)
    width = max(len(n) for n in names) + 2
    for name in names:
        out.print(_wrapped(name, _plain(getattr(result, name)), width), markup=False)


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
@click.option(
    "--at",
    "at_text",
    metavar="DATE",
    help="Only the rules in force on DATE (YYYY-MM-DD, a local date in the policy's home zone).",
)
@_json_option
def policy_show(ref: str, at_text: str | None, as_json: bool) -> None:
    """A policy after overlays: its fingerprint, each rule and window with citation and layer."""
    policy = load_policy(ref)
    on = None if at_text is None else _date(at_text, "--at")
    shown = policy if on is None else policy.in_force(on)
    data = shown.model_dump(mode="json")
    changes = [str(d) for d in policy.boundaries()]
    if as_json:
        head: dict[str, Any] = {"fingerprint": policy.fingerprint, "boundaries": changes}
        if on is not None:
            head["in_force_on"] = str(on)
        out.print(json.dumps({**head, **data}), markup=False)
        return
    out.print(f"# fingerprint: {policy.fingerprint}", markup=False)
    out.print(
        "# lender strategy, not law (an overlay sets it either way): "
        + ", ".join(strategy_fields()),
        markup=False,
    )
    if changes:
        out.print(f"# the rules in force change on: {', '.join(changes)}", markup=False)
    if on is not None:
        out.print(f"# the rules in force on {on} ({policy.home_timezone})", markup=False)
    text = yaml.safe_dump(_undated(data), sort_keys=False, allow_unicode=True)
    out.print(text, markup=False, end="")


_DATES = ("effective_from", "effective_to")


def _undated(value: Any) -> Any:
    """A policy document as people read it: a rule's dates beside its citation and layer,
    and none where the rule has none (``null``)."""
    if isinstance(value, dict):
        dates = {k: value[k] for k in _DATES if value.get(k) is not None}
        out: dict[str, Any] = {}
        for k, v in value.items():
            if k in _DATES:
                continue
            out[k] = _undated(v)
            if k == "layer":
                out.update(dates)
        out.update(dates)
        return out
    if isinstance(value, list):
        return [_undated(v) for v in value]
    return value


def _date(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        _fail(f"{name}: {value!r} is not a date (YYYY-MM-DD)")


@policy_group.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
def policy_validate(file: str) -> None:
    """Load FILE and report the first thing that cannot work.

    Exit 0 if valid, 1 if it would loosen a rule of law of the policy it
    extends, 2 if it cannot be read or cannot work.
    """
    try:
        policy = load_policy(file)
    except LooseningOverlayError as exc:
        err.print(f"[bold red]refused:[/] {escape(str(exc))}", markup=True)
        sys.exit(1)
    out.print(f"valid: {policy.name} ({policy.fingerprint[:16]})")


@policy_group.command("diff")
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@_json_option
def policy_diff(a: str, b: str, as_json: bool) -> None:
    """Which rules differ between policies A and B, with their citations. Exit 1 if any."""
    rows = policy_differences(load_policy(a), load_policy(b))
    if as_json:
        data = [row.model_dump(mode="json") for row in rows]
        out.print(json.dumps(data, ensure_ascii=False), markup=False)
    elif not rows:
        out.print("the policies enforce the same rules")
    elif out.width >= _WIDE:
        out.print(_diff_table(rows, a, b))
    else:
        _print_diff_list(rows, a, b)
    sys.exit(1 if rows else 0)


_WIDE = 140  # narrower, five columns leave too little room for each citation


def _diff_table(rows: list[PolicyDifference], a: str, b: str) -> Table:
    table = Table(show_lines=True)
    table.add_column("rule", no_wrap=True)
    for title in (a, b):
        table.add_column(Text(title), max_width=30, overflow="fold")  # folded, never cut
    for title in (a, b):
        table.add_column(Text(f"{title} citation [layer]"), ratio=1, min_width=20)
    for row in rows:
        # Plain ``Text``: a rule path like counters[calls] is not markup.
        table.add_row(
            Text(row.rule),
            Text(_policy_value(row.a)),
            Text(_policy_value(row.b)),
            Text(_cited(row.a_citation, row.a_layer)),
            Text(_cited(row.b_citation, row.b_layer)),
        )
    return table


def _print_diff_list(rows: list[PolicyDifference], a: str, b: str) -> None:
    # One block per rule: the path on a line of its own, then each side's value and, under
    # it, its citation; values and citations wrap (by display width), nothing is cut.
    labels = (a, b)
    if max(len(a), len(b)) > _LABEL:
        labels = ("A", "B")
        out.print(Text(f"A: {a}\nB: {b}\n"))
    for row in rows:
        out.print(Text(row.rule, style="bold"))
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True)
        grid.add_column(overflow="fold")
        for label, value, citation, layer in (
            (labels[0], row.a, row.a_citation, row.a_layer),
            (labels[1], row.b, row.b_citation, row.b_layer),
        ):
            grid.add_row(Text(f"  {label}:"), Text(_policy_value(value)))
            if citation or layer:
                grid.add_row(Text(""), Text(_cited(citation, layer), style="dim"))
        out.print(grid)
        out.print()


_LABEL = 16  # longer policy names (paths) are shown once, as A and B


def _policy_value(value: Any) -> str:
    """A policy value (as JSON) the way a person writes it."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_policy_value(v) for v in value) + "]"
    if isinstance(value, str) and re.fullmatch(r"\d\d:\d\d:00", value):
        return value[:5]  # a wall time: 09:00, not 09:00:00
    return str(value)


def _cited(citation: str, layer: str) -> str:
    return f"{citation} [{layer}]" if layer else citation


# -- scenarios -----------------------------------------------------------------------------


@cli.group("scenarios")
def scenarios_group() -> None:
    """Executable scenarios: what a policy must allow and refuse."""


@scenarios_group.command("run")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@_json_option
def scenarios_run(paths: tuple[str, ...], as_json: bool) -> None:
    """Run scenario files and folders.

    Exit 0 when all pass, 1 when a scenario fails, 2 when a scenario or file
    cannot be read or there is none, 3 when the library crashed.
    """
    report = run_scenarios(paths)
    if as_json:
        out.print(report.to_json(), markup=False)
        sys.exit(report.exit_code)
    for r in report.results:
        where = escape(one_line(f"{r.file} :: {r.name}"))
        if r.crash is not None:
            err.print(r.crash, markup=False, end="")
            last = escape(one_line(r.crash.strip().splitlines()[-1]))
            out.print(f"[bold red]CRASH[/] {where}: {last} (a bug: see stderr)", markup=True)
        elif r.error is not None:
            out.print(f"[bold yellow]ERROR[/] {escape(one_line(r.error, 1000))}", markup=True)
        elif r.passed:
            out.print(f"[green]PASS[/]  {where}", markup=True)
        else:
            out.print(f"[bold red]FAIL[/]  {where}", markup=True)
            for failure in r.failures:
                out.print(f"      {one_line(failure, 1000)}", markup=False)
    summary = f"{report.passed} passed, {report.failed} failed, {report.errors} errors"
    if report.crashed:
        summary += f", {report.crashed} crashed"
    out.print(f"\n{summary}", markup=False)
    if report.crashed:
        err.print(
            "[bold red]internal error:[/] staged-collection crashed (a bug, not a problem with "
            "the scenarios): please report it with the traceback above",
            markup=True,
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


# -- the event store (staged_collection.store: needs the store extra) ------------------------


def _store(url: str, *, create: bool = False, engine: Engine | None = None) -> EventStore:
    try:
        from staged_collection.store import EventStore
    except ImportError as exc:
        _fail(str(exc))
    return EventStore(url, engine=engine, create=create)


def _database_errors(fn: F) -> F:
    """A database that cannot be reached is one line and exit 2, like an unreadable file."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            errors = sys.modules.get("sqlalchemy.exc")  # loaded with the store, if it was
            if errors is None or not isinstance(exc, errors.SQLAlchemyError):
                raise
            orig = getattr(exc, "orig", None)
            _fail(f"{kwargs.get('url', '')}: {str(orig or exc).splitlines()[0]}")

    return cast(F, run)


def _events_file(path: str, currency: str) -> list[Event]:
    from pydantic import ValidationError

    from staged_collection import _files
    from staged_collection.events import parse_event

    try:  # bounded, UTF-8, plain YAML: as every file handed in is read
        documents = list(_files.yaml_documents(_files.read_text(path)))
    except _files.FileProblem as exc:
        _fail(f"{path}: {exc}")
    if len(documents) != 1:
        _fail(f"{path}: expected one YAML document, a list of events (or a mapping with events:)")
    data = documents[0].data
    raw = data.get("events") if isinstance(data, dict) else data
    if not isinstance(raw, list) or not raw:
        _fail(f"{path}: expected a list of events (or a mapping with events:)")
    events = []
    for i, item in enumerate(raw):
        try:
            events.append(parse_event(item, currency=currency))
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"][1:])
            _fail(f"{path}: events[{i}]{'.' + where if where else ''}: {first['msg']}")
    return events


@cli.group("store")
def store_group() -> None:
    """Keep cases in an event store: sqlite:///PATH, or postgresql+psycopg://USER@HOST/DB."""


@store_group.command("init")
@click.argument("url")
@_database_errors
def store_init(url: str) -> None:
    """Create the store's tables (or bring them to this release's schema)."""
    from staged_collection.store._schema import SCHEMA_VERSION

    store = _store(url, create=True)
    out.print(f"store ready: {store.url} (schema {SCHEMA_VERSION})", markup=False)


@store_group.command("open")
@click.argument("url")
@click.argument("case_file", metavar="CASE", type=click.Path(dir_okay=False))
@_policy_option
@_database_errors
def store_open(url: str, case_file: str, policy: str | None) -> None:
    """Open the stream of a case file's loan and append the file's events (what happened)."""
    engine, case = read_case(case_file, policy)
    store = _store(url, create=True, engine=engine)
    with store.transaction() as tx:
        tx.open(case.loan, case.borrower)
        if case.events:
            tx.append(case.loan.id, case.events, expected_version=0, breach=True)
    out.print(f"opened stream {case.loan.id} at version {case.version}", markup=False)


@store_group.command("append")
@click.argument("url")
@click.argument("stream")
@click.argument("events_file", metavar="EVENTS", type=click.Path(dir_okay=False))
@click.option(
    "--expected-version",
    required=True,
    type=click.IntRange(0),
    help="The stream's version the events were decided on (0 for a stream just opened).",
)
@click.option("--idempotency-key", metavar="KEY", help="Makes a retry of this append safe.")
@click.option("--breach", is_flag=True, help="Record refused contacts (they happened).")
@_json_option
@_database_errors
def store_append(
    url: str,
    stream: str,
    events_file: str,
    expected_version: int,
    idempotency_key: str | None,
    breach: bool,
    as_json: bool,
) -> None:
    """Judge a file of events (a list, JSON or YAML) and append them to STREAM.

    Exit 0 when written (or already written under the key), 1 when the rules refuse an
    event or the stream is not at the expected version (nothing is written).
    """
    from staged_collection.errors import Refused, WrongExpectedVersion

    store = _store(url)
    events = _events_file(events_file, store.load(stream).loan.currency)
    try:
        result = store.append(
            stream,
            events,
            expected_version=expected_version,
            idempotency_key=idempotency_key,
            breach=breach,
        )
    except WrongExpectedVersion as exc:
        err.print(f"not written: {exc.problem}", markup=False)
        sys.exit(1)
    except Refused as exc:
        err.print("not written: the rules refuse it", markup=False)
        _print_decision(exc.decision, as_json)
        sys.exit(1)
    if as_json:
        for decision in result.decisions:
            out.print(decision.to_log_line(), markup=False)
        return
    done = "already written under this key" if result.replayed else f"appended {len(events)}"
    out.print(f"stream {stream} at version {result.version} ({done})", markup=False)
    for decision in result.decisions:
        out.print(f"  {decision.summary()}", markup=False)
    for revision in result.revisions:
        out.print(f"  revision: {revision.decision.summary()}", markup=False)


@store_group.command("show")
@click.argument("url")
@click.argument("stream")
@click.option("--at", "at_text", metavar="T", help="An ISO 8601 instant (default: the last event).")
@_json_option
@_database_errors
def store_show(url: str, stream: str, at_text: str | None, as_json: bool) -> None:
    """A stream: its version, its decision log, and its case as of T."""
    store = _store(url)
    case = store.load(stream)
    engine = store.engine(stream)
    at = _instant(at_text, "--at") if at_text else case.as_of
    if at is None:
        opened = case.loan.opened
        at = dt.datetime(opened.year, opened.month, opened.day, tzinfo=dt.UTC)
    if case.as_of is not None and at < case.as_of:
        case = store.load(stream, replay=True)  # a question about before the snapshot
    state = engine.state(case, at=at)
    log = store.decisions(stream)
    head = log[-1].hash if log else None
    if as_json:
        doc = {
            "stream": stream,
            "version": case.version,
            "policy": case.policy,
            "decisions": len(log),
            "log_head": head,
            "state": state.model_dump(mode="json"),
        }
        out.print(json.dumps(doc, ensure_ascii=False), markup=False)
        return
    table = Table("field", "value", show_header=False)
    table.add_row("stream", Text(stream))
    table.add_row("version", str(case.version))
    table.add_row("policy", f"{engine.policy.name} ({case.policy[:12]})")
    table.add_row("decision log", f"{len(log)} lines" + (f", head {head[:16]}" if head else ""))
    for key, value in state.model_dump(mode="json").items():
        table.add_row(Text(key), Text(str(value)))
    out.print(table)


@cli.group("log")
def log_group() -> None:
    """The decision log kept in an event store."""


@log_group.command("verify")
@click.argument("url")
@click.option("--stream", "stream", metavar="ID", help="Verify one stream only.")
@_database_errors
def log_verify(url: str, stream: str | None) -> None:
    """Check the hash chain of every stream's decision log; exit 1 at the first broken line.

    Names, for each stream whose log is not as the store wrote it, the first line that
    was edited, deleted or moved.
    """
    report = _store(url).verify_log(stream)
    for problem in report.problems:
        out.print(str(problem), markup=False)
    verdict = "ok" if report.ok else f"{len(report.problems)} broken"
    out.print(f"{report.streams} streams, {report.lines} decision lines: {verdict}", markup=False)
    sys.exit(0 if report.ok else 1)


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
        from staged_collection.store import EventStore
    except ImportError as exc:
        _fail(f"--store: the event store is not available ({exc})")
    try:
        return EventStore(url, create=False)  # a sweep reads a book; it never makes one
    except StagedCollectionError as exc:
        _fail(f"--store: {exc}")


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
            _fail(
                "--runner spark needs pyspark: pip install -e '.[spark]' in a checkout "
                "(pyspark and pandas)"
            )
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
            "duties": {"open": summary.duties_open, "overdue": summary.duties_overdue},
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


@store_group.command("export")
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
    except Exception:
        _crash()


if __name__ == "__main__":
    main()

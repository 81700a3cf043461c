"""The ``staged-collection`` command line.

Exit codes, for every command: 0 when the answer is yes (allowed, passed,
valid), 1 when it is no (refused, a scenario failed), 2 when the input cannot
be read (a file, a field, a policy); errors are one line each, never a
traceback.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

import click
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from staged_collection.actions import ContactAttempt
from staged_collection.decision import Decision
from staged_collection.errors import StagedCollectionError
from staged_collection.policy import PRESETS, Policy, load_policy
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

    from staged_collection.events import parse_event

    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except yaml.YAMLError as exc:
        _fail(f"{path}: not valid JSON or YAML ({str(exc).splitlines()[0]})")
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


if __name__ == "__main__":
    main()

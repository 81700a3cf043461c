"""The guards of the ladder and the bureau track, as small predicates built from the policy.

Each guard looks at the facts of a case at an instant and returns a
``Violation`` or ``None``. A policy compiles into one tuple of guards per
action; a decision runs them all and keeps every violation. Nothing here
knows about the state machine.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import NamedTuple

from staged_collection import _ledger
from staged_collection._limitation import period_end, years_after
from staged_collection._localtime import day_after, day_start_or_none, local, local_date
from staged_collection._per_policy import PerPolicy
from staged_collection._service import method_of, served_on
from staged_collection._trusted import builder, trusted
from staged_collection.actions import ActionRequest, Escalate, Refer
from staged_collection.calendars import Calendar
from staged_collection.case import Case, Folded, HoldState, NoticeState
from staged_collection.decision import Decision, Violation
from staged_collection.ladder import BUREAU_EDGES, Edge, ladder_edges
from staged_collection.policy import (
    AgencyEvaluation,
    Limitation,
    NoticeRule,
    Policy,
    Retention,
    Rule,
    Rung,
)
from staged_collection.rules import RuleCode
from staged_collection.terms import LADDER, TERMINAL, Action, HoldKind, Stage


class _Day(NamedTuple):
    """The facts of a case that depend only on the local day: cached per (case, day)."""

    day: dt.date
    stage: Stage
    dpd: int
    overdue: Decimal
    holds: tuple[HoldState, ...]


class Facts(NamedTuple):
    """What the guards need to know about a case at an instant, computed once.

    A ``NamedTuple``: every check builds one, and a tuple is the cheapest thing to build."""

    case: Case
    s: Folded
    at: dt.datetime
    zone: str  # the borrower's calendar
    day: dt.date
    stage: Stage  # after the automatic moves due by ``at``
    dpd: int
    overdue: Decimal
    holds: tuple[HoldState, ...]  # active at ``at``
    here: dt.datetime  # ``at`` in the borrower's calendar zone

    @property
    def schedule(self) -> _ledger.Schedule:
        return self.case._profile.schedule

    def start_of(self, day: dt.date) -> dt.datetime | None:
        """The first instant of a local date; ``None`` past the last representable one."""
        return day_start_or_none(day, self.zone)


# Facts from a tuple of its fields, without the Python-level ``__new__`` a NamedTuple adds.
_facts_of = partial(tuple.__new__, Facts)


def facts(case: Case, policy: Policy, at: dt.datetime) -> Facts:
    zone = case._profile.days_zone
    here = local(at, zone)
    day = here.date()
    s = case._s
    # The last two local days asked about, newest first: a check asks about today, and
    # ``next_allowed`` about today and the day it jumps to, again and again for a dialer.
    cached = case._facts
    if isinstance(cached, tuple):
        d, older = cached
        if d.day != day:
            if older is not None and older.day == day:
                d, older = older, d
            else:
                d, older = _day_facts(case, s, policy, day), d
            case._facts = (d, older)
    else:
        d = _day_facts(case, s, policy, day)
        case._facts = (d, None)
    return _facts_of((case, s, at, zone, day, d.stage, d.dpd, d.overdue, d.holds, here))


def _day_facts(case: Case, s: Folded, policy: Policy, day: dt.date) -> _Day:
    schedule = case._profile.schedule
    dpd = _ledger.dpd(schedule, s.paid, day, case.frozen_spans() if s.frozen else ())
    stage = s.stage
    if stage is Stage.CURRENT and dpd >= policy.ladder.reminder.min_dpd:
        stage = Stage.REMINDER
    holds = tuple(h for h in s.holds if h.until is None or day <= h.until)
    overdue = schedule.overdue(s.paid, day)
    if stage is Stage.SETTLED:  # a settlement extinguishes what was owed
        dpd, overdue = 0, Decimal(0)
    return _Day(day, stage, dpd, overdue, holds)


class Guard:
    """A predicate over the facts of a case; its ``name`` labels the diagram's edges."""

    __slots__ = ("citation", "layer", "name")

    def __init__(self, name: str, citation: str, layer: str = "") -> None:
        self.name = name
        self.citation = citation
        self.layer = layer

    def __call__(self, f: Facts, request: object) -> Violation | None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.name

    def refuse(
        self,
        code: RuleCode,
        message: str,
        retry_at: dt.datetime | None = None,
        citation: str | None = None,
        *,
        provisional: bool = False,
        **details: str,
    ) -> Violation:
        if provisional:  # counted on a calendar past the year it is known (DOMAIN section 7)
            details["provisional"] = "true"
        return trusted(
            Violation,
            code=code,
            message=message,
            citation=citation or self.citation,
            retry_at=retry_at,
            details=details,
            layer=self.layer,
        )


class Delinquent(Guard):
    def __call__(self, f: Facts, request: object) -> Violation | None:
        if f.overdue > 0:
            return None
        return self.refuse(
            RuleCode.TRANSITION_NOT_DELINQUENT,
            f"nothing is overdue on {f.day} ({f.zone})",
            day=str(f.day),
        )


class MinDpd(Guard):
    __slots__ = ("code", "min_dpd", "target")

    def __init__(self, target: str, min_dpd: int, rule: Rule, code: RuleCode) -> None:
        super().__init__(f"dpd>={min_dpd}", rule.citation, rule.layer)
        self.target = target
        self.min_dpd = min_dpd
        self.code = code

    def __call__(self, f: Facts, request: object) -> Violation | None:
        if f.dpd >= self.min_dpd or f.overdue == 0:
            return None  # with nothing overdue, ``Delinquent`` says why
        return self.refuse(
            self.code,
            f"{f.dpd} days past due on {f.day} ({f.zone}); {self.target} needs at least "
            f"{self.min_dpd}",
            retry_at=_dpd_reached(f, self.min_dpd),
            dpd=str(f.dpd),
            needs=str(self.min_dpd),
        )


def _dpd_reached(f: Facts, target: int) -> dt.datetime | None:
    """When DPD reaches ``target`` if nothing is paid; ``None`` while a hold stops the clock."""
    spans = f.case.frozen_spans()
    if any(end is None or end > f.day for _, end in spans):
        return None  # the clock is stopped now: when it restarts is not known
    reached = _ledger.day_reaching(f.schedule, f.s.paid, spans, target)
    return None if reached is None else f.start_of(reached)


class NoHold(Guard):
    __slots__ = ("code", "ignore", "policy")

    def __init__(self, policy: Policy, code: RuleCode, ignore: frozenset[HoldKind]) -> None:
        super().__init__("no_hold", "")
        self.policy = policy
        self.code = code
        self.ignore = ignore

    def __call__(self, f: Facts, request: object) -> Violation | None:
        holds = [h for h in f.holds if h.kind not in self.ignore]
        if not holds:
            return None
        return hold_violation(self.policy, f, holds, self.code)


def hold_violation(
    policy: Policy, f: Facts, holds: list[HoldState], code: RuleCode, lead: str = ""
) -> Violation:
    """One violation for every active hold: when they all end, if they all have an end."""
    kinds = ", ".join(h.kind.value for h in holds)
    ends = [h.until for h in holds]
    retry = None
    if all(end is not None for end in ends):
        last = day_after(max(e for e in ends if e is not None))
        retry = None if last is None else f.start_of(last)
    until = "; ".join(
        f"{h.kind.value} until {h.until}" if h.until else f"{h.kind.value} until lifted"
        for h in holds
    )
    cites = [lead] if lead else []
    cites += [policy.holds[h.kind].citation for h in holds]
    layers = [policy.holds[h.kind].layer for h in holds]
    return trusted(
        Violation,
        code=code,
        message=f"on hold ({until})",
        citation="; ".join(dict.fromkeys(cites)),
        retry_at=retry,
        details={"holds": kinds},
        layer="; ".join(dict.fromkeys(x for x in layers if x)),
    )


def _start_after(f: Facts, day: dt.date) -> dt.datetime | None:
    """The first instant after local date ``day``; ``None`` when it cannot be represented."""
    nxt = day_after(day)
    return None if nxt is None else f.start_of(nxt)


class NoPlan(Guard):
    def __call__(self, f: Facts, request: object) -> Violation | None:
        promise = promise_open(f)
        if promise is not None:
            return self.refuse(
                RuleCode.TRANSITION_PLAN_PERFORMING,
                f"a promise to pay by {promise} is unexpired",
                retry_at=_start_after(f, promise),
                promise_due=str(promise),
            )
        if plan_performing(f):
            return self.refuse(
                RuleCode.TRANSITION_PLAN_PERFORMING, "an agreed repayment plan is performing"
            )
        return None


def promise_open(f: Facts) -> dt.date | None:
    """The due date of a promise that is neither kept nor past its date."""
    p = f.s.promise
    if p is None or f.day > p.due or f.s.paid - p.paid_before >= p.amount:
        return None
    return p.due


def plan_performing(f: Facts) -> bool:
    plan = f.s.plan
    if plan is None or plan.broken:
        return False
    paid_since = f.s.paid - plan.paid_before
    for due, owed in zip(plan.due_dates, plan.cum, strict=True):
        if due >= f.day:
            break
        if paid_since < owed:
            return False  # an instalment of the plan was missed: it is broken
    return True


class NoticeGiven(Guard):
    """A notice of one of ``rule.kinds``, good, before ``at``, its waits passed.

    A remedy date counts from the date the notice was served (``_service``), and
    the action may be taken from the start of that date (CCA s88(2)).
    """

    __slots__ = ("code", "policy", "rule")

    def __init__(self, rule: NoticeRule, code: RuleCode, policy: Policy | None = None) -> None:
        # The label says all the rule asks: ``notice(validation) + 14 days or a conversation``
        # (no comma: the diagram separates guards with commas).
        name = f"notice({'|'.join(sorted(rule.kinds))})"
        if rule.wait_days:
            name += f" + {rule.wait_days} days"
        if rule.min_remedy_days is not None:
            name += f" with {rule.min_remedy_days} days to remedy"
        if rule.conversation_suffices:
            name += " or a conversation"
        super().__init__(name, rule.citation, rule.layer)
        self.rule = rule
        self.code = code
        self.policy = policy

    def __call__(self, f: Facts, request: object) -> Violation | None:
        rule = self.rule
        first_talk = f.s.first_conversation_at
        if rule.conversation_suffices and first_talk is not None and first_talk < f.at:
            return None
        kinds = " or ".join(sorted(rule.kinds))
        waiting: list[dt.datetime | None] = []
        invalid: list[str] = []
        provisional = False
        for n in f.case.notices(rule.kinds):
            if not n.good or n.at >= f.at:
                continue
            problem, guessed = self._remedy_problem(n, f)
            provisional = provisional or guessed
            if problem:
                invalid.append(problem)
                continue
            ready = self._ready_at(n, f)
            if ready is not None and ready <= f.at:
                return None
            waiting.append(ready)
        if waiting:
            known = [w for w in waiting if w is not None]
            first = min(known) if known else None
            when = first.isoformat() if first else "a date past the calendar's range"
            return self.refuse(
                self.code,
                f"the {kinds} notice allows this from {when}",
                retry_at=first,
                provisional=provisional,
            )
        problem = _listed(invalid, f"{kinds} notices") or (
            f"no delivered {kinds} notice before {f.at.isoformat()}"
        )
        return self.refuse(self.code, problem, notice=kinds, provisional=provisional)

    def _remedy_problem(self, n: NoticeState, f: Facts) -> tuple[str | None, bool]:
        """What is wrong with the notice's remedy date, if anything, and whether the service
        date it counts from was worked out on a provisional calendar."""
        days = self.rule.min_remedy_days
        if days is None:
            return None, False
        sent = local_date(n.at, f.zone)
        if n.remedy_date is None:
            return f"the {n.kind} notice of {sent} gives no remedy date", False
        served, provisional = sent, False
        if self.policy is not None:
            served, provisional = served_on(n, f.zone, self.policy)
        if n.remedy_date < served + dt.timedelta(days=days):
            how = "" if self.policy is None else f" by {method_of(n, self.policy)}"
            return (
                f"the {n.kind} notice of {sent}, served{how} on {served}, gives "
                f"{n.remedy_date} to remedy: less than {days} days after service"
            ), provisional
        return None, provisional

    def _ready_at(self, n: NoticeState, f: Facts) -> dt.datetime | None:
        """When the notice allows the action; ``None`` past the last representable instant."""
        ready = n.at
        if self.rule.wait_days:
            sent = local_date(n.at, f.zone)
            waited = _start_after(f, sent + dt.timedelta(days=self.rule.wait_days))
            if waited is None:
                return None
            ready = max(ready, waited)
        if self.rule.min_remedy_days is not None and n.remedy_date is not None:
            remedied = f.start_of(n.remedy_date)  # s88(2): not before the date specified
            if remedied is None:
                return None
            ready = max(ready, remedied)
        return ready


_LISTED = 5  # problems named in one message: a message stays readable, and within its bound


def _listed(problems: list[str], what: str) -> str:
    """The first few ``problems`` joined, and how many more (a case may hold any number)."""
    named = "; ".join(problems[:_LISTED])
    more = len(problems) - _LISTED
    return f"{named}; and {more} more {what} like these" if more > 0 else named


class AgencyEvaluated(Guard):
    __slots__ = ("rule",)

    def __init__(self, rule: AgencyEvaluation) -> None:
        super().__init__(f"agency_evaluated<={rule.within_days}d", rule.citation, rule.layer)
        self.rule = rule

    def __call__(self, f: Facts, request: object) -> Violation | None:
        assert isinstance(request, Refer)
        on = request.evaluated_on
        if on is not None and on <= f.day and (f.day - on).days <= self.rule.within_days:
            return None
        said = "has no evaluation date" if on is None else f"was last evaluated on {on}"
        return self.refuse(
            RuleCode.TRANSITION_AGENCY_NOT_EVALUATED,
            f"agency {request.agency!r} {said}; it must be evaluated within "
            f"{self.rule.within_days} days before a referral",
            agency=request.agency,
        )


class StageIn(Guard):
    __slots__ = ("stages",)

    def __init__(self, stages: frozenset[Stage], rule: Rule) -> None:
        names = "|".join(s.value for s in sorted(stages, key=list(Stage).index))
        super().__init__(f"stage in {names}", rule.citation, rule.layer)
        self.stages = stages

    def __call__(self, f: Facts, request: object) -> Violation | None:
        if f.stage in self.stages:
            return None
        allowed = ", ".join(sorted(self.stages))
        return self.refuse(
            RuleCode.TRANSITION_NOT_ALLOWED,
            f"{getattr(request, 'action', 'this')} is taken from {allowed}, not {f.stage}",
        )


class NotTimeBarred(Guard):
    __slots__ = ("calendar", "rule")

    def __init__(self, rule: Limitation, calendar: Calendar | None = None) -> None:
        super().__init__(f"within {rule.years}y limitation", rule.citation, rule.layer)
        self.rule = rule
        self.calendar = calendar

    def __call__(self, f: Facts, request: object) -> Violation | None:
        start, reason = limitation_start(f)
        ends, provisional = period_end(start, self.rule, self.calendar)
        if f.day <= ends:
            return None
        moved = years_after(start, self.rule.years)
        on = f"{ends} ({moved} is not a working day)" if moved != ends else ends
        return self.refuse(
            RuleCode.LEGAL_TIME_BARRED,
            f"time-barred: {self.rule.years} years from {start} ({reason}) ended on {on}; "
            "nothing done after that revives it",
            limitation_ended=str(ends),
            provisional=provisional,
        )


def limitation_start(f: Facts) -> tuple[dt.date, str]:
    """Where the limitation period runs from: the last due date, or the last restart that
    counted while the period ran (the fold keeps it, restart by restart)."""
    run = f.s.limitation
    if run.day is None:
        return f.schedule.dues[-1], run.reason
    return run.day, run.reason


class ForbearanceAssessed(Guard):
    def __call__(self, f: Facts, request: object) -> Violation | None:
        at = f.s.forbearance_at
        if at is not None and at <= f.at:
            return None
        return self.refuse(
            RuleCode.LEGAL_FORBEARANCE_REQUIRED,
            "forbearance has not been assessed (record a forbearance_assessed event)",
        )


class NotDisputed(Guard):
    def __call__(self, f: Facts, request: object) -> Violation | None:
        if not f.s.bureau_disputed and not any(h.kind is HoldKind.DISPUTE for h in f.holds):
            return None
        return self.refuse(
            RuleCode.BUREAU_DISPUTED, "the debt is disputed and the dispute is not resolved"
        )


class NotObsolete(Guard):
    __slots__ = ("rule",)

    def __init__(self, rule: Retention) -> None:
        super().__init__(f"not older than {rule.years}y", rule.citation, rule.layer)
        self.rule = rule

    def __call__(self, f: Facts, request: object) -> Violation | None:
        began = first_delinquency(f)
        if began is None:
            return None
        offset = dt.timedelta(days=self.rule.starts_after_days)
        try:
            obsolete = years_after(began + offset, self.rule.years)
        except OverflowError:
            return None
        if f.day < obsolete:
            return None
        return self.refuse(
            RuleCode.BUREAU_OBSOLETE,
            f"the date of first delinquency is {began}: reporting it is obsolete from {obsolete} "
            f"({self.rule.starts_after_days} days and {self.rule.years} years on)",
            delinquency_began=str(began),
            obsolete_from=str(obsolete),
        )


def first_delinquency(f: Facts) -> dt.date | None:
    """The date of first delinquency (FCRA 1681c(c)(1)): the day after the earliest due date
    missed since the account was last current; ``None`` when nothing is overdue.

    A payment that left the account overdue fixed it in the fold; otherwise it follows
    from what is paid, as no payment has moved anything since the run began.
    """
    if f.overdue <= 0:
        return None
    if f.s.dofd is not None:
        return f.s.dofd
    missed = f.schedule.delinquent_since(f.s.paid, f.day)
    return None if missed is None else day_after(missed)


@dataclass(frozen=True, slots=True)
class ActionRules:
    """How an action is judged: the move it makes (if any) and its guards."""

    action: Action
    trigger: str | None
    target: str | None
    guards: tuple[Guard, ...]


@dataclass(frozen=True, slots=True)
class Rulebook:
    """A policy compiled into guard tables; shared by every case under that policy."""

    policy: Policy
    ladder: tuple[Edge, ...]
    actions: dict[str, ActionRules]
    edges: dict[tuple[str, str, str], Edge]  # (track, trigger, source) -> edge

    def for_request(self, request: object) -> ActionRules:
        if isinstance(request, Escalate):
            return self.actions[f"escalate_{request.to}"]  # a StrEnum formats as its value
        return self.actions[str(getattr(request, "action", ""))]


def decide(book: Rulebook, case: Case, request: ActionRequest, at: dt.datetime) -> Decision:
    """Judge a ladder, bureau or legal action: every violation found, none left out."""
    f, violations = judge(book, case, request, at)
    return make_decision(book.policy, case, request, at, f.stage, violations)


def judge(
    book: Rulebook, case: Case, request: ActionRequest, at: dt.datetime
) -> tuple[Facts, list[Violation]]:
    """The facts at ``at`` and every violation found (``decide`` without the ``Decision``)."""
    f = facts(case, book.policy, at)
    rules = book.for_request(request)
    violations: list[Violation] = []
    if f.stage in TERMINAL:
        violations.append(
            Violation(
                code=RuleCode.TRANSITION_TERMINAL,
                message=f"the case is {f.stage}: it has ended, and nothing moves it now",
                citation=book.policy.ladder.citation,
                layer=book.policy.ladder.layer,
            )
        )
    else:
        if rules.trigger is not None:
            missing = _no_edge(book, case, f, rules)
            if missing is not None:
                violations.append(missing)
        for guard in rules.guards:
            found = guard(f, request)
            if found is not None:
                violations.append(found)
    return f, violations


def make_decision(
    policy: Policy,
    case: Case,
    request: ActionRequest,
    at: dt.datetime,
    stage: Stage,
    violations: list[Violation],
) -> Decision:
    # Every part is already validated; skip pydantic's second pass on the hot path.
    profile = case._profile
    return _decision(
        {
            "allowed": not violations,
            "request": request,
            "at": at,
            "policy": policy.fingerprint,
            "loan_id": profile.loan_id,
            "borrower_id": profile.borrower_id,
            "version": case.version,
            "stage": stage,
            "violations": tuple(violations),
        }
    )


_decision = builder(Decision)


def _no_edge(book: Rulebook, case: Case, f: Facts, rules: ActionRules) -> Violation | None:
    assert rules.trigger is not None
    bureau = rules.action is Action.REPORT
    source = str(case.bureau) if bureau else str(f.stage)
    if (("bureau" if bureau else "ladder"), rules.trigger, source) in book.edges:
        return None
    rule = book.policy.bureau if bureau else book.policy.ladder
    if bureau:
        message = f"the debt is {source} with the bureau: it can be reported again once updated"
    elif rules.target is not None and _skips(source, rules.target):
        message = (
            f"{rules.target} is more than one rung above {source}: the ladder goes one rung "
            "at a time and this policy allows no skip"
        )
    else:
        target = rules.target or rules.action.value
        message = f"there is no move to {target} from {source}"
    return Violation(
        code=RuleCode.TRANSITION_NOT_ALLOWED,
        message=message,
        citation=rule.citation,
        layer=rule.layer,
    )


def _skips(source: str, target: str) -> bool:
    order = [s.value for s in LADDER]
    return source in order and target in order and order.index(target) > order.index(source) + 1


def _compile(policy: Policy) -> Rulebook:
    p = policy
    lad = p.ladder
    calendar = None if p.calendar is None else p.calendar.compiled
    no_hold = NoHold(p, RuleCode.TRANSITION_HOLD, frozenset())
    no_plan = NoPlan("no_plan_or_promise", lad.plans.citation, lad.plans.layer)
    delinquent = Delinquent("delinquent", lad.citation, lad.layer)

    def rung_guards(name: str, rung: Rung) -> list[Guard]:
        out: list[Guard] = [
            delinquent,
            MinDpd(name, rung.min_dpd, rung, RuleCode.TRANSITION_MIN_DPD),
        ]
        if rung.notice is not None:
            out.append(NoticeGiven(rung.notice, RuleCode.TRANSITION_NOTICE_REQUIRED, p))
        return out

    actions: dict[str, ActionRules] = {}
    for stage in (Stage.NEGOTIATION, Stage.FORMAL):
        guards = [*rung_guards(stage.value, lad.rung(stage)), no_hold, no_plan]
        key = f"escalate_{stage.value}"
        actions[key] = ActionRules(Action.ESCALATE, key, stage.value, tuple(guards))

    refer = [*rung_guards("third_party", lad.third_party), no_hold, no_plan]
    if lad.agency_evaluation is not None:
        refer.append(AgencyEvaluated(lad.agency_evaluation))
    actions["refer"] = ActionRules(Action.REFER, "refer", Stage.THIRD_PARTY.value, tuple(refer))

    legal: list[Guard] = [
        StageIn(p.legal.from_stages, p.legal),
        delinquent,
        no_hold,
    ]
    if p.legal.limitation is not None:
        legal.append(NotTimeBarred(p.legal.limitation, calendar))
    if p.legal.notice is not None:
        legal.append(NoticeGiven(p.legal.notice, RuleCode.TRANSITION_NOTICE_REQUIRED, p))
    if p.legal.forbearance is not None:
        forbearance = p.legal.forbearance
        legal.append(
            ForbearanceAssessed("forbearance_assessed", forbearance.citation, forbearance.layer)
        )
    actions["legal_action"] = ActionRules(Action.LEGAL_ACTION, None, None, tuple(legal))

    b = p.bureau
    report: list[Guard] = [
        MinDpd("reporting", b.min_dpd.days, b.min_dpd, RuleCode.BUREAU_MIN_DPD),
        Delinquent("delinquent", b.min_dpd.citation, b.min_dpd.layer),
        NotDisputed("not_disputed", b.disputes.citation, b.disputes.layer),
        NoHold(p, RuleCode.TRANSITION_HOLD, frozenset({HoldKind.DISPUTE})),
    ]
    if b.notice is not None:
        report.append(NoticeGiven(b.notice, RuleCode.BUREAU_NOTICE_REQUIRED, p))
    if b.retention is not None:
        report.append(NotObsolete(b.retention))
    actions["report"] = ActionRules(Action.REPORT, "report", None, tuple(report))

    write_off = rung_guards("write_off", lad.write_off)
    actions["write_off"] = ActionRules(
        Action.WRITE_OFF, "write_off", Stage.WRITTEN_OFF.value, tuple(write_off)
    )
    actions["settle"] = ActionRules(Action.SETTLE, "settle", Stage.SETTLED.value, ())
    actions["recall"] = ActionRules(Action.RECALL, "recall", Stage.FORMAL.value, ())
    ladder = ladder_edges(lad.skip_allowed)
    edges = {("ladder", e.trigger, e.source): e for e in ladder}
    edges.update({("bureau", e.trigger, e.source): e for e in BUREAU_EDGES})
    return Rulebook(policy, ladder, actions, edges)


_BOOKS: PerPolicy[Rulebook] = PerPolicy()


def rulebook(policy: Policy) -> Rulebook:
    """The compiled guards of a policy, one per fingerprint, shared across threads."""
    return _BOOKS.get(policy, lambda: _compile(policy))

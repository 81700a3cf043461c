"""The policy: every figure the engine enforces, each rule with its citation and layer.

``load_policy("cn")`` loads a preset; ``load_policy("ours.yaml")`` a file,
which may start from a preset (``extends: us``) and override it. A rule of
law (caps, windows, waits, permissions) can only be tightened by an overlay:
a looser value is refused (``LooseningOverlayError``), never silently
outvoted. Lender strategy (the ladder's DPD thresholds, plan and promise
rules, the field-visit appointment window; ``strategy_fields()``) is the
overlay's to set, either way. A policy that cannot work is refused here, at
load time, naming the file and the field.

Every rule, and every window of the quiet hours, carries its ``citation`` and
its ``layer``: the preset or file whose value it holds. A refusal carries both.

Every rule and window may also carry ``effective_from`` and ``effective_to``
(local dates in the policy's ``home_timezone``; ``effective_to`` inclusive): a
decision at an instant uses the rules in force on its local date there, and
before a rule's start the policy has no such rule (``Policy.in_force``). Only a
rule the policy can be without is dated: an optional rule, a counter, a
minimum gap, a window; the rules every decision reads (the ladder, the quiet
hours as a whole, the third-party rule, ...) are in force at every date, and
the rules inside them carry the dates. The fingerprint covers the whole
timeline.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from enum import Enum
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, Self, cast, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from staged_collection import _files
from staged_collection._limits import MAX_CITATION_LENGTH
from staged_collection._overlay import Stricter, deep_merge, layer_of, overlay_rules
from staged_collection.borrower import TimeZoneName
from staged_collection.calendars import (
    FIRST_YEAR,
    LAST_YEAR,
    Calendar,
    CalendarName,
    CalendarRules,
    HolidayName,
    compile_calendar,
)
from staged_collection.errors import LooseningOverlayError, PolicyError
from staged_collection.terms import (
    Channel,
    HoldKind,
    Initiator,
    NoticeKind,
    Outcome,
    Purpose,
    Stage,
)

__all__ = [
    "PRESETS",
    "ArrearsDuty",
    "BureauRules",
    "CalendarRule",
    "Collectors",
    "ConsentRule",
    "ContactRules",
    "Cooldown",
    "Counter",
    "Duties",
    "FieldVisitRule",
    "HoldRule",
    "LadderRules",
    "LegalRules",
    "Limitation",
    "MinGap",
    "NoticeRule",
    "Policy",
    "PolicyDifference",
    "Rule",
    "Rung",
    "Service",
    "ThirdPartyRule",
    "UnreachableCalls",
    "Validation",
    "ValidationDuty",
    "Weekday",
    "Window",
    "compose",
    "load_policy",
    "policy_differences",
    "strategy_fields",
]

PRESETS: tuple[str, ...] = ("cn", "uk", "us", "us-ma")

Lower = Stricter.LOWER
Higher = Stricter.HIGHER
All = Stricter.ALL
Any_ = Stricter.ANY
Fewer = Stricter.FEWER
More = Stricter.MORE
Overlay = Stricter.OVERLAY
Strategy = Stricter.STRATEGY
Sooner = Stricter.SOONER
Later = Stricter.LATER
Union = Stricter.UNION
Exception_ = Stricter.EXCEPTION

Days = Annotated[int, Field(ge=0, le=36_600)]
"""A number of days: at least 0, at most a century."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy; with ``update``, validated again like any new rule.

        Pydantic's own copy sets the updated fields unchecked and keeps what
        the instance has cached, so a copy could hold a rule that cannot work,
        or a policy the fingerprint of another.
        """
        if not update:
            return super().model_copy(deep=deep)
        values = {name: getattr(self, name) for name in type(self).model_fields}
        return self.model_validate({**values, **update})


class _Dated(_Frozen):
    """What every rule and window may say about when it is in force.

    ``effective_from`` and ``effective_to`` are local dates in the policy's
    ``home_timezone``; both inclusive, either open (``None``). An overlay can
    only keep a rule of law in force longer: start it earlier, end it later.
    """

    effective_from: Annotated[dt.date | None, Sooner] = None
    effective_to: Annotated[dt.date | None, Later] = None

    @model_validator(mode="after")
    def _in_force_in_order(self) -> Self:
        start, end = self.effective_from, self.effective_to
        if start is not None and end is not None and end < start:
            raise ValueError(f"effective_to ({end}) is before effective_from ({start})")
        return self

    @property
    def dated(self) -> bool:
        """Whether the rule starts or ends on a date (``False``: in force at every date)."""
        return self.effective_from is not None or self.effective_to is not None

    def in_force_on(self, day: dt.date) -> bool:
        """Whether the rule is in force on ``day`` (a local date in the home zone)."""
        start, end = self.effective_from, self.effective_to
        return (start is None or start <= day) and (end is None or day <= end)


def _layer_from_context(value: Any, info: ValidationInfo) -> Any:
    # The loader says which preset or file it is reading; a value given in
    # the data (a dump of a composed policy) is kept.
    if not value and isinstance(info.context, dict):
        return info.context.get("layer", value)
    return value


class Rule(_Dated):
    """A rule, where the law (or the lender's strategy) says so, and which layer set it.

    ``layer`` is the preset or policy file (its name, e.g. ``us`` or ``ny.yaml``)
    whose value the rule holds; the loader sets it, and an empty layer means
    the rule was built in code. ``effective_from`` / ``effective_to``: when the
    rule is in force (see ``_Dated``).
    """

    citation: str = Field(min_length=1, max_length=MAX_CITATION_LENGTH)
    layer: str = Field(default="", validate_default=True)

    @field_validator("layer", mode="before")
    @classmethod
    def _loaded_from(cls, value: Any, info: ValidationInfo) -> Any:
        return _layer_from_context(value, info)


class NoticeRule(Rule):
    """A notice that must precede an action.

    One of ``kinds``, delivered and not returned undeliverable, sent before the
    action; with ``wait_days`` the action waits until that many whole local
    days after the sending date have passed. With ``min_remedy_days`` the
    notice must give a remedy date at least that many days after the date it
    is served (``Service``: by post, the second working day after posting),
    and the action waits until the start of that date (CCA s88(2): not before
    the date specified). With ``conversation_suffices`` a conversation with the
    borrower before the action also satisfies it.
    """

    kinds: Annotated[frozenset[NoticeKind], Fewer] = Field(min_length=1)
    wait_days: Annotated[Days, Higher] = 0
    min_remedy_days: Annotated[Days | None, Higher] = None
    conversation_suffices: Annotated[bool, All] = False


class Rung(Rule):
    """What it takes to enter a stage of the ladder."""

    min_dpd: Annotated[Days, Strategy]
    notice: NoticeRule | None = None


class AgencyEvaluation(Rule):
    """Agencies must have been evaluated within ``within_days`` before a referral."""

    within_days: Annotated[Days, Lower]


class LadderRules(Rule):
    """The ladder: thresholds per rung (a lender's strategy; the law sets none)."""

    reminder: Rung
    negotiation: Rung
    formal: Rung
    third_party: Rung
    write_off: Rung
    skip_allowed: Annotated[bool, All] = False
    plans: Annotated[Rule, Strategy]
    agency_evaluation: AgencyEvaluation | None = None

    @field_validator("reminder")
    @classmethod
    def _overdue_first(cls, value: Rung) -> Rung:
        if value.min_dpd < 1:
            raise ValueError("min_dpd must be at least 1: a case with nothing overdue is current")
        return value

    def rung(self, stage: Stage | str) -> Rung:
        rung: Rung = getattr(self, str(stage))
        return rung


Restart = Literal["payment", "formal_demand", "acknowledgment"]


class Limitation(Rule):
    """After ``years`` from the last due date (or the last restart), no suit.

    A restart (``restarted_by``: a payment, a delivered formal demand, a written
    acknowledgment) counts only while the period runs: once it has run, nothing
    revives it. The period ends on the same calendar date ``years`` on (29
    February becomes 28 February); with ``ends_on_working_day`` a last day
    that is not a working day of the policy's calendar moves to the next one.
    """

    years: Annotated[int, Lower, Field(ge=1, le=100)]
    restarted_by: Annotated[frozenset[Restart], Fewer] = frozenset()
    ends_on_working_day: Annotated[bool, All] = False


class LegalRules(Rule):
    """When a suit or arbitration may start."""

    from_stages: Annotated[frozenset[Stage], Fewer] = Field(min_length=1)
    limitation: Limitation | None = None
    notice: NoticeRule | None = None
    forbearance: Rule | None = None


class MinDpd(Rule):
    days: Annotated[Days, Higher]


class Retention(Rule):
    """Negative information is obsolete ``years`` after the delinquency began (plus an offset).

    The period starts ``starts_after_days`` after the first day of delinquency.
    """

    years: Annotated[int, Lower, Field(ge=1, le=100)]
    starts_after_days: Annotated[Days, Lower] = 0


class BureauRules(Rule):
    """Furnishing to the credit bureau."""

    min_dpd: MinDpd
    notice: NoticeRule | None = None
    disputes: Rule
    retention: Retention | None = None


class HoldRule(Rule):
    """A hold of one kind: how long it lasts by default, whether it stops the DPD clock.

    ``starts_next_day``: day 1 of ``default_days`` is the day after the hold is recorded
    (a UK breathing space starts the day after it is registered, SI 2020/1311 reg. 26),
    not the day itself. The hold is active from its instant either way.
    """

    default_days: Annotated[Days | None, Higher] = None
    freezes_dpd: Annotated[bool, Any_] = False
    starts_next_day: Annotated[bool, Any_] = False


class Window(_Dated):
    """Local wall time ``[start, end)`` in which a channel may reach a person.

    A window has its own ``citation`` and ``layer``; a window given without a
    citation takes its rule's (``QuietHours.citation``) when loaded. It may be
    dated like a rule (``effective_from`` / ``effective_to``).
    """

    start: Annotated[dt.time, Higher]
    end: Annotated[dt.time, Lower]
    citation: str = Field(default="", max_length=MAX_CITATION_LENGTH)
    layer: str = Field(default="", validate_default=True)

    @field_validator("layer", mode="before")
    @classmethod
    def _loaded_from(cls, value: Any, info: ValidationInfo) -> Any:
        return _layer_from_context(value, info)

    @model_validator(mode="after")
    def _starts_before_it_ends(self) -> Self:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("window times are local wall times and carry no offset")
        if self.end <= self.start:
            raise ValueError(
                f"the window ends ({self.end:%H:%M}) before it starts ({self.start:%H:%M})"
            )
        return self

    def __str__(self) -> str:  # HH:MM-HH:MM, without strftime (it is in every refusal)
        start, end = self.start, self.end
        return f"{start.hour:02}:{start.minute:02}-{end.hour:02}:{end.minute:02}"


Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[Weekday, ...] = get_args(Weekday)
"""The weekdays in ISO order: ``WEEKDAYS[day.isoweekday() - 1]`` names a date's weekday."""


class QuietHours(Rule):
    """Per channel, the local window in which contact may happen; a channel not listed has none.

    ``weekdays`` adds windows for particular weekdays (``saturday: {call: 09:00-18:00}``):
    on that weekday a contact must be inside both the channel's general window
    and the weekday's (the stricter wins); a channel with only a weekday window
    is limited on that weekday only. Each window cites its own source;
    ``citation`` is the one a window given without a citation takes.
    """

    windows: dict[Channel, Window]
    weekdays: dict[Weekday, dict[Channel, Window]] = {}

    @model_validator(mode="before")
    @classmethod
    def _windows_cite_the_rule(cls, data: Any) -> Any:
        return _windows_cite_the_rule(data)


def _windows_cite_the_rule(data: Any) -> Any:
    """Quiet hours (a mapping) whose windows without a citation have the rule's."""
    if not isinstance(data, dict):
        return data
    cite, windows, weekdays = data.get("citation"), data.get("windows"), data.get("weekdays")
    if not isinstance(cite, str):
        return data
    out = dict(data)
    if isinstance(windows, dict):
        out["windows"] = {k: _cited(w, cite) for k, w in windows.items()}
    if isinstance(weekdays, dict):
        out["weekdays"] = {
            day: {k: _cited(w, cite) for k, w in by_channel.items()}
            if isinstance(by_channel, dict)
            else by_channel
            for day, by_channel in weekdays.items()
        }
    return out


def _cited(window: Any, citation: str) -> Any:
    if isinstance(window, dict) and not window.get("citation"):
        return {**window, "citation": citation}
    if isinstance(window, Window) and not window.citation:
        return window.model_copy(update={"citation": citation})
    return window


class RestDays(Rule):
    """Local days with no collection contact: ISO weekdays (1 = Monday) and dates.

    They apply to every channel that reaches a person at a moment; with
    ``letters`` also to letters (no letter is sent on a rest day), which have
    no time rules otherwise.

    ``public_holidays``: every public holiday of the policy's calendar too (in
    ``cn`` the days off substituted for them included). A file may also write
    the word among the weekdays: ``weekdays: [7, public_holidays]``.
    """

    weekdays: Annotated[frozenset[Annotated[int, Field(ge=1, le=7)]], More] = frozenset()
    dates: Annotated[frozenset[dt.date], More] = frozenset()
    letters: Annotated[bool, Any_] = False
    public_holidays: Annotated[bool, Any_] = False

    @model_validator(mode="before")
    @classmethod
    def _the_word_among_the_weekdays(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        weekdays = data.get("weekdays")
        if isinstance(weekdays, list | tuple | set | frozenset) and "public_holidays" in weekdays:
            days = [d for d in weekdays if d != "public_holidays"]
            return {**data, "weekdays": days, "public_holidays": True}
        return data


CounterKey = Literal["debtor", "debt", "number", "person_debt"]
CounterWindow = Literal["local_day", "rolling_days", "calendar_week", "calendar_month"]


class Counter(Rule):
    """A frequency cap, as data: what counts, per what key, over which window, up to what limit.

    ``key``: ``debtor`` (the borrower, across their cases when they are handed
    in), ``debt`` (this case), ``number`` (the phone number or address used),
    ``person_debt`` (the person reached, for this debt). ``window``: the local
    day of the attempt, the ``days`` local days ending on it, its calendar week
    (Monday to Sunday) or its calendar month. A contact counts when its
    channel, outcome and initiator match, it was placed by the lender or an
    agency as ``placed_by`` says (``any``: both), and (with ``exempt_consent``)
    it is outside a consent window. An attempt, whose outcome is not known
    yet, counts as if it will match.

    Dated (``effective_from`` / ``effective_to``), a counter applies to the
    attempts on the dates it is in force, and then counts every contact in its
    window, those made before its start included: the cap is on the contacts a
    window holds, whenever they were made.
    """

    name: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_]*$")
    key: CounterKey
    window: CounterWindow
    days: Annotated[int, Higher, Field(ge=1, le=366)] = 1
    channels: Annotated[frozenset[Channel], More] = Field(min_length=1)
    outcomes: Annotated[frozenset[Outcome], More] = Field(min_length=1)
    initiated_by: Annotated[frozenset[Initiator], More] = frozenset({Initiator.COLLECTOR})
    placed_by: Literal["any", "lender", "agency"] = "any"
    exempt_consent: Annotated[bool, All] = False
    limit: Annotated[int, Lower, Field(ge=0)]

    @model_validator(mode="after")
    def _window_days(self) -> Self:
        if self.window != "rolling_days" and self.days != 1:
            raise ValueError(f"days is only for window rolling_days, not {self.window}")
        return self


class Cooldown(Rule):
    """After a connected conversation on local day c, no call on days c .. c + days - 1."""

    days: Annotated[int, Higher, Field(ge=1, le=366)]
    channels: Annotated[frozenset[Channel], More] = Field(min_length=1)
    exempt_consent: Annotated[bool, All] = False


class MinGap(Rule):
    """At least ``minutes`` between two collector-initiated attempts on ``channels``.

    Every attempt counts, whatever its outcome, per ``key``: ``debtor`` (the
    borrower, across the cases handed in), ``debt`` (this case, anyone
    reached), ``number`` (the phone number or address used) or
    ``person_debt`` (the person reached, for this debt). An attempt is refused
    (``contact.min_gap``) until ``minutes`` after the latest one.
    """

    name: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_]*$")
    channels: Annotated[frozenset[Channel], More] = Field(min_length=1)
    minutes: Annotated[int, Higher, Field(ge=1, le=366 * 24 * 60)]
    key: CounterKey = "person_debt"


class UnreachableCalls(Rule):
    """The borrower is unreachable the day after ``calls`` failed calls in a row (失联 (b))."""

    calls: Annotated[int, Higher, Field(ge=1, le=100)] = 3


class ThirdPartyRule(Rule):
    """Whether, when and why people other than the borrower may be contacted.

    With ``only_when_unreachable``, the borrower is unreachable (失联) on a local
    day after ``unreachable_days`` consecutive days of attempts with none
    connected, and, where the policy grants them, when every number attempted
    was out of service at its latest attempt (``unreachable_lines``) or the day
    after ``unreachable_calls.calls`` failed calls in a row. A connected call
    ends the last two. A third party who asks to stop is not contacted again
    (``contact.ceased``, citing this rule).
    """

    allowed: Annotated[bool, All]
    purposes: Annotated[frozenset[Purpose], Fewer] = frozenset({Purpose.LOCATION})
    only_when_unreachable: Annotated[bool, Any_] = False
    unreachable_days: Annotated[int, Higher, Field(ge=1, le=366)] = 3
    unreachable_lines: Annotated[Rule | None, Exception_] = None
    unreachable_calls: Annotated[UnreachableCalls | None, Exception_] = None
    once_per_party: Annotated[bool, Any_] = False


class Collectors(Rule):
    """At least ``min`` collectors on a field visit."""

    min: Annotated[int, Higher, Field(ge=1)]


class FieldVisitRule(Rule):
    """Field visits: from which stages, booked how close to the visit, by how many collectors.

    ``collectors`` is a rule of its own (it may have its own source and dates);
    without it a visit needs one collector.
    """

    from_stages: Annotated[frozenset[Stage], Fewer] = Field(min_length=1)
    appointment_within_minutes: Annotated[int, Strategy, Field(ge=0, le=1440)] = 120
    collectors: Collectors | None = None

    @property
    def min_collectors(self) -> int:
        """The fewest collectors a visit may have under this rule."""
        return 1 if self.collectors is None else self.collectors.min


class ConsentRule(Rule):
    """A consent exempts calls for at most ``days`` local days, its own day counting as day 1.

    The exemption ends at the earlier of the consent's ``until`` and the end of
    day ``days`` (12 CFR 1006.14(b)(3)(i): seven consecutive days).
    """

    days: Annotated[int, Lower, Field(ge=1, le=366)]


class ContactRules(_Frozen):
    """Everything the contact guard enforces."""

    quiet_hours: QuietHours
    inconvenient: Rule
    rest_days: RestDays | None = None
    counters: tuple[Counter, ...] = ()
    min_gaps: tuple[MinGap, ...] = ()
    cooldown: Cooldown | None = None
    consent: ConsentRule | None = None
    third_party: ThirdPartyRule
    field_visit: FieldVisitRule
    ceased: Rule
    represented: Rule | None = None
    workplace: Rule | None = None
    holds: Rule
    nothing_due: Rule
    agency: Rule
    unknown_timezone: Rule

    @field_validator("counters", "min_gaps")
    @classmethod
    def _unique_names(
        cls, value: tuple[Counter | MinGap, ...], info: ValidationInfo
    ) -> tuple[Counter | MinGap, ...]:
        names = [c.name for c in value]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise ValueError(f"{info.field_name}[{i}].name {name!r} is used twice")
        return value


class CalendarRule(Rule, CalendarRules):
    """The calendar of public holidays and working days the policy counts by.

    ``name`` (``cn``, ``us``, ``uk``, ``uk-sct``, ``uk-nir``), dates added,
    removed or made working days, and the last year it is known
    (``known_through``): deadlines counted past it are marked provisional.

    A calendar is a statement of fact, not a rule with a stricter side (more
    holidays delay a served notice and lengthen a limitation period alike), so
    an overlay composes it as facts: ``name`` must agree (to count by another
    calendar, write a whole policy), the dates it adds, removes or makes
    working days join the base's, and its ``known_through`` stands (a ``cn``
    year the holidays package does not know must then be listed).
    """

    name: CalendarName
    known_through: Annotated[int, Overlay, Field(ge=FIRST_YEAR, le=LAST_YEAR)]
    add: Annotated[dict[dt.date, HolidayName], Union] = Field(default_factory=dict)
    remove: Annotated[frozenset[dt.date], Union] = frozenset()
    working: Annotated[frozenset[dt.date], Union] = frozenset()

    @cached_property
    def compiled(self) -> Calendar:
        """The working-day calendar itself, built once per rule (and shared by equal rules)."""
        return compile_calendar(self)


class Service(Rule):
    """When a notice is served: by post on the ``post_working_days``-th working day after
    its local date, by hand or electronically on that date, or on the ``served_on`` a
    notice states. ``by_post``: the kinds whose notices go by post unless they say
    otherwise (every other kind is served by hand)."""

    by_post: Annotated[frozenset[NoticeKind], More] = frozenset()
    post_working_days: Annotated[int, Higher, Field(ge=0, le=30)] = 2


class Validation(Rule):
    """The validation period (US): a ``validation`` notice sent on local date s is assumed
    received on the ``receipt_working_days``-th working day after s; the period ends at the
    end of the ``period_days``-th day after that. With ``required_before_contact``,
    collection calls (``call``, ``ai_voice``) wait for a validation notice."""

    receipt_working_days: Annotated[int, Higher, Field(ge=0, le=60)] = 5
    period_days: Annotated[int, Higher, Field(ge=1, le=366)] = 30
    required_before_contact: Annotated[bool, Any_] = False


class ValidationDuty(Rule):
    """Send a validation notice by the end of the ``days``-th day after the first
    communication with the borrower (a conversation or a delivered message)."""

    days: Annotated[int, Lower, Field(ge=0, le=366)] = 5


class ArrearsDuty(Rule):
    """Send an arrears notice once ``instalments`` instalments are overdue at once, by the
    end of the ``days``-th day counting that day as day 1; while they stay overdue, again
    every ``every_months`` calendar months after the last one (due at the end of that day)."""

    instalments: Annotated[int, Lower, Field(ge=1, le=100)] = 2
    days: Annotated[int, Lower, Field(ge=1, le=366)] = 14
    every_months: Annotated[int, Lower, Field(ge=1, le=120)] = 6


class Duties(_Frozen):
    """What the lender must do by a deadline. A duty never blocks an action: ``state`` and
    ``explain`` list the open ones, with the deadline and whether it has passed."""

    validation_notice: ValidationDuty | None = None
    arrears_notice: ArrearsDuty | None = None


class Policy(_Frozen):
    """A complete policy. Build it with ``load_policy``; compare by ``fingerprint``.

    A policy is a timeline: ``in_force(day)`` is the policy with only the rules
    in force on a local date of its ``home_timezone``, ``boundaries()`` the
    dates on which that changes.

    ``calendar`` is optional, but a policy whose rules count working days or
    public holidays (a notice served by post, the validation period, a
    limitation period ending on a working day, public holidays as rest days)
    must name one.
    """

    name: Annotated[str, Overlay] = Field(min_length=1)
    description: Annotated[str, Overlay] = ""
    jurisdiction: Annotated[str, Overlay] = Field(min_length=1)
    home_timezone: Annotated[TimeZoneName, Overlay]
    ladder: LadderRules
    legal: LegalRules
    bureau: BureauRules
    holds: dict[HoldKind, HoldRule]
    contact: ContactRules
    calendar: CalendarRule | None = None
    service: Service | None = None
    validation: Validation | None = None
    duties: Duties = Field(default_factory=Duties)

    @model_validator(mode="after")
    def _a_calendar_for_working_days(self) -> Self:
        if self.calendar is not None:
            return self
        needs = [
            field
            for field, used in (
                ("ladder.formal.notice.min_remedy_days", _remedy(self.ladder.formal.notice)),
                (
                    "ladder.third_party.notice.min_remedy_days",
                    _remedy(self.ladder.third_party.notice),
                ),
                ("legal.notice.min_remedy_days", _remedy(self.legal.notice)),
                ("bureau.notice.min_remedy_days", _remedy(self.bureau.notice)),
                ("service", self.service is not None),
                ("validation", self.validation is not None),
                (
                    "legal.limitation.ends_on_working_day",
                    self.legal.limitation is not None and self.legal.limitation.ends_on_working_day,
                ),
                (
                    "contact.rest_days.public_holidays",
                    self.contact.rest_days is not None and self.contact.rest_days.public_holidays,
                ),
            )
            if used
        ]
        if needs:
            raise ValueError(
                f"calendar: required, since {needs[0]} counts working days or public holidays "
                "(name one: calendar: {name: uk, known_through: 2026, citation: ...})"
            )
        return self

    @field_validator("holds")
    @classmethod
    def _every_hold_kind(cls, value: dict[HoldKind, HoldRule]) -> dict[HoldKind, HoldRule]:
        missing = sorted(set(HoldKind) - set(value))
        if missing:
            raise ValueError(f"no rule for hold kinds {', '.join(missing)}: each needs a citation")
        for kind, rule in value.items():
            if rule.dated:
                raise ValueError(
                    f"{kind}: every hold kind has a rule at every date, so a hold rule carries "
                    "no effective_from or effective_to"
                )
        return value

    @model_validator(mode="after")
    def _dated_only_where_a_rule_may_be_absent(self) -> Self:
        from staged_collection._timeline import undatable

        found = undatable(self)
        if found:
            raise ValueError(
                f"{found}: the policy cannot be without this rule, so it is in force at every "
                "date and carries no effective_from or effective_to (date the rules or windows "
                "inside it, or make it one of the policy's optional rules)"
            )
        return self

    def in_force(self, day: dt.date) -> Policy:
        """This policy with only the rules in force on ``day`` (a local date in ``home_timezone``).

        A rule not yet in force, or no longer, is absent: an optional rule is
        ``None``, a counter, gap or window is left out. The rules in force keep
        their dates. A policy with no dated rule is its own view at every date.
        """
        from staged_collection._timeline import in_force

        return in_force(self, day)

    def boundaries(self) -> tuple[dt.date, ...]:
        """The dates on which the rules in force change, in order: every rule's
        ``effective_from`` and the day after every ``effective_to``."""
        from staged_collection._timeline import boundaries

        return boundaries(self)

    @cached_property
    def fingerprint(self) -> str:
        """SHA-256 of the normalised rules (not the name): equal rules, equal fingerprint.

        The rules include every citation and layer, since refusals carry them.
        A policy cannot change once built (a ``model_copy`` with ``update`` is
        a new policy, validated), so the fingerprint read once stays true.
        """
        return hashlib.sha256(_canonical(self).encode()).hexdigest()

    def citations(self) -> dict[str, tuple[str, ...]]:
        """Each rule code this policy can raise (and each duty code it can open), with the
        citations behind it."""
        c = self.contact
        lad = self.ladder
        out: dict[str, list[str]] = {}

        def add(code: str, *rules: Rule | Window | None) -> None:
            for rule in rules:
                if rule is not None and rule.citation not in out.setdefault(code, []):
                    out[code].append(rule.citation)

        tp = c.third_party
        holidays = c.rest_days is not None and c.rest_days.public_holidays
        add("contact.quiet_hours", *c.quiet_hours.windows.values())
        add(
            "contact.quiet_hours", *(w for d in c.quiet_hours.weekdays.values() for w in d.values())
        )
        add("contact.rest_day", c.rest_days, self.calendar if holidays else None)
        add("contact.borrower_inconvenient", c.inconvenient)
        add("contact.frequency", *c.counters)
        if any(counter.exempt_consent for counter in c.counters):
            add("contact.frequency", c.consent)
        add("contact.cooldown", c.cooldown)
        add("contact.min_gap", *c.min_gaps)
        if c.cooldown is not None and c.cooldown.exempt_consent:
            add("contact.cooldown", c.consent)
        add("contact.ceased", c.ceased, tp if tp.allowed else None)
        add("contact.hold", c.holds)
        add("contact.represented", c.represented)
        add("contact.workplace", c.workplace)
        add("contact.third_party", tp)
        if tp.only_when_unreachable:
            add("contact.third_party", tp.unreachable_lines, tp.unreachable_calls)
        validation = self.validation
        if validation is not None and validation.required_before_contact:
            add("contact.validation_required", validation)
        add("contact.stage", c.field_visit, c.agency)
        add("contact.visit_requirements", c.field_visit, c.field_visit.collectors)
        add("contact.nothing_due", c.nothing_due)
        add("contact.unknown_timezone", c.unknown_timezone)
        add("transition.not_allowed", lad, self.legal)
        add("transition.terminal", lad)
        add("transition.min_dpd", lad.negotiation, lad.formal, lad.third_party, lad.write_off)
        add("transition.hold", *self.holds.values())
        add("transition.plan_performing", lad.plans)
        notices = [r.notice for r in (lad.negotiation, lad.formal, lad.third_party)]
        add("transition.notice_required", *notices, self.legal.notice)
        if any(_remedy(n) for n in (*notices, self.legal.notice)):
            add("transition.notice_required", self.service)
        add("transition.not_delinquent", lad)
        add("transition.agency_not_evaluated", lad.agency_evaluation)
        limitation = self.legal.limitation
        add("legal.time_barred", limitation)
        if limitation is not None and limitation.ends_on_working_day:
            add("legal.time_barred", self.calendar)
        add("legal.forbearance_required", self.legal.forbearance)
        add("bureau.notice_required", self.bureau.notice)
        if _remedy(self.bureau.notice):
            add("bureau.notice_required", self.service)
        add("bureau.min_dpd", self.bureau.min_dpd)
        add("bureau.disputed", self.bureau.disputes)
        add("bureau.obsolete", self.bureau.retention)
        add("duty.validation_notice", self.duties.validation_notice)
        add("duty.arrears_notice", self.duties.arrears_notice)
        return {code: tuple(cites) for code, cites in out.items() if cites}

    def canonical_json(self) -> str:
        """The normalised content the fingerprint hashes: sorted keys and sets, no name."""
        return _canonical(self)


def _remedy(rule: NoticeRule | None) -> bool:
    return rule is not None and rule.min_remedy_days is not None


def _canonical(policy: Policy) -> str:
    data = policy.model_dump(mode="json", exclude={"name", "description"})
    return json.dumps(_sorted_sets(data), sort_keys=True, separators=(",", ":"))


def _sorted_sets(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted_sets(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_sorted_sets(v) for v in value]
        # Sets dump as lists in arbitrary order; rule lists keep their order.
        if all(isinstance(v, str | int) for v in items):
            return sorted(items, key=lambda v: (isinstance(v, str), v))
        return items
    return value


def load_policy(name_or_path: str | Path, *overlays: str | Path | Mapping[str, Any]) -> Policy:
    """Load a preset (``cn``, ``us``, ``uk``, ``us-ma``) or a YAML/JSON file, then compose
    the overlays.

    A file may say ``extends: <preset or path>``: it is then an overlay of that
    base. Overlays (files or mappings) tighten the base: the stricter value wins.
    """
    policy = _load_one(name_or_path, seen=())
    for overlay in overlays:
        policy = compose(policy, overlay)
    return policy


def compose(base: Policy, overlay: str | Path | Mapping[str, Any]) -> Policy:
    """``base`` tightened by ``overlay`` (a partial policy: a file or a mapping)."""
    if isinstance(overlay, Mapping):
        return _overlay(base, dict(overlay), source="<overlay>")
    source, data = _read(overlay)
    data.pop("extends", None)
    return _overlay(base, data, source=source)


_MAX_EXTENDS = 8
"""The longest chain of files that extend one another."""


def _load_one(name_or_path: str | Path, seen: tuple[str, ...]) -> Policy:
    # ``seen`` holds the resolved paths of the files that extend this one, so that a loop
    # through ``./a.yaml`` or ``sub/../a.yaml`` is caught as surely as one through ``a.yaml``.
    read: list[_files.Document] = []
    source, data = _read(name_or_path, into=read)
    preset = isinstance(name_or_path, str) and name_or_path in PRESETS
    here = source if preset else os.path.realpath(source)
    if here in seen:
        chain = " -> ".join((*seen, here))
        raise PolicyError(source, "extends", f"extends itself through {chain}")
    extends = data.pop("extends", None)
    try:
        if extends is None:
            return _validate(data, source)
        if not isinstance(extends, str):
            raise PolicyError(
                source,
                "extends",
                f"must be a preset name or a path, got a {type(extends).__name__}",
            )
        base_ref: str | Path = extends
        if extends not in PRESETS:
            if len(seen) >= _MAX_EXTENDS:
                raise PolicyError(source, "extends", f"more than {_MAX_EXTENDS} files deep")
            try:
                _files.inside(Path(source).parent, extends)
            except _files.FileProblem as exc:
                raise PolicyError(source, "extends", exc.problem) from None
            base_ref = Path(source).parent / extends
        try:
            base = _load_one(base_ref, seen=(*seen, here))
        except PolicyError as exc:
            if exc.source != str(base_ref) or exc.field or exc.line is not None:
                raise  # a problem inside the base: its own file and line say where
            # The base cannot be read at all: the overlay's ``extends`` is what is wrong.
            raise PolicyError(
                source, "extends", f"{_files.shown(extends)}: {exc.problem}"
            ) from None
        return _overlay(base, data, source=source)
    except PolicyError as exc:
        if exc.source != source or exc.line is not None or not read:
            raise
        # The line of the field, and the message in one line: keys and values are the file's.
        field, problem = _files.one_line(exc.field, 200), _files.one_line(exc.problem)
        line = read[0].line_of(exc.field)
        if isinstance(exc, LooseningOverlayError):
            raise LooseningOverlayError(
                source, field, problem, exc.base, exc.overlay, line=line
            ) from None
        raise PolicyError(source, field, problem, line=line) from None


def _overlay(base: Policy, data: dict[str, Any], source: str) -> Policy:
    merged = deep_merge(base.model_dump(mode="json"), _windows_cited(data))
    if "name" not in data:
        merged["name"] = f"{base.name}+{Path(source).stem}"
    candidate = _validate(merged, source)
    return cast(Policy, overlay_rules(base, candidate, source=source))


def _windows_cited(data: dict[str, Any]) -> dict[str, Any]:
    """The overlay's windows given without a citation take its quiet hours' citation.

    Merged first, they would keep the base's: the window ``call`` of an
    overlay citing a state's telephone rule would cite the federal rule.
    """
    contact = data.get("contact")
    if not isinstance(contact, dict) or not isinstance(contact.get("quiet_hours"), dict):
        return data
    cited = _windows_cite_the_rule(contact["quiet_hours"])
    return {**data, "contact": {**contact, "quiet_hours": cited}}


def _read(
    name_or_path: str | Path, into: list[_files.Document] | None = None
) -> tuple[str, dict[str, Any]]:
    """The source's name and its mapping; with ``into``, its document (and lines) goes there."""
    text: str
    if isinstance(name_or_path, str) and name_or_path in PRESETS:
        source = name_or_path
        text = (
            resources.files("staged_collection.presets")
            .joinpath(f"{source}.yaml")
            .read_text(encoding="utf-8")
        )
    else:
        source = str(name_or_path)
        try:
            text = _files.read_text(name_or_path)
        except _files.FileProblem as exc:
            problem = exc.problem
            if exc.missing:
                hint = f"; presets are {', '.join(PRESETS)}" if Path(source).suffix == "" else ""
                problem = f"no such policy file{hint}"
            raise PolicyError(source, "", problem, line=exc.line) from None
    try:  # JSON is YAML, so one reader serves both
        documents = list(_files.yaml_documents(text))
    except _files.FileProblem as exc:
        raise PolicyError(source, "", exc.problem, line=exc.line) from None
    if len(documents) > 1:
        raise PolicyError(source, "", "a policy file holds one YAML document", documents[1].line)
    if not documents or not isinstance(documents[0].data, dict):
        raise PolicyError(source, "", "a policy is a mapping of fields")
    if into is not None:
        into.append(documents[0])
    return source, documents[0].data


def _validate(data: dict[str, Any], source: str) -> Policy:
    try:
        return Policy.model_validate(data, context={"layer": layer_of(source)})
    except ValidationError as exc:
        raise policy_error(source, exc) from None


def policy_error(source: str, exc: ValidationError) -> PolicyError:
    """One ``PolicyError`` for a pydantic error: the first field, and a count of the rest."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    field = _dotted(first["loc"])
    problem = first["msg"]
    if "input" in first and not isinstance(first["input"], dict | list):
        problem += f" (got {first['input']!r})"
    if len(errors) > 1:
        rest = "; ".join(_dotted(e["loc"]) for e in errors[1:4])
        problem += f" [and {len(errors) - 1} more: {rest}]"
    return PolicyError(source, field, problem)


def _dotted(loc: tuple[int | str, ...]) -> str:
    # pydantic marks an invalid dictionary key with a trailing "[key]".
    return ".".join(str(p) for p in loc if p != "[key]")


def strategy_fields() -> tuple[str, ...]:
    """The dotted fields that are lender strategy, not law: an overlay sets them either way.

    Every other rule is law: an overlay can only tighten it.
    """
    return tuple(_strategy_fields(Policy, ""))


def _strategy_fields(model: type[BaseModel], path: str) -> Iterator[str]:
    for name, info in model.model_fields.items():
        here = f"{path}.{name}" if path else name
        if Strategy in info.metadata:
            yield here
            continue
        for inner in _models_in(info.annotation):
            yield from _strategy_fields(inner, here)


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for arg in get_args(annotation):
        if not isinstance(arg, type) or not issubclass(arg, Enum):  # dictionary keys
            yield from _models_in(arg)


class PolicyDifference(_Frozen):
    """One rule value that differs between two policies, with each side's citation and layer.

    ``rule`` is the dotted path (``contact.quiet_hours.windows.call.start``,
    ``contact.counters[calls].limit``); ``a`` and ``b`` the values as JSON
    (``None`` where that policy has no such rule). The citation and layer of a
    value are those of the nearest rule or window holding it.
    """

    rule: str
    a: Any
    b: Any
    a_citation: str
    b_citation: str
    a_layer: str
    b_layer: str


def policy_differences(a: Policy, b: Policy) -> list[PolicyDifference]:
    """Every rule value that differs between two policies, sorted by rule path.

    Citations and layers are not values: they show beside the values, and a
    difference in them alone is not listed (the fingerprints still differ).
    """
    fa, fb = _flatten(a.model_dump(mode="json")), _flatten(b.model_dump(mode="json"))
    rows = []
    for path in sorted(set(fa) | set(fb)):
        if path.endswith((".citation", ".layer")) or path in ("name", "description"):
            continue
        if fa.get(path) != fb.get(path):
            rows.append(
                PolicyDifference(
                    rule=path,
                    a=fa.get(path),
                    b=fb.get(path),
                    a_citation=_nearest(fa, path, "citation"),
                    b_citation=_nearest(fb, path, "citation"),
                    a_layer=_nearest(fa, path, "layer"),
                    b_layer=_nearest(fb, path, "layer"),
                )
            )
    return rows


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


def _nearest(flat: dict[str, Any], path: str, key: str) -> str:
    """The ``key`` (citation, layer) of the innermost rule holding ``path``."""
    parts = path.split(".")
    while parts:
        parts.pop()
        prefix = ".".join(parts)
        found = flat.get(f"{prefix}.{key}" if prefix else key)
        if found:
            return str(found)
    return ""

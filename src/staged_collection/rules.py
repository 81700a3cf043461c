"""The rule codes: stable names for every reason the engine refuses something.

A code never changes its meaning; each has an anchor in ``docs/rules.md``
(``docs/rules.md#contact.quiet_hours``) with the preset citations. The duty
codes (``duty.arrears_notice``) name what the lender must do by a deadline:
they never refuse anything, so they are a sibling enum, ``DutyCode``, with
anchors in the same file.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["DutyCode", "RuleCode"]


class RuleCode(StrEnum):
    """Every rule code. The value is the code as written in files and logs."""

    # Contact: may we reach this person now, this way?
    CONTACT_QUIET_HOURS = "contact.quiet_hours"
    CONTACT_REST_DAY = "contact.rest_day"
    CONTACT_BORROWER_INCONVENIENT = "contact.borrower_inconvenient"
    CONTACT_FREQUENCY = "contact.frequency"
    CONTACT_COOLDOWN = "contact.cooldown"
    CONTACT_MIN_GAP = "contact.min_gap"
    CONTACT_CEASED = "contact.ceased"
    CONTACT_HOLD = "contact.hold"
    CONTACT_REPRESENTED = "contact.represented"
    CONTACT_WORKPLACE = "contact.workplace"
    CONTACT_THIRD_PARTY = "contact.third_party"
    CONTACT_STAGE = "contact.stage"
    CONTACT_VISIT_REQUIREMENTS = "contact.visit_requirements"
    CONTACT_NOTHING_DUE = "contact.nothing_due"
    CONTACT_UNKNOWN_TIMEZONE = "contact.unknown_timezone"
    CONTACT_VALIDATION_REQUIRED = "contact.validation_required"
    # Transitions on the ladder.
    TRANSITION_NOT_ALLOWED = "transition.not_allowed"
    TRANSITION_TERMINAL = "transition.terminal"
    TRANSITION_MIN_DPD = "transition.min_dpd"
    TRANSITION_HOLD = "transition.hold"
    TRANSITION_PLAN_PERFORMING = "transition.plan_performing"
    TRANSITION_NOTICE_REQUIRED = "transition.notice_required"
    TRANSITION_NOT_DELINQUENT = "transition.not_delinquent"
    TRANSITION_AGENCY_NOT_EVALUATED = "transition.agency_not_evaluated"
    # Legal action.
    LEGAL_TIME_BARRED = "legal.time_barred"
    LEGAL_FORBEARANCE_REQUIRED = "legal.forbearance_required"
    # The credit bureau track.
    BUREAU_NOTICE_REQUIRED = "bureau.notice_required"
    BUREAU_MIN_DPD = "bureau.min_dpd"
    BUREAU_DISPUTED = "bureau.disputed"
    BUREAU_OBSOLETE = "bureau.obsolete"

    @property
    def anchor(self) -> str:
        """Where the code is documented, relative to the repository root."""
        return f"docs/rules.md#{self.value}"

    @property
    def meaning(self) -> str:
        """What the code means, in one sentence: it never changes."""
        return MEANINGS[self]


MEANINGS: dict[RuleCode, str] = {
    RuleCode.CONTACT_QUIET_HOURS: (
        "The local time in at least one zone the borrower may be in is outside the channel's "
        "window [start, end) (or outside its window for that weekday, where the policy sets one)."
    ),
    RuleCode.CONTACT_REST_DAY: (
        "The local date is a rest day the policy sets (a weekday or a date); for a letter, only "
        "where the policy's rest days say they apply to letters."
    ),
    RuleCode.CONTACT_BORROWER_INCONVENIENT: (
        "The local time falls in a range the borrower stated as inconvenient."
    ),
    RuleCode.CONTACT_FREQUENCY: (
        "The contact would take a frequency counter of the policy over its limit."
    ),
    RuleCode.CONTACT_COOLDOWN: "A call too soon after a connected conversation.",
    RuleCode.CONTACT_MIN_GAP: (
        "An attempt on a channel sooner after the previous attempt (to the same person, number, "
        "debt or borrower, as the rule says) than the policy's minimum gap."
    ),
    RuleCode.CONTACT_CEASED: "The borrower asked to stop contact, on this channel or on all.",
    RuleCode.CONTACT_HOLD: "A hold (dispute, bankruptcy, breathing space, ...) stops collection.",
    RuleCode.CONTACT_REPRESENTED: "The borrower is represented by an attorney for this debt.",
    RuleCode.CONTACT_WORKPLACE: "Contact at the borrower's workplace, which is not allowed.",
    RuleCode.CONTACT_THIRD_PARTY: (
        "A third party contacted when the rules do not allow it, or for a purpose they do not "
        "allow (only location or relay, never the debt)."
    ),
    RuleCode.CONTACT_STAGE: (
        "The case is not at a stage that allows this contact (a field visit before formal, an "
        "agency contact on a case not placed with that agency)."
    ),
    RuleCode.CONTACT_VISIT_REQUIREMENTS: (
        "A field visit without a booked appointment close to it, or with too few collectors."
    ),
    RuleCode.CONTACT_NOTHING_DUE: "The case is resolved, settled or written off.",
    RuleCode.CONTACT_UNKNOWN_TIMEZONE: (
        "No time zone is known for the borrower, so no local time can be shown allowed."
    ),
    RuleCode.CONTACT_VALIDATION_REQUIRED: (
        "A collection call before a validation notice, where the policy requires one first."
    ),
    RuleCode.TRANSITION_NOT_ALLOWED: (
        "No such move from the case's stage, or a skip of a rung the policy does not allow."
    ),
    RuleCode.TRANSITION_TERMINAL: "The case has ended (resolved, settled, written off).",
    RuleCode.TRANSITION_MIN_DPD: "Days past due are below the rung's threshold.",
    RuleCode.TRANSITION_HOLD: "A hold blocks escalation, referral, reporting and legal action.",
    RuleCode.TRANSITION_PLAN_PERFORMING: (
        "A repayment plan is performing or a promise to pay has not yet reached its date."
    ),
    RuleCode.TRANSITION_NOTICE_REQUIRED: (
        "A notice the move needs was not delivered before it, or its waiting period or remedy "
        "date has not passed."
    ),
    RuleCode.TRANSITION_NOT_DELINQUENT: "Nothing is overdue.",
    RuleCode.TRANSITION_AGENCY_NOT_EVALUATED: (
        "The agency was not evaluated within the period the policy requires."
    ),
    RuleCode.LEGAL_TIME_BARRED: "The limitation period has run: no suit (and no threat of one).",
    RuleCode.LEGAL_FORBEARANCE_REQUIRED: "Forbearance must be assessed before legal action.",
    RuleCode.BUREAU_NOTICE_REQUIRED: (
        "The borrower was not told (or not long enough) before negative information is furnished."
    ),
    RuleCode.BUREAU_MIN_DPD: "Days past due are below the threshold for furnishing.",
    RuleCode.BUREAU_DISPUTED: "The debt is disputed and the dispute is not resolved.",
    RuleCode.BUREAU_OBSOLETE: "The delinquency is too old to be reported.",
}


class DutyCode(StrEnum):
    """Every duty code: something the lender must do by a deadline (it never blocks)."""

    VALIDATION_NOTICE = "duty.validation_notice"
    ARREARS_NOTICE = "duty.arrears_notice"

    @property
    def anchor(self) -> str:
        """Where the code is documented, relative to the repository root."""
        return f"docs/rules.md#{self.value}"

    @property
    def meaning(self) -> str:
        """What the duty is, in one sentence: it never changes."""
        return DUTY_MEANINGS[self]


DUTY_MEANINGS: dict[DutyCode, str] = {
    DutyCode.VALIDATION_NOTICE: (
        "Send the validation notice within days of the first communication with the borrower."
    ),
    DutyCode.ARREARS_NOTICE: (
        "Send a notice of sums in arrears once enough instalments are overdue at once, and again "
        "at intervals while they stay overdue."
    ),
}

"""The rule codes: stable names for every reason the engine refuses something.

A code never changes its meaning; each has an anchor in ``docs/rules.md``
(``docs/rules.md#contact.quiet_hours``) with the preset citations.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["RuleCode"]


class RuleCode(StrEnum):
    """Every rule code. The value is the code as written in files and logs."""

    # Contact: may we reach this person now, this way?
    CONTACT_QUIET_HOURS = "contact.quiet_hours"
    CONTACT_REST_DAY = "contact.rest_day"
    CONTACT_BORROWER_INCONVENIENT = "contact.borrower_inconvenient"
    CONTACT_FREQUENCY = "contact.frequency"
    CONTACT_COOLDOWN = "contact.cooldown"
    CONTACT_CEASED = "contact.ceased"
    CONTACT_HOLD = "contact.hold"
    CONTACT_REPRESENTED = "contact.represented"
    CONTACT_WORKPLACE = "contact.workplace"
    CONTACT_THIRD_PARTY = "contact.third_party"
    CONTACT_STAGE = "contact.stage"
    CONTACT_VISIT_REQUIREMENTS = "contact.visit_requirements"
    CONTACT_NOTHING_DUE = "contact.nothing_due"
    CONTACT_UNKNOWN_TIMEZONE = "contact.unknown_timezone"
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

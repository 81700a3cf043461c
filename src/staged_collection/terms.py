"""The vocabulary of the domain: stages, bureau statuses, channels and the kinds of things.

Each is a ``StrEnum``, so a member equals its string (``Stage.FORMAL == "formal"``)
and JSON, YAML and scenario files use the plain strings.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "LADDER",
    "TERMINAL",
    "Action",
    "BureauStatus",
    "Channel",
    "HoldKind",
    "Initiator",
    "NoticeKind",
    "Outcome",
    "PlanKind",
    "Purpose",
    "Recipient",
    "Stage",
]


class Stage(StrEnum):
    """Where a case stands on the collection ladder, or how it ended."""

    CURRENT = "current"
    REMINDER = "reminder"
    NEGOTIATION = "negotiation"
    FORMAL = "formal"
    THIRD_PARTY = "third_party"
    RESOLVED = "resolved"
    SETTLED = "settled"
    WRITTEN_OFF = "written_off"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


LADDER: tuple[Stage, ...] = (
    Stage.CURRENT,
    Stage.REMINDER,
    Stage.NEGOTIATION,
    Stage.FORMAL,
    Stage.THIRD_PARTY,
)
"""The rungs, lowest first."""

TERMINAL: frozenset[Stage] = frozenset({Stage.RESOLVED, Stage.SETTLED, Stage.WRITTEN_OFF})


class BureauStatus(StrEnum):
    """The credit-bureau track, parallel to the ladder."""

    NOT_REPORTED = "not_reported"
    NOTICE_SENT = "notice_sent"
    REPORTED = "reported"
    UPDATED = "updated"


class Action(StrEnum):
    """What ``Engine.check`` is asked about."""

    CONTACT = "contact"
    ESCALATE = "escalate"
    REFER = "refer"
    REPORT = "report"
    LEGAL_ACTION = "legal_action"
    WRITE_OFF = "write_off"
    SETTLE = "settle"
    RECALL = "recall"


class Channel(StrEnum):
    CALL = "call"
    SMS = "sms"
    EMAIL = "email"
    APP_PUSH = "app_push"
    LETTER = "letter"
    FIELD_VISIT = "field_visit"
    AI_VOICE = "ai_voice"


class Outcome(StrEnum):
    """What a recorded contact achieved; only ``conversation`` is a connected talk."""

    CONVERSATION = "conversation"
    NO_ANSWER = "no_answer"
    VOICEMAIL = "voicemail"
    BUSY = "busy"
    NOT_IN_SERVICE = "not_in_service"
    DELIVERED = "delivered"
    UNDELIVERABLE = "undeliverable"
    REFUSED = "refused"


class Recipient(StrEnum):
    BORROWER = "borrower"
    THIRD_PARTY = "third_party"


class Purpose(StrEnum):
    """Why a contact is made: only ``location`` and ``relay`` may reach a third party."""

    COLLECTION = "collection"
    LOCATION = "location"
    RELAY = "relay"


class Initiator(StrEnum):
    COLLECTOR = "collector"
    BORROWER = "borrower"


class NoticeKind(StrEnum):
    REMINDER = "reminder"
    PRE_REPORTING = "pre_reporting"
    FORMAL_DEMAND = "formal_demand"
    VALIDATION = "validation"
    DEFAULT = "default"
    ARREARS = "arrears"
    REFERRAL = "referral"


class HoldKind(StrEnum):
    """Kinds of hold; a pending dispute is a hold too (``dispute``)."""

    DISPUTE = "dispute"
    BANKRUPTCY = "bankruptcy"
    HARDSHIP = "hardship"
    BREATHING_SPACE = "breathing_space"
    DECEASED = "deceased"
    CAPACITY = "capacity"
    COMPLAINT = "complaint"


class PlanKind(StrEnum):
    INSTALMENTS = "instalments"
    EXTENSION = "extension"
    RELIEF = "relief"

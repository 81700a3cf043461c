"""staged-collection: debt collection by the rules.

Build a ``Loan`` and a ``Borrower``, choose a policy (``load_policy("cn")``),
open a case with an ``Engine``, feed it events, and ask it what is allowed::

    engine = Engine("cn")
    case = engine.open_case(loan, borrower)
    case = engine.apply(case, Payment(at=..., amount=...))
    engine.check(case, Escalate(to="negotiation"), at=...)

Every refusal names its rule code, a message and the legal citation. Not
legal advice: each rule carries its citation so that it can be checked.
"""

from staged_collection.actions import (
    ActionRequest,
    ContactAttempt,
    Escalate,
    LegalAction,
    Recall,
    Refer,
    Report,
    Settle,
    WriteOff,
)
from staged_collection.borrower import Borrower, LocalTimeRange
from staged_collection.case import Case
from staged_collection.decision import Decision, Violation
from staged_collection.document import CaseDocument
from staged_collection.engine import Engine
from staged_collection.errors import (
    CaseMismatchError,
    ContactRefused,
    CurrencyMismatchError,
    InputError,
    LooseningOverlayError,
    NaiveDatetimeError,
    OutOfOrderError,
    PolicyError,
    Refused,
    ScenarioError,
    StagedCollectionError,
    TransitionNotAllowed,
)
from staged_collection.events import (
    Acknowledgment,
    Appointment,
    Attorney,
    Cease,
    Consent,
    Contact,
    Dispute,
    DisputeResolved,
    Escalated,
    Event,
    ForbearanceAssessed,
    Hold,
    HoldLifted,
    LegalActionTaken,
    Notice,
    Payment,
    Plan,
    PlanBroken,
    Preference,
    Promise,
    Recalled,
    Referred,
    Reported,
    Settlement,
    Undeliverable,
    WrittenOff,
    parse_event,
)
from staged_collection.loan import Installment, Loan
from staged_collection.money import Money
from staged_collection.outcome import Outcome, Revision
from staged_collection.policy import Policy, compose, load_policy
from staged_collection.rules import DutyCode, RuleCode
from staged_collection.state import CaseState, Duty, Explanation
from staged_collection.terms import (
    Action,
    BureauStatus,
    Channel,
    HoldKind,
    Initiator,
    NoticeKind,
    PlanKind,
    Purpose,
    Recipient,
    Stage,
)
from staged_collection.terms import (
    Outcome as ContactOutcome,
)

__version__ = "0.1.0"

__all__ = [
    "Acknowledgment",
    "Action",
    "ActionRequest",
    "Appointment",
    "Attorney",
    "Borrower",
    "BureauStatus",
    "Case",
    "CaseDocument",
    "CaseMismatchError",
    "CaseState",
    "Cease",
    "Channel",
    "Consent",
    "Contact",
    "ContactAttempt",
    "ContactOutcome",
    "ContactRefused",
    "CurrencyMismatchError",
    "Decision",
    "Dispute",
    "DisputeResolved",
    "Duty",
    "DutyCode",
    "Engine",
    "Escalate",
    "Escalated",
    "Event",
    "Explanation",
    "ForbearanceAssessed",
    "Hold",
    "HoldKind",
    "HoldLifted",
    "Initiator",
    "InputError",
    "Installment",
    "LegalAction",
    "LegalActionTaken",
    "Loan",
    "LocalTimeRange",
    "LooseningOverlayError",
    "Money",
    "NaiveDatetimeError",
    "Notice",
    "NoticeKind",
    "OutOfOrderError",
    "Outcome",
    "Payment",
    "Plan",
    "PlanBroken",
    "PlanKind",
    "Policy",
    "PolicyError",
    "Preference",
    "Promise",
    "Purpose",
    "Recall",
    "Recalled",
    "Recipient",
    "Refer",
    "Referred",
    "Refused",
    "Report",
    "Reported",
    "Revision",
    "RuleCode",
    "ScenarioError",
    "Settle",
    "Settlement",
    "Stage",
    "StagedCollectionError",
    "TransitionNotAllowed",
    "Undeliverable",
    "Violation",
    "WriteOff",
    "WrittenOff",
    "compose",
    "load_policy",
    "parse_event",
]

"""A case under the `cn` preset, from the first missed instalment to formal collection.

Run: python examples/quickstart.py
"""

import datetime as dt

from staged_collection import (
    Borrower,
    Engine,
    Escalate,
    Escalated,
    Loan,
    Notice,
    TransitionNotAllowed,
    parse_event,
)

UTC = dt.UTC
engine = Engine("cn")
loan = Loan.model_validate(
    {
        "id": "L1",
        "currency": "CNY",
        "principal": "3000.00",
        "opened": "2026-01-01",
        "installments": [
            {"due": "2026-02-01", "amount": "1000.00"},
            {"due": "2026-03-01", "amount": "1000.00"},
            {"due": "2026-04-01", "amount": "1000.00"},
        ],
    }
)
borrower = Borrower(id="B1", timezones=("Asia/Shanghai",), phones=("+8613800000000",))
case = engine.open_case(loan, borrower)

# Nine days after the first due date: the case has moved to `reminder` by itself.
print(engine.state(case, at=dt.datetime(2026, 2, 10, 4, tzinfo=UTC)).model_dump_json(indent=2))

# Too early to escalate: the refusal names the rule, the citation and when it will be allowed.
decision = engine.check(
    case, Escalate(to="negotiation"), at=dt.datetime(2026, 2, 10, 4, tzinfo=UTC)
)
print(decision.summary())
print("allowed from:", decision.retry_at)

case = engine.apply(case, Escalated(to="negotiation", at=dt.datetime(2026, 3, 10, 4, tzinfo=UTC)))
try:  # `formal` needs a delivered formal demand (催款通知) first
    engine.apply(case, Escalated(to="formal", at=dt.datetime(2026, 4, 10, 4, tzinfo=UTC)))
except TransitionNotAllowed as refused:
    print("refused:", [v.code for v in refused.decision.violations])
case = engine.apply(case, Notice(kind="formal_demand", at=dt.datetime(2026, 4, 2, 2, tzinfo=UTC)))
case = engine.apply(case, Escalated(to="formal", at=dt.datetime(2026, 4, 10, 4, tzinfo=UTC)))

# A payment of the whole balance resolves the case: `resolved` is final. (Paying only what
# is overdue would cure it back to `current`, and the ladder would start again.)
case = engine.apply(
    case,
    parse_event(
        {"type": "payment", "at": "2026-04-12T03:00:00Z", "amount": "3000.00"}, currency="CNY"
    ),
)
print(engine.explain(case, at=dt.datetime(2026, 4, 12, 4, tzinfo=UTC)))

"""Our collection integration, tested against our own policy with staged-collection's kit.

Run: pytest examples/testing
"""

from pathlib import Path

from staged_collection.testing import INVARIANTS, collection_machine

POLICY = Path(__file__).with_name("my_policy.yaml")

# The ready stateful test: random events and checks on a case under our policy, every
# invariant of the kit asserted after every step. pytest and unittest both collect it.
MyPolicyMachine = collection_machine(POLICY)
TestMyPolicy = MyPolicyMachine.TestCase


def test_our_policy_is_the_one_under_test() -> None:
    assert MyPolicyMachine.policy.name == "acme-cn"
    assert len(INVARIANTS) == 9

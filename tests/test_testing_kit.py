"""The testing kit: its stateful test on every preset, broken engines it must catch, its
strategies, and the user-side example that uses it."""

from __future__ import annotations

import ast
import contextlib
import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test

import staged_collection.testing as kit
from staged_collection import Engine, Event, Loan, Policy, Refused, compose, load_policy
from staged_collection.testing import (
    INVARIANTS,
    borrowers,
    collection_machine,
    edge_instants,
    histories,
    loans,
    policies,
)

ROOT = Path(__file__).resolve().parent.parent

# -- our own use: the stateful test on every preset --------------------------------------

TestCnMachine = collection_machine("cn").TestCase
TestUsMachine = collection_machine("us").TestCase
TestUkMachine = collection_machine("uk").TestCase
TestUsMaMachine = collection_machine("us-ma").TestCase


def test_the_machine_names_every_invariant_it_asserts() -> None:
    source = Path(kit.stateful.__file__).read_text()
    for name in INVARIANTS:
        assert f'"{name}"' in source, name
        assert f"def {name}" in source or name == "apply_never_mutates_its_input"


# -- a deliberately broken engine is caught within the default budget --------------------

# The default example budget, without the shrink phase: finding the failure is what is
# shown here, and shrinking a stateful failure to its shortest form takes minutes.
NO_SHRINK = settings(phases=[Phase.explicit, Phase.reuse, Phase.generate], database=None)


def test_a_minimum_gap_that_always_allows_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    from staged_collection import _contact

    channels = ["call", "ai_voice", "sms", "email", "app_push", "letter"]
    gap = {"name": "contacts", "channels": channels, "minutes": 3 * 24 * 60}
    policy = compose(load_policy("us"), {"contact": {"min_gaps": [{**gap, "citation": "test"}]}})
    monkeypatch.setattr(_contact, "_min_gap", lambda ch, f, attempt, others, out: None)
    with pytest.raises(AssertionError, match="invariant no_attempt_inside_a_gap"):
        run_state_machine_as_test(collection_machine(policy), settings=NO_SHRINK)


def test_a_quiet_hours_guard_that_always_allows_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    from staged_collection import _contact

    monkeypatch.setattr(_contact, "_time", lambda policy, book, ch, f, attempt, out: None)
    with pytest.raises(AssertionError, match="invariant no_contact_outside_window"):
        run_state_machine_as_test(collection_machine("us"), settings=NO_SHRINK)


def test_a_threshold_guard_that_always_allows_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    from staged_collection import _guards

    monkeypatch.setattr(_guards.MinDpd, "__call__", lambda self, f, request: None)
    with pytest.raises(AssertionError, match="invariant no_stage_without_its_guards"):
        run_state_machine_as_test(collection_machine("cn"), settings=NO_SHRINK)


def test_without_hypothesis_the_kit_says_what_to_install() -> None:
    code = "import sys; sys.modules['hypothesis'] = None; import staged_collection.testing"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode != 0
    assert "pip install hypothesis" in out.stderr
    plain = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.modules['hypothesis'] = None; import staged_collection",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert plain.returncode == 0, plain.stderr  # the library itself does not need it


# -- the strategies ----------------------------------------------------------------------


@given(currency=st.sampled_from(["CNY", "USD", "GBP", "JPY", "KWD"]), data=st.data())
def test_loans_are_valid_and_in_their_currency(currency: str, data: st.DataObject) -> None:
    loan = data.draw(loans(currency))
    assert isinstance(loan, Loan)
    assert {i.amount.currency for i in loan.installments} == {currency}
    dues = [i.due for i in loan.installments]
    assert dues == sorted(set(dues))
    assert loan.opened <= dues[0]


@given(data=st.data())
def test_histories_are_time_ordered_and_consistent_with_the_loan(data: st.DataObject) -> None:
    loan = data.draw(loans("GBP"))
    events: list[Event] = data.draw(histories(loan))
    assert [e.at for e in events] == sorted(e.at for e in events)
    for e in events:
        amount = getattr(e, "amount", None)
        if amount is not None:
            assert amount.currency == "GBP"
    # They can be applied, refusals aside: nothing else goes wrong.
    engine = Engine("uk")
    case = engine.open_case(loan, data.draw(borrowers()))
    for e in events:
        with contextlib.suppress(Refused):
            case = engine.apply(case, e)


@given(borrower=borrowers(), at=edge_instants())
def test_borrowers_and_instants(borrower: object, at: dt.datetime) -> None:
    assert at.tzinfo is not None
    assert at.utcoffset() == dt.timedelta(0)
    assert getattr(borrower, "timezones", None)


@settings(max_examples=30)
@given(policy=policies())
def test_varied_policies_are_valid_and_vary(policy: Policy) -> None:
    assert policy.ladder.negotiation.min_dpd < policy.ladder.formal.min_dpd
    preset = load_policy(policy.name.removesuffix("-varied"))
    assert policy.fingerprint != preset.fingerprint
    again = Policy.model_validate(policy.model_dump(mode="json"))
    assert again.fingerprint == policy.fingerprint


# The machine is itself a Hypothesis test, so this one nests @given on purpose: a few
# varied policies, a few runs of the machine on each.
@settings(max_examples=4, suppress_health_check=[HealthCheck.nested_given])
@given(policy=policies())
def test_the_machine_runs_on_varied_policies(policy: Policy) -> None:
    run_state_machine_as_test(collection_machine(policy), settings=settings(max_examples=10))


# -- the user-side example ---------------------------------------------------------------


def test_the_user_side_example_imports_only_public_names_of_the_kit() -> None:
    tree = ast.parse((ROOT / "examples" / "testing" / "test_my_policy.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("staged_collection"):
            assert node.module == "staged_collection.testing"
            assert all(alias.name in kit.__all__ for alias in node.names)
        if isinstance(node, ast.Import):
            assert not any(a.name.startswith("staged_collection") for a in node.names)


def test_the_user_side_example_runs_against_its_own_policy_file() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "examples/testing"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 passed" in out.stdout


def test_the_docs_show_the_example_as_it_is() -> None:
    page = (ROOT / "docs" / "testing.md").read_text()
    example = (ROOT / "examples" / "testing" / "test_my_policy.py").read_text()
    assert example.strip() in page

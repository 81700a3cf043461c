"""The public surface: one sorted ``__all__``, every name real, nothing else leaking."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import staged_collection


def test_all_is_sorted_and_unique() -> None:
    names = staged_collection.__all__
    assert names == sorted(names)
    assert len(names) == len(set(names))


def test_all_names_exist_and_nothing_public_is_missing() -> None:
    public = {
        name
        for name, value in vars(staged_collection).items()
        if not name.startswith("_") and not isinstance(value, type(staged_collection))
    }
    assert set(staged_collection.__all__) == public


def test_policy_engine_works_without_the_state_machine() -> None:
    # Block ``transitions``: policies, guards and checks must still import and run.
    code = textwrap.dedent(
        """
        import sys
        sys.modules["transitions"] = None
        import datetime as dt
        from staged_collection import Borrower, Engine, Escalate, Loan, load_policy
        engine = Engine(load_policy("cn"))
        loan = Loan.model_validate({"id": "L", "currency": "CNY", "principal": "1.00",
            "opened": "2026-01-01", "installments": [{"due": "2026-02-01", "amount": "1.00"}]})
        case = engine.open_case(loan, Borrower(id="B", timezones=("Asia/Shanghai",)))
        at = dt.datetime(2026, 2, 5, tzinfo=dt.UTC)
        d = engine.check(case, Escalate(to="negotiation"), at=at)
        assert [v.code for v in d.violations] == ["transition.min_dpd"], d
        try:
            engine.diagram()
        except ImportError:
            print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_transitions_is_imported_by_one_private_module_only() -> None:
    from pathlib import Path

    src = Path(staged_collection.__file__).parent
    users = sorted(
        p.name
        for p in src.rglob("*.py")
        if "import transitions" in p.read_text() or "from transitions" in p.read_text()
    )
    assert users == ["_machine.py"]

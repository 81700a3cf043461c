"""Personal data stays out of logs, messages, reprs and errors unless asked for in full."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from pydantic_core import PydanticSerializationError

from staged_collection import (
    Borrower,
    ContactAttempt,
    ContactRefused,
    Decision,
    ScenarioError,
    parse_event,
)
from staged_collection._privacy import RelationKind, mask_number, relation_kind
from tests.builders import case_of, engine, ev, on_dpd

ROOT = Path(__file__).resolve().parent.parent
NUMBER = "+8613912345678"
RELATION = "Zhang Wei (mother)"
DIGITS = re.compile(r"\+?[0-9]{7,}")  # any run of digits long enough to be a phone number


def third_party_call() -> ContactAttempt:
    return ContactAttempt(
        channel="call",
        recipient="third_party",
        relation=RELATION,
        number=NUMBER,
        purpose="collection",
    )


def refused_decision() -> Decision:
    case = case_of("cn", phones=["+8613800000000"])
    decision = engine("cn").check(case, third_party_call(), at=on_dpd(3, hour=23))
    assert not decision.allowed
    return decision


def assert_no_personal_data(text: str) -> None:
    assert NUMBER not in text
    assert "13912345678" not in text
    assert "Zhang" not in text
    assert "+8613800000000" not in text


# -- the decision log --------------------------------------------------------------------------


def test_a_log_line_masks_numbers_and_gives_relations_by_category() -> None:
    decision = refused_decision()
    line = decision.to_log_line()
    assert_no_personal_data(line)
    request = json.loads(line)["request"]
    assert request["number"] == "+86***78"
    assert request["relation"] == "parent"
    # A masked line is still a valid decision, with everything but the personal data.
    again = Decision.model_validate_json(line)
    assert again.codes == decision.codes
    assert again.at == decision.at


def test_full_values_on_request_read_back_equal() -> None:
    decision = refused_decision()
    line = decision.to_log_line(reveal=True)
    assert NUMBER in line
    assert RELATION in line
    assert Decision.model_validate_json(line) == decision
    assert Decision.model_validate(decision.model_dump(context={"reveal": True})) == decision
    assert json.loads(decision.model_dump_json(context={"reveal": True}))["request"]["number"] == (
        NUMBER
    )


def test_a_key_adds_a_stable_keyed_hash_that_joins_to_the_lenders_records() -> None:
    decision = refused_decision()
    first = json.loads(decision.to_log_line(key=b"lender secret"))["request"]["number"]
    again = json.loads(decision.to_log_line(key=b"lender secret"))["request"]["number"]
    other = json.loads(decision.to_log_line(key=b"another secret"))["request"]["number"]
    assert first == again == mask_number(NUMBER, b"lender secret")
    assert first.startswith("+86***78#")
    assert other != first
    assert mask_number("+8613912345679", b"lender secret") != first
    with pytest.raises(PydanticSerializationError, match="must be bytes"):
        decision.model_dump_json(context={"mask_key": "not bytes"})


def test_messages_reprs_and_refusals_hold_no_personal_data() -> None:
    decision = refused_decision()
    assert any("a third party (parent)" in v.message for v in decision.violations)
    for text in (decision.summary(), repr(decision), str(decision)):
        assert_no_personal_data(text)
    contact = ev(
        "contact",
        on_dpd(3, hour=23),
        channel="call",
        outcome="no_answer",
        recipient="third_party",
        relation=RELATION,
        number=NUMBER,
    )
    with pytest.raises(ContactRefused) as info:
        engine("cn").apply(case_of("cn"), contact)
    assert_no_personal_data(str(info.value))
    assert_no_personal_data(repr(info.value))
    assert_no_personal_data(repr(contact))
    assert_no_personal_data(repr(third_party_call()))
    borrower = Borrower(
        id="B1", timezones=("Asia/Shanghai",), phones=(NUMBER,), work_phones=("+8613800000000",)
    )
    assert_no_personal_data(repr(borrower))
    assert_no_personal_data(str(borrower))
    assert "+86***78" in repr(borrower)


@pytest.mark.parametrize(
    "data",
    [
        {"id": "B1", "timezones": [], "phones": ["13912345678"]},
        {"id": "B1", "timezones": [], "phones": [NUMBER, NUMBER]},
        {"id": "B1", "timezones": [], "work_phones": ["+86 139 1234 5678"]},
    ],
)
def test_a_refused_phone_number_is_not_echoed(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as info:
        Borrower.model_validate(data)
    assert not DIGITS.search(str(info.value).replace("+8613800000000", ""))


def test_a_refused_contact_does_not_echo_its_number_or_relation() -> None:
    with pytest.raises(ValidationError) as info:
        parse_event(
            {
                "type": "contact",
                "at": "2026-02-03T10:00:00Z",
                "channel": "call",
                "outcome": "maybe",
                "relation": RELATION,
                "number": NUMBER,
            }
        )
    assert_no_personal_data(str(info.value))
    with pytest.raises(ValidationError) as info:
        ContactAttempt.model_validate({"channel": "call", "number": NUMBER, "relation": 7})
    assert_no_personal_data(str(info.value))


LOAN = {
    "id": "L1",
    "currency": "CNY",
    "principal": "1000.00",
    "opened": "2026-01-01",
    "installments": [{"due": "2026-02-01", "amount": "1000.00"}],
}
SCENARIO = {
    "name": "personal data in a refused field",
    "policy": "cn",
    "borrower": {"id": "B1", "timezones": ["Asia/Shanghai"]},
    "loan": LOAN,
    "events": [],
    "steps": [{"state": {"at": "2026-02-03T10:00:00Z"}, "expect": {"dpd": 1}}],
}
CONTACT = {"type": "contact", "at": "2026-02-03T02:00:00Z", "channel": "call"}


@pytest.mark.parametrize(
    "change",
    [
        {"borrower": {"id": "B1", "timezones": ["Asia/Shanghai"], "phones": ["13912345678"]}},
        {"events": [{**CONTACT, "outcome": "no_answer", "number": 13912345678}]},
        {"events": [{**CONTACT, "outcome": "no_answer", "relation": RELATION * 20}]},
        {
            "steps": [
                {
                    "check": {
                        "action": "contact",
                        "at": "2026-02-03T10:00:00Z",
                        "channel": "call",
                        "relation": RELATION * 20,
                    },
                    "expect": {"allowed": True},
                },
            ]
        },
        {
            "steps": [
                {
                    "check": {
                        "action": "contact",
                        "at": "2026-02-03T10:00:00Z",
                        "channel": "call",
                        "number": 13912345678,
                    },
                    "expect": {"allowed": True},
                },
            ]
        },
    ],
)
def test_a_scenario_or_case_file_error_does_not_echo_a_refused_number_or_relation(
    tmp_path: Path, change: dict[str, object]
) -> None:
    from staged_collection.scenarios import read_case, run_scenarios

    file = tmp_path / "scenario.yaml"
    file.write_text(json.dumps({**SCENARIO, **change}))
    [result] = run_scenarios([file]).results
    errors = [result.error or ""]
    if "steps" not in change:
        case = {k: v for k, v in {**SCENARIO, **change}.items() if k not in ("name", "steps")}
        (tmp_path / "case.json").write_text(json.dumps(case))
        with pytest.raises(ScenarioError) as info:
            read_case(tmp_path / "case.json")
        errors.append(str(info.value))
    for error in errors:
        assert "(got" not in error, error
        assert "13912345678" not in error
        assert "Zhang" not in error


# -- what the command line and the demo write ----------------------------------------------------


def test_check_json_and_text_mask_personal_data(tmp_path: Path) -> None:
    case = {
        "policy": "cn",
        "loan": LOAN,
        "borrower": {"id": "B1", "timezones": ["Asia/Shanghai"], "phones": ["+8613800000000"]},
        "events": [],
    }
    attempt = {
        "action": "contact",
        "at": "2026-02-03T22:30:00+08:00",
        **third_party_call().model_dump(mode="json", exclude={"action"}),
    }
    (tmp_path / "case.json").write_text(json.dumps(case))
    (tmp_path / "attempt.json").write_text(json.dumps(attempt))
    command = [sys.executable, "-m", "staged_collection.cli", "check", "case.json"]
    for extra in (["--json"], []):
        result = subprocess.run(
            [*command, "--attempt", "attempt.json", *extra],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            check=False,
            env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "PYTHONIOENCODING": "utf-8"},
        )
        assert result.returncode == 1, result.stderr
        assert "contact.third_party" in result.stdout
        assert_no_personal_data(result.stdout + result.stderr)


def test_the_demo_log_holds_no_phone_number(tmp_path: Path) -> None:
    from staged_collection.demo import DemoConfig, run_demo

    out = tmp_path / "decisions.jsonl"
    run_demo(DemoConfig(loans=40, days=40, workers=1, out=out))
    text = out.read_text(encoding="utf-8")
    assert '"number":"+' in text  # contacts used numbers...
    # Hashes (the policy's fingerprint, decision ids) may hold runs of digits: not numbers.
    hashes = re.compile(r'"(policy|decision_id)":"[0-9a-f]+"')
    assert not DIGITS.search(hashes.sub("", text)), "...and none is written in full"


# -- the masking itself ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+14155550100", "+1***00"),
        ("+79161234567", "+7***67"),
        ("+442079460958", "+44***58"),
        ("+8613800000012", "+86***12"),
        ("+85291234567", "+852***67"),
        ("+971501234567", "+971***67"),
        ("zhang.wei@example.com", "***om"),
        ("Rm 1", "***"),
    ],
)
def test_a_number_keeps_its_country_code_and_last_two_digits(number: str, masked: str) -> None:
    assert mask_number(number) == masked


@given(st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True), st.binary(min_size=1, max_size=32))
def test_a_masked_number_never_holds_the_number(number: str, key: bytes) -> None:
    masked = mask_number(number)
    assert number[3:-2] not in masked
    assert masked.endswith(number[-2:])
    keyed = mask_number(number, key)
    assert keyed.startswith(masked + "#")
    assert keyed == mask_number(number, key)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Zhang Wei (mother)", RelationKind.PARENT),
        ("his dad", RelationKind.PARENT),
        ("张伟的母亲", RelationKind.PARENT),
        ("grandmother", RelationKind.RELATIVE),
        ("mother-in-law", RelationKind.RELATIVE),
        ("表哥", RelationKind.RELATIVE),
        ("wife", RelationKind.SPOUSE),
        ("老公", RelationKind.SPOUSE),
        ("son", RelationKind.CHILD),
        ("Sonia (friend)", RelationKind.FRIEND),
        ("sister", RelationKind.SIBLING),
        ("neighbor", RelationKind.NEIGHBOUR),
        ("co-worker at the plant", RelationKind.COLLEAGUE),
        ("同事", RelationKind.COLLEAGUE),
        ("emergency_contact", RelationKind.EMERGENCY_CONTACT),
        ("紧急联系人", RelationKind.EMERGENCY_CONTACT),
        ("Li Na", RelationKind.OTHER),
    ],
)
def test_a_relation_is_written_by_its_category(text: str, kind: RelationKind) -> None:
    assert relation_kind(text) is kind


def test_answers_without_a_contact_are_unchanged_by_masking() -> None:
    from staged_collection import Escalate

    decision = engine("cn").check(case_of("cn"), Escalate(to="negotiation"), at=on_dpd(3))
    assert decision.to_log_line() == decision.to_log_line(reveal=True)
    assert decision.at == dt.datetime.fromisoformat(json.loads(decision.to_log_line())["at"])


def test_a_third_partys_cease_shows_the_relation_by_category_only() -> None:
    from staged_collection import parse_event

    cease = parse_event(
        {
            "type": "cease",
            "at": "2026-01-01T00:00:00Z",
            "recipient": "third_party",
            "relation": "Zhang Wei (mother)",
        }
    )
    assert "Zhang" not in repr(cease)
    assert "relation='parent'" in repr(cease)

"""Overlays: each refusal cites its own rule and layer, law is only tightened, strategy is set
either way, and a policy's fingerprint always tells its content."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from staged_collection import (
    Channel,
    ContactAttempt,
    Decision,
    Engine,
    Escalate,
    LooseningOverlayError,
    Policy,
    compose,
    load_policy,
)
from staged_collection.policy import policy_differences, strategy_fields
from tests.builders import local, make_borrower, make_loan

NY = "America/New_York"
FEB_10 = dt.date(2026, 2, 10)

# The README's own overlay.
NY_OVERLAY = {
    "extends": "us",
    "name": "us-ny",
    "contact": {
        "quiet_hours": {
            "citation": "Lender policy for New York",
            "windows": {"call": {"start": "09:00", "end": "20:00"}},
        }
    },
}


def write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def check_contact(engine: Engine, channel: str, at: dt.datetime) -> Decision:
    case = engine.open_case(make_loan(currency="USD"), make_borrower(NY))
    return engine.check(case, ContactAttempt(channel=channel), at=at)


# -- 1. each refusal cites the rule and the layer that refused it -----------------------------


def test_an_sms_at_2130_under_us_and_the_ny_overlay_cites_regulation_f(tmp_path: Path) -> None:
    engine = Engine(write(tmp_path / "ny.yaml", NY_OVERLAY))

    sms = check_contact(engine, "sms", local(FEB_10, 21, NY, 30))
    assert [v.code for v in sms.violations] == ["contact.quiet_hours"]
    assert sms.violations[0].citation.startswith("12 CFR 1006.6(b)(1)(i)")
    assert sms.violations[0].layer == "us"

    for hour, minute in ((20, 30), (21, 30), (8, 30)):
        call = check_contact(engine, "call", local(FEB_10, hour, NY, minute))
        assert [v.code for v in call.violations] == ["contact.quiet_hours"]
        assert call.violations[0].citation == "Lender policy for New York"
        assert call.violations[0].layer == "ny.yaml"

    assert check_contact(engine, "sms", local(FEB_10, 20, NY, 30)).allowed
    # The layer travels with the decision.
    again = Decision.model_validate_json(sms.to_log_line())
    assert again.violations[0].layer == "us"


hours = st.integers(min_value=8, max_value=20)


@st.composite
def narrowed_windows(draw: st.DrawFn) -> dict[str, dict[str, str]]:
    """Windows inside the us preset's 08:00-21:00, some with a citation of their own."""
    out: dict[str, dict[str, str]] = {}
    for channel in draw(st.sets(st.sampled_from(["call", "sms", "email", "ai_voice"]))):
        start = draw(hours)
        end = draw(st.integers(min_value=start + 1, max_value=21))
        window = {"start": f"{start:02d}:00", "end": f"{end:02d}:00"}
        if draw(st.booleans()):
            window["citation"] = f"State rule for {channel}"
        out[channel] = window
    return out


@given(windows=narrowed_windows(), rule_citation=st.sampled_from([None, "State telephone act"]))
def test_each_window_keeps_the_citation_and_layer_of_the_side_whose_value_won(
    windows: dict[str, dict[str, str]], rule_citation: str | None
) -> None:
    base = load_policy("us")
    quiet: dict[str, Any] = {"windows": windows}
    if rule_citation is not None:
        quiet["citation"] = rule_citation
    p = compose(base, {"contact": {"quiet_hours": quiet}})
    for channel, window in p.contact.quiet_hours.windows.items():
        before = base.contact.quiet_hours.windows[channel]
        given_here = windows.get(channel.value)
        if given_here is None or (window.start, window.end) == (before.start, before.end):
            assert (window.citation, window.layer) == (before.citation, "us")
        else:
            own = given_here.get("citation") or rule_citation or before.citation
            assert (window.citation, window.layer) == (own, "<overlay>")
            assert f"{window.start:%H:%M}" == given_here["start"]
    # Every citation a policy can raise for the code is a window's.
    cites = p.citations()["contact.quiet_hours"]
    assert set(cites) == {w.citation for w in p.contact.quiet_hours.windows.values()}


def test_a_window_without_a_citation_takes_its_rules_and_its_file_is_its_layer(
    tmp_path: Path,
) -> None:
    data = load_policy("us").model_dump(mode="json")

    def strip(value: Any) -> Any:  # a hand-written policy: no layers anywhere
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "layer"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    data = strip(data)
    quiet = data["contact"]["quiet_hours"]
    quiet["citation"] = "Our hours rule"
    for window in quiet["windows"].values():
        del window["citation"]
    quiet["windows"]["sms"]["citation"] = "Our texting rule"
    p = load_policy(write(tmp_path / "whole.yaml", data))
    windows = p.contact.quiet_hours.windows
    assert windows[Channel.SMS].citation == "Our texting rule"
    assert {w.citation for c, w in windows.items() if c != "sms"} == {"Our hours rule"}
    assert {w.layer for w in windows.values()} == {"whole.yaml"}
    assert p.contact.counters[0].layer == "whole.yaml"
    # A dump reads back as the same policy: layers and citations are data.
    again = load_policy(write(tmp_path / "dump.yaml", p.model_dump(mode="json")))
    assert again.fingerprint == p.fingerprint


def test_ladder_refusals_cite_the_overlay_that_set_the_threshold(tmp_path: Path) -> None:
    acme = write(
        tmp_path / "acme.yaml",
        {
            "extends": "cn",
            "ladder": {"negotiation": {"min_dpd": 45, "citation": "ACME ladder v2"}},
        },
    )
    engine = Engine(acme)
    case = engine.open_case(make_loan(), make_borrower())
    at = local(dt.date(2026, 2, 10))  # 40 days past due
    decision = engine.check(case, Escalate(to="negotiation"), at=at)
    assert [(v.code, v.citation, v.layer) for v in decision.violations] == [
        ("transition.min_dpd", "ACME ladder v2", "acme.yaml")
    ]
    formal = engine.check(case, Escalate(to="formal"), at=at)
    assert {v.layer for v in formal.violations} == {"cn"}


def test_policy_differences_list_each_changed_value_with_both_citations_and_layers() -> None:
    us = load_policy("us")
    ny = compose(us, {"contact": NY_OVERLAY["contact"]})
    assert policy_differences(us, us) == []
    rows = policy_differences(us, ny)
    assert [r.rule for r in rows] == [
        "contact.quiet_hours.windows.call.end",
        "contact.quiet_hours.windows.call.start",
    ]
    assert [(r.a, r.b) for r in rows] == [("21:00:00", "20:00:00"), ("08:00:00", "09:00:00")]
    for row in rows:
        assert row.a_citation == us.contact.quiet_hours.windows[Channel.CALL].citation
        assert (row.b_citation, row.a_layer, row.b_layer) == (
            "Lender policy for New York",
            "us",
            "<overlay>",
        )


# -- 2. overlays never drop a value silently --------------------------------------------------

LOOSER = [
    (
        "us",
        {"contact": {"counters": [{"name": "calls", "limit": 10}]}},
        "contact.counters[calls].limit",
        "7",
        "10",
    ),
    (
        "us",
        {"contact": {"quiet_hours": {"windows": {"call": {"start": "07:00", "end": "22:00"}}}}},
        "contact.quiet_hours.windows.call.start",
        "08:00",
        "07:00",
    ),
    ("us", {"contact": {"cooldown": None}}, "contact.cooldown", "the rule", "none"),
    (
        "cn",
        {"contact": {"third_party": {"purposes": ["location", "relay", "collection"]}}},
        "contact.third_party.purposes",
        "[location, relay]",
        "[collection, location, relay]",
    ),
    (
        "uk",
        {"holds": {"breathing_space": {"default_days": 30}}},
        "holds.breathing_space.default_days",
        "60",
        "30",
    ),
    (
        "cn",
        {"contact": {"field_visit": {"collectors": {"min": 1}}}},
        "contact.field_visit.collectors.min",
        "2",
        "1",
    ),
    ("cn", {"ladder": {"formal": {"notice": None}}}, "ladder.formal.notice", "the rule", "none"),
]


@pytest.mark.parametrize(("preset", "overlay", "field", "was", "said"), LOOSER)
def test_an_overlay_that_loosens_the_law_is_refused_naming_file_field_and_values(
    tmp_path: Path, preset: str, overlay: dict[str, Any], field: str, was: str, said: str
) -> None:
    path = write(tmp_path / "state.yaml", {"extends": preset, **overlay})
    with pytest.raises(LooseningOverlayError) as info:
        load_policy(path)
    error = info.value
    assert (error.source, error.field, error.base, error.overlay) == (str(path), field, was, said)
    assert str(path) in str(error)
    assert field in str(error)
    assert was in error.problem
    assert said in error.problem
    assert preset in error.problem  # the layer whose rule it would loosen


def test_a_looser_window_names_both_of_its_ends() -> None:
    with pytest.raises(LooseningOverlayError) as info:
        compose(
            load_policy("us"),
            {"contact": {"quiet_hours": {"windows": {"sms": {"start": "07:00", "end": "22:00"}}}}},
        )
    assert info.value.field == "contact.quiet_hours.windows.sms.start"
    assert "[and 1 more: contact.quiet_hours.windows.sms.end]" in info.value.problem


def test_the_model_marks_which_rules_are_lender_strategy() -> None:
    assert strategy_fields() == (
        "ladder.reminder.min_dpd",
        "ladder.negotiation.min_dpd",
        "ladder.formal.min_dpd",
        "ladder.third_party.min_dpd",
        "ladder.write_off.min_dpd",
        "ladder.plans",
        "contact.field_visit.appointment_within_minutes",
    )


@pytest.mark.parametrize("preset", ["cn", "us", "uk"])
@pytest.mark.parametrize(("dpd", "minutes"), [(20, 30), (45, 240)])
def test_lender_strategy_is_set_by_the_overlay_either_way(
    preset: str, dpd: int, minutes: int
) -> None:
    base = load_policy(preset)
    p = compose(
        base,
        {
            "ladder": {
                "negotiation": {"min_dpd": dpd},
                "plans": {"citation": "ACME forbearance policy 4.2"},
            },
            "contact": {"field_visit": {"appointment_within_minutes": minutes}},
        },
    )
    assert p.ladder.negotiation.min_dpd == dpd
    assert p.ladder.negotiation.layer == "<overlay>"
    assert p.contact.field_visit.appointment_within_minutes == minutes
    assert (p.ladder.plans.citation, p.ladder.plans.layer) == (
        "ACME forbearance policy 4.2",
        "<overlay>",
    )
    # Its law around them is the preset's still.
    assert p.contact.field_visit.min_collectors == base.contact.field_visit.min_collectors
    assert p.ladder.formal == base.ladder.formal


# -- 7. a policy's identity cannot lie --------------------------------------------------------


def test_a_copy_with_an_update_has_its_own_fingerprint_and_its_own_rules() -> None:
    us = load_policy("us")
    old = us.fingerprint  # read first: it must not stick to the copy
    quiet = us.contact.quiet_hours
    narrower = quiet.model_copy(
        update={"windows": {**quiet.windows, "call": {"start": "09:00", "end": "20:00"}}}
    )
    ladder = us.ladder.model_copy(
        update={"negotiation": us.ladder.negotiation.model_copy(update={"min_dpd": 45})}
    )
    variant = us.model_copy(
        update={
            "contact": us.contact.model_copy(update={"quiet_hours": narrower}),
            "ladder": ladder,
        }
    )
    assert us.fingerprint == old
    assert variant.fingerprint != old
    assert variant.fingerprint == Policy.model_validate(variant.model_dump()).fingerprint

    late_call = local(FEB_10, 20, NY, 30)
    assert check_contact(Engine(us), "call", late_call).allowed
    refused = check_contact(Engine(variant), "call", late_call)
    assert refused.codes == ("contact.quiet_hours",)
    assert refused.policy == variant.fingerprint

    case = Engine(us).open_case(make_loan(currency="USD"), make_borrower(NY))
    at = local(dt.date(2026, 2, 10), 12, NY)  # 40 days past due
    assert Engine(us).check(case, Escalate(to="negotiation"), at=at).allowed
    moved = Engine(variant).check(
        Engine(variant).open_case(case.loan, case.borrower), Escalate(to="negotiation"), at=at
    )
    assert moved.codes == ("transition.min_dpd",)


def test_a_copy_with_an_update_is_validated() -> None:
    us = load_policy("us")
    call = us.contact.quiet_hours.windows[Channel.CALL]
    with pytest.raises(ValidationError, match="before it starts"):
        call.model_copy(update={"end": dt.time(7)})
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        us.contact.counters[0].model_copy(update={"limit": -1})
    with pytest.raises(ValidationError, match="Extra inputs"):
        us.model_copy(update={"ladders": None})
    assert us.model_copy() == us


@settings(max_examples=10)
@given(limits=st.lists(st.integers(min_value=1, max_value=7), min_size=1, max_size=20))
def test_the_testing_kit_compiles_one_engine_per_content_and_keeps_few(limits: list[int]) -> None:
    from staged_collection.testing import stateful

    us = load_policy("us")
    us.fingerprint  # noqa: B018 - read first: the copies must not inherit it
    for limit in limits:
        counter = us.contact.counters[0].model_copy(update={"limit": limit})
        variant = us.model_copy(
            update={"contact": us.contact.model_copy(update={"counters": (counter,)})}
        )
        engine = stateful._engine(variant)
        assert engine.policy.contact.counters[0].limit == limit
        assert engine.policy.fingerprint == variant.fingerprint
        assert len(stateful._ENGINES) <= stateful._MAX_ENGINES

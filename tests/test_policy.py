"""Policies: presets, overlays (the stricter value wins), fingerprints, and refusals at load."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from staged_collection import Channel, HoldKind, LooseningOverlayError, PolicyError, load_policy
from staged_collection.policy import PRESETS, compose


@pytest.mark.parametrize("name", PRESETS)
def test_presets_load_with_a_citation_for_every_rule_they_raise(name: str) -> None:
    policy = load_policy(name)
    assert policy.name == name
    cites = policy.citations()
    assert cites, "a preset must cite something"
    assert all(c and all(x.strip() for x in c) for c in cites.values())


def test_preset_figures_match_the_domain() -> None:
    cn, us, uk = (load_policy(n) for n in ("cn", "us", "uk"))
    assert str(cn.contact.quiet_hours.windows[Channel.CALL]) == "08:00-22:00"
    assert str(us.contact.quiet_hours.windows[Channel.CALL]) == "08:00-21:00"
    assert str(uk.contact.quiet_hours.windows[Channel.CALL]) == "08:00-21:00"
    assert "letter" not in us.contact.quiet_hours.windows
    limits = {(p.name, c.name): c.limit for p in (cn, us) for c in p.contact.counters}
    assert limits == {("cn", "conversations"): 3, ("cn", "unanswered"): 6, ("us", "calls"): 7}
    assert us.contact.cooldown is not None
    assert us.contact.cooldown.days == 7
    assert [cn.ladder.rung(s).min_dpd for s in ("reminder", "negotiation", "formal")] == [1, 31, 61]
    assert cn.ladder.third_party.min_dpd == 91
    assert cn.ladder.write_off.min_dpd == 181
    assert cn.legal.limitation is not None
    assert cn.legal.limitation.years == 3
    assert uk.legal.limitation is not None
    assert uk.legal.limitation.years == 6
    assert us.legal.limitation is None
    assert uk.holds[HoldKind.BREATHING_SPACE].default_days == 60
    assert us.bureau.notice is not None
    assert us.bureau.notice.wait_days == 14


def fingerprint_in_a_new_process(ref: str) -> str:
    code = f"from staged_collection import load_policy; print(load_policy({ref!r}).fingerprint)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return out.strip()


@pytest.mark.parametrize("name", PRESETS)
def test_fingerprint_is_the_same_in_another_process(name: str) -> None:
    assert fingerprint_in_a_new_process(name) == load_policy(name).fingerprint


def test_fingerprint_ignores_key_order_set_order_and_name_but_not_rules(tmp_path: Path) -> None:
    base = load_policy("cn")
    data = base.model_dump(mode="json")
    shuffled = dict(reversed(list(data.items())))
    shuffled["name"] = "renamed"
    shuffled["description"] = "other words"
    formal = shuffled["ladder"]["formal"]["notice"]
    formal["kinds"] = list(reversed(formal["kinds"]))
    counters = shuffled["contact"]["counters"]
    counters[1]["outcomes"] = sorted(counters[1]["outcomes"], reverse=True)
    path = tmp_path / "same.json"
    path.write_text(json.dumps(shuffled))
    assert load_policy(path).fingerprint == base.fingerprint
    assert fingerprint_in_a_new_process(str(path)) == base.fingerprint

    counters[0]["limit"] = 2
    path.write_text(json.dumps(shuffled))
    assert load_policy(path).fingerprint != base.fingerprint


def test_a_json_policy_and_its_yaml_twin_load_equal(tmp_path: Path) -> None:
    data = load_policy("uk").model_dump(mode="json")
    (tmp_path / "p.json").write_text(json.dumps(data))
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    assert load_policy(tmp_path / "p.json") == load_policy(tmp_path / "p.yaml")


times = st.integers(min_value=0, max_value=23 * 60).map(lambda m: dt.time(m // 60, m % 60))


@given(
    start=times,
    length=st.integers(min_value=1, max_value=60 * 12),
    limit=st.integers(min_value=0, max_value=20),
    min_dpd=st.integers(min_value=1, max_value=400),
    skip=st.booleans(),
    wait=st.integers(min_value=0, max_value=60),
    purposes=st.sets(st.sampled_from(["location", "relay", "collection"]), min_size=1),
)
def test_overlays_tighten_the_law_and_set_the_strategy(
    start: dt.time,
    length: int,
    limit: int,
    min_dpd: int,
    skip: bool,
    wait: int,
    purposes: set[str],
) -> None:
    base = load_policy("cn")
    end_minutes = min(start.hour * 60 + start.minute + length, 23 * 60 + 59)
    end = dt.time(end_minutes // 60, end_minutes % 60)
    if end <= start:
        return
    overlay: dict[str, Any] = {
        "ladder": {"negotiation": {"min_dpd": min_dpd}, "skip_allowed": skip},
        "bureau": {"notice": {"wait_days": wait}},
        "contact": {
            "quiet_hours": {"windows": {"call": {"start": str(start), "end": str(end)}}},
            "counters": [{"name": "conversations", "limit": limit}],
            "third_party": {"purposes": sorted(purposes)},
        },
    }
    base_call = base.contact.quiet_hours.windows[Channel.CALL]
    base_purposes = set(base.contact.third_party.purposes)
    # In the policy's field order, the values looser than cn's rules of law.
    looser = [
        field
        for field, loose in (
            ("ladder.skip_allowed", skip and not base.ladder.skip_allowed),
            ("contact.quiet_hours.windows.call.start", start < base_call.start),
            ("contact.quiet_hours.windows.call.end", end > base_call.end),
            ("contact.counters[conversations].limit", limit > 3),
            ("contact.third_party.purposes", not purposes <= base_purposes),
        )
        if loose
    ]
    if looser:
        with pytest.raises(LooseningOverlayError) as info:
            compose(base, overlay)
        assert info.value.field == looser[0]
        assert f"cn says {info.value.base} and the overlay {info.value.overlay}" in str(info.value)
        if len(looser) > 1:
            assert f"[and {len(looser) - 1} more: " in info.value.problem
        return
    p = compose(base, overlay)
    call = p.contact.quiet_hours.windows[Channel.CALL]
    assert (call.start, call.end) == (start, end)
    conversations = next(c for c in p.contact.counters if c.name == "conversations")
    assert conversations.limit == limit
    assert p.ladder.negotiation.min_dpd == min_dpd  # strategy: the overlay's, either way
    assert p.bureau.notice is not None
    assert p.bureau.notice.wait_days == wait
    assert set(p.contact.third_party.purposes) == purposes
    # Rules the overlay did not touch are the base's, citations and layers included.
    assert p.contact.counters[1] == base.contact.counters[1]
    assert p.holds == base.holds
    assert (
        p.contact.quiet_hours.windows[Channel.SMS] == base.contact.quiet_hours.windows[Channel.SMS]
    )


def test_an_overlay_adds_rules_the_base_lacks_and_keeps_its_citation(tmp_path: Path) -> None:
    overlay = tmp_path / "ny.yaml"
    overlay.write_text(
        yaml.safe_dump(
            {
                "extends": "us",
                "name": "us-ny",
                "legal": {"limitation": {"years": 3, "citation": "NY CPLR 214-i"}},
                "contact": {"rest_days": {"weekdays": [7], "citation": "Lender: no Sundays"}},
            }
        )
    )
    p = load_policy(overlay)
    assert p.name == "us-ny"
    assert p.legal.limitation is not None
    assert p.legal.limitation.citation == "NY CPLR 214-i"
    assert p.contact.rest_days is not None
    assert p.contact.rest_days.weekdays == {7}
    assert p.citations()["legal.time_barred"] == ("NY CPLR 214-i",)


def test_a_stricter_overlay_value_brings_its_citation(tmp_path: Path) -> None:
    p = compose(
        load_policy("us"),
        {"contact": {"counters": [{"name": "calls", "limit": 5, "citation": "State X s.1"}]}},
    )
    calls = p.contact.counters[0]
    assert calls.limit == 5
    assert calls.citation == "State X s.1"
    assert calls.layer == "<overlay>"
    with pytest.raises(LooseningOverlayError) as info:
        compose(
            load_policy("us"),
            {"contact": {"counters": [{"name": "calls", "limit": 9, "citation": "State Y"}]}},
        )
    assert (info.value.field, info.value.base, info.value.overlay) == (
        "contact.counters[calls].limit",
        "7",
        "9",
    )


def test_overlays_chain_through_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("extends: cn\nname: a\nladder: {negotiation: {min_dpd: 40}}\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\nname: b\nladder: {formal: {min_dpd: 70}}\n")
    p = load_policy(tmp_path / "b.yaml")
    assert (p.name, p.ladder.negotiation.min_dpd, p.ladder.formal.min_dpd) == ("b", 40, 70)


BAD = [
    (
        {"contact": {"quiet_hours": {"windows": {"call": {"start": "22:00", "end": "08:00"}}}}},
        "contact.quiet_hours.windows.call",
        "ends (08:00) before it starts (22:00)",
    ),
    (
        {"contact": {"counters": [{"name": "unanswered", "limit": -1}]}},
        "contact.counters.1.limit",
        "greater than or equal to 0",
    ),
    (
        {"contact": {"quiet_hours": {"windows": {"pigeon": {"start": "08:00", "end": "09:00"}}}}},
        "contact.quiet_hours.windows.pigeon",
        "Input should be",
    ),
    ({"legal": {"from_stages": ["formal", "courtroom"]}}, "legal.from_stages.1", "Input should be"),
    ({"ladder": {"reminder": {"min_dpd": 0}}}, "ladder.reminder", "at least 1"),
    ({"ladder": {"formal": {"notice": {"kinds": []}}}}, "ladder.formal.notice.kinds", "at least 1"),
    ({"home_timezone": "CST"}, "home_timezone", "IANA"),
    ({"holds": {"dispute": None}}, "holds.dispute", "valid dictionary"),
    ({"unknown_section": {}}, "unknown_section", "Extra inputs"),
]


@pytest.mark.parametrize(("overlay", "field", "words"), BAD)
def test_a_policy_that_cannot_work_is_refused_with_file_and_field(
    tmp_path: Path, overlay: dict[str, Any], field: str, words: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"extends": "cn", **overlay}))
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert info.value.source == str(path)
    assert info.value.field == field
    assert words in info.value.problem
    assert str(path) in str(info.value)


def test_a_whole_policy_with_a_missing_hold_kind_is_refused(tmp_path: Path) -> None:
    data = load_policy("cn").model_dump(mode="json")
    del data["holds"]["complaint"]
    path = tmp_path / "whole.json"
    path.write_text(json.dumps(data))
    with pytest.raises(PolicyError, match=r"holds: .*complaint"):
        load_policy(path)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("name: [unclosed", "not valid YAML"),
        ("- a list\n- of things\n", "a mapping"),
        ("extends: 42\n", "preset name or a path"),
        ("extends: nope.yaml\n", "no such policy file"),
    ],
)
def test_unreadable_policy_files_are_refused(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(PolicyError, match=words):
        load_policy(path)


def test_an_unknown_preset_name_says_which_exist() -> None:
    with pytest.raises(PolicyError, match="presets are cn, uk, us"):
        load_policy("fr")


def test_extends_cycles_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n")
    with pytest.raises(PolicyError, match="extends itself"):
        load_policy(tmp_path / "a.yaml")


def test_composing_rules_that_are_not_comparable_is_refused() -> None:
    with pytest.raises(PolicyError, match="neither is stricter"):
        compose(
            load_policy("cn"), {"contact": {"counters": [{"name": "unanswered", "key": "debt"}]}}
        )

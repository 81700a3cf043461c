"""The documents agree with the code: rule codes, the error tree, the README's examples."""

from __future__ import annotations

import re
from pathlib import Path

import staged_collection
from staged_collection import DutyCode, RuleCode, errors
from staged_collection._docs import case_schema, events_markdown, rules_markdown

ROOT = Path(__file__).resolve().parent.parent
SRC = Path(staged_collection.__file__).parent
CODE = re.compile(r"[\"']((?:contact|transition|legal|bureau)\.[a-z_]+)[\"']")
DUTY = re.compile(r"[\"'](duty\.[a-z_]+)[\"']")


def test_rules_md_is_current() -> None:
    text = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert text == rules_markdown(), "run scripts/gen-docs"


def test_events_md_is_current() -> None:
    text = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")
    assert text == events_markdown(), "run scripts/gen-docs"


def test_the_case_schema_is_current_and_accepts_what_cases_write() -> None:
    import json

    from jsonschema import Draft202012Validator

    text = (ROOT / "docs" / "case.schema.json").read_text(encoding="utf-8")
    assert text == case_schema(), "run scripts/gen-docs"
    validator = Draft202012Validator(json.loads(text))
    from tests.builders import case_of, ev, on_dpd

    case = case_of("cn", ev("payment", on_dpd(3), amount="5.00"), ev("dispute", on_dpd(4)))
    validator.validate(case.to_dict())


def test_every_rule_code_has_an_anchor_and_every_code_in_the_source_is_a_rule_code() -> None:
    text = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    anchors = set(re.findall(r'<a id="([a-z_.]+)"></a>', text))
    assert {c.value for c in RuleCode} <= anchors
    used = set()
    for path in SRC.rglob("*.py"):
        used |= set(CODE.findall(path.read_text(encoding="utf-8")))
    assert len(used) >= len(RuleCode), "the source names every rule code as a string"
    missing = used - anchors
    assert not missing, f"codes used in src but not in docs/rules.md: {sorted(missing)}"
    assert used <= {c.value for c in RuleCode}


def test_every_duty_code_has_an_anchor_and_every_duty_in_the_source_is_a_duty_code() -> None:
    text = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    anchors = set(re.findall(r'<a id="([a-z_.]+)"></a>', text))
    assert {c.value for c in DutyCode} <= anchors
    used = set()
    for path in SRC.rglob("*.py"):
        used |= set(DUTY.findall(path.read_text(encoding="utf-8")))
    assert used == {c.value for c in DutyCode}
    # Each preset that opens a duty cites the law behind it on its anchor.
    assert "**us**: 12 CFR 1006.34(a)(1)" in text
    assert "**uk**: Consumer Credit Act 1974 s86B" in text


def test_every_code_has_a_meaning() -> None:
    assert all(code.meaning.endswith(".") for code in (*RuleCode, *DutyCode))


def test_the_error_tree_is_drawn_the_same_in_the_docs() -> None:
    docstring = errors.__doc__ or ""
    tree = [line.strip() for line in docstring.splitlines() if "──" in line or "Error" in line]
    doc = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    for line in tree:
        if "──" in line:
            assert line in doc, line
    for name in errors.__all__:
        assert name in docstring, name
        assert name in doc, name


def test_errors_subclass_the_builtins_callers_catch() -> None:
    assert issubclass(errors.InputError, ValueError)
    assert issubclass(errors.PolicyError, ValueError)
    assert issubclass(errors.ScenarioError, ValueError)
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.StagedCollectionError)


def test_the_readme_examples_run() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})


def test_the_scenarios_shown_in_the_docs_pass(tmp_path: Path) -> None:
    from staged_collection.scenarios import run_scenarios

    shown = 0
    for doc in (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))):
        for i, block in enumerate(re.findall(r"```yaml\n(.*?)```", doc.read_text(), flags=re.S)):
            if "steps:" not in block:
                continue  # a policy, not a scenario
            path = tmp_path / f"{doc.stem}-{i}.yaml"
            path.write_text(block, encoding="utf-8")
            shown += 1
    report = run_scenarios([tmp_path])
    assert shown >= 2
    assert [(r.name, r.failures, r.error) for r in report.results if not r.passed] == []


def test_install_instructions_work_before_the_package_is_published() -> None:
    # Not on an index yet: a bare `pip install 'staged-collection[...]'` fails for a new user.
    for doc in (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))):
        for line in doc.read_text(encoding="utf-8").splitlines():
            for command in re.findall(r"pip install ([^`\n]*)", line):
                target = command.split("#")[0].strip().strip("'\"")
                assert not re.fullmatch(r"staged-collection(\[\w+\])?", target), (doc.name, line)
    testing = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
    assert "pip install -e '.[testing]'" in testing


def test_the_privacy_and_limits_docs_are_linked_from_the_readme() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("privacy.md", "limits.md"):
        assert f"(docs/{name})" in text
        assert (ROOT / "docs" / name).is_file()

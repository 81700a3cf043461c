"""Reading the files people hand in (``_files``, the policy reader): every hostile input is a
one-line error naming the file and the line, in work bounded by the size of the file.

The fuzz tests feed random bytes, random YAML-ish text and mutations of the shipped example
files to the readers, and check that each input gives a result or a documented error. Work
is bounded by construction (inputs of bounded size; no alias ever expanded), never timed.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from staged_collection import Channel, PolicyError, ScenarioError, load_policy
from staged_collection._files import (
    MAX_DEPTH,
    Document,
    FileProblem,
    decode,
    inside,
    read_text,
    yaml_documents,
)
from staged_collection.scenarios import load_scenarios, read_request

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").rglob("*.yaml"))


def documents(text: str) -> list[Any]:
    return [d.data for d in yaml_documents(text)]


def problem(text: str) -> FileProblem:
    with pytest.raises(FileProblem) as info:
        documents(text)
    return info.value


# -- what the YAML reader accepts and refuses ------------------------------------------------


def test_dates_times_and_offsets_stay_the_text_written() -> None:
    (data,) = documents(
        "a: 2026-02-30\nb: 2026-02-03T14:00:00+25:00\nc: 2026-02-03 14:00:00\n"
        "d: 21:00\ne: 9:30\nf: !!timestamp 2026-01-01\n"
    )
    assert data == {
        "a": "2026-02-30",
        "b": "2026-02-03T14:00:00+25:00",
        "c": "2026-02-03 14:00:00",
        "d": "21:00",  # YAML 1.1 reads 1260 (base 60), which a time field takes as 00:21
        "e": "9:30",
        "f": "2026-01-01",
    }


def test_plain_scalars_keep_their_types() -> None:
    (data,) = documents("a: 1\nb: 1.5\nc: true\nd: null\ne: '3'\nf: -0x1f\ng: [1, x]\n")
    assert data == {"a": 1, "b": 1.5, "c": True, "d": None, "e": "3", "f": -31, "g": [1, "x"]}


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("a: &x [1, 2]\nb: *x\n", 2, "aliases (*name) are not accepted"),
        ("a: 1\nb: 2\na: 3\n", 3, "the key 'a' is given twice (first on line 1)"),
        ("a: 1\n'a': 2\n", 2, "given twice"),
        ("<<: {a: 1}\nb: 2\n", 1, "merge keys (<<) are not accepted"),
        ("n: " + "9" * 5000 + "\n", 1, "an integer of 5,000 digits: at most 30"),
        ("x:\n  y: " + "[" * 500 + "]" * 500 + "\n", 2, f"nested more than {MAX_DEPTH} levels"),
        ("a: 1\n  b: 2\n", 2, "not valid YAML: mapping values are not allowed"),
        ("a: [1,\nb: 2\n", 2, "not valid YAML: did not find expected ',' or ']'"),
        ("a: 1\nb: \x07\n", 2, "not valid YAML: character #x0007 is not allowed"),
        ("a: !!python/object:os.system x\n", 1, "could not determine a constructor"),
        ("? [a, b]\n: 1\n", 1, "found unhashable key"),
    ],
)
def test_yaml_problems_are_one_line_with_the_line_number(
    text: str, line: int, message: str
) -> None:
    exc = problem(text)
    assert exc.line == line
    assert message in exc.problem
    assert "\n" not in str(exc)


def test_an_alias_bomb_is_refused_at_its_first_alias() -> None:
    # Ten levels of nine: 3.5 billion strings if expanded, from about half a kilobyte of text.
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    text = "\n".join(lines) + "\n"
    assert len(text) < 1024
    exc = problem(text)
    assert exc.line == 2
    assert "aliases" in exc.problem


def test_depth_up_to_the_bound_is_read() -> None:
    (data,) = documents("x: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n")
    depth, value = 1, data["x"]
    while value:
        depth, value = depth + 1, value[0]
    assert depth == MAX_DEPTH - 1


def test_each_field_knows_its_line() -> None:
    (doc,) = yaml_documents(
        "name: x\nsteps:\n  - check: {at: 1}\n    expect:\n      allowed: true\n"
    )
    assert doc.line_of("steps[0].expect.allowed") == 5
    assert doc.line_of("steps[0].check.channel") == 3  # missing: the nearest field holding it
    assert doc.line_of("loan") == 1


def test_documents_before_a_break_are_read() -> None:
    stream = yaml_documents("a: 1\n---\nb: 2\n---\nc: [\n\n")
    assert next(stream).data == {"a": 1}
    assert next(stream).data == {"b": 2}
    with pytest.raises(FileProblem) as info:
        next(stream)
    assert info.value.line == 5  # the last line with anything on it
    assert "from line 5" in info.value.problem


def test_latin_1_bytes_name_their_line() -> None:
    with pytest.raises(FileProblem) as info:
        decode("a: 1\nb: café\n".encode("latin-1"))
    assert (info.value.line, info.value.problem) == (2, "not UTF-8: byte 0xe9 cannot be read")
    assert decode(b"\xef\xbb\xbfa: 1\n") == "a: 1\n"  # a byte-order mark is dropped


# -- what the file reader opens --------------------------------------------------------------


def test_only_regular_files_are_read(tmp_path: Path) -> None:
    assert read_text(Path(__file__)).startswith('"""')
    refused = {
        str(tmp_path): "it is a directory",
        str(tmp_path / "nope.yaml"): "no such file",
        "a\0b.yaml": "the path holds a NUL byte",
    }
    if Path("/dev/zero").exists():
        refused["/dev/zero"] = "not a regular file"
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "fifo"
        os.mkfifo(fifo)  # no writer: opening it to read would block for ever
        refused[str(fifo)] = "not a regular file"
    for path, message in refused.items():
        with pytest.raises(FileProblem) as info:
            read_text(path)
        assert message in info.value.problem, path


def test_the_size_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("a: 1\n" * 10)
    assert read_text(path, limit=50) == "a: 1\n" * 10
    with pytest.raises(FileProblem, match="larger than the limit of 49 bytes"):
        read_text(path, limit=49)


def test_named_files_stay_inside_the_folder(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    assert inside(tmp_path, "sub/../p.yaml") == (tmp_path / "p.yaml").resolve()
    assert inside(tmp_path, "sub/p.yaml") == (tmp_path / "sub" / "p.yaml").resolve()
    (tmp_path / "out.yaml").symlink_to("/etc/hostname")
    for ref, message in [
        ("../p.yaml", "is outside"),
        ("sub/../../p.yaml", "is outside"),
        ("/etc/passwd", "is an absolute path"),
        ("out.yaml", "is outside"),
        ("p\0.yaml", "NUL byte"),
    ]:
        with pytest.raises(FileProblem, match=message):
            inside(tmp_path, ref)


# -- the policy reader ------------------------------------------------------------------------


def test_extends_stays_inside_the_folder_and_never_quotes_the_target(tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("password: hunter2-SECRET\n[broken\n")
    folder = tmp_path / "policies"
    folder.mkdir()
    for ref in ("../secret.yaml", str(secret), "/dev/zero"):
        overlay = folder / "overlay.yaml"
        overlay.write_text(f"extends: {ref}\n")
        with pytest.raises(PolicyError) as info:
            load_policy(overlay)
        assert info.value.source == str(overlay)
        assert info.value.field == "extends"
        assert info.value.line == 1
        assert "SECRET" not in str(info.value)
        assert "broken" not in str(info.value)


def test_a_base_that_cannot_be_read_is_the_overlays_error(tmp_path: Path) -> None:
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("name: ours\nextends: missing.yaml\n")
    with pytest.raises(PolicyError) as info:
        load_policy(overlay)
    assert (info.value.source, info.value.field, info.value.line) == (str(overlay), "extends", 2)
    assert "'missing.yaml': no such policy file" in info.value.problem


@pytest.mark.parametrize("spelling", ["a.yaml", "./a.yaml", "sub/../a.yaml", ".//a.yaml"])
def test_an_extends_loop_is_caught_however_the_path_is_spelt(tmp_path: Path, spelling: str) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text(f"extends: {spelling}\n")
    with pytest.raises(PolicyError, match="extends itself through"):
        load_policy(tmp_path / "a.yaml")


def test_an_extends_chain_is_bounded(tmp_path: Path) -> None:
    (tmp_path / "p0.yaml").write_text("extends: cn\n")
    for i in range(1, 12):
        (tmp_path / f"p{i}.yaml").write_text(f"extends: p{i - 1}.yaml\nname: p{i}\n")
    assert load_policy(tmp_path / "p8.yaml").name == "p8"
    with pytest.raises(PolicyError, match="more than 8 files deep"):
        load_policy(tmp_path / "p11.yaml")


def test_policy_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "ours.yaml"
    path.write_text(
        "extends: us\nname: ours\ncontact:\n  quiet_hours:\n    citation: Ours\n"
        "    windows:\n      call: {start: '21:00', end: '09:00'}\n"
    )
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert (info.value.field, info.value.line) == ("contact.quiet_hours.windows.call", 7)
    assert str(info.value).startswith(f"{path}:7: contact.quiet_hours.windows.call: ")
    path.write_text("extends: us\nname: a\nname: b\n")
    with pytest.raises(PolicyError, match=r":3: the key 'name' is given twice"):
        load_policy(path)


def test_unquoted_window_times_are_times_of_day(tmp_path: Path) -> None:
    path = tmp_path / "ny.yaml"
    path.write_text(
        "extends: us\ncontact:\n  quiet_hours:\n    citation: NY\n"
        "    windows: {call: {start: 10:00, end: 20:00}}\n"
    )
    window = load_policy(path).contact.quiet_hours.windows[Channel.CALL]
    assert (window.start, window.end) == (dt.time(10), dt.time(20))


# -- fuzz: random bytes, YAML-ish text, mutated examples ----------------------------------------

YAMLISH = st.lists(
    st.sampled_from(
        [
            "a",
            "b",
            "policy",
            ":",
            ": ",
            "- ",
            "-",
            "[",
            "]",
            "{",
            "}",
            ",",
            "\n",
            "  ",
            "\t",
            "&x ",
            "*x",
            "&y ",
            "*y",
            "<<: ",
            "---\n",
            "...\n",
            "? ",
            "!!int ",
            "!!timestamp ",
            "!!binary ",
            "!!python/name:os.system ",
            "'",
            '"',
            "#",
            "|",
            ">",
            "2026-02-30",
            "2026-02-03T14:00:00+25:00",
            "21:00",
            "9" * 40,
            "0x",
            "1e999",
            ".nan",
            "~",
            "\\",
            "\x00",
            "\ufeff",
            "é",
            "\u2028",
        ]
    ),
    max_size=80,
).map("".join)


def node_count(value: Any) -> int:
    """How many values a document holds, counted without recursion."""
    count, stack = 0, [value]
    while stack:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set):
            stack.extend(item)
    return count


def depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return deepest


def read_or_refuse(data: bytes) -> list[Document] | FileProblem:
    """The documents of ``data``, or the ``FileProblem`` that stopped it (nothing else)."""
    try:
        return list(yaml_documents(decode(data)))
    except FileProblem as exc:
        return exc


def assert_bounded(data: bytes, outcome: list[Document] | FileProblem) -> None:
    if isinstance(outcome, FileProblem):
        assert outcome.problem
        assert "\n" not in str(outcome)
        assert outcome.line is None or 1 <= outcome.line <= data.count(b"\n") + 1
        return
    for document in outcome:
        # Nothing was expanded: a document holds a few values per character of its text at
        # most (``?`` alone is a mapping of a null to a null), never a multiple of its aliases.
        assert node_count(document.data) <= 3 * (len(data) + 1)
        assert depth(document.data) <= MAX_DEPTH
        stack = [document.data]
        while stack:
            item = stack.pop()
            assert not isinstance(item, dt.date | dt.datetime)  # dates stay text
            if isinstance(item, dict):
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)


@given(data=st.binary(max_size=400))
def test_random_bytes_are_read_or_refused(data: bytes) -> None:
    assert_bounded(data, read_or_refuse(data))


@given(text=YAMLISH)
def test_random_yaml_is_read_or_refused_without_expanding_anything(text: str) -> None:
    data = text.encode("utf-8", "surrogatepass")
    assert_bounded(data, read_or_refuse(data))


MUTATIONS = st.lists(
    st.tuples(
        st.sampled_from(["insert", "delete", "replace", "duplicate-line", "truncate"]),
        st.floats(min_value=0, max_value=1),
        st.binary(min_size=1, max_size=12)
        | st.sampled_from(
            [b"*x", b"&x ", b"\x00", b"\xe9", b"[" * 100, b"9" * 60, b"2026-02-30", b"+25:00"]
        ),
    ),
    min_size=1,
    max_size=4,
)


def documented_error(
    read: Callable[[Path], object], file: Path
) -> PolicyError | ScenarioError | None:
    """The documented error ``read`` raised, or None; any other exception fails the test."""
    try:
        read(file)
    except (PolicyError, ScenarioError) as exc:
        return exc
    return None


def mutate(data: bytes, mutations: list[tuple[str, float, bytes]]) -> bytes:
    for kind, where, chunk in mutations:
        at = int(where * len(data))
        if kind == "insert":
            data = data[:at] + chunk + data[at:]
        elif kind == "delete":
            data = data[:at] + data[at + len(chunk) :]
        elif kind == "replace":
            data = data[:at] + chunk + data[at + len(chunk) :]
        elif kind == "duplicate-line":
            start = data.rfind(b"\n", 0, at) + 1
            end = data.find(b"\n", at)
            end = len(data) if end < 0 else end + 1
            data = data[:end] + data[start:end] + data[end:]
        else:
            data = data[:at]
    return data


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=150)
@given(example=st.sampled_from(EXAMPLES), mutations=MUTATIONS)
def test_mutated_examples_are_read_or_refused_with_a_documented_error(
    tmp_path: Path, example: Path, mutations: list[tuple[str, float, bytes]]
) -> None:
    original = example.read_bytes()
    data = mutate(original, mutations)
    assert_bounded(data, read_or_refuse(data))
    file = tmp_path / example.name  # beside nothing: a policy it names is outside, or a preset
    file.write_bytes(data)
    is_policy = b"steps:" not in original
    exc = documented_error(load_policy if is_policy else load_scenarios, file)
    if isinstance(exc, PolicyError):  # the file, or a file beside it that it extends
        assert exc.source == str(file) or Path(exc.source).parent == tmp_path
    elif isinstance(exc, ScenarioError):
        assert exc.file == str(file)
    if exc is not None:
        assert "\n" not in str(exc)
        assert exc.line is None or 1 <= exc.line <= data.count(b"\n") + 1


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=YAMLISH)
def test_random_attempt_files_are_requests_or_one_line_errors(tmp_path: Path, text: str) -> None:
    file = tmp_path / "attempt.yaml"
    file.write_bytes(text.encode("utf-8", "surrogatepass"))
    exc = documented_error(read_request, file)
    if exc is not None:
        assert isinstance(exc, ScenarioError)
        assert exc.file == str(file)
        assert "\n" not in str(exc)

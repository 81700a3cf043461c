"""Reading the files people hand in: bounded, regular, UTF-8, plain YAML.

Scenario, case, attempt, policy and events files (``store append``) are written
by people and, now and then, arrive from places nobody checked. They are all read here, under the
same bounds (``docs/scenarios.md`` lists them):

- a regular file (not a directory, a device, a pipe or a socket) of at most
  ``MAX_BYTES``, opened without blocking, so ``/dev/zero`` or a FIFO is
  refused at once instead of hanging or filling the memory;
- UTF-8 (a leading byte-order mark is dropped);
- YAML (JSON is YAML) with no aliases (``*name``: a kilobyte of them expands
  into gigabytes), no merge keys, no key given twice in one mapping,
  collections at most ``MAX_DEPTH`` deep and integers of at most
  ``MAX_DIGITS`` digits. Timestamps, dates and sexagesimal numbers stay the
  text they were written as (``2026-02-30`` and ``+25:00`` are then refused
  by the model that reads the field, naming it; ``21:00`` is not 1260).

Anything else is a ``FileProblem``: one line, with the line number where there is one.
"""

from __future__ import annotations

import contextvars
import hashlib
import os
import re
import stat
from collections.abc import Hashable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, cast

import yaml
from yaml.composer import Composer, ComposerError
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.error import Mark, MarkedYAMLError
from yaml.events import AliasEvent, Event
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError
from yaml.resolver import Resolver

MAX_BYTES = 8 * 1024 * 1024
"""The largest file read: a case file of some tens of thousands of events."""
MAX_DEPTH = 32
"""The deepest nesting of YAML collections; the formats need fewer than 10."""
MAX_DIGITS = 30
"""The longest integer; every count and number of days fits in far fewer."""

_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)


class FileProblem(Exception):
    """What is wrong with a file, in one line; ``line`` (1-based) where it is known."""

    def __init__(self, problem: str, line: int | None = None, *, missing: bool = False) -> None:
        self.problem = problem
        self.line = line
        self.missing = missing
        super().__init__(problem if line is None else f"line {line}: {problem}")


def shown(text: str, limit: int = 60) -> str:
    """``text`` quoted for an error message, cut to ``limit`` characters."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def one_line(text: str, limit: int = 400) -> str:
    """``text`` fit for a one-line message: control characters (a newline, a terminal escape)
    written as escapes, and cut to ``limit`` characters."""
    if len(text) > limit:
        text = text[:limit] + "..."
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


# -- bytes ---------------------------------------------------------------------------------


def read_bytes(path: str | Path, limit: int = MAX_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes."""
    try:
        fd = os.open(path, _READ_FLAGS)
    except ValueError:  # os.open refuses a NUL byte with ValueError
        raise FileProblem("the path holds a NUL byte") from None
    except FileNotFoundError:
        raise FileProblem("cannot read the file: no such file", missing=True) from None
    except OSError as exc:
        raise FileProblem(f"cannot read the file: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise FileProblem("cannot read the file: it is a directory")
        if not stat.S_ISREG(mode):
            raise FileProblem("cannot read the file: not a regular file (a device, pipe or socket)")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:  # read to the bound, not to the size stat reports: files grow
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise FileProblem(f"cannot read the file: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if size > limit:
        raise FileProblem(f"the file is larger than the limit of {limit:,} bytes")
    return b"".join(chunks)


def decode(data: bytes) -> str:
    """UTF-8 text, or a ``FileProblem`` naming the line of the first byte that is not."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise FileProblem(f"not UTF-8: byte 0x{data[exc.start]:02x} cannot be read", line) from None
    return text.removeprefix("\ufeff")


def read_text(path: str | Path, limit: int = MAX_BYTES) -> str:
    """The UTF-8 text of a regular file of at most ``limit`` bytes."""
    data = read_bytes(path, limit)
    _note_read(path, data)
    return decode(data)


# -- which files a load read (to notice when one changes) ----------------------------------


@dataclass(frozen=True)
class Read:
    """A file read, and the digest of what it held then."""

    path: str
    digest: str


_READS: contextvars.ContextVar[list[Read] | None] = contextvars.ContextVar(
    "staged_collection_reads", default=None
)


def _note_read(path: str | Path, data: bytes) -> None:
    reads = _READS.get()
    if reads is not None:
        reads.append(Read(os.path.abspath(path), hashlib.sha256(data).hexdigest()))


@contextmanager
def recording() -> Iterator[list[Read]]:
    """Collect every file ``read_text`` reads in this context (in this thread or task)."""
    reads: list[Read] = []
    token = _READS.set(reads)
    try:
        yield reads
    finally:
        _READS.reset(token)


def unchanged(reads: tuple[Read, ...]) -> bool:
    """Whether every file still holds what it held when it was read."""
    for read in reads:
        try:
            data = read_bytes(read.path)
        except FileProblem:
            return False
        if hashlib.sha256(data).hexdigest() != read.digest:
            return False
    return True


# -- paths named inside files --------------------------------------------------------------


def inside(directory: Path, ref: str) -> Path:
    """The file ``ref`` names, resolved inside ``directory`` (or below); else a ``FileProblem``.

    A file may name only files beside it or below it: a scenario or a policy
    from elsewhere must not make the reader open, and quote, any file on the
    machine. The message names the path given, never what the target holds.
    """
    if "\0" in ref:
        raise FileProblem("the path holds a NUL byte")
    if Path(ref).is_absolute():
        raise FileProblem(f"{shown(ref)} is an absolute path: name a file in {directory} or below")
    try:
        root = directory.resolve()
        target = (root / ref).resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop (Python 3.11, 3.12)
        raise FileProblem(f"{shown(ref)} cannot be resolved: {exc}") from None
    if not target.is_relative_to(root):
        raise FileProblem(
            f"{shown(ref)} is outside {directory}: a file may name only files in its own "
            "folder or below it"
        )
    return target


# -- YAML ----------------------------------------------------------------------------------

_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_MERGE = "tag:yaml.org,2002:merge"

# YAML 1.1's integers and floats without the base-60 forms (``21:00`` is 1260 there).
_INT_RE = re.compile(
    r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"
)
_FLOAT_RE = re.compile(
    r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)


class _Resolver(Resolver):
    pass


_Resolver.yaml_implicit_resolvers = {
    first: [
        (tag, _INT_RE if tag == _INT else _FLOAT_RE if tag == _FLOAT else regexp)
        for tag, regexp in resolvers
        if tag != _TIMESTAMP
    ]
    for first, resolvers in Resolver.yaml_implicit_resolvers.items()
}


class _Constructor(SafeConstructor):
    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, KeyError, IndexError, TypeError, OverflowError):
            # An explicit tag on text it cannot read (``!!int ''``, ``!!bool maybe``).
            tag = str(node.tag).rsplit(":", 1)[-1]
            value = node.value if isinstance(node.value, str) else ""
            raise ConstructorError(
                None, None, f"{shown(value, 40)} is not a valid {tag}", node.start_mark
            ) from None

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: dict[object, Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE:
                raise ConstructorError(
                    None, None, "merge keys (<<) are not accepted", key_node.start_mark
                )
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node)
            except TypeError:
                continue  # unhashable: SafeConstructor says so below
            if first is not key_node:
                raise ConstructorError(
                    None,
                    None,
                    f"the key {shown(str(key), 40)} is given twice "
                    f"(first on line {first.start_mark.line + 1})",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: ScalarNode) -> int:
        digits = len(self.construct_scalar(node).lstrip("+-").replace("_", ""))
        if digits > MAX_DIGITS:
            raise ConstructorError(
                None,
                None,
                f"an integer of {digits:,} digits: at most {MAX_DIGITS} are accepted",
                node.start_mark,
            )
        return super().construct_yaml_int(node)

    def construct_yaml_timestamp(self, node: ScalarNode) -> Any:
        # Left as text: the model that reads the field parses it and names the field.
        return self.construct_scalar(node)


_Constructor.yaml_constructors = {
    **SafeConstructor.yaml_constructors,
    _INT: _Constructor.construct_yaml_int,
    _TIMESTAMP: _Constructor.construct_yaml_timestamp,
}


class _Composer(Composer):
    _depth = 0

    if TYPE_CHECKING:  # the parser the loader is built with provides these

        def check_event(self, *choices: type[Event]) -> bool: ...
        def peek_event(self) -> Event: ...

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(AliasEvent):
            self._refuse("aliases (*name) are not accepted: write the value out")
        if self._depth >= MAX_DEPTH:
            self._refuse(f"nested more than {MAX_DEPTH} levels deep")
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def _refuse(self, problem: str) -> NoReturn:
        # libyaml's marks are its own class, with the same line and column.
        mark = cast("Mark | None", self.peek_event().start_mark)
        raise ComposerError(None, None, problem, mark)


try:  # libyaml scans and parses in C, about four times as fast; composing stays ours
    from yaml._yaml import CParser as _Parser

    _C_PARSER = True

    class _Loader(_Composer, _Constructor, _Resolver, _Parser):
        def __init__(self, text: str) -> None:
            _Parser.__init__(self, text)
            _Composer.__init__(self)
            _Constructor.__init__(self)
            _Resolver.__init__(self)

except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    _C_PARSER = False

    class _Loader(Reader, Scanner, Parser, _Composer, _Constructor, _Resolver):  # type: ignore[no-redef]
        def __init__(self, text: str) -> None:
            Reader.__init__(self, text)
            Scanner.__init__(self)
            Parser.__init__(self)
            _Composer.__init__(self)
            _Constructor.__init__(self)
            _Resolver.__init__(self)


@dataclass(frozen=True)
class Document:
    """One YAML document: its data, the line it starts on, and the line of each field."""

    data: Any
    line: int
    lines: Mapping[tuple[str, ...], int]

    def line_of(self, field: str) -> int:
        """The line of ``field`` (``steps[0].check.at``), or of the nearest field holding it."""
        parts = tuple(p for p in re.split(r"[.\[\]]+", field) if p)
        while parts:
            if parts in self.lines:
                return self.lines[parts]
            parts = parts[:-1]
        return self.line


def _lines(root: Node) -> dict[tuple[str, ...], int]:
    lines: dict[tuple[str, ...], int] = {}
    stack: list[tuple[Node, tuple[str, ...]]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, MappingNode):
            for key, value in node.value:
                if isinstance(key, ScalarNode):
                    here = (*path, str(key.value))
                    lines.setdefault(here, key.start_mark.line + 1)
                    stack.append((value, here))
        elif isinstance(node, SequenceNode):
            for i, item in enumerate(node.value):
                here = (*path, str(i))
                lines[here] = item.start_mark.line + 1
                stack.append((item, here))
    return lines


def yaml_documents(text: str) -> Iterator[Document]:
    """The documents of a YAML stream, in order; a ``FileProblem`` where the stream breaks.

    The documents before a broken one are yielded first: nothing after it can be read.
    """
    try:
        loader = _Loader(text)
    except yaml.YAMLError as exc:  # the pure-Python reader checks every character first
        raise _problem(exc, text) from None
    try:
        while True:
            try:
                if not loader.check_node():
                    return
                node = loader.get_node()
                if node is None:  # pragma: no cover - check_node said there was one
                    return
                lines = _lines(node)
                data = loader.construct_document(node)
            except yaml.YAMLError as exc:
                raise _problem(exc, text) from None
            yield Document(data, node.start_mark.line + 1, lines)
    finally:
        loader.dispose()


def _problem(exc: yaml.YAMLError, text: str) -> FileProblem:
    """A YAML error in one line, without the snippet of the file PyYAML quotes."""
    if isinstance(exc, ReaderError):
        offset = exc.position
        before = text.encode("utf-8")[:offset] if _C_PARSER else text[:offset].encode("utf-8")
        line = before.count(b"\n") + 1
        return FileProblem(f"not valid YAML: character #x{exc.character:04x} is not allowed", line)
    if isinstance(exc, MarkedYAMLError):
        # libyaml puts the end of the stream on a line after the last one: name the last
        # line that holds anything instead.
        last = text.rstrip().count("\n") + 1
        mark: Mark | None = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "not valid YAML"
        if exc.context and exc.problem:
            where = exc.context
            if exc.context_mark is not None and exc.context_mark is not mark:
                where += f" from line {min(exc.context_mark.line + 1, last)}"
            problem += f" ({where})"
        if not isinstance(exc, ConstructorError | ComposerError):
            problem = f"not valid YAML: {problem}"
        return FileProblem(problem, None if mark is None else min(mark.line + 1, last))
    return FileProblem(f"not valid YAML: {str(exc).splitlines()[0]}")

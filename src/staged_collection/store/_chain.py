"""The decision log's hash chain, and how a broken one is diagnosed.

Each line of a stream's log is chained to the line before it: its hash is the SHA-256 of
a canonical JSON object (sorted keys, no spaces, UTF-8) holding the stream id, the stream
version whose append wrote it, its kind (``decision`` or ``revision``), the decision as
logged, and the previous line's hash. The first line's previous hash is a hash of the
stream id, so a line cannot be moved to another stream unseen. The stream's head (the
number and hash of its last line) is kept with its snapshot, so that a log cut short is
caught too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

Problem = Literal["edited", "deleted", "reordered", "added", "truncated"]


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def genesis(stream_id: str) -> str:
    """The previous hash of a stream's first line."""
    return hashlib.sha256(canonical({"decision log of stream": stream_id})).hexdigest()


def entry_hash(
    stream_id: str, version: int, kind: str, line: str | dict[str, Any], prev_hash: str
) -> str:
    """The hash of one line (its text, or that text already parsed)."""
    body = {
        "decision": json.loads(line) if isinstance(line, str) else line,
        "kind": kind,
        "prev": prev_hash,
        "stream": stream_id,
        "version": version,
    }
    return hashlib.sha256(canonical(body)).hexdigest()


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One line of a stream's decision log, with its place in the hash chain.

    ``version`` is the stream version whose append wrote the line; ``kind`` is
    ``decision`` (the judgement of that event) or ``revision`` (an earlier action judged
    again after a late fact). ``line`` is the decision's log line, exactly as written.
    """

    stream_id: str
    seq: int
    version: int
    kind: str
    decision_id: str
    line: str
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class LogProblem:
    """The first line of a stream's decision log that is not as the store wrote it."""

    stream_id: str
    seq: int
    problem: Problem
    message: str

    def __str__(self) -> str:
        return f"stream {self.stream_id}: line {self.seq} {self.problem}: {self.message}"


def verify(
    stream_id: str, rows: Iterable[LogEntry], head_seq: int | None, head_hash: str | None
) -> LogProblem | None:
    """The first problem in one stream's log (rows in ``seq`` order), or ``None``.

    ``head_seq`` and ``head_hash`` are the head kept with the stream's snapshot
    (``None`` when the snapshot row is gone, which is a problem in itself).
    """
    rows = list(rows)
    written = {row.hash: row.seq for row in rows}
    prev = genesis(stream_id)
    for n, row in enumerate(rows, start=1):
        if row.seq != n:
            return LogProblem(
                stream_id, n, "deleted", f"is missing: the log goes from line {n - 1} to {row.seq}"
            )
        if row.prev_hash != prev:
            if row.prev_hash in written and written[row.prev_hash] > row.seq:
                return LogProblem(
                    stream_id,
                    n,
                    "reordered",
                    f"was written after the line now numbered {written[row.prev_hash]}",
                )
            return LogProblem(
                stream_id,
                n,
                "deleted",
                f"was chained to another line {n - 1} than the one stored: line {n - 1} was "
                "rewritten, or lines were deleted before this one",
            )
        try:
            mismatch = entry_hash(stream_id, row.version, row.kind, row.line, row.prev_hash) != (
                row.hash
            )
            logged_id = json.loads(row.line).get("decision_id", row.decision_id)
        except (ValueError, TypeError, AttributeError):
            return LogProblem(stream_id, n, "edited", "is not a JSON object any more")
        if mismatch or logged_id != row.decision_id:
            return LogProblem(stream_id, n, "edited", "its content does not match its hash")
        prev = row.hash
    last = len(rows)
    if head_seq is None or head_hash is None:
        return LogProblem(stream_id, last, "deleted", "the stream's snapshot and log head are gone")
    if last > head_seq:
        return LogProblem(
            stream_id, head_seq + 1, "added", f"is past the log's head (line {head_seq})"
        )
    if last < head_seq:
        return LogProblem(
            stream_id,
            last + 1,
            "truncated",
            f"is missing: the log ends at line {last}, its head says {head_seq}",
        )
    if last and prev != head_hash:
        return LogProblem(stream_id, last, "edited", "its hash is not the log's head")
    return None

"""Every error the library raises, under one root.

The tree (mirrored in ``docs/errors.md``)::

    StagedCollectionError
    ├── InputError(ValueError)            bad input that pydantic does not already refuse
    │   ├── NaiveDatetimeError            an ``at=`` without a time zone
    │   ├── CurrencyMismatchError         money in another currency than the loan's
    │   ├── OutOfOrderError               an event earlier than the case's last event
    │   ├── CaseMismatchError             a case from another engine's policy
    │   └── WrongExpectedVersion          a stream not at the version the writer expected
    ├── PolicyError(ValueError)           a policy that cannot be loaded or cannot work
    │   └── LooseningOverlayError         an overlay value looser than a rule of law it overlays
    ├── ScenarioError(ValueError)         a scenario file that cannot be read
    └── Refused                           an action the rules do not allow; carries the Decision
        ├── TransitionNotAllowed          a stage or bureau move refused
        └── ContactRefused                a contact refused

Invalid models (a float amount, an unknown zone, unsorted instalments) raise
pydantic's own ``ValidationError``, whose ``loc`` names the field; the
categories above subclass the builtin a caller would already catch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from staged_collection.decision import Decision

__all__ = [
    "CaseMismatchError",
    "ContactRefused",
    "CurrencyMismatchError",
    "InputError",
    "LooseningOverlayError",
    "NaiveDatetimeError",
    "OutOfOrderError",
    "PolicyError",
    "Refused",
    "ScenarioError",
    "StagedCollectionError",
    "TransitionNotAllowed",
    "WrongExpectedVersion",
]


class StagedCollectionError(Exception):
    """The root of every error this library raises on purpose."""


class InputError(StagedCollectionError, ValueError):
    """An argument is not acceptable; the message names the field and the value."""

    def __init__(self, field: str, value: object, problem: str) -> None:
        self.field = field
        self.value = value
        self.problem = problem
        super().__init__(f"{field}: {problem} (got {value!r})")

    def __reduce__(self) -> tuple[type[InputError], tuple[str, object, str]]:
        # Picklable, so that errors cross process boundaries (multiprocessing).
        return type(self), (self.field, self.value, self.problem)


class NaiveDatetimeError(InputError):
    """A datetime without a time zone: local times are ambiguous across zones and DST."""

    def __init__(
        self,
        field: str,
        value: object,
        problem: str = "a datetime must be aware (carry a UTC offset)",
    ) -> None:
        super().__init__(field, value, problem)


class CurrencyMismatchError(InputError):
    """An amount in another currency than the loan's."""


class OutOfOrderError(InputError):
    """An event dated before the last event already in the case."""


class CaseMismatchError(InputError):
    """A case opened under one policy, handed to an engine running another."""


class WrongExpectedVersion(InputError):
    """An append or an open that expected another version of the stream than the store holds.

    ``expected`` is the version the writer last saw (``None``: it expected no stream),
    ``actual`` the version the store holds (``None``: there is no such stream). Nothing was
    written; read the stream again, decide again, and retry.
    """

    def __init__(self, stream_id: str, expected: int | None, actual: int | None) -> None:
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual
        held = "does not exist" if actual is None else f"is at version {actual}"
        wanted = "no stream" if expected is None else f"version {expected}"
        super().__init__(
            "expected_version",
            expected,
            f"stream {stream_id!r} {held}, the writer expected {wanted}",
        )

    def __reduce__(self) -> tuple[type[WrongExpectedVersion], tuple[str, int | None, int | None]]:  # type: ignore[override]
        return WrongExpectedVersion, (self.stream_id, self.expected, self.actual)


class PolicyError(StagedCollectionError, ValueError):
    """A policy that cannot be loaded or cannot work.

    ``source`` is the preset name or the file, ``field`` the dotted path inside it,
    ``line`` (1-based) the line of the file where it is known.
    """

    def __init__(self, source: str, field: str, problem: str, line: int | None = None) -> None:
        self.source = source
        self.field = field
        self.problem = problem
        self.line = line
        where = source if line is None else f"{source}:{line}"
        if field:
            where += f": {field}"
        super().__init__(f"{where}: {problem}")

    def __reduce__(self) -> tuple[type[PolicyError], tuple[str, str, str, int | None]]:
        return PolicyError, (self.source, self.field, self.problem, self.line)


class LooseningOverlayError(PolicyError):
    """An overlay value that would loosen a rule of law of the policy under it.

    A rule of law can only be tightened by an overlay (the stricter value wins);
    an overlay that says otherwise is refused rather than silently outvoted.
    ``base`` and ``overlay`` are the two values as a person writes them; ``field``
    is the first such field (the ``problem`` counts the others).
    """

    def __init__(
        self,
        source: str,
        field: str,
        problem: str,
        base: str,
        overlay: str,
        line: int | None = None,
    ) -> None:
        self.base = base
        self.overlay = overlay
        super().__init__(source, field, problem, line)

    def __reduce__(self) -> tuple[type[PolicyError], tuple[Any, ...]]:
        return LooseningOverlayError, (
            self.source,
            self.field,
            self.problem,
            self.base,
            self.overlay,
            self.line,
        )


class ScenarioError(StagedCollectionError, ValueError):
    """A scenario file that cannot be read: the file, the scenario, the field, the problem.

    ``line`` (1-based) is the line of the file where it is known.
    """

    def __init__(
        self, file: str, scenario: str, field: str, problem: str, line: int | None = None
    ) -> None:
        self.file = file
        self.scenario = scenario
        self.field = field
        self.problem = problem
        self.line = line
        parts = [file if line is None else f"{file}:{line}", scenario, field]
        super().__init__(": ".join(p for p in parts if p) + f": {problem}")

    def __reduce__(self) -> tuple[type[ScenarioError], tuple[str, str, str, str, int | None]]:
        return ScenarioError, (self.file, self.scenario, self.field, self.problem, self.line)


class Refused(StagedCollectionError):
    """The rules refuse the action; ``decision`` holds every violation found.

    Nothing was recorded: the case handed in is unchanged.
    """

    def __init__(self, decision: Decision) -> None:
        self.decision = decision
        super().__init__(decision.summary())

    def __reduce__(self) -> tuple[type[Refused], tuple[Decision]]:
        return type(self), (self.decision,)


class TransitionNotAllowed(Refused):
    """A move on the ladder or the bureau track that the rules refuse."""


class ContactRefused(Refused):
    """A contact that the rules refuse."""

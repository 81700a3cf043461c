"""A policy as a timeline: which rules are in force on a date, and when that changes.

Every rule and window of a policy may carry ``effective_from`` and
``effective_to`` (local dates in the policy's ``home_timezone``, both
inclusive). The dates on which some rule starts or stops (``boundaries``) cut
time into periods; within a period the same rules are in force, and
``in_force`` gives them as a policy of their own (a *view*): the judges read a
view exactly as they read any policy. A rule out of force is absent from the
view: an optional rule is ``None``, a counter, a minimum gap or a window is
left out, and the rules inside an absent rule go with it.

A rule the policy cannot be without (the ladder, the quiet hours as a whole,
the third-party rule, every hold kind) carries no dates (``undatable`` finds
one that does); the rules inside it do.
"""

from __future__ import annotations

import datetime as dt
import types
from typing import TYPE_CHECKING, Any, NamedTuple, Union, cast, get_args, get_origin

from pydantic import BaseModel

if TYPE_CHECKING:
    from staged_collection.policy import Policy

__all__ = ["Period", "boundaries", "in_force", "periods", "undatable"]

_DAY = dt.timedelta(days=1)


class Period(NamedTuple):
    """The rules in force from ``start`` (``None``: from the beginning) to the next period."""

    start: dt.date | None
    policy: Policy


def _dated(value: object) -> bool:
    return bool(getattr(value, "dated", False))


def _on(value: object, day: dt.date) -> bool:
    start, end = getattr(value, "effective_from", None), getattr(value, "effective_to", None)
    return (start is None or start <= day) and (end is None or day <= end)


def _optional(annotation: Any) -> bool:
    origin = get_origin(annotation)
    return (origin is Union or origin is types.UnionType) and type(None) in get_args(annotation)


def undatable(model: BaseModel, path: str = "") -> str:
    """The dotted path of the first dated rule the model cannot be without, or ``""``."""
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        here = f"{path}.{name}" if path else name
        if isinstance(value, BaseModel):
            if _dated(value) and not _optional(info.annotation):
                return here
            found = undatable(value, here)
            if found:
                return found
        for key, item in _items(value):
            if isinstance(item, BaseModel):
                found = undatable(item, f"{here}[{key}]")
                if found:
                    return found
            for inner_key, inner in _items(item):
                if isinstance(inner, BaseModel):
                    found = undatable(inner, f"{here}.{key}.{inner_key}")
                    if found:
                        return found
    return ""


def _items(value: object) -> list[tuple[str, object]]:
    """The members of a rule list (by name) or a mapping (by key); none for anything else."""
    if isinstance(value, tuple):
        return [(str(getattr(v, "name", i)), v) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return [(str(k), v) for k, v in value.items()]
    return []


def _dates(model: BaseModel, into: set[dt.date]) -> None:
    start, end = getattr(model, "effective_from", None), getattr(model, "effective_to", None)
    if start is not None:
        into.add(start)
    if end is not None and end < dt.date.max:
        into.add(end + _DAY)
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            _dates(value, into)
        for _, item in _items(value):
            if isinstance(item, BaseModel):
                _dates(item, into)
            for _, inner in _items(item):
                if isinstance(inner, BaseModel):
                    _dates(inner, into)


def boundaries(policy: Policy) -> tuple[dt.date, ...]:
    """Every date on which the rules in force change: each ``effective_from`` and the day
    after each ``effective_to``, in order."""
    found: set[dt.date] = set()
    _dates(policy, found)
    return tuple(sorted(found))


def in_force(policy: Policy, day: dt.date) -> Policy:
    """``policy`` with only the rules in force on ``day``; ``policy`` itself when all are."""
    return cast("Policy", _view(policy, day))


def periods(policy: Policy) -> tuple[Period, ...]:
    """The policy cut at its boundaries: the rules in force before the first, then from each."""
    cuts = boundaries(policy)
    if not cuts:
        return (Period(None, policy),)
    first = in_force(policy, cuts[0] - _DAY) if cuts[0] > dt.date.min else None
    out = [] if first is None else [Period(None, first)]
    out += [Period(cut, in_force(policy, cut)) for cut in cuts]
    return tuple(out)


def _view(model: BaseModel, day: dt.date) -> BaseModel:
    values: dict[str, Any] = {}
    changed = False
    for name in type(model).model_fields:
        value = getattr(model, name)
        kept = _kept(value, day)
        changed = changed or kept is not value
        values[name] = kept
    if not changed:
        return model
    # The members are validated already; this validates the rule around them (a view is a
    # policy like any other, which every judge reads as it reads one).
    return type(model).model_validate(values)


def _kept(value: Any, day: dt.date) -> Any:
    """``value`` as in force on ``day``: the same object when nothing in it changes."""
    if isinstance(value, BaseModel):
        if not _on(value, day):
            return None
        return _view(value, day)
    if isinstance(value, tuple) and any(isinstance(v, BaseModel) for v in value):
        kept = tuple(k for k in (_kept(v, day) for v in value) if k is not None)
        same = len(kept) == len(value) and all(a is b for a, b in zip(kept, value, strict=True))
        return value if same else kept
    if isinstance(value, dict) and value:
        out = {}
        for key, item in value.items():
            k = _kept(item, day)
            if k is not None:
                out[key] = k
        same = len(out) == len(value) and all(out[k] is value[k] for k in out)
        return value if same else out
    return value

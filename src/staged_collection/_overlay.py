"""Composing policies: a base and an overlay, the stricter value winning field by field.

A policy field says how to be stricter through its ``Annotated`` metadata (a
``Stricter`` member). Without one, a nested rule is composed field by field,
and a plain value must agree between the two. A rule present in only one of
the two (an optional rule, a dictionary key, a counter) applies as it is.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, ValidationError

from staged_collection.errors import PolicyError


class Stricter(Enum):
    LOWER = "lower"  # caps and limits: the smaller wins; None means "no cap"
    HIGHER = "higher"  # thresholds and waits: the larger wins; None means "none"
    ALL = "all"  # permissions: allowed only if both allow
    ANY = "any"  # requirements: required if either requires
    FEWER = "fewer"  # sets of permitted things: the intersection
    MORE = "more"  # sets of required or forbidden things: the union
    OVERLAY = "overlay"  # what names or describes a policy, not a rule: the overlay's


def deep_merge(base: Any, override: Any) -> Any:
    """Overlay a partial document onto a full one (dictionaries by key, rule lists by name)."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            out[key] = deep_merge(base[key], value) if key in base else value
        return out
    if _named_list(base) and _named_list(override):
        by_name = {item["name"]: item for item in base}
        for item in override:
            name = item["name"]
            by_name[name] = deep_merge(by_name[name], item) if name in by_name else item
        return list(by_name.values())
    return override


def _named_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(i, dict) and "name" in i for i in value)


def stricter(base: BaseModel, other: BaseModel, *, source: str, path: str = "") -> BaseModel:
    """The composition of two rules of the same class, field by field."""
    values: dict[str, Any] = {}
    for name, info in type(base).model_fields.items():
        if name == "citation":
            continue
        mode = next((m for m in info.metadata if isinstance(m, Stricter)), None)
        here = f"{path}.{name}" if path else name
        values[name] = _compose(getattr(base, name), getattr(other, name), mode, source, here)
    if "citation" in type(base).model_fields:
        values["citation"] = _citation(base, other, values)
    try:
        return type(base).model_validate(values)
    except ValidationError as exc:
        # Two workable rules can compose into one that cannot work: two windows
        # that do not overlap leave no time at all.
        error = exc.errors(include_url=False)[0]
        inner = ".".join(str(p) for p in error["loc"])
        where = ".".join(p for p in (path, inner) if p)
        raise PolicyError(source, where, f"composed, {error['msg']}") from None


def _compose(a: Any, b: Any, mode: Stricter | None, source: str, path: str) -> Any:
    if a is None or b is None:
        if mode in (Stricter.ALL, Stricter.ANY, Stricter.FEWER, Stricter.MORE):
            return a if b is None else b
        return b if a is None else a  # an optional rule or value in one applies
    if mode is Stricter.OVERLAY:
        return b
    if mode is Stricter.LOWER:
        return min(a, b)
    if mode is Stricter.HIGHER:
        return max(a, b)
    if mode is Stricter.ALL:
        return a and b
    if mode is Stricter.ANY:
        return a or b
    if mode is Stricter.FEWER:
        return frozenset(a) & frozenset(b)
    if mode is Stricter.MORE:
        return frozenset(a) | frozenset(b)
    if isinstance(a, BaseModel) and type(a) is type(b):
        return stricter(a, b, source=source, path=path)
    if isinstance(a, dict) and isinstance(b, dict):
        return {
            key: _compose(a.get(key), b.get(key), None, source, f"{path}.{key}")
            for key in {**a, **b}
        }
    if isinstance(a, tuple) and all(hasattr(i, "name") for i in (*a, *b)):
        mine = {i.name: i for i in a}
        theirs = {i.name: i for i in b}
        return tuple(
            _compose(mine.get(key), theirs.get(key), None, source, f"{path}[{key}]")
            for key in {**mine, **theirs}
        )
    if a != b:
        raise PolicyError(
            source,
            path,
            f"the base says {a!r} and the overlay {b!r}; neither is stricter, so they cannot "
            "be composed (give the overlay's rule another name, or write a whole policy)",
        )
    return a


def _citation(base: BaseModel, other: BaseModel, values: dict[str, Any]) -> str:
    mine = str(vars(base)["citation"])
    theirs = str(vars(other)["citation"])
    if mine == theirs or _same_rule(base, values):
        return mine
    if _same_rule(other, values):
        return theirs
    return f"{mine}; {theirs}"


def _same_rule(rule: BaseModel, values: dict[str, Any]) -> bool:
    return all(getattr(rule, k) == v for k, v in values.items())

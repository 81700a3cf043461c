"""Composing policies: a base and an overlay, field by field.

A policy field says how it composes through its ``Annotated`` metadata (a
``Stricter`` member). A rule of law can only be tightened: where the
overlay's value is looser than the base's, the overlay is refused
(``LooseningOverlayError``), never silently outvoted. A field marked
``STRATEGY`` is the lender's strategy, not law: the overlay's value stands,
stricter or not. A rule's effective dates compose as a rule of law does: an
overlay may keep a rule in force longer (start it earlier, end it later, or
take a date away), never shorter. Without a marker, a nested rule composes field by field,
and a plain value must agree between the two. A rule present in only the
overlay (an optional rule, a dictionary key, a counter) applies as it is; a
rule of the base cannot be removed.

Provenance: a rule (or a window) keeps the base's citation and layer while
its own values stay the base's; once the overlay changes one of them, it
takes the overlay's citation (the base's when the overlay gives none) and
the overlay's layer. Nested rules and windows decide for themselves. A
strategy rule takes the overlay's citation whenever the overlay gives one.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from staged_collection.errors import LooseningOverlayError, PolicyError


class Stricter(Enum):
    LOWER = "lower"  # caps and limits: the smaller wins; None means "no cap"
    HIGHER = "higher"  # thresholds and waits: the larger wins; None means "none"
    ALL = "all"  # permissions: allowed only if both allow
    ANY = "any"  # requirements: required if either requires
    FEWER = "fewer"  # sets of permitted things: the intersection
    MORE = "more"  # sets of required or forbidden things: the union
    OVERLAY = "overlay"  # what names or describes a policy, not a rule: the overlay's
    STRATEGY = "strategy"  # the lender's strategy, not law: the overlay's, either way
    SOONER = "sooner"  # when a rule starts: the earlier wins; None (no start) is the earliest
    LATER = "later"  # when a rule ends: the later wins; None (no end) is the latest
    UNION = "union"  # facts (the dates a calendar knows): what both know, never looser
    EXCEPTION = "exception"  # an optional rule that widens what is allowed: only if both have it


_PROVENANCE = ("citation", "layer")


def layer_of(source: str) -> str:
    """The layer a source stands for: a preset's name, or a file's name (``ny.yaml``)."""
    return Path(source).name or source


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


def overlay_rules(base: BaseModel, candidate: BaseModel, *, source: str) -> BaseModel:
    """``base`` composed with ``candidate`` (the base with the overlay's document merged in).

    Refuses the overlay (``LooseningOverlayError``) when it loosens a rule of law,
    naming the first field and counting the others.
    """
    composer = _Composer(source)
    composed = composer.model(base, candidate, "", strategy=False)
    if composer.loosened:
        field, was, said, why = composer.loosened[0]
        rest = composer.loosened[1:]
        if rest:
            why += f" [and {len(rest)} more: {'; '.join(r[0] for r in rest[:3])}]"
        raise LooseningOverlayError(source, field, why, was, said)
    return composed


class _Composer:
    def __init__(self, source: str) -> None:
        self.source = source
        self.layer = layer_of(source)
        self.loosened: list[tuple[str, str, str, str]] = []

    def model(self, base: BaseModel, other: BaseModel, path: str, strategy: bool) -> BaseModel:
        """Two rules of the same class, field by field, then whose citation and layer."""
        values: dict[str, Any] = {}
        own: list[Stricter | None] = []  # the modes of the rule's own values
        changed = False
        for name, info in type(base).model_fields.items():
            if name in _PROVENANCE:
                continue
            mode = Stricter.STRATEGY if strategy else _mode(info.metadata)
            here = f"{path}.{name}" if path else name
            a, b = getattr(base, name), getattr(other, name)
            values[name] = self.value(a, b, mode, here, _layer(base))
            if not (_carries_provenance(a) or _carries_provenance(b)):
                own.append(mode)
                changed = changed or values[name] != a
        if "citation" in type(base).model_fields:
            mine, theirs = _citation(base), _citation(other)
            strategic = strategy or (bool(own) and all(m is Stricter.STRATEGY for m in own))
            if changed or (strategic and theirs and theirs != mine):
                values["citation"], values["layer"] = theirs or mine, self.layer
            else:
                values["citation"], values["layer"] = mine, _layer(base)
        try:
            return type(base).model_validate(values)
        except ValidationError as exc:
            if self.loosened:
                return other  # a looser value is the reason; it is reported as such
            # Two workable rules can compose into one that cannot work.
            error = exc.errors(include_url=False)[0]
            inner = ".".join(str(p) for p in error["loc"])
            where = ".".join(p for p in (path, inner) if p)
            raise PolicyError(self.source, where, f"composed, {error['msg']}") from None

    def value(self, a: Any, b: Any, mode: Stricter | None, path: str, layer: str) -> Any:
        if mode is Stricter.STRATEGY and isinstance(a, BaseModel) and type(a) is type(b):
            return self.model(a, b, path, strategy=True)
        if mode in (Stricter.SOONER, Stricter.LATER):
            # ``None`` is no start (or no end): in force the longest, the strictest.
            won = (
                None if a is None or b is None else (min if mode is Stricter.SOONER else max)(a, b)
            )
            if won != b:
                self.loosen(path, layer, a, b, dated=True)
            return won
        if mode is Stricter.UNION:
            return _union(a, b)
        if mode is Stricter.EXCEPTION:
            return self.exception(a, b, path, layer)
        if mode in (Stricter.OVERLAY, Stricter.STRATEGY) or a is None:
            return b  # a rule or value the base lacks applies as it is
        if b is None:
            self.loosen(path, _layer(a) or layer, a, None)
            return a
        if mode is None:
            return self.unmarked(a, b, path, layer)
        won = _stricter(mode, a, b)
        if won != b:
            self.loosen(path, layer, a, b)
        return won

    def exception(self, a: Any, b: Any, path: str, layer: str) -> Any:
        # An exception to a rule of law (a way the borrower counts as unreachable) widens
        # what is allowed: an overlay may drop it, never add one the base does not grant.
        if b is None:
            return None
        if a is None:
            self.loosen(path, layer, a, b)
            return None
        return self.model(a, b, path, strategy=False)

    def unmarked(self, a: Any, b: Any, path: str, layer: str) -> Any:
        if isinstance(a, BaseModel) and type(a) is type(b):
            return self.model(a, b, path, strategy=False)
        if isinstance(a, dict) and isinstance(b, dict):
            return {
                key: self.value(a.get(key), b.get(key), None, f"{path}.{key}", layer)
                for key in {**a, **b}
            }
        if isinstance(a, tuple) and all(hasattr(i, "name") for i in (*a, *b)):
            mine = {i.name: i for i in a}
            theirs = {i.name: i for i in b}
            return tuple(
                self.value(mine.get(key), theirs.get(key), None, f"{path}[{key}]", layer)
                for key in {**mine, **theirs}
            )
        if a != b:
            raise PolicyError(
                self.source,
                path,
                f"the base says {shown(a)} and the overlay {shown(b)}; neither is stricter, so "
                "they cannot be composed (give the overlay's rule another name, or write a whole "
                "policy)",
            )
        return a

    def loosen(self, path: str, layer: str, was: Any, said: Any, *, dated: bool = False) -> None:
        base = layer or "the base"
        if dated:
            starts = path.endswith("effective_from")

            def span(day: Any) -> str:
                if day is None:
                    return "with no start" if starts else "with no end"
                return f"from {shown(day)}" if starts else f"until {shown(day)}"

            why = (
                f"{base} has the rule in force {span(was)} and the overlay {span(said)}, "
                "which keeps it in force for fewer days"
            )
        elif said is None:
            why = f"{base} has the rule and the overlay sets it to none, removing it"
        else:
            why = f"{base} says {shown(was)} and the overlay {shown(said)}, which is looser"
        why += (
            ": an overlay can only tighten a rule of law (write a whole policy, without "
            "extends, to set another law)"
        )
        self.loosened.append((path, shown(was), shown(said), why))


def _union(a: Any, b: Any) -> Any:
    """What the base and the overlay both state: dates by key (the overlay names them), sets."""
    if isinstance(a, dict) and isinstance(b, dict):
        return {**a, **b}
    return frozenset(a) | frozenset(b)


def _stricter(mode: Stricter, a: Any, b: Any) -> Any:
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
    return frozenset(a) | frozenset(b)  # MORE


def _mode(metadata: list[Any]) -> Stricter | None:
    return next((m for m in metadata if isinstance(m, Stricter)), None)


def _layer(rule: Any) -> str:
    return str(getattr(rule, "layer", ""))


def _citation(rule: Any) -> str:
    return str(getattr(rule, "citation", ""))


def _carries_provenance(value: Any) -> bool:
    """A nested rule or window (or a collection of them): it keeps its own citation."""
    if isinstance(value, dict):
        value = tuple(value.values())
    if isinstance(value, tuple):
        return any(_carries_provenance(v) for v in value)
    return isinstance(value, BaseModel) and "citation" in type(value).model_fields


def shown(value: Any) -> str:
    """A policy value as a person writes it: ``08:00``, ``[call, sms]``, ``none``."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.time):
        return value.strftime("%H:%M" if not value.second else "%H:%M:%S")
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, frozenset | set | list | tuple):
        return "[" + ", ".join(sorted(shown(v) for v in value)) + "]"
    if isinstance(value, BaseModel):
        return "the rule"
    return str(value)

"""Hypothesis strategies for JSON documents that a JSON Schema accepts.

A small generator for the keywords the library's schemas use (``$ref``, ``type``,
``properties``, ``required``, ``additionalProperties``, ``items``, ``enum``,
``const``, ``pattern``, lengths and counts, ``anyOf``/``oneOf``/``allOf`` and
``if``/``then``/``else``). Documents are drawn from the structure, the branch of an
``if`` is taken by what was drawn, and every document is checked against the whole
schema with ``jsonschema`` before use, so a shortcut here can only cost examples,
never admit an invalid one.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
from hypothesis import strategies as st

_TEXT = st.characters(codec="utf-8")
_CAP = 3  # items drawn beyond an array's minimum; bounds are tested elsewhere


def documents(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Documents valid under ``schema`` (a root schema with its ``$defs``)."""
    validator = jsonschema.Draft202012Validator(schema)
    return _Gen(schema).of(schema).filter(validator.is_valid)


class _Gen:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.validators: dict[str, jsonschema.Draft202012Validator] = {}

    def valid(self, node: dict[str, Any], doc: Any) -> bool:
        key = json.dumps(node, sort_keys=True)
        if key not in self.validators:
            self.validators[key] = jsonschema.Draft202012Validator(node)
        return self.validators[key].is_valid(doc)

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            name = node["$ref"].removeprefix("#/$defs/")
            rest = {k: v for k, v in node.items() if k != "$ref"}
            node = {**self.root["$defs"][name], **rest}
        for part in node.get("allOf", ()):
            node = {**{k: v for k, v in node.items() if k != "allOf"}, **self.resolve(part)}
        return node

    def of(self, node: dict[str, Any]) -> st.SearchStrategy[Any]:
        node = self.resolve(node)
        if "const" in node:
            return st.just(node["const"])
        if "enum" in node:
            return st.sampled_from(node["enum"])
        for key in ("anyOf", "oneOf"):
            if key in node:
                base = {k: v for k, v in node.items() if k not in ("anyOf", "oneOf")}
                return st.one_of([self.of({**base, **branch}) for branch in node[key]])
        kind = node.get("type")
        if kind == "object":
            return self.obj(node)
        if kind == "array":
            return self.array(node)
        if kind == "string":
            return self.string(node)
        if kind == "integer":
            return st.integers(node.get("minimum"), node.get("maximum"))
        if kind == "boolean":
            return st.booleans()
        if kind == "null":
            return st.none()
        raise NotImplementedError(f"no generator for {node}")

    def obj(self, node: dict[str, Any]) -> st.SearchStrategy[Any]:
        props: dict[str, Any] = node.get("properties", {})
        required = set(node.get("required", ()))
        extra = node.get("additionalProperties")
        if not props and isinstance(extra, dict):
            keys = self.of({"type": "string", **node.get("propertyNames", {})})
            size = min(node.get("maxProperties", _CAP), _CAP)
            return st.dictionaries(keys, self.of(extra), max_size=size)
        fixed = {k: self.of(v) for k, v in props.items() if k in required}
        optional = {k: self.of(v) for k, v in props.items() if k not in required}
        drawn = st.fixed_dictionaries(fixed, optional=optional)
        if "if" not in node:
            return drawn
        return drawn.flatmap(lambda doc: self.branch(node, doc))

    def branch(self, node: dict[str, Any], doc: dict[str, Any]) -> st.SearchStrategy[Any]:
        # Take the branch the drawn document falls in, and redraw the properties it narrows.
        props = node.get("properties", {})
        while "if" in node:
            taken = "then" if self.valid(node["if"], doc) else "else"
            node = node.get(taken, {})
        narrowed = {
            key: self.of({**self.resolve(props.get(key, {})), **extra})
            for key, extra in node.get("properties", {}).items()
            if key in doc
        }
        return st.fixed_dictionaries({**{k: st.just(v) for k, v in doc.items()}, **narrowed})

    def array(self, node: dict[str, Any]) -> st.SearchStrategy[Any]:
        low = node.get("minItems", 0)
        high = min(node.get("maxItems", low + _CAP), low + _CAP)
        unique = json.dumps if node.get("uniqueItems") else None
        return st.lists(
            self.of(node.get("items", {})), min_size=low, max_size=high, unique_by=unique
        )

    def string(self, node: dict[str, Any]) -> st.SearchStrategy[Any]:
        low, high = node.get("minLength", 0), node.get("maxLength")
        if "pattern" in node:
            text = st.from_regex(node["pattern"], fullmatch=True, alphabet=_TEXT)
            return text.filter(lambda t: low <= len(t) <= (high or len(t)))
        return st.text(_TEXT, min_size=low, max_size=high)

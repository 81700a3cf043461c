"""Building models from values already validated, on the hot path."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

# A pydantic model keeps its state in four slots: set through their descriptors, building
# one from trusted values costs a fraction of a microsecond (BaseModel's own __setattr__
# would validate, and model_construct walks the defaults).
_set = object.__setattr__
_set_fields = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__
_PRIVATE: dict[type[BaseModel], dict[str, Any] | None] = {}
_FIELDS: dict[type[BaseModel], set[str]] = {}


def _private_defaults(cls: type[BaseModel]) -> dict[str, Any] | None:
    found = _PRIVATE.get(cls, False)
    if found is False:
        private = cls.__private_attributes__
        found = {n: a.get_default() for n, a in private.items()} if private else None
        _PRIVATE[cls] = found
    return found  # type: ignore[return-value]


def trusted(cls: type[M], **values: Any) -> M:
    """A model from values that are already valid, every field given.

    What ``model_construct`` does, without its pass over defaults and aliases:
    for a decision or an action built from validated parts on every call.
    Never use it on input from outside the library.
    """
    obj = cls.__new__(cls)
    _set(obj, "__dict__", values)
    # Every field is given, so every model of a class shares one fields-set (never changed:
    # the models are frozen, and ``model_copy`` copies it).
    fields = _FIELDS.get(cls)
    if fields is None or len(fields) != len(values):
        fields = set(values)
        if len(fields) == len(cls.model_fields):
            _FIELDS[cls] = fields
    _set_fields(obj, fields)
    _set_extra(obj, None)
    private = _private_defaults(cls)
    _set_private(obj, None if private is None else private.copy())
    return obj

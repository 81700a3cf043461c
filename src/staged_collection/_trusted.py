"""Building models from values already validated, on the hot path."""

from __future__ import annotations

from collections.abc import Callable
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
_new = object.__new__  # what a pydantic model's __new__ is
_SHAPES: dict[type[BaseModel], tuple[set[str], dict[str, Any] | None]] = {}


def _shape(cls: type[BaseModel], values: dict[str, Any]) -> tuple[set[str], dict[str, Any] | None]:
    """The fields-set of a model built with ``values``, and its private attributes' defaults.
    Every field is given, so every model of a class shares one fields-set (never changed:
    the models are frozen, and ``model_copy`` copies it); kept per class when it is whole."""
    private = cls.__private_attributes__
    shape = (set(values), {n: a.get_default() for n, a in private.items()} if private else None)
    if len(values) == len(cls.model_fields):
        _SHAPES[cls] = shape
    return shape


def trusted(cls: type[M], **values: Any) -> M:
    """A model from values that are already valid, every field given.

    What ``model_construct`` does, without its pass over defaults and aliases:
    for a decision or an action built from validated parts on every call.
    Never use it on input from outside the library.
    """
    obj: M = _new(cls)
    _set(obj, "__dict__", values)
    shape = _SHAPES.get(cls)
    if shape is None or len(shape[0]) != len(values):
        shape = _shape(cls, values)
    _set_fields(obj, shape[0])
    _set_extra(obj, None)
    private = shape[1]
    _set_private(obj, None if private is None else private.copy())
    return obj


def builder(cls: type[M]) -> Callable[[dict[str, Any]], M]:
    """``trusted`` for one class, its shape worked out once: a maker of ``cls`` from a dict
    of every one of its fields, already valid (for the decision every check returns)."""
    fields = set(cls.model_fields)
    private = cls.__private_attributes__
    defaults = {n: a.get_default() for n, a in private.items()} if private else None

    def make(values: dict[str, Any]) -> M:
        obj: M = _new(cls)
        _set(obj, "__dict__", values)
        _set_fields(obj, fields)
        _set_extra(obj, None)
        _set_private(obj, None if defaults is None else defaults.copy())
        return obj

    return make

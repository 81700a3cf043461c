"""Building models from values already validated, on the hot path."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_set = object.__setattr__
_PRIVATE: dict[type[BaseModel], dict[str, Any] | None] = {}


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
    _set(obj, "__pydantic_fields_set__", set(values))
    _set(obj, "__pydantic_extra__", None)
    private = _private_defaults(cls)
    _set(obj, "__pydantic_private__", None if private is None else private.copy())
    return obj

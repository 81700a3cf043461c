"""Building models from values already validated, on the hot path."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def trusted(cls: type[M], **values: Any) -> M:
    """A model from values that are already valid, every field given.

    What ``model_construct`` does, without its pass over defaults and aliases:
    for a decision or an action built from validated parts on every call.
    Never use it on input from outside the library.
    """
    obj = cls.__new__(cls)
    object.__setattr__(obj, "__dict__", values)
    object.__setattr__(obj, "__pydantic_fields_set__", set(values))
    object.__setattr__(obj, "__pydantic_extra__", None)
    private = cls.__private_attributes__
    object.__setattr__(
        obj,
        "__pydantic_private__",
        {name: attr.get_default() for name, attr in private.items()} if private else None,
    )
    return obj

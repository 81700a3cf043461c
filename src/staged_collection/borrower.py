"""A borrower: where they may be (IANA zones), how to reach them, what they asked for."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    model_validator,
)
from pydantic.config import JsonDict
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from staged_collection._iso8601 import WallTime
from staged_collection._limits import MAX_INCONVENIENT, MAX_PHONES, MAX_ZONES, Id
from staged_collection._localtime import _known_zones, check_zone_name
from staged_collection._privacy import PERSONAL_FIELDS, mask_number

__all__ = ["Borrower", "LocalTimeRange", "PhoneNumber", "TimeZoneName"]


class _ZoneSchema:
    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "enum": sorted(_known_zones())}


TimeZoneName = Annotated[str, AfterValidator(check_zone_name), _ZoneSchema()]
"""A location zone of the IANA database (``Asia/Shanghai``, or an alias: ``US/Eastern``).

Fixed offsets (``Etc/GMT+5``, ``UTC``), zones named after an offset (``EST``,
``EST5EDT``) and the host's ``localtime`` are refused: a borrower is somewhere,
and that place's clock changes with DST. The list is the ``tzdata`` package's,
whatever the host has installed.
"""

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def _check_phone(value: str) -> str:
    if not _E164.fullmatch(value):  # the number is personal data: never quoted back
        raise ValueError("is not an E.164 phone number (e.g. '+8613800000000')")
    return value


PhoneNumber = Annotated[
    str,
    AfterValidator(_check_phone),
    Field(json_schema_extra={"pattern": f"^{_E164.pattern}$"}),
]
"""An E.164 number: ``+``, a country code and at most 15 digits in all (``+8613800000000``)."""

_UNIQUE: JsonDict = {"uniqueItems": True}


class LocalTimeRange(BaseModel):
    """A half-open range of local wall time, ``[start, end)``; it may cross midnight."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: WallTime
    end: WallTime

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if self.start == self.end:
            raise ValueError(f"start and end are both {self.start}: the range is empty")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("local times carry no offset: they are read in each zone")
        return self

    def contains(self, wall: dt.time) -> bool:
        if self.start < self.end:
            return self.start <= wall < self.end
        return wall >= self.start or wall < self.end


class Borrower(BaseModel):
    """Someone who owes. ``timezones`` lists every zone they may be in.

    The first zone is the borrower's calendar: days past due and day counters
    use its local dates. An empty list means the location is unknown: a
    contact that reaches a person at a moment is then refused
    (``contact.unknown_timezone``) and days fall back to the policy's home zone.
    Phone numbers are personal data: the repr masks them, and a validation error
    does not quote its input.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    id: Id
    timezones: tuple[TimeZoneName, ...] = Field(max_length=MAX_ZONES, json_schema_extra=_UNIQUE)
    phones: tuple[PhoneNumber, ...] = Field((), max_length=MAX_PHONES, json_schema_extra=_UNIQUE)
    work_phones: tuple[PhoneNumber, ...] = Field(
        (), max_length=MAX_PHONES, json_schema_extra=_UNIQUE
    )
    inconvenient: tuple[LocalTimeRange, ...] = Field((), max_length=MAX_INCONVENIENT)

    @model_validator(mode="after")
    def _no_repeats(self) -> Self:
        for field in ("timezones", "phones", "work_phones"):
            values: tuple[str, ...] = getattr(self, field)
            seen: set[str] = set()
            for i, value in enumerate(values):
                if value in seen:
                    shown = "" if field in PERSONAL_FIELDS else f" {value!r}"
                    raise ValueError(f"{field}[{i}]{shown} is listed twice")
                seen.add(value)
        return self

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # No personal data in a repr (it ends up in logs and tracebacks): numbers masked.
        for name, value in super().__repr_args__():
            if name in PERSONAL_FIELDS:
                yield name, tuple(mask_number(v) for v in value)
            else:
                yield name, value

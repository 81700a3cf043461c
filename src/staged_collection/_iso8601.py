"""Instants, dates and wall times as the models write them: ISO 8601 text, exactly.

Each type's JSON Schema carries a pattern as strict as a regular expression can be
(months of 28 to 31 days, leap years, an offset on every instant), so that a document
the schema accepts is not refused for its dates. Instants and wall times carry no
``format``: RFC 3339's ``date-time`` has no offset seconds, and its ``time`` needs an
offset that a wall time never has.

An instant keeps its offset to the second: ``+08:05:43`` (a zone's local mean time
before 1901) is written in full and read back, where pydantic alone would write
``+08:05`` and move the instant by 43 seconds.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import AwareDatetime, BeforeValidator, PlainSerializer, WithJsonSchema

_YEAR = "([0-9]{3}[1-9]|[0-9]{2}[1-9]0|[0-9][1-9]00|[1-9]000)"  # 0001 to 9999
_MONTH_DAY = "(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31"
_LEAP_DAY = "([0-9]{2}(0[48]|[2468][048]|[13579][26])|(0[48]|[2468][048]|[13579][26])00)-02-29"
_DATE = f"({_YEAR}-({_MONTH_DAY})|{_LEAP_DAY})"
_TIME = "([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]{1,6})?)?"
_OFFSET = "(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]{1,6})?)?)"

DATE_PATTERN = f"^{_DATE}$"
TIME_PATTERN = f"^{_TIME}$"
INSTANT_PATTERN = f"^{_DATE}T{_TIME}{_OFFSET}$"

_SECONDS_OFFSET = re.compile(r"[+-][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?$")
_MAX_TEXT = 64


def _read_offset_seconds(value: object) -> object:
    # pydantic reads offsets to the minute only; Python reads the seconds too.
    if isinstance(value, str):
        if len(value) > _MAX_TEXT:
            raise ValueError(f"an instant is at most {_MAX_TEXT} characters")
        if _SECONDS_OFFSET.search(value):
            try:
                return dt.datetime.fromisoformat(value)
            except ValueError:
                raise ValueError(f"{value!r} is not an ISO 8601 instant") from None
    return value


def _write(value: dt.datetime) -> str:
    # isoformat keeps an offset's seconds; UTC is written ``Z``, as pydantic writes it.
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


Instant = Annotated[
    AwareDatetime,
    BeforeValidator(_read_offset_seconds),
    PlainSerializer(_write, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": INSTANT_PATTERN}),
]
"""An aware instant: ISO 8601 with its UTC offset (``Z``, ``+08:00``, ``+08:05:43``)."""

LocalDate = Annotated[
    dt.date, WithJsonSchema({"type": "string", "format": "date", "pattern": DATE_PATTERN})
]
"""A calendar date, ``YYYY-MM-DD``, read in the borrower's (or the policy's) zone."""

WallTime = Annotated[dt.time, WithJsonSchema({"type": "string", "pattern": TIME_PATTERN})]
"""A local wall time without an offset, ``HH:MM`` or ``HH:MM:SS``."""

"""Bounds on every input: how many items a list holds, how long a text, how large a count.

Each bound is far above what a real loan, borrower or event needs and low enough that
validating a model, and judging a case built from it, costs bounded time and memory.
``docs/limits.md`` lists every bound and why; a test checks that it names these values.
Numbers are refused before they are converted: turning ``Decimal("1E+100000000")`` into an
``int`` alone takes minutes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BeforeValidator, Field, StringConstraints

MAX_ID_LENGTH = 128
"""Loan and borrower ids, agency names: a UUID is 36 characters, a URN a few more."""
MAX_RELATION_LENGTH = 200
"""A third party's relation to the borrower, free text ("Zhang Wei (mother)")."""
MAX_NUMBER_LENGTH = 254
"""The number or address a contact used: the longest e-mail address is 254 characters."""
MAX_INSTALLMENTS = 600
"""Instalments of a loan or a plan: 50 years of monthly payments."""
MAX_ZONES = 16
"""Time zones a borrower may be in (address, phones, stated)."""
MAX_PHONES = 16
"""Phone numbers of a borrower, and work numbers, each."""
MAX_INCONVENIENT = 24
"""Stated inconvenient ranges of local time: one an hour is already the whole day."""
MAX_COLLECTORS = 100
"""Collectors on one field visit."""
MAX_AMOUNT_DIGITS = 18
"""Significant digits of an amount, minor units included: SQL ``NUMERIC(18, s)``, Arrow
``decimal128(18, s)`` and a signed 64-bit count of minor units all hold it exactly."""
MAX_NUMBER_TEXT = 40
"""Characters of an amount or a count written as text, before it is parsed."""
MAX_VERSION = 2**63 - 1
"""A case's version (the events applied): what a SQL ``BIGINT`` holds."""
MAX_VIOLATIONS = 1024
"""Violations in one decision read back from a log (a check finds far fewer)."""
MAX_MESSAGE_LENGTH = 2000
"""A violation's message read back from a log."""
MAX_CITATION_LENGTH = 1000
"""A rule's (or a window's) citation in a policy: the presets' longest has 377 characters."""
MAX_CITED_LENGTH = 10_000
"""A violation's citation, or its layers, read back from a log: a hold refusal cites the rule
of every hold at once (eight rules, each of at most ``MAX_CITATION_LENGTH``)."""
MAX_DETAILS = 16
"""Entries of a violation's ``details``."""

_PRINTABLE = r"^[^\x00-\x1f\x7f]+$"

Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH, pattern=_PRINTABLE)]
"""An identifier: 1 to 128 characters, none of them a control character (a newline would
forge a second line in a text log)."""


def _small_number(value: object) -> object:
    # Before pydantic converts: a huge Decimal or numeric string is refused at once.
    if isinstance(value, Decimal) and (not value.is_finite() or value.adjusted() >= 10):
        raise ValueError("must be a whole number of at most 10 digits")
    if isinstance(value, str) and len(value) > MAX_NUMBER_TEXT:
        raise ValueError(f"must be a whole number, not a text of {len(value)} characters")
    return value


Collectors = Annotated[int, Field(ge=1, le=MAX_COLLECTORS), BeforeValidator(_small_number)]
"""How many collectors make a visit: 1 to 100."""

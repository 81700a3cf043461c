"""Personal data in what the library writes: masked by default, in full on request.

A phone number, or the address a contact used, is written as a reference: its country
code and its last two digits (``+86***00``) and, when the caller gives a key, a keyed
hash of the whole value (``+86***00#5d41402abc4b2a76``), so that a log line can be
joined to the lender's own records without holding the number. A third party's relation,
free text that may name a person ("Zhang Wei (mother)"), is written as its category
(``RelationKind``). Reprs never hold either; decisions and their JSON mask them unless
the caller asks for full values (``to_log_line(reveal=True)``, or the serialization
context ``{"reveal": True}``). ``docs/privacy.md`` lists where each field appears.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

__all__ = [
    "MASK_KEY",
    "PERSONAL_FIELDS",
    "REVEAL",
    "RelationKind",
    "mask_contact",
    "mask_number",
    "masking",
    "relation_kind",
]

PERSONAL_FIELDS = frozenset({"phones", "work_phones", "number", "relation"})
"""Field names whose values are personal data: an error message never quotes them."""

REVEAL = "reveal"
"""Serialization context key: ``{"reveal": True}`` writes full values."""
MASK_KEY = "mask_key"
"""Serialization context key: ``{"mask_key": b"..."}`` adds a keyed hash to masked numbers."""


class RelationKind(StrEnum):
    """What a third party is to the borrower, the only part of a relation that is written."""

    SPOUSE = "spouse"
    PARENT = "parent"
    CHILD = "child"
    SIBLING = "sibling"
    RELATIVE = "relative"
    FRIEND = "friend"
    NEIGHBOUR = "neighbour"
    COLLEAGUE = "colleague"
    EMERGENCY_CONTACT = "emergency_contact"
    OTHER = "other"


# Most specific first: "grandmother" and "mother-in-law" are relatives, not parents.
# English words match whole words ("son" is not in "Sonia"); Chinese ones anywhere.
_KINDS: tuple[tuple[RelationKind, str, str], ...] = (
    (
        RelationKind.RELATIVE,
        r"grand\w*|great\w*|cousin|uncle|aunt|auntie|niece|nephew|\w+-in-law|in-laws?"
        r"|relatives?|kin|family",
        "祖 孙 外公 外婆 爷爷 奶奶 姥姥 姥爷 叔 伯 姑 舅 姨 侄 甥 堂 表 岳 公公 婆婆"
        " 亲戚 亲属 家人",
    ),
    (
        RelationKind.SPOUSE,
        r"spouse|wife|husband|partner|fianc[eé]e?",
        "配偶 妻 丈夫 老婆 老公 爱人 伴侣",
    ),
    (RelationKind.PARENT, r"mother|father|mom|mum|mama|dad|papa|parents?", "母 父 妈 爸"),
    (RelationKind.CHILD, r"sons?|daughters?|child|children|kids?", "儿子 女儿 子女 孩子"),
    (
        RelationKind.SIBLING,
        r"brothers?|sisters?|siblings?|bro|sis",
        "哥 弟 姐 妹 兄",
    ),
    (RelationKind.FRIEND, r"friends?|girlfriend|boyfriend", "朋友 同学 好友"),
    (RelationKind.NEIGHBOUR, r"neighbou?rs?", "邻居"),
    (
        RelationKind.COLLEAGUE,
        r"colleagues?|co-?workers?|employer|boss|manager|supervisor",
        "同事 领导 上司 老板 单位",
    ),
    (RelationKind.EMERGENCY_CONTACT, r"emergency[\s_-]*contacts?|emergency", "紧急联系人"),
)
_MATCHERS = tuple(
    (kind, re.compile(rf"(?<![^\W_])(?:{words})(?![^\W_])", re.IGNORECASE), chinese.split())
    for kind, words, chinese in _KINDS
)


def relation_kind(text: str | None) -> RelationKind | None:
    """The category of a free-text relation; ``other`` when none is recognised."""
    if text is None:
        return None
    for kind, pattern, chinese in _MATCHERS:
        if pattern.search(text) or any(word in text for word in chinese):
            return kind
    return RelationKind.OTHER


_E164 = re.compile(r"\+([1-9][0-9]{6,14})")
# E.164 country codes: 1 and 7 are one digit, these are two, every other is three.
_TWO_DIGIT_CODES = frozenset(
    {"20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45"}
    | {"46", "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61"}
    | {"62", "63", "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94"}
    | {"95", "98"}
)


_MASKED = re.compile(r"(\+[0-9]{1,3})?\*\*\*.{0,2}(#[0-9a-f]{16})?", re.S)


def _country_code(digits: str) -> str:
    if digits[0] in "17":
        return digits[0]
    return digits[:2] if digits[:2] in _TWO_DIGIT_CODES else digits[:3]


def mask_number(value: str, key: bytes | None = None) -> str:
    """A reference to a number that does not hold it: ``+86***00``, plus a keyed hash.

    A value that is not an E.164 number (an e-mail or postal address) keeps only its
    last two characters. With ``key``, the first 16 hex digits of HMAC-SHA256 of the
    whole value follow a ``#``: the same number and key always give the same reference.
    """
    if _MASKED.fullmatch(value):
        return value  # masked already (a log line read back): masking again changes nothing
    phone = _E164.fullmatch(value)
    if phone is not None:
        digits = phone.group(1)
        shown = f"+{_country_code(digits)}***{digits[-2:]}"
    else:
        shown = f"***{value[-2:]}" if len(value) >= 6 else "***"
    if key is not None:
        digest = hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()
        shown += f"#{digest[:16]}"
    return shown


def masking(context: Any) -> tuple[bool, bytes | None]:
    """From a serialization context: whether to mask, and the key for the hash, if any."""
    if not isinstance(context, Mapping):
        return True, None
    key = context.get(MASK_KEY)
    if key is not None and not isinstance(key, bytes):
        raise TypeError(f"the {MASK_KEY!r} context value must be bytes")
    return not context.get(REVEAL, False), key


def mask_contact(data: dict[str, Any], key: bytes | None) -> dict[str, Any]:
    """A dumped contact (attempt or event) with its number and relation masked."""
    out = dict(data)
    if isinstance(out.get("number"), str):
        out["number"] = mask_number(out["number"], key)
    if isinstance(out.get("relation"), str):
        kind = relation_kind(out["relation"])
        out["relation"] = kind.value if kind is not None else None
    return out

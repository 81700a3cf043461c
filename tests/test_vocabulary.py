"""One place per event type: the lists of the vocabulary derive from the ``Event`` union."""

from __future__ import annotations

import datetime as dt
from typing import get_args

from hypothesis import given, settings
from hypothesis import strategies as st

from staged_collection import Event
from staged_collection._fold import REDUCERS
from staged_collection.events import EVENT_TYPES
from staged_collection.testing import events, loans
from staged_collection.testing.strategies import _EVENT_KINDS, _fields_of

AT = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)


def test_every_event_type_has_its_one_reducer() -> None:
    union = set(get_args(get_args(Event)[0]))
    assert set(EVENT_TYPES.values()) == union
    assert set(REDUCERS) == union, "an event type needs one reducer in _fold.REDUCERS"


def test_the_kit_draws_every_event_type() -> None:
    assert tuple(EVENT_TYPES) == _EVENT_KINDS


@settings(max_examples=60)
@given(data=st.data(), kind=st.sampled_from(tuple(EVENT_TYPES)))
def test_every_event_type_is_drawn_valid(data: st.DataObject, kind: str) -> None:
    loan = data.draw(loans("CNY"))
    event = data.draw(events(loan, AT, kind=kind))
    assert event.type == kind


@settings(max_examples=30)
@given(data=st.data(), kind=st.sampled_from(tuple(EVENT_TYPES)))
def test_the_generic_drawing_reads_every_field_annotation(data: st.DataObject, kind: str) -> None:
    # The fallback for a type with no hand-written strategy draws a value for every field.
    loan = data.draw(loans("CNY"))
    model = EVENT_TYPES[kind]
    fields = data.draw(_fields_of(model, loan.currency, AT))
    assert set(fields) == set(model.model_fields) - {"type", "at", "recorded_at"}

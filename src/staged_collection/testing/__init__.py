"""Test an integration with Hypothesis: strategies and a ready stateful test.

Hypothesis is an optional dependency (the ``testing`` extra): ``pip install hypothesis``.

A few lines run the rules of your own policy through a machine that drives a
case with random events and checks, and asserts the invariants after every
step (see ``INVARIANTS`` and ``docs/testing.md``)::

    from staged_collection.testing import collection_machine

    TestMyPolicy = collection_machine("my_policy.yaml").TestCase
"""

from __future__ import annotations

try:
    import hypothesis  # noqa: F401 - only to say clearly what is missing
except ImportError as exc:  # pragma: no cover - exercised in a subprocess
    raise ImportError("staged_collection.testing needs Hypothesis: pip install hypothesis") from exc

from staged_collection.testing.stateful import INVARIANTS, CollectionMachine, collection_machine
from staged_collection.testing.strategies import (
    DST_ZONES,
    borrowers,
    contact_attempts,
    edge_instants,
    events,
    histories,
    installment_schedules,
    loans,
    money,
    policies,
)

__all__ = [
    "DST_ZONES",
    "INVARIANTS",
    "CollectionMachine",
    "borrowers",
    "collection_machine",
    "contact_attempts",
    "edge_instants",
    "events",
    "histories",
    "installment_schedules",
    "loans",
    "money",
    "policies",
]

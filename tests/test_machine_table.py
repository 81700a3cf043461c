"""The fold moves through a table read from the ``transitions`` machine: the two agree on
every (track, state, trigger) of every preset, with and without skips."""

from __future__ import annotations

import pytest

from staged_collection import Engine, Policy, load_policy
from staged_collection._machine import CompiledMachine
from staged_collection.ladder import BUREAU_EDGES, ladder_edges
from staged_collection.policy import PRESETS
from staged_collection.terms import BureauStatus, Stage

VARIANTS = [
    *PRESETS,
    "cn+skips",
]


def machine(name: str) -> CompiledMachine:
    if name == "cn+skips":  # a whole policy of its own: an overlay cannot allow skips
        data = load_policy("cn").model_dump(mode="json")
        data["ladder"]["skip_allowed"] = True
        return Engine(Policy.model_validate(data))._c.machine
    return Engine(name)._c.machine


@pytest.mark.parametrize("name", VARIANTS)
def test_the_table_and_transitions_agree_on_every_state_and_trigger(name: str) -> None:
    compiled = machine(name)
    tracks = {
        "ladder": ([s.value for s in Stage], {e.trigger for e in ladder_edges(True)}),
        "bureau": ([s.value for s in BureauStatus], {e.trigger for e in BUREAU_EDGES}),
    }
    checked = 0
    for track, (states, triggers) in tracks.items():
        for source in states:
            for trigger in sorted(triggers):
                expected = compiled.table.get((track, trigger, source))
                if expected is None:
                    with pytest.raises(RuntimeError):
                        compiled.fire(track, trigger, source)
                else:
                    assert compiled.fire(track, trigger, source) == expected
                checked += 1
    assert checked >= 8 * 7 + 4 * 3
    # The skips exist exactly where the policy allows them.
    assert (("ladder", "escalate_formal", "reminder") in compiled.table) == (name == "cn+skips")

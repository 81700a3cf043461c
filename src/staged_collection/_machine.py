"""The state machine: the one place ``transitions`` is used.

A policy compiles into two flat machines, the ladder and the bureau track
(two flat machines cost a tenth of one hierarchical machine with parallel
regions, and ``transitions``' nesting separator would split ``third_party``).
They are compiled once per policy fingerprint and shared. The fold moves
through the table read back from them (``CompiledMachine.table``); ``fire``
makes a move through ``transitions`` itself, on a fresh private token holding
only the source state (no model is ever added, so there is nothing to grow,
nothing to share between threads, and nothing set on the caller's objects),
and a test fires every (state, trigger) of every preset to show that the two
agree.
"""

from __future__ import annotations

from typing import Any

from transitions import Machine, MachineError

from staged_collection._guards import Rulebook
from staged_collection._per_policy import PerPolicy
from staged_collection.ladder import BUREAU_EDGES, Edge
from staged_collection.terms import BureauStatus, Stage


class _Token:
    """What ``transitions`` moves: a source state, nothing else."""

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


def _permitted(event: Any) -> bool:
    # The guards decide before a move; ``fire`` makes only a move they allowed, and says
    # so. A trigger pulled without that word (on the machine itself) is refused here.
    return event.kwargs.get("permitted") is True


def _build(states: list[str], edges: tuple[Edge, ...]) -> Machine:
    machine = Machine(
        model=None,
        states=states,
        initial=None,
        auto_transitions=False,
        send_event=True,
        ignore_invalid_triggers=False,
    )
    for edge in edges:
        machine.add_transition(edge.trigger, edge.source, edge.dest, conditions=[_permitted])
    return machine


class CompiledMachine:
    """Both tracks of one policy, compiled."""

    def __init__(self, book: Rulebook) -> None:
        self.book = book
        self._machines = {
            "ladder": _build([s.value for s in Stage], book.ladder),
            "bureau": _build([s.value for s in BureauStatus], BUREAU_EDGES),
        }
        self._edges = {
            "ladder": {(e.trigger, e.source): e for e in book.ladder},
            "bureau": {(e.trigger, e.source): e for e in BUREAU_EDGES},
        }
        self._events = {
            (track, name): event
            for track, machine in self._machines.items()
            for name, event in machine.events.items()
        }
        self.table = self._read_table()

    def _read_table(self) -> dict[tuple[str, str, str], str]:
        """Every move as ``(track, trigger, source) -> dest``, read back from the machines.

        The fold moves through this table: ``transitions`` defines and checks the
        machine, and a move costs one dictionary lookup instead of a trigger
        (its callback resolution and logging decide nothing for a move the
        guards already allowed). A test fires every (state, trigger) of every
        preset through ``transitions`` and checks it lands where the table says.
        """
        table: dict[tuple[str, str, str], str] = {}
        for track, machine in self._machines.items():
            for trigger, event in machine.events.items():
                for source, transitions in event.transitions.items():
                    for transition in transitions:
                        table[(track, trigger, source)] = str(transition.dest)
        return table

    def fire(self, track: str, trigger: str, source: str) -> str:
        """Make a move the guards allowed; the destination. Raises if there is no such move."""
        token = _Token(source)
        try:
            moved = self._events[(track, trigger)].trigger(token, permitted=True)
        except (MachineError, KeyError) as exc:
            raise RuntimeError(f"no move {trigger!r} from {source!r} on the {track}") from exc
        if not moved:
            raise RuntimeError(f"the machine refused {trigger!r} from {source!r} on the {track}")
        return token.state

    def diagram(self, fmt: str = "mermaid") -> str:
        if fmt == "mermaid":
            return _mermaid(self)
        if fmt == "dot":
            return _dot(self)
        raise ValueError(f"format must be 'mermaid' or 'dot', not {fmt!r}")

    def _labelled(self, track: str) -> list[tuple[Edge, str]]:
        out = []
        for edge in self._machines_edges(track):
            label = edge.trigger
            guards = _guard_names(self.book, edge)
            if edge.automatic:
                label += " (automatic)"
            if edge.skip:
                label += " (skips a rung)"
            if guards:
                label += " [" + ", ".join(guards) + "]"
            out.append((edge, label))
        return out

    def _machines_edges(self, track: str) -> list[Edge]:
        # Read the edges back from the compiled machine, so the diagram shows
        # what was compiled rather than what was meant to be.
        machine = self._machines[track]
        index = self._edges[track]
        out = []
        for trigger, event in machine.events.items():
            for source, transitions in event.transitions.items():
                for _ in transitions:
                    out.append(index[(trigger, source)])
        return out


def _guard_names(book: Rulebook, edge: Edge) -> list[str]:
    reminder = book.policy.ladder.reminder.min_dpd
    if edge.trigger == "overdue":
        return [f"dpd>={reminder}"]
    rules = book.actions.get(edge.trigger)
    if rules is None:
        return []
    return [repr(g) for g in rules.guards]


def _mermaid(compiled: CompiledMachine) -> str:
    # The two tracks run side by side: concurrent regions of one state, each a named
    # composite state, since Mermaid gives the regions themselves no names.
    lines = [
        "stateDiagram-v2",
        "    state case {",
        '        state "collection ladder" as ladder {',
        "            [*] --> current",
    ]
    for edge, label in compiled._labelled("ladder"):
        lines.append(f"            {edge.source} --> {edge.dest}: {label}")
    for stage in (Stage.RESOLVED, Stage.SETTLED, Stage.WRITTEN_OFF):
        lines.append(f"            {stage.value} --> [*]")
    lines += [
        "        }",
        "        --",
        '        state "credit bureau" as bureau {',
        "            [*] --> not_reported",
    ]
    for edge, label in compiled._labelled("bureau"):
        lines.append(f"            {edge.source} --> {edge.dest}: {label}")
    lines += ["        }", "    }"]
    return "\n".join(lines) + "\n"


def _dot(compiled: CompiledMachine) -> str:
    lines = ["digraph case {", "  rankdir=LR;", "  node [shape=box, style=rounded];"]
    for track, title in (("ladder", "collection ladder"), ("bureau", "credit bureau")):
        lines.append(f'  subgraph cluster_{track} {{ label="{title}";')
        for edge, label in compiled._labelled(track):
            lines.append(f'    {edge.source} -> {edge.dest} [label="{label}"];')
        lines.append("  }")
    for stage in (Stage.RESOLVED, Stage.SETTLED, Stage.WRITTEN_OFF):
        lines.append(f"  {stage.value} [peripheries=2];")
    lines.append("}")
    return "\n".join(lines) + "\n"


_COMPILED: PerPolicy[CompiledMachine] = PerPolicy()


def compiled(book: Rulebook) -> CompiledMachine:
    """The machine of a policy: compiled on first use, then shared (one per fingerprint)."""
    return _COMPILED.get(book.policy, lambda: CompiledMachine(book))

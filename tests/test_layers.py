"""The layout tells the architecture: each module imports only the layers below its own.

The layers (shared/ARCHITECTURE.md), from the top; a module may import its own layer and
those below it, never one above. A type named only for a signature is not a
dependency at run time: imports under ``if TYPE_CHECKING:`` are not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

import staged_collection

SRC = Path(staged_collection.__file__).parent

LAYERS: tuple[tuple[str, frozenset[str]], ...] = (
    (
        "faces",
        frozenset(
            {"cli", "scenarios", "demo", "demo_report", "testing", "_docs", "store", "portfolio"}
        ),
    ),
    ("engine", frozenset({"engine", "outcome", "__init__"})),
    ("machine", frozenset({"_machine"})),
    ("judges", frozenset({"_guards", "_contact", "_duties", "ladder"})),
    ("case", frozenset({"case", "_fold", "_tally", "_snapshot", "_service", "_limitation"})),
    ("answers", frozenset({"decision", "state", "document"})),
    ("policy", frozenset({"policy", "_overlay", "_timeline", "_per_policy", "presets"})),
    ("days", frozenset({"_ledger", "calendars", "_hours", "_workdays"})),
    (
        "model",
        frozenset(
            {
                "money",
                "loan",
                "borrower",
                "events",
                "actions",
                "terms",
                "rules",
                "_iso4217",
                "_iso8601",
                "_limits",
                "_privacy",
                "_trusted",
                "_files",
            }
        ),
    ),
    ("time", frozenset({"_localtime"})),
    ("errors", frozenset({"errors"})),
)
RANK = {name: rank for rank, (_, names) in enumerate(LAYERS) for name in names}


def top(module: str) -> str:
    """``staged_collection.store._schema`` -> ``store``; the package's own name -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):  # drop what is imported for the type checker only
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "staged_collection":
                found |= {f"staged_collection.{a.name}" for a in node.names}
            elif node.module.startswith("staged_collection."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("staged_collection.")}
    return found


def test_every_module_has_a_layer() -> None:
    for path in SRC.glob("*.py"):
        assert path.stem in RANK, f"{path.name}: give it a layer in tests/test_layers.py"
    for path in SRC.iterdir():
        if path.is_dir() and (path / "__init__.py").exists():
            assert path.name in RANK, f"{path.name}/: give it a layer"


def test_no_module_imports_a_layer_above_its_own() -> None:
    wrong = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC)
        here = relative.parts[0].removesuffix(".py")
        for module in imports(path):
            there = top(module)
            if there in RANK and RANK[there] < RANK[here]:
                wrong.append(
                    f"{relative} ({LAYERS[RANK[here]][0]}) imports {module} "
                    f"({LAYERS[RANK[there]][0]})"
                )
    assert wrong == []

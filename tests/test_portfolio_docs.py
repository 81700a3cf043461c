"""docs/sweep.md agrees with the code: its schemas are the published ones, its examples run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from staged_collection.portfolio import schemas

DOC = Path(__file__).resolve().parent.parent / "docs" / "sweep.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_schemas_in_the_docs_are_the_published_ones() -> None:
    text = DOC.read_text(encoding="utf-8")
    section = re.search(r"<!-- schemas:[^>]*-->\n\n(.*?)\n<!-- /schemas -->", text, flags=re.S)
    assert section is not None
    assert section.group(1) == schemas.markdown(), "run scripts/gen-docs"


@pytest.mark.parametrize(
    "block", [b for b in BLOCKS if "# needs: spark" not in b], ids=lambda b: b.split("\n")[-2]
)
def test_the_examples_run(block: str) -> None:
    exec(compile(block, str(DOC), "exec"), {})


@pytest.mark.slow
def test_the_spark_recipe_runs(spark: Any) -> None:
    (block,) = [b for b in BLOCKS if "# needs: spark" in b]
    namespace: dict[str, Any] = {}
    exec(compile(block, str(DOC), "exec"), namespace)
    assert namespace["reachable"] > 0
    assert (namespace["book"] / "todo").is_dir()

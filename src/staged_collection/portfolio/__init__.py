"""The portfolio sweep: every case of a book, as of one instant, over Arrow record batches.

Needs pyarrow (``pip install -e '.[sweep]'`` in a checkout); the Spark runner
needs pyspark too (``[spark]``, ``staged_collection.portfolio.spark``). The
core library imports without either. See ``docs/sweep.md``.
"""

from __future__ import annotations

try:
    import pyarrow  # noqa: F401  # the whole subpackage speaks Arrow
except ImportError as exc:  # pragma: no cover - tested in a subprocess without pyarrow
    raise ImportError(
        "staged_collection.portfolio needs pyarrow: install the sweep extra "
        "(pip install -e '.[sweep]' in a checkout)"
    ) from exc

from staged_collection.portfolio import schemas
from staged_collection.portfolio.core import Sweep, sweep_batches
from staged_collection.portfolio.runners import run_inline, run_pool
from staged_collection.portfolio.sources import parquet_source, store_source
from staged_collection.portfolio.whatif import WhatIf, whatif_batches

__all__ = [
    "Sweep",
    "WhatIf",
    "parquet_source",
    "run_inline",
    "run_pool",
    "schemas",
    "store_source",
    "sweep_batches",
    "whatif_batches",
]

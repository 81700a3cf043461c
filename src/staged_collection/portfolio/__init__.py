"""The portfolio sweep: every case of a book, as of one instant, over Arrow record batches.

Needs pyarrow (``pip install 'staged-collection[sweep]'``); the Spark runner
needs pyspark too (``[spark]``). The core library imports without either.
"""

from __future__ import annotations

try:
    import pyarrow  # noqa: F401  # the whole subpackage speaks Arrow
except ImportError as exc:  # pragma: no cover - tested in a subprocess without pyarrow
    raise ImportError(
        "staged_collection.portfolio needs pyarrow: pip install 'staged-collection[sweep]'"
    ) from exc

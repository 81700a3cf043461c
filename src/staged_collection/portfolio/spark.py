"""The sweep on Spark: cluster the book by borrower once, then the core through ``mapInArrow``.

``sweep(df_or_path, policy, at)`` returns a DataFrame of to-do rows (the
``todo`` schema). Its input is a DataFrame of snapshots or of histories (the
published schemas), or a path Spark can read: a directory with
``snapshots.parquet``, or with ``loans``, ``borrowers`` and ``events``
Parquet files (joined here into histories by Spark's own operators). The
book is clustered once, ``repartition`` by borrower and
``sortWithinPartitions`` by borrower and case, and each partition streams
through the same function every runner uses (``Sweep``): one Python call per
Arrow batch, never one per case.

The executors' Python needs this library and pyarrow, and ``PYSPARK_PYTHON``
must name it. The only module that imports pyspark.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from staged_collection.errors import InputError
from staged_collection.policy import Policy, load_policy
from staged_collection.portfolio import schemas
from staged_collection.portfolio.book import BOOK_FILES
from staged_collection.portfolio.core import Sweep
from staged_collection.portfolio.sources import SNAPSHOTS_FILE

__all__ = ["histories", "read_book", "session", "sweep", "to_arrow"]


def sweep(
    df_or_path: DataFrame | str | Path,
    policy: Policy | str | Path,
    at: dt.datetime,
    *,
    partitions: int | None = None,
    scale: int = schemas.SCALE,
    decisions: bool = False,
    migrate: bool = False,
    spark: SparkSession | None = None,
) -> DataFrame:
    """The to-do rows of the book ``df_or_path`` as of ``at`` under ``policy`` (lazy)."""
    if isinstance(df_or_path, DataFrame):
        df = df_or_path
    else:
        session = spark or SparkSession.builder.getOrCreate()
        df = read_book(session, Path(df_or_path))
    names = set(df.columns)
    if not (set(schemas.snapshots().names) <= names or set(schemas.histories().names) <= names):
        raise InputError(
            "df", ", ".join(df.columns), "has neither the snapshots nor the histories columns"
        )
    # Send the policy itself, not a file name an executor might not see.
    job = Sweep(_policy(policy), at, scale=scale, decisions=decisions, migrate=migrate)
    n = partitions or df.sparkSession.sparkContext.defaultParallelism
    clustered = df.repartition(n, "borrower_id").sortWithinPartitions("borrower_id", "case_id")
    return clustered.mapInArrow(job, from_arrow_schema(schemas.todo(scale)))


def session(workers: int | None = None) -> SparkSession:
    """The active Spark session, or a local one on ``workers`` cores (``SPARK_MASTER`` wins),
    its executors running this Python, instants read in UTC."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    return (
        SparkSession.builder.appName("staged-collection sweep")
        .master(os.environ.get("SPARK_MASTER", f"local[{workers or '*'}]"))
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )


def _policy(policy: Policy | str | Path) -> Policy:
    return policy if isinstance(policy, Policy) else load_policy(policy)


def read_book(spark: SparkSession, path: Path) -> DataFrame:
    """A book directory as a DataFrame the sweep reads: its snapshots, or its histories."""
    snapshots = path / SNAPSHOTS_FILE
    if snapshots.exists():
        return spark.read.parquet(str(snapshots))
    if not all((path / name).exists() for name in BOOK_FILES):
        raise InputError(
            "path", str(path), f"holds neither {SNAPSHOTS_FILE} nor {', '.join(BOOK_FILES)}"
        )
    loans, borrowers, events = (spark.read.parquet(str(path / name)) for name in BOOK_FILES)
    return histories(loans, borrowers, events)


def histories(loans: DataFrame, borrowers: DataFrame, events: DataFrame) -> DataFrame:
    """The histories of a book's three DataFrames: one row per case, its events in order."""
    event_fields = [f.name for f in schemas.events() if f.name != "case_id"]
    per_case = events.groupBy("case_id").agg(
        F.array_sort(F.collect_list(F.struct(*event_fields))).alias("events")
    )
    loan_fields = [f.name for f in schemas.histories().field("loan").type]
    person_fields = [f.name for f in schemas.histories().field("borrower").type]
    people = borrowers.select("borrower_id", F.struct(*person_fields).alias("borrower"))
    return (
        loans.select("case_id", "borrower_id", F.struct(*loan_fields).alias("loan"))
        .join(per_case, "case_id", "left")
        .join(people, "borrower_id", "left")
        .select("case_id", "borrower_id", "loan", "borrower", "events")
    )


def to_arrow(df: DataFrame, scale: int = schemas.SCALE) -> pa.Table:
    """The to-do rows of ``df`` collected as an Arrow table in the ``todo`` schema."""
    table: Any = df.toArrow()
    return table.cast(schemas.todo(scale))

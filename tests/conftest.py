"""Hypothesis profiles (``ci`` is loaded by Hypothesis itself when CI is set), the ``--slow``
option, and the fixtures several test modules share: a Spark session and a store database.

``HYPOTHESIS_PROFILE=thorough`` runs many more examples (for nightly runs).
Nothing here overrides the ``ci`` profile.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "thorough",
    max_examples=2_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None)

if "CI" not in os.environ:
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--slow",
        action="store_true",
        help="also run the tests marked slow (Spark, concurrency, long Hypothesis runs)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The default run stays fast; CI (CI set) and --slow run everything.
    if config.getoption("--slow") or "CI" in os.environ:
        return
    skip = pytest.mark.skip(reason="slow: run with --slow (CI runs it)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local Spark session for the whole run: two cores, no UI, two shuffle partitions."""
    pytest.importorskip(
        "pyspark",
        reason="pyspark is not installed (install the spark extra: pip install -e '.[spark]')",
    )
    # The executors' Python must be this one: it has the library and pyarrow.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("staged-collection tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


POSTGRES = os.environ.get("STAGED_COLLECTION_TEST_POSTGRES")
SKIP_POSTGRES = "PostgreSQL: set STAGED_COLLECTION_TEST_POSTGRES to a server URL (.ci/run does)"


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param(
            "postgresql",
            id="postgresql",
            marks=pytest.mark.skipif(POSTGRES is None, reason=SKIP_POSTGRES),
        ),
    ]
)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database of its own: SQLite always, PostgreSQL when
    ``STAGED_COLLECTION_TEST_POSTGRES`` names a server."""
    from tests.store_kit import fresh_postgres  # skips the test without the store extra

    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    else:
        yield from fresh_postgres()

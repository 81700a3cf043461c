"""The portfolio sweep from snapshots: CPU per case against a plain-Python floor, memory, scale.

Run: python bench/bench_sweep.py [--million] [--workers 2] [--policy cn] [--profile]

The book: ``--templates`` borrowers generated through the engine (a quarter
with two loans), each case snapshotted, then copied under new ids to 10,000
and 100,000 cases (and 1,000,000 with ``--million``) in a Parquet file sorted
by borrower, as ``store export`` writes it. Copies keep their template's
history, so every size has the same mix of stages.

Measured, in the same run:
- the floor: plain Python doing the least a sweep must do per case: read the
  row from Arrow, unpack the snapshot, parse its instants and amounts, walk a
  dict state machine over its stage, and write one output row to Arrow;
- the sweep in this process: CPU seconds per case, as a ratio to the floor;
- where its time goes: restore, state, escalation checks, contact checks and
  the next allowed instants, Arrow in and out (cumulative timings);
- the process pool on ``--workers`` cores: wall time, peak RSS per worker;
- the extrapolated wall time for 1,000,000 cases on 2 cores.

The aim (issue 14): 1,000,000 cases in under 30 s on 2 cores, under 1 GB in all.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import os
import pstats
import resource
import sys
import tempfile
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgpack  # type: ignore[import-untyped]
import pyarrow as pa
import pyarrow.parquet as pq

from staged_collection import Engine
from staged_collection.portfolio import schemas
from staged_collection.portfolio.answers import Plan, ask
from staged_collection.portfolio.book import snapshot_table
from staged_collection.portfolio.core import Sweep
from staged_collection.portfolio.runners import RunStats, run_inline, run_pool
from staged_collection.portfolio.synthetic import END, synthetic_book

AT = END + dt.timedelta(hours=2)
STAGE_COST: dict[str, tuple[int, float]] = {}  # stage -> (cases, CPU seconds per case)


# -- the book ------------------------------------------------------------------------------


def templates(policy: str, borrowers: int) -> pa.Table:
    return snapshot_table(Engine(policy), synthetic_book(borrowers, policy=policy, days=90))


def _renamed(blob: bytes, case_id: str, borrower_id: str) -> bytes:
    # Benchmark only: a copy of a template snapshot under new ids (the format is private).
    top = msgpack.unpackb(blob, strict_map_key=True)
    loan = msgpack.unpackb(top[4])
    loan[0] = case_id
    person = msgpack.unpackb(top[5], strict_map_key=True)
    person["id"] = borrower_id
    top[4], top[5] = msgpack.packb(loan), msgpack.packb(person)
    packed: bytes = msgpack.packb(top)
    return packed


def write_book(path: Path, base: pa.Table, cases: int) -> None:
    """``cases`` copies of the template cases, borrower by borrower, sorted by borrower id."""
    rows = base.to_pylist()
    groups: list[list[dict[str, Any]]] = []
    for row in rows:  # the templates are sorted by borrower
        if groups and groups[-1][0]["borrower_id"] == row["borrower_id"]:
            groups[-1].append(row)
        else:
            groups.append([row])
    schema = schemas.snapshots()
    with pq.ParquetWriter(path, schema) as writer:
        out: dict[str, list[Any]] = {n: [] for n in schema.names}
        written, k = 0, 0
        while written < cases:
            group = groups[k % len(groups)]
            borrower = f"B{k:08d}"
            for n, row in enumerate(group):
                case = f"L{k:08d}-{n}"
                out["case_id"].append(case)
                out["borrower_id"].append(borrower)
                out["version"].append(row["version"])
                out["snapshot"].append(_renamed(row["snapshot"], case, borrower))
            written += len(group)
            k += 1
            if len(out["case_id"]) >= 8192 or written >= cases:
                writer.write_table(pa.Table.from_pydict(out, schema=schema))
                out = {n: [] for n in schema.names}


def batches(path: Path) -> Any:
    return pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=4096)


# -- the floor -----------------------------------------------------------------------------

_MOVES = {
    "current": {"overdue": "reminder"},
    "reminder": {"escalate": "negotiation", "cure": "current"},
    "negotiation": {"escalate": "formal", "cure": "current"},
    "formal": {"refer": "third_party", "cure": "current"},
    "third_party": {"recall": "formal", "cure": "current"},
}
_FLOOR_SCHEMA = pa.schema(
    [
        ("case_id", pa.string()),
        ("stage", pa.string()),
        ("dpd", pa.int32()),
        ("overdue", pa.decimal128(18, 2)),
        ("next_call", schemas.INSTANT),
    ]
)


def floor(path: Path) -> int:
    """The least a sweep does per case, in plain Python; returns the cases read."""
    n = 0
    today = AT.date()
    cent = Decimal("0.01")
    for batch in batches(path):
        ids = batch.column("case_id").to_pylist()
        blobs = batch.column("snapshot").to_pylist()
        out: dict[str, list[Any]] = {name: [] for name in _FLOOR_SCHEMA.names}
        for case_id, blob in zip(ids, blobs, strict=True):
            top = msgpack.unpackb(blob, strict_map_key=True)
            loan = msgpack.unpackb(top[4])
            form = top[7]
            stage = form[0]
            paid = Decimal(form[3])
            instants = [dt.datetime.fromisoformat(c[0]) for c in form[23]]
            if form[2]:
                instants.append(dt.datetime.fromisoformat(form[2]))
            owed = Decimal(0)
            since = None
            for due, amount in loan[4]:
                day = dt.date.fromordinal(due)
                if day < today:
                    owed += Decimal(amount)
                    if since is None and owed > paid:
                        since = day
            overdue = max(owed - paid, Decimal(0)).quantize(cent)
            dpd = (today - since).days if since and overdue else 0
            moves = _MOVES.get(stage, {})
            if dpd >= 1 and "overdue" in moves:
                stage = moves["overdue"]
            elif not overdue and "cure" in moves:
                stage = moves["cure"]
            out["case_id"].append(case_id)
            out["stage"].append(stage)
            out["dpd"].append(dpd)
            out["overdue"].append(overdue)
            out["next_call"].append(max(instants) if instants else None)
            n += 1
        pa.RecordBatch.from_pydict(out, schema=_FLOOR_SCHEMA)
    return n


# -- measuring -----------------------------------------------------------------------------


def cpu(fn: Any) -> tuple[float, Any]:
    gc.collect()
    start = time.process_time()
    result = fn()
    return time.process_time() - start, result


def sweep_inline(path: Path, policy: str) -> int:
    job = Sweep(policy, AT)
    return sum(b.num_rows for b in run_inline(job, batches(path)))


def breakdown(path: Path, policy: str, limit: int) -> list[tuple[str, float]]:
    """Cumulative CPU per case of the sweep's steps, on the first ``limit`` cases."""
    engine = Engine(policy)
    plan = Plan(engine)
    rows: list[tuple[str, str, bytes]] = []
    for batch in batches(path):
        rows += zip(
            batch.column("case_id").to_pylist(),
            batch.column("borrower_id").to_pylist(),
            batch.column("snapshot").to_pylist(),
            strict=True,
        )
        if len(rows) >= limit:
            break
    rows = rows[:limit]

    def restore() -> None:
        for _, _, blob in rows:
            engine.restore(blob)

    def state() -> None:
        for _, _, blob in rows:
            engine.state(engine.restore(blob), at=AT)

    def escalations() -> None:
        for _, _, blob in rows:
            case = engine.restore(blob)
            s = engine.state(case, at=AT)
            for _, request in plan.escalations(s.stage, case.bureau):
                if request is not None:
                    engine.check(case, request, at=AT)

    def answers() -> None:
        for case_id, borrower_id, blob in rows:  # others left out: cost per case alone
            ask(plan, engine.restore(blob), (), AT, case_id=case_id, borrower_id=borrower_id)

    table = pa.Table.from_pylist(
        [{"case_id": c, "borrower_id": b, "version": 0, "snapshot": s} for c, b, s in rows],
        schema=schemas.snapshots(),
    )

    def whole() -> None:
        for _ in Sweep(policy, AT)(table.to_batches(max_chunksize=4096)):
            pass

    by_stage: dict[str, list[float]] = {}
    for case_id, borrower_id, blob in rows:
        start = time.process_time()
        answer = ask(plan, engine.restore(blob), (), AT, case_id=case_id, borrower_id=borrower_id)
        by_stage.setdefault(answer.state.stage.value, []).append(time.process_time() - start)
    STAGE_COST.clear()
    STAGE_COST.update({k: (len(v), sum(v) / len(v)) for k, v in by_stage.items()})

    out = []
    for name, fn in (
        ("restore", restore),
        ("+ state", state),
        ("+ escalation checks", escalations),
        ("+ contacts (check, next_allowed)", answers),
        ("+ Arrow in and out, grouping", whole),
    ):
        seconds, _ = cpu(fn)
        out.append((name, seconds / len(rows)))
    return out


def profile(path: Path, policy: str, limit: int) -> None:
    table = pq.read_table(path).slice(0, limit)
    job = Sweep(policy, AT)
    prof = cProfile.Profile()
    prof.enable()
    for _ in job(table.to_batches(max_chunksize=4096)):
        pass
    prof.disable()
    stats = pstats.Stats(prof)
    by_module: Counter[str] = Counter()
    for (file, _, _), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        name = (
            Path(file).name
            if "staged_collection" in file
            else (
                "pyarrow"
                if "pyarrow" in file
                else "python"
                if file.startswith("~") or "lib/python" in file
                else Path(file).name
            )
        )
        by_module[name] += tottime
    total = sum(by_module.values())
    print(f"\nProfile of {limit:,} cases (own time by module, cProfile inflates calls):")
    for name, t in by_module.most_common(14):
        print(f"  {name:<28}{100 * t / total:5.1f} %")
    print()
    stats.sort_stats("tottime").print_stats(18)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--million", action="store_true", help="also sweep 1,000,000 cases")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--policy", default="cn")
    parser.add_argument("--templates", type=int, default=1500, help="borrowers generated")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the sweep")
    args = parser.parse_args()
    sizes = [10_000, 100_000] + ([1_000_000] if args.million else [])

    started = time.perf_counter()
    base = templates(args.policy, args.templates)
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(args.policy)
        stages = Counter(
            engine.state(engine.restore(b), at=AT).stage.value
            for b in base.column("snapshot").to_pylist()
        )
        print(
            f"Templates: {base.num_rows:,} cases from {args.templates:,} borrowers "
            f"({time.perf_counter() - started:.0f} s); stages at {AT:%Y-%m-%d %H:%M} UTC: "
            + ", ".join(f"{k} {v}" for k, v in stages.most_common())
        )
        print(
            f"Machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
            f"pyarrow {pa.__version__}"
        )
        print()
        per_case = 0.0
        print(
            f"{'cases':>9}{'floor':>9}{'sweep':>9}{'ratio':>7}{'pool wall':>11}"
            f"{'pool CPU':>10}{'peak RSS':>10}{'1M, 2 cores':>13}"
        )
        print(
            f"{'':>9}{'us/case':>9}{'us/case':>9}{'':>7}{'s':>11}{'us/case':>10}"
            f"{'/worker':>10}{'(from CPU)':>13}"
        )
        for size in sizes:
            path = Path(tmp) / f"book-{size}.parquet"
            write_book(path, base, size)
            floor_s, n = cpu(lambda path=path: floor(path))
            sweep_s, m = (
                cpu(lambda path=path: sweep_inline(path, args.policy))
                if size <= 100_000
                else (per_case * n, n)  # one process at a million: the per-case cost above
            )
            assert n == m >= size, (n, m, size)  # whole borrowers: a case or two more
            per_case = sweep_s / n
            stats = RunStats()
            load = os.getloadavg()[0]
            start = time.perf_counter()
            for _ in run_pool(
                Sweep(args.policy, AT), batches(path), workers=args.workers, stats=stats
            ):
                pass
            wall = time.perf_counter() - start
            peak = max(stats.peak_rss_kib.values()) / 1024
            pool_cpu = sum(stats.cpu_seconds.values()) / n
            million = pool_cpu * 1_000_000 / 2
            print(
                f"{n:>9,}{floor_s / n * 1e6:>9.1f}{per_case * 1e6:>9.1f}"
                f"{per_case / (floor_s / n):>6.1f}x{wall:>11.1f}{pool_cpu * 1e6:>10.1f}"
                f"{peak:>7.0f} MB{million:>11.0f} s   (load {load:.1f})",
                flush=True,
            )
            path.unlink()
        parent = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"\nParent process peak RSS (templates, generation, runners): {parent:.0f} MB")
        print(
            "'1M, 2 cores': the workers' CPU per case (their start included) times 1,000,000,\n"
            "over 2 cores: the wall time on 2 idle cores. 'load': the 1-minute load average\n"
            "when the pool started (a shared machine stretches the wall time, not the CPU)."
        )
        path = Path(tmp) / "sample.parquet"
        write_book(path, base, 5_000)
        print("\nWhere the time goes (CPU per case, cumulative, 5,000 cases, one process):")
        last = 0.0
        for name, seconds in breakdown(path, args.policy, 5_000):
            print(f"  {name:<38}{seconds * 1e6:8.1f} us   (+{(seconds - last) * 1e6:.1f})")
            last = seconds
        print("\nRestore and answers by stage (CPU per case, the same cases):")
        for stage, (count, seconds) in sorted(STAGE_COST.items(), key=lambda kv: -kv[1][0]):
            print(f"  {stage:<14}{count:>6,} cases{seconds * 1e6:>9.1f} us")
        if args.profile:
            profile(path, args.policy, 5_000)


if __name__ == "__main__":
    main()

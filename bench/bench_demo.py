"""The demo at its default size: 10,000 loans over 120 days, about two minutes at most on 2 cores.

Run: python bench/bench_demo.py [--loans N] [--days N] [--workers N] [--policy P]

Reports the wall time, the CPU of the run's processes and the load average
around it (the machine may be shared: a range over quiet runs is what to
quote), the sweep's morning answers, the contacts allowed and refused by rule
(and how many of the refusals were the demo's deliberate mistakes), and, as a
reference measured in the same run, a plain-Python loop doing the bookkeeping
alone (one dict update and one ``json.dumps`` per decision the demo made): the
ratio says what the rules cost over writing the log at all.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

from staged_collection.demo import DemoConfig, run_demo


def plain_loop(decisions: int, loan_days: int) -> float:
    """Seconds for a loop over every loan-day writing ``decisions`` JSON lines."""
    books: dict[int, int] = {}
    started = time.perf_counter()
    with tempfile.TemporaryFile("w") as out:
        per_day = max(1, decisions // max(loan_days, 1))
        written = 0
        for i in range(loan_days):
            books[i % 10_000] = books.get(i % 10_000, 0) + 1
            if written < decisions:
                for _ in range(per_day):
                    out.write(json.dumps({"loan": i, "allowed": True, "codes": []}))
                    out.write("\n")
                written += per_day
    return time.perf_counter() - started


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loans", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--workers", type=int, default=min(os.cpu_count() or 1, 4))
    parser.add_argument("--policy", default="cn")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    cpu = cpu_seconds()
    with tempfile.TemporaryDirectory() as tmp:
        config = DemoConfig(
            loans=args.loans,
            days=args.days,
            policy=args.policy,
            workers=args.workers,
            out=Path(tmp) / "d.jsonl",
        )
        result = run_demo(config)
    cpu = cpu_seconds() - cpu
    load_after = os.getloadavg()[0]
    reference = plain_loop(result.lines, args.loans * args.days)
    t = result.totals
    print(
        f"demo: {args.loans:,} loans x {args.days} days under {args.policy}, {args.workers} "
        f"workers on {os.cpu_count()} cores: {result.seconds:.1f} s wall, {cpu:.1f} s CPU, "
        f"load average {load_before:.2f} before and {load_after:.2f} after; "
        f"{result.lines:,} decisions ({result.lines / result.seconds:,.0f}/s)"
    )
    print(f"the sweep's morning answers: {t.asked:,}")
    refused = {k: n for k, n in t.contacts.items() if k != "allowed"}
    print(
        f"contacts: {t.contacts['allowed']:,} allowed; refused by rule (deliberate): "
        + (", ".join(f"{k} {n:,} ({t.deliberate[k]:,})" for k, n in refused.items()) or "none")
    )
    moves = {k: n for k, n in t.moves.items() if k.startswith("refused ")}
    print(
        "moves refused (deliberate): "
        + (", ".join(f"{k} {n:,} ({t.deliberate[k]:,})" for k, n in moves.items()) or "none")
    )
    print(f"planned attempts not placed: {sum(t.skipped.values()):,}")
    print(
        f"plain-Python bookkeeping loop over the same loan-days and log lines, one core: "
        f"{reference:.1f} s; the demo costs {result.seconds / reference:.1f}x of it"
    )
    verdict = "under" if result.seconds < 120 else "OVER"
    print(f"target: about two minutes at most on 2 cores: {verdict}")


if __name__ == "__main__":
    main()

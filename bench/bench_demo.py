"""The demo at its default size: 10,000 loans over 120 days, under a minute on 2 cores.

Run: python bench/bench_demo.py [--loans N] [--days N] [--workers N]

Reports the wall time and, as a reference measured in the same run, a
plain-Python loop doing the bookkeeping alone (one dict update and one
``json.dumps`` per decision the demo made): the ratio says what the rules cost
over writing the log at all.
"""

from __future__ import annotations

import argparse
import json
import os
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loans", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--workers", type=int, default=min(os.cpu_count() or 1, 4))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = DemoConfig(
            loans=args.loans, days=args.days, workers=args.workers, out=Path(tmp) / "d.jsonl"
        )
        result = run_demo(config)
    reference = plain_loop(result.lines, args.loans * args.days)
    print(
        f"demo: {args.loans:,} loans x {args.days} days, {args.workers} workers on "
        f"{os.cpu_count()} cores: {result.seconds:.1f} s, {result.lines:,} decisions "
        f"({result.lines / result.seconds:,.0f}/s)"
    )
    print(
        f"plain-Python bookkeeping loop over the same loan-days and log lines, one core: "
        f"{reference:.1f} s; the demo costs {result.seconds / reference:.1f}x of it"
    )
    verdict = "under" if result.seconds < 60 else "OVER"
    print(f"target: under 60 s on 2 cores: {verdict}")


if __name__ == "__main__":
    main()

"""Timing helpers for the benchmarks: interleaved best-of-N per-call costs, ratio tables.

These machines are noisy (two shared cores): a cost measured alone can swing
by half from one minute to the next. So every candidate is timed in rounds,
the rounds interleaved, and each keeps its best round: the reference and the
measured code then see the same machine.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable


def interleaved(
    candidates: dict[str, tuple[Callable[[], object], int]], rounds: int = 15
) -> dict[str, float]:
    """Seconds per call for each ``name: (fn, calls per round)``, best round of ``rounds``."""
    best = dict.fromkeys(candidates, float("inf"))
    for fn, _ in candidates.values():
        fn()  # warm up caches
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for _ in range(rounds):
            for name, (fn, number) in candidates.items():
                start = time.perf_counter()
                for _ in range(number):
                    fn()
                best[name] = min(best[name], (time.perf_counter() - start) / number)
            gc.collect()
    finally:
        if gc_was:
            gc.enable()
    return best


def table(rows: list[tuple[str, float, float]], headers: tuple[str, str, str]) -> str:
    width = max(len(r[0]) for r in rows) + 2
    out = [f"{headers[0]:<{width}}{headers[1]:>12}{headers[2]:>12}"]
    for name, micros, ratio in rows:
        out.append(f"{name:<{width}}{micros:>10.2f}us{ratio:>11.2f}x")
    return "\n".join(out)

"""Benchmark: fill every template histogram vs. a bare uproot read of the same branches.

Run with ``make bench`` (or ``.venv/bin/python tests/bench.py``). Both timings are taken in the same
run, best of ``--repeat`` after one warm-up (so the files are in the page cache for both). The
throughput counts, for every file, its events times the number of templates filled from them
(nominal and each computed variation; symmetrized templates are not filled from events).
Target: at least 400k event·variations per second on one core.
"""

from __future__ import annotations

import argparse
import time

import uproot

from statlesson import histograms
from statlesson.samples import data_path
from statlesson.selection import TREE_NAME

TARGET_PER_S = 400_000


def bare_read() -> int:
    """Read the branches that filling needs from every input file; return the number of events."""
    n = 0
    for sample in histograms.INPUT_SAMPLES:
        with uproot.open(data_path(sample)) as f:
            n += len(f[TREE_NAME].arrays(histograms.required_branches(sample)))
    return n


def event_variations() -> int:
    """Σ over input files of (events in the file) × (templates filled from those events)."""
    total = 0
    for sample in histograms.INPUT_SAMPLES:
        with uproot.open(data_path(sample)) as f:
            total += f[TREE_NAME].num_entries * len(histograms.computed_variations(sample))
    return total


def best_time(func, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed repetitions (best is kept)")
    args = parser.parse_args()

    n_events = bare_read()  # warm-up: page cache, imports
    histograms.build_templates()
    t_read = best_time(bare_read, args.repeat)
    t_fill = best_time(histograms.build_templates, args.repeat)
    work = event_variations()
    rate = work / t_fill
    print(f"files: {len(histograms.INPUT_SAMPLES)}, events: {n_events:,}, "
          f"histograms: {len(histograms.expected_names())}")
    print(f"bare uproot read of the same branches: {t_read:6.3f} s")
    print(f"fill every histogram (incl. reading):  {t_fill:6.3f} s")
    print(f"ratio fill / read:                     {t_fill / t_read:6.1f}")
    print(f"throughput: {work:,} event·variations in {t_fill:.3f} s = {rate:,.0f} per s "
          f"({'meets' if rate >= TARGET_PER_S else 'BELOW'} the target of {TARGET_PER_S:,} per s)")


if __name__ == "__main__":
    main()

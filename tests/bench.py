"""Benchmarks of the lesson: ``make bench`` (or ``.venv/bin/python tests/bench.py``) runs every section.

Sections (the registry ``SECTIONS`` below, run in this order):

``histograms``
    Fill every template histogram vs. a bare uproot read of the same branches. Both timings are
    taken in the same run, best of ``--repeat`` after one warm-up (so the files are in the page cache
    for both). The throughput counts, for every file, its events times the number of templates filled
    from them (nominal and each computed variation; symmetrized templates are not filled from
    events). Target: at least 400k event·variations per second on one core.
``dask``
    The same templates filled by one process (``histograms.build_templates``) and by Dask
    (``statlesson.scaleout``): with the single-threaded scheduler and on a ``LocalCluster`` of two
    worker processes (start-up not counted), best of ``--repeat``; the ratio to the single process,
    the equality of all templates, and that no worker process is left after closing.
``toys``
    The toy study of ``tests/test_fitting.py`` on the lesson's workspace: 200 pseudo-experiments
    drawn at the injected truth and fitted (``statlesson.toys.pull_study``); toys per second.
    Budget: 200 toys within 30 s.
``notebooks``
    Execute every notebook of ``_toc.yml`` from a cold kernel, one at a time (``tests/bench_notebooks.py``):
    per-notebook wall time, the slowest cells, total book time and peak kernel RSS. Budgets: no
    cell over 5 s, whole book within 90 s on 2 cores, peak RSS within 1 GiB. With ``--session``,
    one Binder session: every kernel keeps running until the last notebook has run (as when no tab
    is closed), and their summed memory is reported against 1.5 GiB (mybinder.org's 2 GB less
    Jupyter Server and JupyterLab).

Options: ``--only SECTION ...`` runs only those sections; ``--notebooks PATTERN ...`` selects
notebooks (glob on name or path, or a substring of the name, e.g. ``03``); ``--top N`` slowest cells
listed (default 5); ``--repeat`` is for the histogram section; ``--json PATH`` writes every number as
JSON; ``--strict`` exits 1 when a budget or target is missed (by default they are only reported as
PASS/OVER). A failing notebook always exits 1. With make:
``make bench BENCH_ARGS="--only notebooks"`` or ``BENCH_ARGS="--only notebooks --session"``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import uproot

import bench_notebooks

from statlesson import histograms
from statlesson.ntuple import TREE_NAME, data_path

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


def add_histogram_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("histograms")
    group.add_argument("--repeat", type=int, default=3, help="timed repetitions (best is kept)")


def run_histograms(args: argparse.Namespace) -> dict[str, Any]:
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
    return {
        "files": len(histograms.INPUT_SAMPLES),
        "events": n_events,
        "histograms": len(histograms.expected_names()),
        "repeat": args.repeat,
        "read_s": t_read,
        "fill_s": t_fill,
        "ratio_fill_read": t_fill / t_read,
        "event_variations": work,
        "rate_per_s": rate,
        "target_per_s": TARGET_PER_S,
        "over_budget": [] if rate >= TARGET_PER_S else
        [f"throughput {rate:,.0f} per s below the target of {TARGET_PER_S:,} per s"],
        "errors": [],
    }


def add_dask_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("dask")
    group.add_argument("--steps-per-file", type=int, default=None,
                       help="chunks per file for the Dask path (default: the episode's)")


def run_dask(args: argparse.Namespace) -> dict[str, Any]:
    """The same templates filled by one process and by Dask on a 2-worker LocalCluster."""
    from dask.distributed import Client, LocalCluster

    from statlesson import daskrun, scaleout

    steps = args.steps_per_file or scaleout.DEFAULT_STEPS_PER_FILE
    histograms.build_templates()  # warm-up: page cache, imports
    t_single = best_time(histograms.build_templates, args.repeat)
    reference = histograms.build_templates()
    start = time.perf_counter()
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                     dashboard_address="127.0.0.1:0", preload=["statlesson.scaleout"]) as cluster,
        Client(cluster),
    ):
        t_start = time.perf_counter() - start
        lazy = scaleout.lazy_templates(steps_per_file=steps)
        n_chunks = sum(scaleout.lazy_events(s, steps_per_file=steps).npartitions
                       for s in histograms.INPUT_SAMPLES)
        scaleout.compute_templates(lazy)  # warm-up of the workers
        t_dask = best_time(lambda: scaleout.compute_templates(scaleout.lazy_templates(
            steps_per_file=steps)), args.repeat)
        templates = scaleout.compute_templates(lazy)
    t_sync = best_time(lambda: scaleout.compute_templates(
        scaleout.lazy_templates(steps_per_file=steps), scheduler="sync"), args.repeat)
    equal = bool(scaleout.compare_templates(templates, reference)["equal"].all())
    left = daskrun.worker_processes()
    print(f"chunks: {n_chunks} ({steps} per file), templates: {len(reference)}")
    print(f"single process (histograms.build_templates): {t_single:6.3f} s")
    print(f"Dask, one process (scheduler='sync'):        {t_sync:6.3f} s")
    print(f"Dask, LocalCluster of 2 workers:             {t_dask:6.3f} s "
          f"(cluster start-up {t_start:.1f} s, not included)")
    print(f"ratio Dask (2 workers) / single process:     {t_dask / t_single:6.2f}")
    print(f"templates equal to the single-process ones: {'yes' if equal else 'NO'}; "
          f"worker processes left after closing: {len(left)}")
    errors = [] if equal else ["Dask templates differ from the single-process ones"]
    errors += [f"{len(left)} worker process(es) left running"] if left else []
    return {
        "chunks": n_chunks, "steps_per_file": steps, "single_s": t_single, "dask_sync_s": t_sync,
        "dask_cluster_s": t_dask, "cluster_start_s": t_start, "ratio_dask_single": t_dask / t_single,
        "equal": equal, "over_budget": [], "errors": errors,
    }


TOYS, TOYS_BUDGET_S = 200, 30.0


def run_toys(args: argparse.Namespace) -> dict[str, Any]:
    """Sample and fit 200 toys of the lesson's model, as the toy-study test does."""
    import json
    import logging
    import tempfile

    import cabinetry
    import numpy as np

    from statlesson import messages, modelspec, ntuple, toys

    messages.route_to_stdout(logging.ERROR)
    with tempfile.TemporaryDirectory() as folder:
        histograms.build_histograms(folder)
        workspace = modelspec.build_workspace(modelspec.load_config(modelspec.config_file(), folder))
    pdf, _ = cabinetry.model_utils.model_and_data(workspace)
    pars = np.asarray(pdf.config.suggested_init())
    pars[pdf.config.poi_index] = json.loads((ntuple.data_dir() / "truth.json").read_text())["mu_ttbar"]
    start = time.perf_counter()
    study = toys.pull_study(pdf, pars, n_toys=TOYS, seed=20151103, sigma=1.0)
    took = time.perf_counter() - start
    print(f"{TOYS} toys sampled and fitted in {took:.1f} s: {TOYS / took:.1f} toys per s "
          f"({'within' if took <= TOYS_BUDGET_S else 'OVER'} the budget of {TOYS_BUDGET_S:.0f} s)")
    return {"toys": TOYS, "seconds": took, "toys_per_s": TOYS / took, "budget_s": TOYS_BUDGET_S,
            "finite": bool(np.isfinite(study.poi).all()),
            "over_budget": [] if took <= TOYS_BUDGET_S else
            [f"{TOYS} toys took {took:.1f} s, over {TOYS_BUDGET_S:.0f} s"],
            "errors": [] if np.isfinite(study.poi).all() else ["a toy fit gave no finite POI"]}


# --------------------------------------------------------------------------------------------------
# Registry of sections. A section adds its options to the shared parser and runs with the parsed
# arguments; it prints its own report and returns its numbers as a JSON-serializable dict, with
# "over_budget" (budgets/targets missed: fatal only with --strict) and "errors" (always fatal), both
# lists of messages. To add a section (e.g. Dask vs. single-process histogram filling), write
# run_xxx(args) -> dict (and add_xxx_arguments(parser) if it has options) and append it here.


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    run: Callable[[argparse.Namespace], dict[str, Any]]
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None


SECTIONS: list[Section] = [
    Section("histograms", "fill every template histogram vs. a bare uproot read",
            run_histograms, add_histogram_arguments),
    Section("dask", "the same templates by one process and by Dask (episode 6)",
            run_dask, add_dask_arguments),
    Section("toys", "200 pseudo-experiments of the lesson's model, sampled and fitted", run_toys),
    Section("notebooks", "every notebook of the book from a cold kernel",
            bench_notebooks.run, bench_notebooks.add_arguments),
]


def main() -> int:
    names = [section.name for section in SECTIONS]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=names, metavar="SECTION",
                        help=f"run only these sections ({', '.join(names)}); default: all")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 if a budget or target is missed (default: report only)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write every number as JSON")
    for section in SECTIONS:
        if section.add_arguments is not None:
            section.add_arguments(parser)
    args = parser.parse_args()

    selected = [s for s in SECTIONS if not args.only or s.name in args.only]
    report: dict[str, Any] = {}
    for i, section in enumerate(selected):
        if len(selected) > 1:
            print(("\n" if i else "") + f"== {section.name}: {section.title} ==", flush=True)
        report[section.name] = section.run(args)

    over = [f"{name}: {msg}" for name, r in report.items() for msg in r.get("over_budget", [])]
    errors = [f"{name}: {msg}" for name, r in report.items() for msg in r.get("errors", [])]
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if len(selected) > 1 and (over or errors):
        print()
        for msg in errors:
            print(f"ERROR  {msg}")
        for msg in over:
            print(f"OVER   {msg}")
    if errors:
        return 1
    return 1 if args.strict and over else 0


if __name__ == "__main__":
    sys.exit(main())

"""Notebook benchmark: execute every notebook of the book from a cold kernel, like Jupyter Book does.

The notebooks are the ``.ipynb`` files that ``_toc.yml`` references, in book order (a new episode is
picked up automatically). Each runs in a fresh ``python3`` kernel whose working directory is the
notebook's folder, one notebook at a time, on an in-memory copy (the source files are not rewritten;
the notebooks still write their own outputs into ``episodes/_outputs/<notebook>/`` as in the build).

Measured: wall time of every code cell (around nbclient's cell execution), of the kernel start-up
(process launch until the kernel answers) and of the whole notebook (start-up, cells, shutdown);
peak resident memory of the kernel, polled every 50 ms from a background thread as the RSS of the
kernel process plus all its descendants, and the kernel's own ``ru_maxrss`` (self and reaped
children) asked from the kernel after the last cell.

Budgets (checked here, not by timed tests): no cell over 5 s, the whole book within 90 s on 2 cores,
peak kernel RSS within 1 GiB (including the processes a notebook starts, such as Dask workers). The
time of the notebooks in the ``Extension`` part of ``_toc.yml`` is reported but not counted in the
book's 90 s, which is the budget of the lesson itself. With ``--presenter`` the presenter copies run
instead (each episode's core, without "going further" sections and solutions: what is run when
the lesson is taught in 90 minutes), against the same budgets. They are reported as PASS/OVER;
``tests/bench.py --strict`` turns an OVER into a non-zero exit. Run through ``tests/bench.py`` (``make bench``), or alone with
``.venv/bin/python tests/bench_notebooks.py [--notebooks PATTERN ...]``.

``--session``: one Binder session. JupyterLab keeps a notebook's kernel running when its tab is
closed, so a learner who goes through the lesson can hold every episode's kernel at once. In this
mode each notebook still starts its own kernel, but no kernel is shut down until the last notebook
has run; the summed RSS of all running kernels (with their descendants) is polled throughout, and
after each notebook the RSS and PSS (shared pages counted once) that its kernel keeps. Budget: the
session's peak within 1.5 GiB, what mybinder.org's 2 GB leaves after Jupyter Server and
JupyterLab. Over it, the session still passes if the lesson's Binder setup shuts a kernel down with
its tab (``code/binder/``, installed by ``postBuild``; idle kernels are also culled after 30
minutes) and the largest kernel alone fits: then a learner who closes finished episodes holds one
kernel at a time. The report gives both figures; the time budgets are not checked in this mode
(the kernels kept alive and the memory polling slow some cells down).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import nbformat
import psutil
import yaml
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbclient.util import run_sync

ROOT = Path(__file__).resolve().parents[1]
TOC = ROOT / "_toc.yml"
CONFIG = ROOT / "_config.yml"
KERNEL_NAME = "python3"
POLL_INTERVAL_S = 0.05

BUDGET_CELL_S = 5.0
BUDGET_BOOK_S = 90.0
BUDGET_BOOK_CORES = 2
BUDGET_RSS_MIB = 1024.0
#: every kernel of one Binder session (mybinder.org: 2 GB, less Jupyter Server and JupyterLab)
BUDGET_SESSION_MIB = 1536.0
MIB = 1024 * 1024
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


# --------------------------------------------------------------------------------------------------
# Which notebooks


def toc_notebooks(toc: Path = TOC) -> list[Path]:
    """The notebooks ``_toc.yml`` references (``root`` and every ``file`` entry), in book order."""
    data = yaml.safe_load(toc.read_text(encoding="utf-8"))
    entries: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("root", "file") and isinstance(value, str):
                    entries.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(data)
    found: list[Path] = []
    for entry in entries:
        path = toc.parent / entry
        candidate = path if path.suffix == ".ipynb" else path.with_name(path.name + ".ipynb")
        if candidate.suffix == ".ipynb" and candidate.is_file() and candidate not in found:
            found.append(candidate)
    return found


def extension_notebooks(toc: Path = TOC) -> list[Path]:
    """The notebooks of the ``_toc.yml`` part captioned "Extension": outside the lesson's budget."""
    data = yaml.safe_load(toc.read_text(encoding="utf-8"))
    out = []
    for part in data.get("parts", []):
        if str(part.get("caption", "")).lower() == "extension":
            for chapter in part.get("chapters", []):
                path = toc.parent / chapter["file"]
                out.append(path if path.suffix == ".ipynb" else path.with_name(path.name + ".ipynb"))
    return out


def select(notebooks: list[Path], patterns: list[str] | None) -> list[Path]:
    """Notebooks whose name, stem or path (relative to the repository) matches a pattern.

    A pattern is a shell glob (``'0[1-3]-*'``, ``'episodes/*setup*'``) or a plain substring of the
    stem (``03``, ``fit``).
    """
    if not patterns:
        return notebooks
    chosen = []
    for nb in notebooks:
        names = (nb.name, nb.stem, nb.relative_to(ROOT).as_posix())
        if any(p in nb.stem or any(fnmatch.fnmatch(n, p) for n in names) for p in patterns):
            chosen.append(nb)
    return chosen


def config_timeout(default: int = 120) -> int:
    """Per-cell timeout of the book build (``execute.timeout`` in ``_config.yml``)."""
    try:
        config = yaml.safe_load(CONFIG.read_text(encoding="utf-8")) or {}
        return int((config.get("execute") or {}).get("timeout", default))
    except (OSError, ValueError, TypeError, yaml.YAMLError):
        return default


# --------------------------------------------------------------------------------------------------
# Measuring one notebook


def process_tree(pid: int) -> list[psutil.Process]:
    """A process and all its descendants; empty if it is gone."""
    try:
        proc = psutil.Process(pid)
        return [proc, *proc.children(recursive=True)]
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return []


class RSSMonitor(threading.Thread):
    """Polls the summed RSS of a process and all its descendants; keeps the maximum."""

    def __init__(self, pid: int, interval: float = POLL_INTERVAL_S) -> None:
        super().__init__(name=f"rss-monitor-{pid}", daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak_bytes = 0
        self.peak_processes = 0
        self.samples = 0
        self._stop_event = threading.Event()

    def roots(self) -> list[int]:
        return [self.pid]

    def sample(self) -> None:
        procs = [p for pid in self.roots() for p in process_tree(pid)]
        if not procs:
            return
        total = 0
        for p in procs:
            try:
                total += p.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                pass
        self.samples += 1
        if total > self.peak_bytes:
            self.peak_bytes = total
            self.peak_processes = len(procs)

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


class Session(RSSMonitor):
    """The kernels of one Binder session: kept running until :meth:`close`; polls their summed RSS
    (each with its descendants) and keeps the maximum, with the notebook that was running then."""

    def __init__(self, interval: float = POLL_INTERVAL_S) -> None:
        super().__init__(0, interval)
        self.name = "rss-monitor-session"
        self.kernels: list[tuple[str, int, Any]] = []  # (notebook, pid, kernel manager)
        self.running = ""  # the notebook being executed
        self.peak_during = ""
        self._lock = threading.Lock()

    def add(self, notebook: str, pid: int, manager: Any) -> None:
        with self._lock:
            self.kernels.append((notebook, pid, manager))

    def roots(self) -> list[int]:
        with self._lock:
            return [pid for _, pid, _ in self.kernels]

    def sample(self) -> None:
        before = self.peak_bytes
        super().sample()
        if self.peak_bytes > before:
            self.peak_during = self.running

    def close(self) -> None:
        """Stop polling and shut every kernel down."""
        self.stop()
        for _, _, manager in self.kernels:
            try:
                run_sync(manager.shutdown_kernel)(now=True)
            except Exception as exc:  # a kernel that died already
                print(f"  could not shut a kernel down: {exc}", flush=True)


def tree_memory(pid: int) -> tuple[int, int]:
    """RSS and PSS (bytes) of a process and its descendants now; (0, 0) if it is gone."""
    rss = pss = 0
    for p in process_tree(pid):
        try:
            info = p.memory_full_info()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        rss += info.rss
        pss += getattr(info, "pss", info.rss)  # PSS is Linux's; elsewhere RSS
    return rss, pss


_RUSAGE_EXPRESSION = (
    "[__import__('resource').getrusage(__import__('resource').RUSAGE_SELF).ru_maxrss,"
    " __import__('resource').getrusage(__import__('resource').RUSAGE_CHILDREN).ru_maxrss]"
)


class TimedNotebookClient(NotebookClient):
    """NotebookClient that times the kernel start-up and every code cell and watches the kernel's RSS."""

    def __init__(self, nb: nbformat.NotebookNode, session: Session | None = None,
                 **kwargs: Any) -> None:
        super().__init__(nb, **kwargs)
        self.session = session
        self.cell_times: list[dict[str, Any]] = []
        self.startup_s: float | None = None
        self.kernel_pid: int | None = None
        self.monitor: RSSMonitor | None = None
        self.ru_maxrss_kib: list[int] | None = None  # [self, reaped children], Linux units (KiB)
        self._startup_t0 = 0.0

    async def async_start_new_kernel(self, **kwargs: Any) -> None:
        self._startup_t0 = time.perf_counter()
        # the kernel's own log (e.g. its start-up notice about TCP transport) is not the notebook's
        # output, which comes through the kernel's messages; keep it out of the report
        kwargs.setdefault("stderr", subprocess.DEVNULL)
        await super().async_start_new_kernel(**kwargs)
        provisioner = getattr(self.km, "provisioner", None)
        process = getattr(provisioner, "process", None)
        self.kernel_pid = getattr(process, "pid", None) or getattr(provisioner, "pid", None)
        if self.kernel_pid:
            self.monitor = RSSMonitor(self.kernel_pid)
            self.monitor.start()
            if self.session is not None:
                self.session.add(self.resources["metadata"]["name"], self.kernel_pid, self.km)

    async def async_start_new_kernel_client(self):
        kc = await super().async_start_new_kernel_client()
        self.startup_s = time.perf_counter() - self._startup_t0
        return kc

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        timed = cell.cell_type == "code" and bool(cell.source.strip())
        start = time.perf_counter()
        try:
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        finally:
            if timed:
                self.cell_times.append({
                    "cell_index": cell_index,
                    "execution_count": len(self.cell_times) + 1,
                    "first_line": first_line(cell.source),
                    "seconds": time.perf_counter() - start,
                })
            if cell_index == len(self.nb.cells) - 1:
                await self._ask_ru_maxrss()

    async def _ask_ru_maxrss(self) -> None:
        """After the last cell, while the kernel is still up: its ru_maxrss (self, children)."""
        try:
            msg_id = self.kc.execute("", silent=True, user_expressions={"r": _RUSAGE_EXPRESSION})
            reply = await self.async_wait_for_reply(msg_id)
            text = reply["content"]["user_expressions"]["r"]["data"]["text/plain"]
            self.ru_maxrss_kib = [int(v) for v in text.strip("[]").split(",")]
        except Exception as exc:  # optional number: never fail the benchmark on it
            self.log.warning("could not read the kernel's ru_maxrss: %s", exc)


def first_line(source: str, width: int = 40) -> str:
    line = next((ln.strip() for ln in source.splitlines() if ln.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"


def run_notebook(path: Path, timeout: int, session: Session | None = None) -> dict[str, Any]:
    """Execute one notebook in a fresh kernel; return its numbers. With a ``session``, the kernel
    is left running (the session shuts it down) and what it keeps is measured at the end."""
    nb = nbformat.read(path, as_version=4)  # in-memory copy; the file is never written
    client = TimedNotebookClient(
        nb,
        session=session,
        kernel_name=KERNEL_NAME,
        timeout=timeout,
        allow_errors=False,
        record_timing=True,
        resources={"metadata": {"path": str(path.parent), "name": path.stem}},
    )
    if session is not None:
        session.running = path.stem
        client.create_kernel_manager()
        client.owns_km = False  # so the client leaves the kernel running at the end
    error = None
    start = time.perf_counter()
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
        text = ANSI_ESCAPE.sub("", str(exc)).strip()
        error = f"{type(exc).__name__}: {text.splitlines()[-1] if text else ''}"
    finally:
        wall = time.perf_counter() - start
        if client.monitor is not None:
            client.monitor.stop()
        if session is not None and client.kc is not None:
            client.kc.stop_channels()  # the kernel itself keeps running
    kept = tree_memory(client.kernel_pid) if session is not None and client.kernel_pid else None
    cells = client.cell_times
    slowest = max(cells, key=lambda c: c["seconds"], default=None)
    ru = client.ru_maxrss_kib
    return {
        "notebook": path.relative_to(ROOT).as_posix(),
        "name": path.stem,
        "wall_s": wall,
        "kernel_startup_s": client.startup_s,
        "cells_s": sum(c["seconds"] for c in cells),
        "code_cells": sum(1 for c in nb.cells if c.cell_type == "code" and c.source.strip()),
        "cells_executed": len(cells),
        "slowest_cell": slowest,
        "cells": cells,
        "kernel_pid": client.kernel_pid,
        "peak_rss_mib": client.monitor.peak_bytes / MIB if client.monitor else None,
        "peak_rss_processes": client.monitor.peak_processes if client.monitor else None,
        "rss_samples": client.monitor.samples if client.monitor else 0,
        "ru_maxrss_mib": ru[0] / 1024 if ru else None,
        "ru_maxrss_children_mib": ru[1] / 1024 if ru else None,
        "kept_rss_mib": kept[0] / MIB if kept else None,
        "kept_pss_mib": kept[1] / MIB if kept else None,
        "error": error,
    }


# --------------------------------------------------------------------------------------------------
# The section: run, print, check budgets


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("notebooks")
    group.add_argument("--notebooks", nargs="+", metavar="PATTERN",
                       help="only the notebooks matching a pattern (glob on name/stem/path, or "
                            "substring of the stem); default: every notebook in _toc.yml")
    group.add_argument("--presenter", action="store_true",
                       help="run the presenter copies (the core of each episode, written into "
                            "_build/presenter/ as `make presenter` does) instead of the notebooks")
    group.add_argument("--top", type=int, default=5, metavar="N",
                       help="how many of the book's slowest cells to list (default 5)")
    group.add_argument("--timeout", type=int, default=None, metavar="S",
                       help="per-cell timeout in s (default: execute.timeout of _config.yml)")
    group.add_argument("--session", action="store_true",
                       help="keep every kernel running until the last notebook has run, as one "
                            "Binder session where no tab is closed, and report their total memory "
                            f"against {BUDGET_SESSION_MIB / 1024:g} GiB")


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Execute the selected notebooks, print the table and the budget lines, return all numbers."""
    all_notebooks = toc_notebooks()
    notebooks = select(all_notebooks, getattr(args, "notebooks", None))
    timeout = args.timeout or config_timeout()
    top = max(args.top, 0)
    if not notebooks:
        msg = f"no notebook of {TOC.name} matches {args.notebooks}"
        print(msg)
        return {"errors": [msg], "over_budget": []}

    presenter = getattr(args, "presenter", False)
    if presenter:  # the same notebooks, cut to their core (tests/lessonplan.py)
        from lessonplan import write_presenter_copies

        copies = {p.stem: p for p in write_presenter_copies(ROOT / "_build" / "presenter")}
        notebooks = [copies[p.stem] for p in notebooks]
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    subset = len(notebooks) < len(all_notebooks)
    print(f"{len(notebooks)} of {len(all_notebooks)} notebooks from {TOC.name}, each in a fresh "
          f"'{KERNEL_NAME}' kernel (cwd = its folder), one at a time; {cpus} CPUs available; "
          f"cell timeout {timeout} s", flush=True)

    session = Session() if getattr(args, "session", False) else None
    results = []
    session_rows: list[dict[str, Any]] = []
    if session is not None:
        print("one session: every kernel keeps running until the last notebook has run",
              flush=True)
        session.start()
    try:
        for path in notebooks:
            print(f"  running {path.relative_to(ROOT).as_posix()} …", flush=True)
            results.append(run_notebook(path, timeout, session))
            if session is not None:
                kept = [tree_memory(pid) for _, pid, _ in session.kernels]
                session_rows.append({"kernels": len(kept),
                                     "rss_mib": sum(rss for rss, _ in kept) / MIB,
                                     "pss_mib": sum(pss for _, pss in kept) / MIB})
    finally:
        if session is not None:
            session.close()

    # Table, one row per notebook
    w = max(len("notebook"), *(len(r["name"]) for r in results))
    header = (f"{'notebook':<{w}}  {'wall s':>6}  {'start s':>7}  {'cells':>5}  "
              f"{'slowest cell':<49} {'s':>6}  {'peak RSS MiB':>12}  {'ru_maxrss MiB':>13}")
    print()
    print(header)
    print("-" * len(header))
    for r in results:
        s = r["slowest_cell"]
        slow = f"In [{s['execution_count']}] {s['first_line']}" if s else "—"
        print(f"{r['name']:<{w}}  {r['wall_s']:6.1f}  {_fmt(r['kernel_startup_s'], '7.1f')}  "
              f"{r['code_cells']:5d}  {slow:<49} {_fmt(s and s['seconds'], '6.2f')}  "
              f"{_fmt(r['peak_rss_mib'], '12.0f')}  {_fmt(r['ru_maxrss_mib'], '13.0f')}")
        if r["error"]:
            print(f"{'':<{w}}  FAILED after {r['cells_executed']} of {r['code_cells']} cells: "
                  f"{r['error']}")

    # The slowest cells of the whole book
    every_cell = [dict(c, notebook=r["name"]) for r in results for c in r["cells"]]
    slowest = sorted(every_cell, key=lambda c: c["seconds"], reverse=True)[:top]
    if slowest:
        print()
        print(f"{len(slowest)} slowest cells{' of the book' if not subset else ''}:")
        for c in slowest:
            print(f"  {c['seconds']:6.2f} s  {c['notebook']:<{w}}  In [{c['execution_count']}]  "
                  f"{c['first_line']}")

    # Total
    total_s = sum(r["wall_s"] for r in results)
    startup_s = sum(r["kernel_startup_s"] or 0.0 for r in results)
    cells_s = sum(r["cells_s"] for r in results)
    n_cells = sum(r["code_cells"] for r in results)
    peak = max(results, key=lambda r: r["peak_rss_mib"] or 0.0)
    print()
    print(f"total: {len(results)} notebooks, {n_cells} code cells, {total_s:.1f} s "
          f"(kernel start-up {startup_s:.1f} s, cells {cells_s:.1f} s, "
          f"shutdown and the rest {total_s - startup_s - cells_s:.1f} s)")

    # Budgets: the time budget is the lesson's; the extension episodes are reported, not budgeted
    extension = {path.stem for path in extension_notebooks()}
    core_s = sum(r["wall_s"] for r, path in zip(results, notebooks, strict=True)
                 if path.stem not in extension)
    worst = max(every_cell, key=lambda c: c["seconds"], default=None)
    over_cells = [c for c in every_cell if c["seconds"] > BUDGET_CELL_S]
    time_checks = [
        (f"no cell over {BUDGET_CELL_S:g} s",
         not over_cells,
         (f"slowest {worst['seconds']:.2f} s ({worst['notebook']} In [{worst['execution_count']}])"
          if worst else "no cell ran")
         + (f"; {len(over_cells)} cells over" if over_cells else "")),
        (f"{'the core (presenter copies)' if presenter else 'whole book'} ≤ {BUDGET_BOOK_S:g} s "
         f"on {BUDGET_BOOK_CORES} cores (without the extension)",
         core_s <= BUDGET_BOOK_S,
         f"{core_s:.1f} s on {cpus} CPUs"
         + (f" (only {len(results)} of {len(all_notebooks)} notebooks)" if subset else "")
         + (f"; with the extension {total_s:.1f} s" if core_s != total_s else "")),
    ]
    checks = [
        (f"peak kernel RSS ≤ {BUDGET_RSS_MIB / 1024:g} GiB",
         (peak["peak_rss_mib"] or 0.0) <= BUDGET_RSS_MIB,
         f"{_fmt(peak['peak_rss_mib'], '.0f')} MiB ({peak['name']})"),
    ]
    session_report = None
    if session is None:
        checks = time_checks + checks
    else:
        # time is budgeted in the ordinary run: here the kernels kept alive and the memory polling
        # slow some cells down, so only the memory budgets count
        print("\ntimes (not budgeted with --session): "
              + "; ".join(detail for _, _, detail in time_checks))
        session_report = report_session(results, session_rows, session)
        checks += session_report.pop("checks")
    print()
    print("budgets:")
    for label, ok, detail in checks:
        print(f"  {'PASS' if ok else 'OVER'}  {label}: {detail}")
    if session_report is not None and session_report["note"]:
        print(textwrap.fill(session_report["note"], width=100, initial_indent="  ",
                            subsequent_indent="  "))

    errors = [f"{r['notebook']}: {r['error']}" for r in results if r["error"]]
    if errors:
        print()
        print(f"{len(errors)} notebook(s) FAILED; their numbers are incomplete.")
    return {
        "cpus": cpus,
        "kernel": KERNEL_NAME,
        "cell_timeout_s": timeout,
        "notebooks_selected": len(results),
        "notebooks_in_toc": len(all_notebooks),
        "total_s": total_s,
        "core_s": core_s,
        "kernel_startup_s": startup_s,
        "cells_s": cells_s,
        "code_cells": n_cells,
        "peak_rss_mib": peak["peak_rss_mib"],
        "slowest_cells": slowest,
        "budgets": [{"budget": label, "pass": ok, "detail": detail} for label, ok, detail in checks],
        "session": session_report,
        "results": results,
        "over_budget": [f"{label}: {detail}" for label, ok, detail in checks if not ok],
        "errors": errors,
    }


def report_session(results: list[dict[str, Any]], rows: list[dict[str, Any]],
                   session: Session) -> dict[str, Any]:
    """Print the session table; return its numbers, its budget checks and the note when over."""
    w = max(len("notebook"), *(len(r["name"]) for r in results))
    header = (f"{'notebook':<{w}}  {'peak RSS MiB':>12}  {'kept RSS MiB':>12}  {'kept PSS MiB':>12}"
              f"  {'kernels':>7}  {'session RSS MiB':>15}  {'session PSS MiB':>15}")
    print()
    print("one Binder session: each kernel keeps running after its notebook (no tab closed)")
    print(header)
    print("-" * len(header))
    for r, row in zip(results, rows, strict=True):
        print(f"{r['name']:<{w}}  {_fmt(r['peak_rss_mib'], '12.0f')}  "
              f"{_fmt(r['kept_rss_mib'], '12.0f')}  {_fmt(r['kept_pss_mib'], '12.0f')}  "
              f"{row['kernels']:7d}  {row['rss_mib']:15.0f}  {row['pss_mib']:15.0f}")
    peak = session.peak_bytes / MIB
    sum_of_peaks = sum(r["peak_rss_mib"] or 0.0 for r in results)
    largest = max(results, key=lambda r: r["peak_rss_mib"] or 0.0)
    largest_mib = largest["peak_rss_mib"] or 0.0
    end = rows[-1] if rows else {"rss_mib": 0.0, "pss_mib": 0.0, "kernels": 0}
    print(f"session peak: {peak:.0f} MiB RSS of {session.peak_processes} processes (while "
          f"{session.peak_during or '—'} ran); at the end {end['kernels']} kernels hold "
          f"{end['rss_mib']:.0f} MiB RSS, {end['pss_mib']:.0f} MiB PSS; the kernels' peaks add up "
          f"to {sum_of_peaks:.0f} MiB")
    budget = f"{BUDGET_SESSION_MIB / 1024:g} GiB"
    fits = peak <= BUDGET_SESSION_MIB
    # Over the budget with every kernel alive, the session still fits if the Binder files shut a
    # kernel down with its tab (then one kernel runs at a time, the largest bounding the session).
    shutdown = binder_shuts_kernels_down()
    one_at_a_time = shutdown and largest_mib <= BUDGET_SESSION_MIB
    detail = f"every kernel kept running: peak {peak:.0f} MiB ({len(results)} kernels)"
    if not fits:
        detail += (f"; the Binder files {'shut' if shutdown else 'do NOT shut'} a kernel down with "
                   f"its tab: one kernel at a time, at most {largest_mib:.0f} MiB "
                   f"({largest['name']})")
    checks = [(f"one Binder session ≤ {budget}", fits or one_at_a_time, detail)]
    note = "" if fits else (
        "Over the session budget when no tab is closed. The Binder setup (code/binder/, installed "
        "by postBuild) shuts a notebook's kernel down when its tab is closed and culls kernels "
        "idle for 30 minutes, so a learner who closes the episodes they finished holds one "
        f"kernel at a time: at most {largest_mib:.0f} MiB ({largest['name']}).")
    return {"peak_rss_mib": peak, "peak_processes": session.peak_processes,
            "peak_during": session.peak_during, "end_rss_mib": end["rss_mib"],
            "end_pss_mib": end["pss_mib"], "sum_of_peaks_mib": sum_of_peaks,
            "largest_kernel_mib": largest_mib, "largest_kernel": largest["name"],
            "budget_mib": BUDGET_SESSION_MIB, "after_each_notebook": rows, "note": note,
            "checks": checks}


def binder_shuts_kernels_down() -> bool:
    """Whether the Binder settings (code/binder/overrides.json, installed by postBuild) make
    JupyterLab shut a notebook's kernel down when its tab closes."""
    path = ROOT / "code" / "binder" / "overrides.json"
    settings = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    return settings.get("@jupyterlab/notebook-extension:tracker", {}).get("kernelShutdown") is True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    parser.add_argument("--strict", action="store_true", help="exit 1 if a budget is exceeded")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write all numbers as JSON")
    args = parser.parse_args()
    report = run(args)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if report["errors"]:
        return 1
    return 1 if args.strict and report["over_budget"] else 0


if __name__ == "__main__":
    sys.exit(main())

"""Every notebook of the book runs from a cold kernel, once per ``make test``.

Each notebook is executed here, in its own folder (``episodes/``, as the book build and a learner
run it), by the same function myst-nb uses. The executed notebook goes into the book's execution
cache (``_build/.jupyter_cache``), so the strict book build that follows (``test_book.py``) renders
these outputs instead of running everything again; it checks that it executed nothing.

Outputs are checked where a number must not drift: a code cell tagged ``check-output`` keeps its
expected output in the committed notebook, and the fresh output must be the same text. The numbers
episode 5 glues into its prose are compared with the fit of the lesson's workspace made here.
"""

from __future__ import annotations

import fcntl
import json
from contextlib import contextmanager
from pathlib import Path

import nbformat
import numpy as np
import pytest
import yaml
from bench_notebooks import toc_notebooks
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from jupyter_cache.executors.utils import single_nb_execution

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "_build" / ".jupyter_cache"  # myst-nb's default: next to _build/html
CHECK_TAG = "check-output"
RECORD = "application/papermill.record/text/plain"


def book_notebooks() -> list[str]:
    """The notebooks in the table of contents, in reading order, relative to the repository."""
    return [str(path.relative_to(ROOT)) for path in toc_notebooks()]


@contextmanager
def _locked_cache():
    """The cache is an SQLite database; the two test workers take turns writing to it."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE.parent / ".jupyter_cache.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield get_cache(str(CACHE))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _text(outputs) -> str:
    """What a cell printed or displayed as text (stream text, then text/plain of results)."""
    parts = []
    for out in outputs:
        if out.get("output_type") == "stream":
            parts.append(out["text"])
        elif "data" in out and "text/plain" in out["data"]:
            parts.append(out["data"]["text/plain"])
    return "".join(parts)


def _glued(nb) -> dict[str, str]:
    values = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            if name is not None:
                values[name] = out["data"][RECORD]
    return values


def _top_level(folder: Path) -> dict[str, float]:
    return {p.name: p.stat().st_mtime for p in folder.iterdir() if p.name != "_outputs"}


def execute_and_cache(path: Path):
    """Run the notebook at ``path`` from a cold kernel, as myst-nb does, and cache the result."""
    source = nbformat.read(path, as_version=4)
    nb = nbformat.from_dict(json.loads(json.dumps(source)))  # a copy to run
    timeout = yaml.safe_load((ROOT / "_config.yml").read_text())["execute"]["timeout"]
    result = single_nb_execution(nb, cwd=str(path.parent), timeout=timeout, allow_errors=False)
    if result.err is not None:
        pytest.fail(f"{path.name} failed:\n{result.exc_string}", pytrace=False)
    with _locked_cache() as cache:
        cache.cache_notebook_bundle(
            CacheBundleIn(nb, str(path), data={"execution_seconds": result.time}),
            check_validity=False,
            overwrite=True,
        )
    return source, nb


@pytest.mark.slow
@pytest.mark.parametrize("name", book_notebooks())
def test_notebook_runs_and_its_checked_outputs_hold(name, request):
    path = ROOT / name
    before = _top_level(path.parent)
    source, executed = execute_and_cache(path)
    # nothing is written next to the notebooks: each writes only into _outputs/<its stem>/
    assert _top_level(path.parent) == before
    for cell, ran in zip(source.cells, executed.cells, strict=True):
        if CHECK_TAG in cell.get("metadata", {}).get("tags", []):
            expected = _text(cell.get("outputs", []))
            assert expected, f"{name}: a '{CHECK_TAG}' cell has no stored output to compare with"
            assert _text(ran.outputs) == expected, f"{name}: the output of\n{cell.source}\nchanged"
    if name.endswith("05-fit-and-interpretation.ipynb"):
        _check_fit_numbers(_glued(executed), request.getfixturevalue("likelihood"),
                           request.getfixturevalue("fit_results"))  # fmt: skip


def _check_fit_numbers(glued: dict[str, str], likelihood, fit_results) -> None:
    """The best fit, its uncertainty and the observed limit the page states are those of the
    lesson's fit made here (the limit from a scan on the page's grid, confirmed by pyhf's CLs in
    test_standard_calls.py)."""
    from statlesson import limits

    i = fit_results.labels.index("mu_ttbar")
    mu, sigma = fit_results.bestfit[i], fit_results.uncertainty[i]
    assert float(glued["mu_hat"]) == pytest.approx(mu, abs=5e-4)
    assert float(glued["mu_err"]) == pytest.approx(sigma, rel=5e-3)
    pdf, data = likelihood
    grid = mu + sigma * np.linspace(-2, 2, 7)
    scan = limits.refit_scan(pdf, data, fit_results, "mu_ttbar", grid)
    assert float(glued["limit_obs"]) == pytest.approx(limits.observed_limit(scan), abs=1e-3)


def test_the_book_lists_every_notebook():
    on_disk = {f"episodes/{p.name}" for p in (ROOT / "episodes").glob("*.ipynb")}
    assert set(book_notebooks()) == on_disk

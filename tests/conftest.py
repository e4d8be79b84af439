"""Shared fixtures, and the order and grouping of the tests on the two workers.

The strict book build renders the notebooks that ``test_notebooks.py`` executed, so it runs last
(and apart: ``make test`` runs the tests marked ``book`` in a second step).
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


# The notebooks from the slowest down, so that the two workers finish at about the same time.
NOTEBOOK_ORDER = ("05-", "03-", "06-", "02-", "04-", "01-", "setup")


def _rank(item) -> tuple:
    if item.get_closest_marker("book") is not None:
        return (3, 0)  # last
    if "[" in item.nodeid:
        name = item.nodeid.split("[", 1)[1]
        slot = (k for k, prefix in enumerate(NOTEBOOK_ORDER) if prefix in name)
        slot = next(slot, len(NOTEBOOK_ORDER))  # a new notebook: after the known ones
    else:
        slot = len(NOTEBOOK_ORDER)
    if item.get_closest_marker("presenter") is not None:
        return (4, slot)  # beside the book build, in the second step, slowest first
    if item.nodeid.startswith("tests/test_notebooks.py") and "[" in item.nodeid:
        return (0, slot)
    return (1 if item.get_closest_marker("slow") is not None else 2, 0)


def pytest_collection_modifyitems(config, items):
    """Notebooks first (slowest first), then the slow tests, then the rest; the book build last.
    (``make test`` passes ``--no-loadscope-reorder``, or xdist would put the biggest files first.)"""
    items.sort(key=_rank)


def pytest_xdist_make_scheduler(config, log):
    """With ``--dist loadfile``, a test file runs whole on one worker (its module fixtures, such as
    the lesson's fit, are made once), except that each notebook and each presenter copy is its own
    unit, so that they run in parallel, and the book build and the site check are one unit."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class NotebooksApart(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.startswith(("tests/test_notebooks.py::test_notebook_runs",
                                  "tests/test_presenter_copies.py")):
                return nodeid
            if nodeid.startswith(("tests/test_book.py", "tests/test_site.py")):
                return "book"  # the build, then the site it built: one unit, in this order
            return super()._split_scope(nodeid)

    return NotebooksApart(config, log)


def pytest_configure(config):
    config.addinivalue_line("markers", "book: strict Jupyter Book build (runs last)")
    config.addinivalue_line("markers", "presenter: a presenter copy executed (runs last)")


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def regenerated(tmp_path_factory) -> Path:
    """All samples regenerated from scratch into a temporary folder (about 20 s)."""
    from statlesson.toy import data as toydata

    out = tmp_path_factory.mktemp("regenerated")
    toydata.write_all(out)
    return out


@pytest.fixture(scope="session")
def lesson_workspace(tmp_path_factory):
    """The lesson's workspace, built as episode 5 builds it: once per test worker (each worker is
    its own session with its own temporary folder, so workers share no files). Tests must not
    change it, nor the fit below: copy first."""
    import logging

    from statlesson import histograms, messages, modelspec

    messages.route_to_stdout(logging.ERROR)
    folder = tmp_path_factory.mktemp("likelihood")
    histograms.build_histograms(folder)
    return modelspec.build_workspace(modelspec.load_config(modelspec.config_file(), folder))


@pytest.fixture(scope="session")
def likelihood(lesson_workspace):
    """The lesson's model and observed data (``cabinetry.model_utils.model_and_data``)."""
    import cabinetry

    return cabinetry.model_utils.model_and_data(lesson_workspace)


@pytest.fixture(scope="session")
def fit_results(likelihood):
    """cabinetry's maximum-likelihood fit of the lesson's model to the pseudo-data."""
    import cabinetry

    pdf, data = likelihood
    results = cabinetry.fit.fit(pdf, data)
    for array in (results.bestfit, results.uncertainty, results.corr_mat):
        array.setflags(write=False)  # shared by every test of the worker: read only
    return results

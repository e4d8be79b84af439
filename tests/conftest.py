"""Shared fixtures. The strict book build re-executes every notebook, so it runs last."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(config, items):
    """Run the book build after the unit tests and the notebook checks."""
    items.sort(key=lambda item: item.get_closest_marker("book") is not None)


def pytest_configure(config):
    config.addinivalue_line("markers", "book: strict Jupyter Book build (runs last)")


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def regenerated(tmp_path_factory) -> Path:
    """All samples regenerated from scratch into a temporary folder (about 20 s)."""
    from statlesson import toydata

    out = tmp_path_factory.mktemp("regenerated")
    toydata.write_all(out)
    return out


@pytest.fixture(scope="module")
def lesson_workspace(tmp_path_factory):
    """The lesson's workspace, built as episode 5 builds it (per test module, so that modules
    running on different workers do not share files)."""
    import logging

    from statlesson import histograms, modelspec

    modelspec.route_logging_to_stdout(logging.ERROR)
    folder = tmp_path_factory.mktemp("likelihood")
    histograms.build_histograms(folder)
    return modelspec.build_workspace(modelspec.load_config(modelspec.config_file(), folder))


@pytest.fixture(scope="module")
def likelihood(lesson_workspace):
    """The lesson's model and observed data (``cabinetry.model_utils.model_and_data``)."""
    import cabinetry

    return cabinetry.model_utils.model_and_data(lesson_workspace)


@pytest.fixture(scope="module")
def fit_results(likelihood):
    """cabinetry's maximum-likelihood fit of the lesson's model to the pseudo-data."""
    import cabinetry

    pdf, data = likelihood
    return cabinetry.fit.fit(pdf, data)

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

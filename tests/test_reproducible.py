"""Two executions of the fit episode, each from a cold kernel in its own folder, agree exactly.

Every number the page shows in its prose is glued (myst-nb ``glue``); the best-fit values, the
uncertainties, the limit and the significance must come out bit for bit the same, whatever ran
before and wherever the episode writes its outputs.
"""

from __future__ import annotations

import shutil

import nbformat
import pytest
from nbclient import NotebookClient

EPISODE = "05-fit-and-interpretation.ipynb"
RECORD = "application/papermill.record/text/plain"


def _execute(source, folder):
    """Run a copy of the notebook in ``folder`` (its outputs go there) and return its glued values."""
    folder.mkdir()
    path = folder / source.name
    shutil.copy(source, path)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(folder)}}).execute()  # fmt: skip
    glued = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if name is not None:
                glued[name] = output["data"][RECORD]
    return glued


@pytest.mark.slow
def test_fit_episode_gives_identical_results_when_run_twice(root, tmp_path):
    source = root / "episodes" / EPISODE
    first = _execute(source, tmp_path / "first")
    second = _execute(source, tmp_path / "second")
    assert {"mu_hat", "mu_err", "limit_obs", "z_obs"} <= set(first)
    assert first == second
    for folder in ("first", "second"):  # each run wrote only into its own output folder
        written = {p.name for p in (tmp_path / folder).iterdir()}
        assert written == {EPISODE, "_outputs"}

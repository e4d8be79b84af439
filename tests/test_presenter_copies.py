"""Every presenter copy (``make presenter``: no "going further" cells, no solutions) runs top to
bottom in a fresh kernel, in a folder of its own: an instructor can live-code any episode's core
without the cells that were left out. Runs in ``make test``'s second step, beside the book build.

The extension episode has no "going further" sections: its presenter copy is the notebook without
its two solutions. It is not executed again here (25 s); ``test_lessonplan.py`` checks statically
that no cell after a solution reads a name that only the solution defines.
"""

from __future__ import annotations

import pytest

import lessonplan as plan


WITH_CORE = [path for path in plan.lesson_notebooks()
             if any(plan.OPTIONAL in plan.tags(cell)
                    for cell in plan.read(path).cells)]


@pytest.mark.presenter
def test_every_notebook_with_a_core_is_run():
    assert {path.stem for path in WITH_CORE} >= {"setup", "01-statistical-models",
                                                 "02-systematics", "03-variation-histograms",
                                                 "04-cabinetry-workspace",
                                                 "05-fit-and-interpretation"}


@pytest.mark.presenter
@pytest.mark.slow
@pytest.mark.parametrize("path", WITH_CORE, ids=lambda p: p.stem)
def test_presenter_copy_runs_in_order(path, tmp_path):
    copy = plan.presenter_copy(plan.read(path))
    executed = plan.execute(copy, tmp_path)
    codes = [cell for cell in executed.cells if cell.cell_type == "code"]
    assert codes and all(cell.execution_count is not None for cell in codes)
    errors = [output for cell in codes for output in cell.outputs
              if output.output_type == "error"]
    assert errors == []
    # it wrote only into its own folder, as the notebooks do into episodes/_outputs/
    written = {p.relative_to(tmp_path).parts[0] for p in tmp_path.rglob("*") if p.is_file()}
    assert written <= {"_outputs"}

"""The package's shape: the analysis never imports the generator, modules stay small, the package
docstring lists every module."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

import statlesson

PACKAGE = Path(statlesson.__file__).parent
#: The generator: a subpackage that no analysis module imports.
GENERATOR = {"toy"}
#: The analysis modules (the top level of the package).
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")
#: Every source file, the generator's included, by its path in the package.
SOURCES = sorted(str(p.relative_to(PACKAGE).with_suffix("")) for p in PACKAGE.rglob("*.py")
                 if p.name != "__init__.py")
#: A guide, not a reason to split a job: a module past it probably holds two jobs.
MAX_LINES = 450


def _imported_modules(source: str) -> set[str]:
    """statlesson modules imported by ``source`` (relative or absolute, any form)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level > 0 or module.startswith("statlesson"):
                base = module.removeprefix("statlesson").lstrip(".")
                if base:
                    found.add(base.split(".")[0])
                else:  # from . import x / from statlesson import x
                    found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("statlesson."):
                    found.add(alias.name.split(".")[1])
    return found


def test_import_scanner_sees_every_form():
    source = (
        "from . import toy\nfrom .toy.events import x\nimport statlesson.toy.detector\n"
        "from statlesson import histograms, toy as t\nfrom statlesson.ntuple import y\n"
        "from statlesson.toy import data\n"
    )
    assert _imported_modules(source) == {"toy", "histograms", "ntuple"}


def test_the_generator_is_a_subpackage_of_its_own():
    assert (PACKAGE / "toy" / "__init__.py").is_file()
    assert {s for s in SOURCES if s.startswith("toy/")} == {"toy/events", "toy/detector",
                                                            "toy/data"}  # fmt: skip
    assert not GENERATOR & set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_analysis_modules_do_not_import_the_generator(module):
    imported = _imported_modules((PACKAGE / f"{module}.py").read_text())
    assert not imported & GENERATOR, f"{module} imports {imported & GENERATOR}"


def test_episodes_do_not_import_the_generator(root):
    for path in sorted((root / "episodes").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        code = "\n".join(line for line in code.splitlines() if not line.startswith(("%", "!")))
        assert not _imported_modules(code) & GENERATOR, path.name


@pytest.mark.parametrize("module", SOURCES)
def test_modules_stay_small(module):
    lines = len((PACKAGE / f"{module}.py").read_text().splitlines())
    assert lines <= MAX_LINES, f"{module}.py has {lines} lines; split it by job"


def test_package_docstring_lists_every_module_in_pipeline_order():
    listed = re.findall(r"^    (\w+)\s{2,}\S", statlesson.__doc__, flags=re.MULTILINE)
    assert sorted(listed) == sorted([*MODULES, *GENERATOR])
    # pipeline order: the description first, the generator before the analysis that reads its
    # files, the filling before the model, the model before the fit
    order = listed.index
    assert order("catalogue") < order("toy") < order("corrections") < order("selection")
    assert order("histograms") < order("modelspec") < order("fitting") < order("limits")


MAX_CODE_LINE = 88  # characters: longer lines are cut off on the site and on a projector


def fenced_code(markdown: str) -> list[str]:
    """Lines of the fenced code blocks (```` ``` ```` or ``~~~``, with or without a language) of a
    Markdown text; MyST directives written as fences (```` ```{glossary} ````) are not code."""
    lines, fence = [], None
    for line in markdown.splitlines():
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            if fence is None and not stripped[3:].startswith("{"):
                fence = stripped[:3]
            elif fence is not None and stripped == fence:
                fence = None
            continue
        if fence is not None:
            lines.append(line)
    return lines


def test_fenced_code_is_what_is_between_the_fences():
    text = "a\n```python\nx = 1\n```\n```{glossary}\nterm\n```\n~~~\ny\n~~~"
    assert fenced_code(text) == ["x = 1", "y"]


def test_no_code_line_is_cut_off(root):
    """Code cells, and code blocks in the prose of notebooks and pages, fit the screen."""
    long_lines = []
    sources = [(path, json.loads(path.read_text())["cells"])
               for path in sorted((root / "episodes").glob("*.ipynb"))]
    sources += [(path, [{"cell_type": "markdown", "source": path.read_text()}])
                for path in [root / "intro.md", *sorted((root / "episodes").glob("*.md"))]]
    for path, cells in sources:
        for number, cell in enumerate(cells):
            text = "".join(cell["source"])
            if cell["cell_type"] == "code":
                lines = text.splitlines()
            elif cell["cell_type"] == "markdown":
                lines = fenced_code(text)
            else:
                continue
            for line in lines:
                if len(line) > MAX_CODE_LINE:
                    long_lines.append(f"{path.name} cell {number}: {len(line)} chars: {line}")
    assert not long_lines, "\n".join(long_lines)

"""The lesson's plan: time estimates from the notebooks, and presenter copies of the episodes.

**The estimate rule** (stated for instructors in ``episodes/instructor-notes.md``):

- teaching minutes = prose words / 130 + 1 per code cell typed live (1 per 15 lines started, for
  longer cells) + 1/2 per folded cell (tag ``hide-input``: the figure is shown and discussed, its
  code is not typed);
- exercise minutes are each exercise's own estimate, written at the end of its title, e.g.
  ``:::{exercise} Add a control region · 10 min``; an exercise's solution costs no teaching time;
- an in-class exercise (one in the core) asks for few **new lines**: the code lines of its
  solution (comments and blank lines aside) that do not appear in the exercise's text, which
  gives the names and the skeleton to copy. At most ``minutes - 2`` of them: 3 for 5 minutes.

Prose words are those of markdown cells outside exercises and solutions, without directive lines
(``:::{admonition}``, ``:class:``, ...). The **core** of an episode is every cell not tagged
``optional``; **full** is every cell. Exercises in "going further" sections are tagged ``optional``
too, so the core's exercises are the ones done in class.

**Presenter copy**: the episode without optional cells, without solutions (from
``{solution-start}`` to ``{solution-end}``, or a ``{solution}`` directive) and without outputs,
for an instructor to live-code from.

Run ``python tests/lessonplan.py estimates`` for the table of estimates (``--sections``: with
every going-further section, for the half-day plan), or
``python tests/lessonplan.py presenter OUTDIR`` (``make presenter``) for the presenter copies.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import copy
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
from bench_notebooks import toc_notebooks

ROOT = Path(__file__).resolve().parents[1]
WORDS_PER_MINUTE = 130
LIVE_CELL_MINUTES = 1.0  # per started LIVE_CELL_LINES non-blank lines
LIVE_CELL_LINES = 15
FOLDED_CELL_MINUTES = 0.5
OPTIONAL = "optional"
FOLDED = "hide-input"

DIRECTIVE = re.compile(r"^(:{3,})\{([a-z-]+)\}")
EXERCISE_TIME = re.compile(r"\s·\s*(\d+) min\s*$")
OPTION_LINE = re.compile(r"^:[a-z-]+:")


@dataclass(frozen=True)
class Estimate:
    """Minutes of one notebook: teaching and exercises, for its core and in full."""

    core_teaching: float
    core_exercises: float
    full_teaching: float
    full_exercises: float


def read(path: Path):
    """A notebook file, as an nbformat node."""
    return nbformat.read(path, as_version=4)


def tags(cell) -> list[str]:
    """The cell's notebook tags."""
    return list(cell.get("metadata", {}).get("tags", []))


def directive(cell) -> str | None:
    """Name of the directive a markdown cell opens with (``exercise``, ``solution-start``, ...)."""
    if cell["cell_type"] != "markdown":
        return None
    match = DIRECTIVE.match(cell["source"].lstrip())
    return match.group(2) if match else None


def roles(nb) -> list[str]:
    """Each cell's role: ``prose``, ``live``, ``folded``, ``exercise`` or ``solution``.

    Raises:
        ValueError: a markdown cell mixes an exercise or solution marker with other text (the
            presenter copy could not drop the solution alone), or solution markers do not pair up.
    """
    out, in_solution = [], False
    for index, cell in enumerate(nb.cells):
        name = directive(cell)
        if cell["cell_type"] == "markdown":
            body = cell["source"].strip()
            for marker in ("{exercise}", "{solution-start}", "{solution-end}", "{solution}"):
                if marker in body and not body.startswith(":::"):
                    raise ValueError(
                        f"cell {index}: {marker} shares a markdown cell with other text; put "
                        "exercise and solution markers in cells of their own")
        if name == "solution-start":
            if in_solution:
                raise ValueError(f"cell {index}: solution-start inside an open solution")
            in_solution = True
            out.append("solution")
        elif name == "solution-end":
            if not in_solution:
                raise ValueError(f"cell {index}: solution-end without a solution-start")
            in_solution = False
            out.append("solution")
        elif in_solution or name == "solution":
            out.append("solution")
        elif name == "exercise":
            out.append("exercise")
        elif cell["cell_type"] == "markdown":
            out.append("prose")
        elif cell["cell_type"] == "code":
            out.append("folded" if FOLDED in tags(cell) else "live")
        else:
            out.append("other")
    if in_solution:
        raise ValueError("a solution-start has no solution-end")
    return out


def prose_words(source: str) -> int:
    """Words of a markdown cell, without directive fences, option lines and heading marks."""
    lines = [line for line in source.splitlines()
             if not DIRECTIVE.match(line.strip()) and not OPTION_LINE.match(line.strip())
             and line.strip() != ":" * len(line.strip())]
    text = re.sub(r"<!--.*?-->", " ", "\n".join(lines), flags=re.S)
    text = re.sub(r"^#+\s", "", text, flags=re.M)  # heading marks are not words
    return len(text.split())


def exercise_minutes(cell) -> float:
    """The estimate at the end of an exercise's title, e.g. ``· 10 min``."""
    title = cell["source"].lstrip().splitlines()[0]
    match = EXERCISE_TIME.search(title)
    if match is None:
        raise ValueError(f"exercise {title!r} has no time estimate: end its title with ' · N min'")
    return float(match.group(1))


def cell_minutes(cell, role: str) -> tuple[float, float]:
    """(teaching, exercise) minutes of one cell under the rule."""
    if role == "prose":
        return prose_words(cell["source"]) / WORDS_PER_MINUTE, 0.0
    if role == "live":
        lines = sum(1 for line in cell["source"].splitlines() if line.strip())
        return LIVE_CELL_MINUTES * max(1, math.ceil(lines / LIVE_CELL_LINES)), 0.0
    if role == "folded":
        return FOLDED_CELL_MINUTES, 0.0
    if role == "exercise":
        return 0.0, exercise_minutes(cell)
    return 0.0, 0.0


NEW_LINES_SLACK_MIN = 2  # minutes of an exercise that are not for typing new lines


def _code_part(line: str) -> str:
    return line.split("#", 1)[0].strip()


def exercise_new_lines(nb) -> list[tuple[int, float, int, list[str]]]:
    """For each exercise: (cell index, minutes, number of new lines, the new lines).

    The new lines are the solution's code lines, without comments, that do not appear in the
    exercise's text (see the module docstring); the solution is every solution cell after the
    exercise, up to the next exercise.
    """
    out, current = [], None
    for index, (cell, role) in enumerate(zip(nb.cells, roles(nb))):
        if role == "exercise":
            known = {_code_part(line) for line in cell["source"].splitlines()}
            current = [index, exercise_minutes(cell), known, []]
            out.append(current)
        elif role == "solution" and cell["cell_type"] == "code" and current is not None:
            for line in cell["source"].splitlines():
                code = _code_part(line)
                if code and code not in current[2]:
                    current[3].append(code)
    return [(i, minutes, len(new), new) for i, minutes, _, new in out]


def estimate(nb) -> Estimate:
    """The notebook's minutes under the rule (see the module docstring)."""
    if isinstance(nb, (str, Path)):
        nb = read(nb)
    core_t = core_e = full_t = full_e = 0.0
    for cell, role in zip(nb.cells, roles(nb)):
        teaching, exercise = cell_minutes(cell, role)
        full_t += teaching
        full_e += exercise
        if OPTIONAL not in tags(cell):
            core_t += teaching
            core_e += exercise
    return Estimate(core_t, core_e, full_t, full_e)


HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*$")
GOING_FURTHER = "Going further:"


def headings(source: str) -> list[tuple[int, int, str]]:
    """(line number, level, text) of the Markdown headings of a cell, outside code fences."""
    found, fence = [], None
    for number, line in enumerate(source.splitlines()):
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            marker = stripped[:3]
            fence = None if fence == marker else (fence or marker)
            continue
        match = HEADING.match(line)
        if match and fence is None:
            found.append((number, len(match.group(1)), match.group(2)))
    return found


def going_further_sections(nb) -> list[str | None]:
    """For each cell, the title of the "Going further: ..." section it belongs to, or None.

    Such a section runs from its heading to the next heading of the same or a higher level.

    Raises:
        ValueError: a heading that starts or ends such a section is not the first line of its
            cell (the cells before and after it could not be told apart).
    """
    out: list[str | None] = []
    level, title = 0, None
    for index, cell in enumerate(nb.cells):
        if cell["cell_type"] == "markdown":
            lines = cell["source"].splitlines()
            start = next((n for n, line in enumerate(lines) if line.strip()), 0)
            for number, depth, text in headings(cell["source"]):
                before = title
                if title is not None and depth <= level:
                    level, title = 0, None
                if title is None and text.startswith(GOING_FURTHER):
                    level, title = depth, text
                if title != before and number != start:
                    raise ValueError(f"cell {index}: the heading {text!r} starts or ends a "
                                     "going-further section but is not the first line of its "
                                     "cell; split the cell there")
        out.append(title)  # only a cell's opening heading can change it (checked above)
    return out


def marking_problems(nb) -> list[str]:
    """Cells tagged ``optional`` outside a going-further section, or untagged inside one."""
    problems = []
    for index, (cell, section) in enumerate(zip(nb.cells, going_further_sections(nb))):
        tagged = OPTIONAL in tags(cell)
        if tagged and section is None:
            problems.append(f"cell {index} is tagged {OPTIONAL!r} outside a 'Going further' "
                            "section")
        elif section is not None and not tagged:
            problems.append(f"cell {index} in {section!r} is not tagged {OPTIONAL!r}")
    return problems


def section_minutes(nb) -> dict[str, tuple[float, float]]:
    """(teaching, exercise) minutes of each going-further section, by its title."""
    out: dict[str, tuple[float, float]] = {}
    for cell, role, section in zip(nb.cells, roles(nb), going_further_sections(nb)):
        if section is None:
            continue
        teaching, exercise = cell_minutes(cell, role)
        old = out.get(section, (0.0, 0.0))
        out[section] = (old[0] + teaching, old[1] + exercise)
    return out


def presenter_copy(nb):
    """The notebook without optional cells, solutions and outputs (a new notebook)."""
    out = copy.deepcopy(nb)
    keep = [role != "solution" and OPTIONAL not in tags(cell)
            for cell, role in zip(nb.cells, roles(nb))]
    out.cells = [cell for cell, k in zip(out.cells, keep) if k]
    for cell in out.cells:
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    return out


# --------------------------------------------------------------------------------------------------
# Names a cell reads before any kept cell defined them


class _Names(ast.NodeVisitor):
    """Names a cell binds at top level, and names it reads that it has not bound before."""

    def __init__(self, known: set[str]):
        self.known = set(known)
        self.missing: list[str] = []

    def visit_Import(self, node):  # noqa: N802 (ast visitor API)
        for alias in node.names:
            self.known.add((alias.asname or alias.name).split(".")[0])

    visit_ImportFrom = visit_Import  # noqa: N815

    def visit_FunctionDef(self, node):  # noqa: N802
        for default in node.args.defaults + node.args.kw_defaults:
            if default is not None:
                self.visit(default)
        self.known.add(node.name)

    visit_AsyncFunctionDef = visit_FunctionDef  # noqa: N815

    def visit_ClassDef(self, node):  # noqa: N802
        self.known.add(node.name)

    def visit_Lambda(self, node):  # noqa: N802
        pass

    def _comprehension(self, node):
        inner = _Names(self.known)
        for generator in node.generators:
            inner.visit(generator.iter)
            inner._target(generator.target)
            for condition in generator.ifs:
                inner.visit(condition)
        for part in ("elt", "key", "value"):
            if hasattr(node, part):
                inner.visit(getattr(node, part))
        self.missing += inner.missing

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _comprehension

    def visit_Assign(self, node):  # noqa: N802
        self.visit(node.value)
        for target in node.targets:
            self._target(target)

    def visit_AnnAssign(self, node):  # noqa: N802
        if node.value is not None:
            self.visit(node.value)
        self._target(node.target)

    def visit_AugAssign(self, node):  # noqa: N802
        self.visit(node.value)
        self.visit(node.target if not isinstance(node.target, ast.Name)
                   else ast.Name(id=node.target.id, ctx=ast.Load()))

    def visit_NamedExpr(self, node):  # noqa: N802
        self.visit(node.value)
        self._target(node.target)

    def _target(self, target):
        if isinstance(target, ast.Name):
            self.known.add(target.id)
        elif isinstance(target, (ast.Tuple, ast.List, ast.Starred)):
            for element in getattr(target, "elts", [getattr(target, "value", None)]):
                if element is not None:
                    self._target(element)
        else:  # x[i] = ..., x.a = ...: reads x
            self.visit(target)

    def visit_For(self, node):  # noqa: N802
        self.visit(node.iter)
        self._target(node.target)
        for statement in node.body + node.orelse:
            self.visit(statement)

    def visit_With(self, node):  # noqa: N802
        for item in node.items:
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                self._target(item.optional_vars)
        for statement in node.body:
            self.visit(statement)

    def visit_ExceptHandler(self, node):  # noqa: N802
        if node.type is not None:
            self.visit(node.type)
        if node.name:
            self.known.add(node.name)
        for statement in node.body:
            self.visit(statement)

    def visit_Name(self, node):  # noqa: N802
        if isinstance(node.ctx, ast.Load) and node.id not in self.known:
            self.missing.append(node.id)
        elif not isinstance(node.ctx, ast.Load):
            self.known.add(node.id)


def undefined_names(nb) -> list[tuple[int, str]]:
    """(cell number, name) for every name a code cell reads before any earlier cell defined it.

    Cells run in order; a name counts as defined once an earlier statement (assignment, import,
    ``def``, ``for`` target, ...) bound it. Names of Python's builtins and IPython's ``display``
    and ``get_ipython`` are known from the start. Lines starting with ``%`` or ``!`` are skipped.
    """
    known = set(dir(builtins)) | {"display", "get_ipython", "__file__"}
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell["cell_type"] != "code":
            continue
        source = "\n".join(line for line in cell["source"].splitlines()
                           if not line.lstrip().startswith(("%", "!")))
        visitor = _Names(known)
        visitor.visit(ast.parse(source))
        problems += [(index, name) for name in dict.fromkeys(visitor.missing)]
        known = visitor.known
    return problems


# --------------------------------------------------------------------------------------------------
# Command line


def lesson_notebooks() -> list[Path]:
    """The notebooks of the book, in order (from ``_toc.yml``)."""
    return toc_notebooks()


def write_presenter_copies(outdir: Path) -> list[Path]:
    """Write a presenter copy of every notebook of the book into ``outdir``."""
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in lesson_notebooks():
        copy_nb = presenter_copy(read(path))
        missing = undefined_names(copy_nb)
        if missing:
            raise SystemExit(f"{path.name}: the presenter copy reads names that only optional "
                             f"cells or solutions define: {missing}")
        target = outdir / path.name
        nbformat.write(copy_nb, target)
        written.append(target)
    return written


def execute(nb, cwd: Path, timeout: int = 120):
    """Run every code cell of ``nb`` in order in a fresh kernel started in ``cwd``; return it.

    Raises:
        nbclient.exceptions.CellExecutionError: a cell failed (the message names it).
    """
    from nbclient import NotebookClient

    cwd.mkdir(parents=True, exist_ok=True)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    estimates = sub.add_parser("estimates",
                               help="print the minutes of every notebook under the rule")
    estimates.add_argument("--sections", action="store_true",
                           help="also the minutes of every going-further section (for the plans)")
    presenter = sub.add_parser("presenter", help="write presenter copies of the episodes")
    presenter.add_argument("outdir", type=Path)
    run = sub.add_parser("run", help="write one presenter copy into OUTDIR and execute it there")
    run.add_argument("notebook", type=Path)
    run.add_argument("outdir", type=Path)
    args = parser.parse_args(argv)
    if args.command == "run":
        copy_nb = presenter_copy(read(args.notebook))
        print("names read before they are defined:", undefined_names(copy_nb) or "none")
        execute(copy_nb, args.outdir)
        nbformat.write(copy_nb, args.outdir / args.notebook.name)
        print(f"ran {len(copy_nb.cells)} cells; executed copy: {args.outdir / args.notebook.name}")
        return 0
    if args.command == "presenter":
        for target in write_presenter_copies(args.outdir):
            print(f"wrote {target}")
        return 0
    print(f"{'notebook':34s} {'core teach':>10s} {'core ex':>8s} {'full teach':>10s} "
          f"{'full ex':>8s}")
    for path in lesson_notebooks():
        e = estimate(path)
        print(f"{path.stem:34s} {e.core_teaching:10.1f} {e.core_exercises:8.1f} "
              f"{e.full_teaching:10.1f} {e.full_exercises:8.1f}")
        if args.sections:
            for title, (teaching, exercises) in section_minutes(read(path)).items():
                print(f"  {title[len(GOING_FURTHER):].strip()[:60]:60s} {teaching:5.1f} min "
                      f"+ {exercises:.0f} min exercises")
    return 0


if __name__ == "__main__":
    sys.exit(main())

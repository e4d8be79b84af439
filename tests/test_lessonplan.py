"""The lesson's plan: the timing rule, "going further" marks, the three schedules; presenter copies.

The rule and the presenter copy are in ``tests/lessonplan.py``. Here: the rule on small notebooks
made for the test; every notebook of the book marked consistently; the front matter of every
episode, the landing page's schedule and the instructor notes' three plans agreeing with the rule
within 15 %; the core of setup and episodes 1-5 within 90 minutes of teaching; and each presenter
copy free of solutions and optional cells, with every remaining code cell running in order (the
execution is in ``test_presenter_copies.py``).
"""

from __future__ import annotations

import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

import lessonplan as plan

TOLERANCE = 0.15  # the schedules may differ from the rule by this fraction ...
ROUNDING_MIN = 0.5  # ... or by rounding to whole minutes, whichever is larger
CORE_BUDGET_MIN = 90.0
#: The 90-minute plan ends here: a 90-minute slot keeps 10 minutes for questions and trouble.
SLOT_PLAN_MIN = 80
INTRO = plan.ROOT / "intro.md"
NOTES = plan.ROOT / "episodes" / "instructor-notes.md"
FRONT_CORE = re.compile(r"\*Core: (\d+) min teaching, (\d+) min exercises · "
                        r"In full: (\d+) min teaching, (\d+) min exercises\*")
FRONT_EXTENSION = re.compile(r"\*Extension, not part of the core: (\d+) min teaching, "
                             r"(\d+) min exercises\*")


def notebook(*cells):
    return new_notebook(cells=list(cells))


def md(text, *tags):
    return new_markdown_cell(text, metadata={"tags": list(tags)} if tags else {})


def code(text, *tags):
    return new_code_cell(text, metadata={"tags": list(tags)} if tags else {})


def words(n):
    return " ".join(["word"] * n)


EXERCISE = md(":::{exercise} Try it · 10 min\n:label: ex-try\n" + words(500) + "\n:::")
SOLUTION = [md(":::{solution-start} ex-try\n:class: dropdown\n:::"),
            code("answer = 42"), md("SOLUTION TEXT " + words(300)), md(":::{solution-end}\n:::")]


# --------------------------------------------------------------------------------------------------
# The rule, on notebooks made here


def test_the_rule_counts_prose_cells_and_exercises():
    nb = notebook(md("# Title\n\n" + words(259)), code("x = 1"), code("plot(x)", "hide-input"),
                  EXERCISE, *SOLUTION,
                  md("## Going further: more", "optional"), md(words(130), "optional"),
                  code("y = x", "optional"))
    e = plan.estimate(nb)
    # 260 words / 130 per minute + 1 live cell + half a folded one; exercise and solution: none
    assert e.core_teaching == pytest.approx(2 + 1 + 0.5)
    assert e.core_exercises == 10
    assert e.full_teaching == pytest.approx(3.5 + (3 + 130) / 130 + 1)
    assert e.full_exercises == 10


def test_a_long_code_cell_counts_a_minute_per_15_lines():
    long_cell = "\n\n".join(f"x{i} = {i}" for i in range(16))  # 16 lines (blank ones not counted)
    times = [plan.estimate(notebook(code(source))).core_teaching
             for source in ("x = 1", "\n".join(["x = 1"] * 15), long_cell)]
    assert times == [1.0, 1.0, 2.0]


def test_directive_lines_are_not_words():
    nb = notebook(md(":::{admonition} Questions\n:class: tip\n" + words(130) + "\n:::"))
    assert plan.estimate(nb).core_teaching == pytest.approx(1.0)  # the title line neither


def test_an_optional_exercise_is_not_in_the_core():
    optional_exercise = md(EXERCISE.source, "optional")
    e = plan.estimate(notebook(md("## Going further: x", "optional"), optional_exercise))
    assert (e.core_exercises, e.full_exercises) == (0, 10)


@pytest.mark.parametrize("cells, words_in_message", [
    ([md(":::{exercise} No time given\n:::")], ["No time given", "· N min"]),
    ([md("Some text.\n\n:::{exercise} Mixed · 5 min\n:::")], ["{exercise}", "cells of their own"]),
    ([SOLUTION[0], code("x = 1")], ["no solution-end"]),
    ([SOLUTION[-1]], ["solution-end without"]),
])
def test_malformed_exercises_are_refused(cells, words_in_message):
    with pytest.raises(ValueError) as error:
        plan.estimate(notebook(*cells))
    for word in words_in_message:
        assert word in str(error.value)


# --------------------------------------------------------------------------------------------------
# Going-further sections


def test_a_section_ends_at_the_next_heading_of_its_level_or_higher():
    nb = notebook(md("## Core"), md("### Going further: a"), md("text"), md("#### deeper"),
                  md("### Core again"), md("## Going further: b"), md("### sub"), md("# Top"))
    assert plan.going_further_sections(nb) == [
        None, "Going further: a", "Going further: a", "Going further: a", None,
        "Going further: b", "Going further: b", None]


def test_headings_in_code_fences_are_not_headings():
    nb = notebook(md("## Going further: a"), md("```bash\n# a comment\n```"), md("## Next"))
    assert plan.going_further_sections(nb) == ["Going further: a", "Going further: a", None]


def test_a_section_heading_must_open_its_cell():
    with pytest.raises(ValueError, match="split the cell"):
        plan.going_further_sections(notebook(md("Core text.\n\n## Going further: a")))


def test_marking_problems_name_the_cell():
    nb = notebook(md("## Core"), code("x = 1", "optional"), md("## Going further: a"),
                  code("y = 2"))
    problems = plan.marking_problems(nb)
    assert any("cell 1" in p and "outside" in p for p in problems)
    assert any("cell 2" in p and "not tagged" in p for p in problems)
    assert any("cell 3" in p for p in problems)


def test_section_minutes():
    nb = notebook(md("## Going further: a", "optional"), md(words(130), "optional"),
                  code("x", "optional"), md("## Going further: b", "optional"),
                  md(EXERCISE.source, "optional"))
    minutes = plan.section_minutes(nb)
    assert minutes["Going further: a"] == pytest.approx((3 / 130 + 1 + 1, 0))
    assert minutes["Going further: b"] == pytest.approx((3 / 130, 10))


# --------------------------------------------------------------------------------------------------
# Presenter copies, on a notebook made here


def test_presenter_copy_drops_solutions_optional_cells_and_outputs():
    live = code("x = 1")
    live.outputs = [nbformat.v4.new_output("stream", text="1\n")]
    nb = notebook(md("# T"), live, EXERCISE, *SOLUTION, md("## Going further: a", "optional"),
                  code("z = x", "optional"), md("## Keypoints"))
    copy = plan.presenter_copy(nb)
    sources = [cell.source for cell in copy.cells]
    assert sources == ["# T", "x = 1", EXERCISE.source, "## Keypoints"]
    assert copy.cells[1].outputs == []
    assert nb.cells[1].outputs  # the original is untouched


@pytest.mark.parametrize("source, missing", [
    ("print(y)", ["y"]),
    ("y = y + 1", ["y"]),
    ("for i in range(3):\n    total += i", ["total"]),
    ("import numpy as np\nnp.sum([k for k in range(3)])", []),
    ("total = sum(k for k in range(3))\nprint(k)", ["k"]),  # a comprehension's own scope
    ("def f(a, b=c):\n    return a + undefined_inside", ["c"]),
    ("x, (y, z) = 1, (2, 3)\nprint(x + y + z)", []),
    ("with open('f') as fh:\n    fh.read()", []),
    ("d = {k: v for k, v in {}.items()}\nd['a'] = w", ["w"]),
    ("%matplotlib inline\ndisplay(1)", []),
])
def test_undefined_names(source, missing):
    assert [name for _, name in plan.undefined_names(notebook(code(source)))] == missing


def test_undefined_names_sees_a_name_that_only_a_dropped_cell_defines():
    nb = notebook(code("import numpy as np"), code("model = np.ones(3)", "optional"),
                  code("print(model)"))
    assert plan.undefined_names(nb) == []
    assert plan.undefined_names(plan.presenter_copy(nb)) == [(1, "model")]


# --------------------------------------------------------------------------------------------------
# The lesson's notebooks


NOTEBOOKS = plan.lesson_notebooks()
BY_STEM = {path.stem: path for path in NOTEBOOKS}
EXTENSION = {"06-scaling-out"}
CORE_NOTEBOOKS = [path for path in NOTEBOOKS if path.stem not in EXTENSION]


@pytest.fixture(scope="module")
def estimates():
    return {stem: plan.estimate(path) for stem, path in BY_STEM.items()}


def close(stated: float, computed: float) -> bool:
    return abs(stated - computed) <= max(TOLERANCE * computed, ROUNDING_MIN)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_going_further_is_marked_consistently(path):
    nb = plan.read(path)
    assert plan.marking_problems(nb) == []
    if path.stem not in EXTENSION:
        assert any(plan.going_further_sections(nb)), "no 'Going further' section"
    # the title cell, the keypoints and what comes next are core
    assert plan.OPTIONAL not in plan.tags(nb.cells[0])
    keypoints = [c for c in nb.cells if c.cell_type == "markdown" and "## Keypoints" in c.source]
    assert all(plan.OPTIONAL not in plan.tags(c) for c in keypoints)


def test_the_core_of_setup_and_episodes_1_to_5_fits_90_minutes(estimates):
    core = sum(estimates[path.stem].core_teaching for path in CORE_NOTEBOOKS)
    full = sum(estimates[path.stem].full_teaching for path in CORE_NOTEBOOKS)
    assert core <= CORE_BUDGET_MIN, f"core teaching {core:.0f} min"
    assert full > 2 * core  # and most of the material is still there, as going further
    # with the setup done beforehand, teaching and in-class exercises leave 10 minutes of slack
    taught = sum(estimates[path.stem].core_teaching + estimates[path.stem].core_exercises
                 for path in CORE_NOTEBOOKS if path.stem != "setup")
    assert taught <= SLOT_PLAN_MIN, f"core teaching and in-class exercises {taught:.1f} min"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_in_class_exercises_ask_for_few_new_lines(path):
    """An exercise of the core gives the names and the skeleton: its solution adds at most
    minutes - 2 code lines that the exercise's text does not contain."""
    nb = plan.read(path)
    for index, minutes, n_new, new in plan.exercise_new_lines(nb):
        if plan.OPTIONAL in plan.tags(nb.cells[index]):
            continue  # homework, not in class
        allowed = minutes - plan.NEW_LINES_SLACK_MIN
        assert n_new <= allowed, (f"cell {index}: {n_new} new lines for {minutes:.0f} min "
                                  f"(at most {allowed:.0f}): {new}")


def test_new_lines_count_what_the_text_does_not_give():
    nb = new_notebook(cells=[
        new_markdown_cell(
            ":::{exercise} Try · 5 min\n:label: ex-t\n```python\nx = f(1)\ny = ...\n```\n:::"),
        new_markdown_cell(":::{solution-start} ex-t\n:::"),
        new_code_cell("x = f(1)  # given\n\n# a comment\ny = g(x)\nprint(y)"),
        new_markdown_cell(":::{solution-end}\n:::"),
    ])
    ((index, minutes, n_new, new),) = plan.exercise_new_lines(nb)
    assert (index, minutes, n_new, new) == (0, 5.0, 2, ["y = g(x)", "print(y)"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_front_matter_states_the_estimate(path, estimates):
    e = estimates[path.stem]
    first = plan.read(path).cells[0].source
    if path.stem in EXTENSION:
        match = FRONT_EXTENSION.search(first)
        assert match, "the first cell must state '*Extension, not part of the core: ...*'"
        expected = (e.full_teaching, e.full_exercises)
    else:
        match = FRONT_CORE.search(first)
        assert match, "the first cell must state '*Core: A min teaching, B min exercises · ...*'"
        expected = (e.core_teaching, e.core_exercises, e.full_teaching, e.full_exercises)
    stated = [float(number) for number in match.groups()]
    for s, x in zip(stated, expected):
        assert close(s, x), f"front matter says {stated}, the rule gives {expected}"


def table_rows(text: str) -> list[list[str]]:
    """The rows of the first Markdown table in ``text`` (header and separator dropped)."""
    rows = [line for line in text.splitlines() if line.startswith("|")]
    cells = [[c.strip() for c in row.strip().strip("|").split("|")] for row in rows]
    return cells[2:]


def minutes(cell: str) -> float:
    match = re.search(r"(\d+) min", cell)
    assert match, f"no 'N min' in {cell!r}"
    return float(match.group(1))


def linked_stem(cell: str) -> str | None:
    match = re.search(r"\(([^)]*?)([\w-]+)\.ipynb\)", cell)
    return match.group(2) if match else None


def test_landing_page_schedule_states_the_estimates(estimates):
    text = INTRO.read_text()
    rows = table_rows(text[text.index("## Schedule"):])
    seen = set()
    for row in rows:
        stem = linked_stem(row[0])
        if stem is None:
            continue
        e = estimates[stem]
        stated = [minutes(c) for c in row[1:5]]
        expected = ([e.full_teaching, e.full_exercises] * 2 if stem in EXTENSION else
                    [e.core_teaching, e.core_exercises, e.full_teaching, e.full_exercises])
        assert all(close(s, x) for s, x in zip(stated, expected)), (stem, stated, expected)
        seen.add(stem)
    assert seen == {path.stem for path in NOTEBOOKS}
    total = next(row for row in rows if row[0].startswith("**Total"))
    core = [sum(getattr(estimates[p.stem], f) for p in CORE_NOTEBOOKS)
            for f in ("core_teaching", "core_exercises", "full_teaching", "full_exercises")]
    assert all(close(minutes(s), x) for s, x in zip(total[1:5], core)), (total, core)


def plan_rows(title: str) -> list[list[str]]:
    text = NOTES.read_text()
    start = text.index(f"### {title}")
    end = text.find("\n##", start + 4)
    return table_rows(text[start:end if end > 0 else None])


def clock(cell: str) -> int:
    hours, mins = re.fullmatch(r"(\d+):(\d\d)", cell).groups()
    return 60 * int(hours) + int(mins)


@pytest.mark.parametrize("title, full", [("The 90-minute plan", False),
                                         ("The half-day plan", False),
                                         ("The full-day plan", True)])
def test_instructor_plans_state_the_estimates_and_add_up(title, full, estimates):
    """Each row's teaching and exercises follow the rule; the start times add them up.

    Columns: start, episode, teaching, exercises, and in the half-day plan the going-further
    sections taught in class besides the core (by title, separated by ';'). In the 90-minute plan
    only the setup is done before the lesson (start "before"); the rest ends within 90 minutes.
    """
    rows = plan_rows(title)
    episodes = [row for row in rows if linked_stem(row[1])]
    for row in episodes:
        stem = linked_stem(row[1])
        e = estimates[stem]
        if full or stem in EXTENSION:
            expected = [e.full_teaching, e.full_exercises]
        else:
            expected = [e.core_teaching, e.core_exercises]
            sections = plan.section_minutes(plan.read(BY_STEM[stem]))
            for name in filter(None, (n.strip() for n in (row[4:5] or [""])[0].split(";"))):
                teaching, exercises = sections[f"Going further: {name}"]
                expected = [expected[0] + teaching, expected[1] + exercises]
        stated = [minutes(row[2]), minutes(row[3])]
        assert all(close(s, x) for s, x in zip(stated, expected)), (title, stem, stated, expected)
    timed = [row for row in rows if re.fullmatch(r"\d+:\d\d", row[0])]  # not "before"
    for row, after in zip(timed, timed[1:]):
        length = (minutes(row[1]) if not linked_stem(row[1])
                  else minutes(row[2]) + minutes(row[3]))
        assert clock(after[0]) == clock(row[0]) + length, (title, row, after)
    covered = {linked_stem(row[1]) for row in episodes}
    assert covered >= {path.stem for path in CORE_NOTEBOOKS}
    if title == "The 90-minute plan":
        assert clock(timed[-1][0]) <= SLOT_PLAN_MIN
        assert [linked_stem(row[1]) for row in rows if row not in timed] == ["setup"]


def test_the_rule_is_stated_in_the_instructor_notes():
    text = NOTES.read_text()
    assert f"{plan.WORDS_PER_MINUTE} words" in text
    assert "1 minute per code cell" in text and "half a minute" in text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_presenter_copy_has_no_solution_and_no_optional_cell(path):
    nb = plan.read(path)
    copy = plan.presenter_copy(nb)
    assert not any(plan.OPTIONAL in plan.tags(cell) for cell in copy.cells)
    assert "solution" not in plan.roles(copy)
    kept = {cell.source for cell in copy.cells}
    for cell, role in zip(nb.cells, plan.roles(nb)):
        if role == "solution" and cell.source.strip() not in {"", ":::"}:
            assert cell.source not in kept
    assert not any(":::{solution" in cell.source for cell in copy.cells)
    assert plan.undefined_names(copy) == []


def test_episode_2_core_names_every_systematic_of_the_model():
    """The core of episode 2 introduces every systematic by its name in the configuration, so
    that no later core cell uses one the core has not introduced (the model can only contain
    the catalogue's systematics: tests/test_model.py checks the configuration against it)."""
    from statlesson import catalogue

    nb = plan.read(plan.ROOT / "episodes" / "02-systematics.ipynb")
    core = "\n".join(cell.source for cell in nb.cells
                     if cell.cell_type == "markdown" and plan.OPTIONAL not in plan.tags(cell))
    missing = [name for name in catalogue.SYSTEMATICS if f"`{name}`" not in core]
    assert missing == [], f"episode 2's core does not name {missing}"

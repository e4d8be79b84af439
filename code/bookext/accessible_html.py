"""Sphinx extension: two pieces of HTML that the accessibility check (axe-core in
tests/test_site.py) finds wrong, as docutils and myst-nb write them, written right.

- Citations (the references page): docutils gives each entry the DPUB-ARIA role
  ``doc-biblioentry``, deprecated since DPUB-ARIA 1.1 and not a list item, so the ``role="list"``
  around the entries has no items. Each entry becomes a ``listitem``.
- Hidden code cells (tags ``hide-input``, ``hide-output``, ``hide-cell``): myst-nb names their
  ``<summary>`` "Toggle hidden content" (``aria-label``) while it shows "Show code cell source".
  Without the label, the summary is named by what it shows, as speech input and screen readers
  expect.

Both wrap the original visitor and change only the markup it wrote, so the rest follows docutils
and myst-nb. Loaded from _config.yml (``local_extensions`` puts this folder on the path).
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from myst_nb.sphinx_ import HideCodeCellNode, depart_HideCellInput, visit_HideCellInput
from sphinx.application import Sphinx


def _replace_since(translator: Any, start: int, old: str, new: str) -> None:
    """Replace ``old`` with ``new`` in the HTML appended to the page body from ``start`` on."""
    for i in range(start, len(translator.body)):
        translator.body[i] = translator.body[i].replace(old, new)


def visit_citation(self: Any, node: nodes.citation) -> None:
    start = len(self.body)
    type(self).visit_citation(self, node)  # the translator's own: docutils'
    _replace_since(self, start, 'role="doc-biblioentry"', 'role="listitem"')


def visit_hidden_cell(self: Any, node: HideCodeCellNode) -> None:
    start = len(self.body)
    visit_HideCellInput(self, node)
    _replace_since(self, start, '<summary aria-label="Toggle hidden content">', "<summary>")


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("myst_nb")  # registered after myst-nb, so that these visitors win
    # no depart function: the translator's own (docutils') stays
    app.add_node(nodes.citation, override=True, html=(visit_citation, None))
    app.add_node(HideCodeCellNode, override=True, html=(visit_hidden_cell, depart_HideCellInput))
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""The look of the figures, without any data: style, presentation mode, labels, figure layouts.

The split of the two plotting modules: this one decides how a figure looks (mplhep's CMS style,
the experiment label, fonts for the projector, panels side by side or with a ratio panel below);
:mod:`statlesson.histplots` draws data into such figures (histograms, ratios, results).
Plot helpers take ``ax=None`` (a new figure is made) and return the axes; they never call
``plt.show()`` or save files.
"""

from __future__ import annotations

import logging

import hist
import matplotlib as mpl
import matplotlib.pyplot as plt
import mplhep
import numpy as np
from matplotlib.axes import Axes

from .catalogue import LUMI_DATA_PB

__all__ = [
    "toy_label",
    "events_label",
    "figure_width",
    "panels",
    "presentation_mode",
    "ratio_axes",
    "room_for_legend",
    "use_style",
]

#: Normal notebook reading: the CMS style with a slightly smaller base font for 10 x 7.5 in figures.
_READING_RC = {"font.size": 20.0, "figure.figsize": (10.0, 7.5), "figure.dpi": 72}

#: Projector: larger base font (axis labels, ticks and legends scale with it) and thicker lines.
_PRESENTATION_RC = {"font.size": 28.0, "lines.linewidth": 3.0, "figure.figsize": (10.0, 7.5)}


def use_style(*, presentation: bool = False) -> None:
    """Apply mplhep's CMS style for reading (or with the larger presentation fonts)."""
    plt.style.use(mplhep.style.CMS)
    mpl.rcParams.update(_READING_RC)
    # cabinetry's axis labels use \left( \right); the CMS style's font has no glyph for the big
    # parentheses, matplotlib falls back to the normal ones and logs a warning for each: silence it.
    logging.getLogger("matplotlib.mathtext").setLevel(logging.ERROR)
    if presentation:
        mpl.rcParams.update(_PRESENTATION_RC)


def presentation_mode(enable: bool = True) -> None:
    """Switch projector-friendly plots on or off: bigger fonts, thicker lines, larger figures.

    Instructors call ``presentation_mode()`` once at the top of a notebook before presenting.
    """
    use_style(presentation=enable)


def toy_label(
    ax: Axes | None = None,
    *,
    data: bool = False,
    lumi_pb: float | None = LUMI_DATA_PB,
    loc: int = 0,
) -> Axes:
    """Add an honest label in the style of an experiment's: "Toy simulation" or "Toy pseudo-data".

    The lesson's samples are generated, not recorded, so no experiment's name or "Open Data"
    appears. ``lumi_pb`` (pb^-1, the integrated luminosity the pseudo-data stand for) is shown in
    fb^-1; pass None to omit it. Returns the axes.
    """
    ax = ax if ax is not None else plt.gca()
    mplhep.label.exp_label(
        exp="Toy",
        text="pseudo-data" if data else "simulation",
        data=True,  # do not let mplhep append its own "Simulation"; the text says it
        lumi=None if lumi_pb is None else round(lumi_pb / 1000.0, 2),
        com=13,
        loc=loc,
        ax=ax,
    )
    return ax


def figure_width(ncols: int = 1) -> float:
    """Width in inches of a figure with ``ncols`` panels side by side.

    One panel: the style's figure width. Each further panel adds 60 % of it, and the whole figure
    grows with the font size beyond the reading size (20 pt), so that legends and labels keep
    fitting in presentation mode.
    """
    if ncols < 1:
        raise ValueError(f"need at least one column, got {ncols}")
    w = plt.rcParams["figure.figsize"][0]
    if ncols == 1:
        return w
    return w * (1 + 0.6 * (ncols - 1)) * max(1.0, plt.rcParams["font.size"] / 20.0)


def panels(ncols: int = 2) -> list[Axes]:
    """A new figure with ``ncols`` plain panels side by side (width from :func:`figure_width`)."""
    fig, axes = plt.subplots(
        1,
        ncols,
        squeeze=False,
        figsize=(figure_width(ncols), plt.rcParams["figure.figsize"][1]),
        gridspec_kw={"wspace": 0.3},
    )
    return list(axes[0])


def ratio_axes(ncols: int = 1, *, width: float | None = None) -> list[tuple[Axes, Axes]]:
    """A new figure with ``ncols`` columns, each a main panel above a ratio panel sharing x.

    ``width`` is the figure width in inches (default: :func:`figure_width`). Returns one
    ``(main, ratio)`` pair per column.
    """
    width = width if width is not None else figure_width(ncols)
    fig, axes = plt.subplots(
        2,
        ncols,
        sharex="col",
        squeeze=False,
        figsize=(width, plt.rcParams["figure.figsize"][1]),
        gridspec_kw={"height_ratios": (3, 1), "hspace": 0.05, "wspace": 0.3},
    )
    return [(axes[0, i], axes[1, i]) for i in range(ncols)]


#: How much higher than the tallest histogram :func:`room_for_legend` puts the top of the axes:
#: enough for the five-row legend that ``cabinetry.visualize.data_mc`` draws at the top right.
LEGEND_ROOM: float = 3.2


def room_for_legend(ax: Axes, factor: float = LEGEND_ROOM) -> Axes:
    """Raise the top of the linear y axis of ``ax`` by ``factor``, so that a legend drawn at the
    top of the panel covers no histogram and no data point. Returns ``ax``."""
    if factor < 1:
        raise ValueError(f"factor must be at least 1 (more room, not less), got {factor}")
    ax.set_ylim(top=factor * ax.get_ylim()[1])
    return ax


def events_label(h: hist.Hist) -> str:
    """y label "Events / <bin width> GeV" for a regular binning in GeV (else "Events / bin")."""
    widths = np.diff(h.axes[0].edges)
    if np.allclose(widths, widths[0]) and "GeV" in (h.axes[0].label or ""):
        return f"Events / {widths[0]:g} GeV"
    return "Events / bin"

"""Plot style for the lesson: mplhep's CMS style, honest labels, and a presentation mode.

Plot helpers take ``ax=None`` (a new figure is made) and return the axes; they never call
``plt.show()`` or save files.
"""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import mplhep
from matplotlib.axes import Axes

from .samples import LUMI_DATA_PB

__all__ = ["cms_label", "presentation_mode", "use_style"]

#: Normal notebook reading: the CMS style with a slightly smaller base font for 10 x 7.5 in figures.
_READING_RC = {"font.size": 20.0, "figure.figsize": (10.0, 7.5), "figure.dpi": 72}

#: Projector: larger base font (axis labels, ticks and legends scale with it) and thicker lines.
_PRESENTATION_RC = {"font.size": 28.0, "lines.linewidth": 3.0, "figure.figsize": (10.0, 7.5)}


def use_style(*, presentation: bool = False) -> None:
    """Apply mplhep's CMS style for reading (or with the larger presentation fonts)."""
    plt.style.use(mplhep.style.CMS)
    mpl.rcParams.update(_READING_RC)
    if presentation:
        mpl.rcParams.update(_PRESENTATION_RC)


def presentation_mode(enable: bool = True) -> None:
    """Switch projector-friendly plots on or off: bigger fonts, thicker lines, larger figures.

    Instructors call ``presentation_mode()`` once at the top of a notebook before presenting.
    """
    use_style(presentation=enable)


def cms_label(
    ax: Axes | None = None,
    *,
    data: bool = False,
    lumi_pb: float | None = LUMI_DATA_PB,
    loc: int = 0,
) -> Axes:
    """Add an honest CMS-style label: "Simulation" for simulation-only plots, "Open Data (toy)" else.

    ``lumi_pb`` (pb^-1) is shown in fb^-1; pass None to omit it. Returns the axes.
    """
    ax = ax if ax is not None else plt.gca()
    text = "Open Data (toy)" if data else "Simulation (toy)"
    mplhep.cms.label(
        text,
        data=True,  # do not let mplhep append its own "Simulation"; the text says it
        lumi=None if lumi_pb is None else round(lumi_pb / 1000.0, 2),
        com=13,
        loc=loc,
        ax=ax,
    )
    return ax

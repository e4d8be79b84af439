"""Plot style for the lesson: mplhep's CMS style, honest labels, and a presentation mode.

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

from .samples import LUMI_DATA_PB

__all__ = ["cms_label", "plot_xsec_comparison", "plot_variation", "presentation_mode", "use_style"]

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


def _values(h) -> np.ndarray:
    return np.asarray(h.values(), dtype=float)


def plot_variation(
    nominal: hist.Hist,
    up: hist.Hist,
    down: hist.Hist | None = None,
    *,
    label: str,
    axes: tuple[Axes, Axes] | None = None,
    normalize: bool = False,
) -> tuple[Axes, Axes]:
    """Overlay nominal, up and (optionally) down templates with a ratio panel below.

    All histograms must share binning; the ratio is variation / nominal, with the nominal's
    statistical uncertainty as a grey band around 1. ``normalize`` scales every histogram to unit
    area, to compare shapes only. Returns the (main, ratio) axes so callers can add to them.
    Raises ``ValueError`` for different binnings, or an empty histogram with ``normalize``.
    """
    hists = [h for h in (nominal, up, down) if h is not None]
    edges = nominal.axes[0].edges
    for h in hists[1:]:
        if not np.array_equal(h.axes[0].edges, edges):
            raise ValueError(f"{label}: variation binning differs from the nominal binning")
    if normalize:
        for h, which in zip(hists, ("nominal", "up", "down"), strict=False):
            if not _values(h).sum() > 0:
                raise ValueError(
                    f"{label}: the {which} histogram is empty and cannot be normalized to unit "
                    "area; plot it with normalize=False"
                )
    if axes is None:
        fig, axes = plt.subplots(
            2, 1, sharex=True, gridspec_kw={"height_ratios": (3, 1), "hspace": 0.05}
        )
    main, ratio = axes
    scale = {id(h): (1.0 / _values(h).sum() if normalize else 1.0) for h in hists}
    nom = _values(nominal) * scale[id(nominal)]
    variances = nominal.variances()
    nom_err = (np.sqrt(variances) if variances is not None else np.sqrt(_values(nominal)))
    nom_err = nom_err * scale[id(nominal)]
    styles = [(nominal, "nominal", "black", "-"), (up, f"{label} up", "#e42536", "--")]
    if down is not None:
        styles.append((down, f"{label} down", "#5790fc", ":"))
    for h, text, color, ls in styles:
        mplhep.histplot(_values(h) * scale[id(h)], edges, ax=main, label=text, color=color,
                        linestyle=ls, linewidth=2)  # fmt: skip
    main.set_ylabel("Normalized to unit area" if normalize else "Events")
    main.legend()
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(nom > 0, nom_err / nom, 0.0)
        ratio.stairs(1 + rel, edges, baseline=1 - rel, fill=True, color="grey", alpha=0.3,
                     label="MC stat.")  # fmt: skip
        for h, _, color, ls in styles[1:]:
            r = np.where(nom > 0, _values(h) * scale[id(h)] / nom, np.nan)
            mplhep.histplot(r, edges, ax=ratio, color=color, linestyle=ls, linewidth=2, edges=False)
    ratio.axhline(1.0, color="black", linewidth=1)
    ratio.set_ylabel("Var. / nom.")
    ratio.set_xlabel(nominal.axes[0].label)
    main.set_xlabel("")
    return main, ratio


def plot_xsec_comparison(
    measured: tuple[float, float, float],
    references: dict[str, tuple[float, float, float]],
    *,
    label: str = "This lesson (pseudo-data)",
    ax: Axes | None = None,
) -> Axes:
    """Compare cross sections (pb) as points with asymmetric error bars, one row each.

    ``measured`` and each reference are ``(central, +uncertainty, −uncertainty)``, uncertainties
    positive. The measurement is drawn at the top. Returns the axes.
    """
    for name, values in [(label, measured), *references.items()]:
        if len(values) != 3:
            raise ValueError(
                f"{name}: give (central, +uncertainty, -uncertainty) in pb, got {tuple(values)}"
            )
    ax = ax if ax is not None else plt.subplots(figsize=(10, 4.5))[1]
    rows = [(label, measured, "black", "o")] + [
        (name, values, color, "s")
        for (name, values), color in zip(references.items(), ["#5790fc", "#e42536", "#964a8b"])
    ]
    for y, (name, (value, up, down), color, marker) in enumerate(reversed(rows)):
        if up < 0 or down < 0:
            raise ValueError(f"{name}: uncertainties must be positive, got +{up} -{down}")
        ax.errorbar([value], [y], xerr=[[down], [up]], fmt=marker, color=color, capsize=6,
                    markersize=10, linewidth=2)  # fmt: skip
        ax.text(value, y + 0.2, f"{value:.0f} +{up:.0f} −{down:.0f} pb", ha="center",
                va="bottom", fontsize="x-small", color=color)  # fmt: skip
    ax.set_yticks(range(len(rows)), [name for name, *_ in reversed(rows)])
    ax.set_ylim(-0.6, len(rows) - 0.2)
    ax.set_xlabel(r"$\sigma(t\bar{t})$ at $\sqrt{s} = 13$ TeV [pb]")
    return ax

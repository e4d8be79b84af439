"""Plots of template histograms: data/MC stacks, MC statistical uncertainty, panels with ratios.

Like :mod:`statlesson.plotting`, every helper takes axes (or makes them) and returns them; none
calls ``plt.show()`` or saves a file.
"""

from __future__ import annotations

from collections.abc import Mapping

import hist
import matplotlib.pyplot as plt
import mplhep
import numpy as np
from matplotlib.axes import Axes

from .histograms import (
    Templates,
    get_systematic,
    relative_stat_uncertainty,
    staterror_uncertainty,
)
from .plotting import cms_label, plot_variation
from .samples import get_sample
from .selection import REGIONS

__all__ = [
    "events_label",
    "figure_width",
    "panels",
    "plot_ratios",
    "plot_stack",
    "plot_stat_uncertainty",
    "plot_templates",
    "ratio_axes",
]

#: Colour and line style of the 1st, 2nd, ... curve in :func:`plot_ratios` (up, down, extra).
_RATIO_STYLES = [("#e42536", "--"), ("#5790fc", ":"), ("#964a8b", "-"), ("#f89c20", "-.")]


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
        1, ncols, squeeze=False, figsize=(figure_width(ncols), plt.rcParams["figure.figsize"][1]),
        gridspec_kw={"wspace": 0.3},
    )  # fmt: skip
    return list(axes[0])


def ratio_axes(ncols: int = 1, *, width: float | None = None) -> list[tuple[Axes, Axes]]:
    """A new figure with ``ncols`` columns, each a main panel above a ratio panel sharing x.

    ``width`` is the figure width in inches (default: :func:`figure_width`). Returns one
    ``(main, ratio)`` pair per column.
    """
    width = width if width is not None else figure_width(ncols)
    fig, axes = plt.subplots(
        2, ncols, sharex="col", squeeze=False, figsize=(width, plt.rcParams["figure.figsize"][1]),
        gridspec_kw={"height_ratios": (3, 1), "hspace": 0.05, "wspace": 0.3},
    )  # fmt: skip
    return [(axes[0, i], axes[1, i]) for i in range(ncols)]


def events_label(h: hist.Hist) -> str:
    """y label "Events / <bin width> GeV" for a regular binning in GeV (else "Events / bin")."""
    widths = np.diff(h.axes[0].edges)
    if np.allclose(widths, widths[0]) and "GeV" in (h.axes[0].label or ""):
        return f"Events / {widths[0]:g} GeV"
    return "Events / bin"


def plot_stack(
    mc: Mapping[str, hist.Hist],
    data: hist.Hist | None = None,
    *,
    axes: tuple[Axes, Axes] | None = None,
    data_label: str = "Pseudo-data",
) -> tuple[Axes, Axes]:
    """Stacked simulated templates with their MC statistical band, data points and a data/MC ratio.

    ``mc`` maps sample names (for colour and legend label from :data:`statlesson.samples.SAMPLES`)
    to histograms, drawn from the bottom of the stack up. The hatched band is the total MC
    statistical uncertainty √(Σ_s Σw²); data have Poisson errors √n. The ratio panel shows
    data / total MC, with the MC statistical band around 1. Returns the (main, ratio) axes.
    """
    if not mc:
        raise ValueError("nothing to stack: give at least one simulated template")
    hists = list(mc.values())
    edges = hists[0].axes[0].edges
    for h in hists[1:] + ([data] if data is not None else []):
        if not np.array_equal(h.axes[0].edges, edges):
            raise ValueError("all histograms must share the binning of the first one")
    main, ratio = axes if axes is not None else ratio_axes(1)[0]
    samples = [get_sample(name) for name in mc]
    mplhep.histplot(
        [h.values() for h in hists], edges, stack=True, histtype="fill", ax=main,
        color=[s.color for s in samples], label=[s.label for s in samples],
    )  # fmt: skip
    total = np.sum([h.values() for h in hists], axis=0)
    stat = np.sqrt(np.sum([h.variances() for h in hists], axis=0))
    band = {"hatch": "////", "facecolor": "none", "edgecolor": "grey", "linewidth": 0}
    main.stairs(total + stat, edges, baseline=total - stat, fill=True, label="MC stat. unc.",
                **band)  # fmt: skip
    rel = staterror_uncertainty(hists)
    ratio.stairs(1 + rel, edges, baseline=1 - rel, fill=True, **band)
    if data is not None:
        n = data.values()
        mplhep.histplot(n, edges, histtype="errorbar", yerr=np.sqrt(n), color="black", ax=main,
                        label=data_label)  # fmt: skip
        centers = 0.5 * (edges[1:] + edges[:-1])
        filled = total > 0
        r = np.divide(n, total, out=np.ones_like(n), where=filled)
        r_err = np.divide(np.sqrt(n), total, out=np.zeros_like(n), where=filled)
        ratio.errorbar(centers[filled], r[filled], yerr=r_err[filled], fmt="o", color="black")
    ratio.axhline(1.0, color="black", linewidth=1)
    ratio.set_ylabel("Data / MC" if data is not None else "MC stat.")
    ratio.set_xlabel(hists[0].axes[0].label)
    main.set_xlabel("")
    main.set_ylabel(events_label(hists[0]))
    main.set_xlim(edges[0], edges[-1])
    main.legend(loc="upper right")
    return main, ratio


def plot_stat_uncertainty(
    hists: Mapping[str, hist.Hist], *, ax: Axes | None = None, combined: bool = True
) -> Axes:
    """Relative MC statistical uncertainty per bin of each sample (and of their sum, optionally).

    Keys are sample names (colour and label from :data:`statlesson.samples.SAMPLES`). The combined
    curve is the width of pyhf's ``staterror`` constraint in each bin. The y axis is logarithmic.
    Bins without simulated events (uncertainty undefined) are left blank. Returns the axes.
    Raises ``ValueError`` if ``hists`` is empty or the histograms have different binnings.
    """
    if not hists:
        raise ValueError("nothing to plot: give at least one simulated template")
    edges = next(iter(hists.values())).axes[0].edges
    for name, h in hists.items():
        if not np.array_equal(h.axes[0].edges, edges):
            raise ValueError(
                f"{name}: binning differs from that of the first histogram; "
                "compare templates of one region"
            )
    ax = ax if ax is not None else plt.subplots()[1]
    for name, h in hists.items():
        s = get_sample(name)
        ax.stairs(relative_stat_uncertainty(h), edges, color=s.color, label=s.label, linewidth=2)
    if combined:
        ax.stairs(staterror_uncertainty(hists.values()), edges, color="black", linewidth=3,
                  label="all samples (staterror)")  # fmt: skip
    ax.set_xlabel(next(iter(hists.values())).axes[0].label)
    ax.set_ylabel("Relative MC stat. uncertainty")
    ax.set_xlim(edges[0], edges[-1])
    ax.set_yscale("log")
    ax.legend(loc="upper left")
    return ax


def plot_templates(
    templates: Templates,
    sample: str,
    systematic: str,
    *,
    regions: tuple[str, ...] | None = None,
    axes: list[tuple[Axes, Axes]] | None = None,
    normalize: bool = False,
    ratio_range: tuple[float, float] | None = None,
    label: bool = True,
) -> list[tuple[Axes, Axes]]:
    """Nominal, up and down templates of one systematic for one sample, one column per region.

    Each column is :func:`statlesson.plotting.plot_variation` (ratio panel: variation / nominal with
    the nominal's MC statistical band) with the sample and region written in the panel and
    "(mirrored)" after a symmetrized ``down``; if ``label``, the first column carries the figure's
    "Simulation" label. ``normalize`` compares shapes only; ``ratio_range`` fixes the ratio panel's
    y range. Returns one ``(main, ratio)`` pair per region.
    """
    syst = get_systematic(systematic)
    regions = tuple(REGIONS) if regions is None else regions
    axes = axes if axes is not None else ratio_axes(len(regions))
    if len(axes) != len(regions):
        raise ValueError(f"need one (main, ratio) pair per region: {len(regions)}, got {len(axes)}")
    for (main, ratio), region in zip(axes, regions, strict=True):
        plot_variation(
            templates.nominal(region, sample),
            templates.variation(region, sample, systematic, "up"),
            templates.variation(region, sample, systematic, "down"),
            label=syst.label, axes=(main, ratio), normalize=normalize,
        )  # fmt: skip
        handles, labels = main.get_legend_handles_labels()
        if syst.symmetrized:
            labels[-1] += " (mirrored)"
        main.legend(handles, labels, loc="upper right")
        main.set_ylim(0, 1.35 * main.get_ylim()[1])  # room for the legend and the text
        main.text(0.04, 0.95, f"{get_sample(sample).label}, {region}", transform=main.transAxes,
                  va="top")  # fmt: skip
        if ratio_range is not None:
            ratio.set_ylim(*ratio_range)
    if label:
        cms_label(axes[0][0], data=False)  # one label per figure (each call redraws the figure)
    return axes


def plot_ratios(
    nominal: hist.Hist, varied: Mapping[str, hist.Hist], *, ax: Axes | None = None
) -> Axes:
    """Ratio of each histogram in ``varied`` (legend label → histogram) to ``nominal``.

    The grey band around 1 is the nominal's relative MC statistical uncertainty. Bins where the
    nominal is empty are left blank. Curves are drawn in a fixed sequence of colours and line
    styles (red dashed, blue dotted, purple solid, orange dash-dotted). Returns the axes.
    """
    if len(varied) > len(_RATIO_STYLES):
        raise ValueError(f"at most {len(_RATIO_STYLES)} curves, got {len(varied)}")
    ax = ax if ax is not None else plt.subplots()[1]
    edges, nom = nominal.axes[0].edges, nominal.values()
    rel = np.nan_to_num(relative_stat_uncertainty(nominal))
    ax.stairs(1 + rel, edges, baseline=1 - rel, fill=True, color="grey", alpha=0.3,
              label="MC stat. (nominal)")  # fmt: skip
    for (label, h), (color, ls) in zip(varied.items(), _RATIO_STYLES):
        if not np.array_equal(h.axes[0].edges, edges):
            raise ValueError(f"{label}: binning differs from the nominal binning")
        ratio = np.divide(h.values(), nom, out=np.full_like(nom, np.nan), where=nom > 0)
        ax.stairs(ratio, edges, baseline=None, color=color, linestyle=ls, linewidth=3, label=label)
    ax.axhline(1.0, color="black", linewidth=1)
    ax.set_xlim(edges[0], edges[-1])
    ax.set_xlabel(nominal.axes[0].label)
    ax.set_ylabel("Variation / nominal")
    ax.legend(loc="upper right")
    return ax

"""Drawing data: template histograms, variations with ratios, data/MC stacks, results.

The figures' look (style, labels, layouts) is :mod:`statlesson.plotting`'s job; this module
draws into them. Ratio panels use mplhep's comparison functions; data points carry Poisson
(Garwood) intervals. Every helper takes axes (or makes them) and returns them; none calls
``plt.show()`` or saves a file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import hist
import matplotlib.pyplot as plt
import mplhep
import numpy as np
from matplotlib.axes import Axes
from mplhep.comparison_functions import get_comparison

from .catalogue import get_sample, get_systematic
from .diagnostics import relative_stat_uncertainty, staterror_uncertainty
from .histograms import Templates, check_binning
from .plotting import events_label, ratio_axes, toy_label
from .selection import REGIONS

__all__ = [
    "plot_ratios",
    "plot_scan",
    "plot_stack",
    "plot_stat_uncertainty",
    "plot_templates",
    "plot_variation",
    "plot_xsec_comparison",
]

#: Colour and line style of the 1st, 2nd, ... curve in :func:`plot_ratios` (up, down, extra).
_RATIO_STYLES = [("#e42536", "--"), ("#5790fc", ":"), ("#964a8b", "-"), ("#f89c20", "-.")]


def plot_stack(
    mc: Mapping[str, hist.Hist],
    data: hist.Hist | None = None,
    *,
    axes: tuple[Axes, Axes] | None = None,
    data_label: str = "Pseudo-data",
) -> tuple[Axes, Axes]:
    """Stacked simulated templates with their MC statistical band, data points and a data/MC ratio.

    ``mc`` maps sample names (for colour and legend label from :data:`statlesson.catalogue.SAMPLES`)
    to histograms, drawn from the bottom of the stack up. The hatched band is the total MC
    statistical uncertainty √(Σ_s Σw²); data points have 68 % Poisson (Garwood) intervals. The
    ratio panel shows data / total MC (mplhep's ``split_ratio``: the data's interval divided by
    the prediction), with the MC statistical band around 1. Returns the (main, ratio) axes.
    """
    if not mc:
        raise ValueError("nothing to stack: give at least one simulated template")
    hists = list(mc.values())
    edges = hists[0].axes[0].edges
    others = {**mc, **({data_label: data} if data is not None else {})}
    for name, h in others.items():
        check_binning(hists[0], h, name)
    main, ratio = axes if axes is not None else ratio_axes(1)[0]
    samples = [get_sample(name) for name in mc]
    mplhep.histplot(
        [h.values() for h in hists],
        edges,
        stack=True,
        histtype="fill",
        ax=main,
        color=[s.color for s in samples],
        label=[s.label for s in samples],
    )
    prediction = sum(hists[1:], start=hists[0])  # the total MC, with its variances
    total, stat = prediction.values(), np.sqrt(prediction.variances())
    band: dict[str, Any] = {
        "hatch": "////",
        "facecolor": "none",
        "edgecolor": "grey",
        "linewidth": 0,
    }
    main.stairs(
        total + stat, edges, baseline=total - stat, fill=True, label="MC stat. unc.", **band
    )
    rel = staterror_uncertainty(hists)
    ratio.stairs(1 + rel, edges, baseline=1 - rel, fill=True, **band)
    if data is not None:
        n = data.values()
        mplhep.histplot(
            n,
            edges,
            w2=n,
            w2method="poisson",
            histtype="errorbar",
            color="black",
            ax=main,
            label=data_label,
        )
        r, r_down, r_up = get_comparison(data, prediction, "split_ratio", h1_w2method="poisson")
        centers = data.axes[0].centers
        filled = total > 0
        ratio.errorbar(
            centers[filled], r[filled], yerr=[r_down[filled], r_up[filled]], fmt="o", color="black"
        )
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

    Keys are sample names (colour and label from :data:`statlesson.catalogue.SAMPLES`). The combined
    curve is the width of pyhf's ``staterror`` constraint in each bin. The y axis is logarithmic.
    Bins without simulated events (uncertainty undefined) are left blank. Returns the axes.
    Raises ``ValueError`` if ``hists`` is empty or the histograms have different binnings.
    """
    if not hists:
        raise ValueError("nothing to plot: give at least one simulated template")
    first = next(iter(hists.values()))
    edges = first.axes[0].edges
    for name, h in hists.items():
        check_binning(first, h, name)
    ax = ax if ax is not None else plt.subplots()[1]
    for name, h in hists.items():
        s = get_sample(name)
        ax.stairs(relative_stat_uncertainty(h), edges, color=s.color, label=s.label, linewidth=2)
    if combined:
        ax.stairs(
            staterror_uncertainty(hists.values()),
            edges,
            color="black",
            linewidth=3,
            label="all samples (staterror)",
        )
    ax.set_xlabel(first.axes[0].label)
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

    Each column is :func:`plot_variation` (ratio panel: variation / nominal with
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
            label=syst.label,
            axes=(main, ratio),
            normalize=normalize,
        )
        handles, labels = main.get_legend_handles_labels()
        if syst.symmetrized:
            labels[-1] += " (mirrored)"
        main.legend(handles, labels, loc="upper right")
        main.set_ylim(0, 1.35 * main.get_ylim()[1])  # room for the legend and the text
        main.text(
            0.04, 0.95, f"{get_sample(sample).label}, {region}", transform=main.transAxes, va="top"
        )
        if ratio_range is not None:
            ratio.set_ylim(*ratio_range)
    if label:
        toy_label(axes[0][0], data=False)  # one label per figure (each call redraws the figure)
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
    edges = nominal.axes[0].edges
    rel = np.nan_to_num(relative_stat_uncertainty(nominal))
    ax.stairs(
        1 + rel,
        edges,
        baseline=1 - rel,
        fill=True,
        color="grey",
        alpha=0.3,
        label="MC stat. (nominal)",
    )
    for (label, h), (color, ls) in zip(varied.items(), _RATIO_STYLES, strict=False):
        check_binning(nominal, h, label)
        ratio = _ratio(h, nominal)
        ax.stairs(ratio, edges, baseline=None, color=color, linestyle=ls, linewidth=3, label=label)
    ax.axhline(1.0, color="black", linewidth=1)
    ax.set_xlim(edges[0], edges[-1])
    ax.set_xlabel(nominal.axes[0].label)
    ax.set_ylabel("Variation / nominal")
    ax.legend(loc="upper right")
    return ax


def _ratio(varied: hist.Hist, nominal: hist.Hist) -> np.ndarray:
    """varied / nominal per bin (mplhep's ``ratio``), NaN where the nominal is empty.

    Only the values are drawn: a variation of the same simulated events is correlated with the
    nominal, so their independent-error ratio would overstate the uncertainty; the nominal's MC
    statistical band is drawn instead.
    """
    values, _, _ = get_comparison(varied, nominal, "ratio")
    return np.where(nominal.values() > 0, values, np.nan)


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
        check_binning(nominal, h, label)
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
    nom_err = np.sqrt(variances) if variances is not None else np.sqrt(_values(nominal))
    nom_err = nom_err * scale[id(nominal)]
    styles = [(nominal, "nominal", "black", "-"), (up, f"{label} up", "#e42536", "--")]
    if down is not None:
        styles.append((down, f"{label} down", "#5790fc", ":"))
    for h, text, color, ls in styles:
        mplhep.histplot(
            _values(h) * scale[id(h)],
            edges,
            ax=main,
            label=text,
            color=color,
            linestyle=ls,
            linewidth=2,
        )
    main.set_ylabel("Normalized to unit area" if normalize else "Events")
    main.legend()
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(nom > 0, nom_err / nom, 0.0)
        ratio.stairs(
            1 + rel, edges, baseline=1 - rel, fill=True, color="grey", alpha=0.3, label="MC stat."
        )
        for h, _, color, ls in styles[1:]:
            r = _ratio(h * (scale[id(h)] / scale[id(nominal)]), nominal)
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
        for (name, values), color in zip(
            references.items(), ["#5790fc", "#e42536", "#964a8b"], strict=False
        )
    ]
    for y, (name, (value, up, down), color, marker) in enumerate(reversed(rows)):
        if up < 0 or down < 0:
            raise ValueError(f"{name}: uncertainties must be positive, got +{up} -{down}")
        ax.errorbar(
            [value],
            [y],
            xerr=[[down], [up]],
            fmt=marker,
            color=color,
            capsize=6,
            markersize=10,
            linewidth=2,
        )
        ax.text(
            value,
            y + 0.2,
            f"{value:.0f} +{up:.0f} −{down:.0f} pb",
            ha="center",
            va="bottom",
            fontsize="x-small",
            color=color,
        )
    ax.set_yticks(range(len(rows)), [name for name, *_ in reversed(rows)])
    ax.set_ylim(-0.6, len(rows) - 0.2)
    ax.set_xlabel(r"$\sigma(t\bar{t})$ at $\sqrt{s} = 13$ TeV [pb]")
    return ax


def plot_scan(
    mu: Sequence[float],
    q: Sequence[float],
    *,
    label: str,
    ax: Axes | None = None,
    **line_kwargs,
) -> Axes:
    """Draw a likelihood scan q(μ) = −2 ln λ(μ) against the signal strength μ.

    Args:
        mu: scanned values of μ (dimensionless).
        q: −2 ln λ(μ) at those values.
        label: legend label of the curve.
        ax: axes to draw on; a new figure is made if None.
        **line_kwargs: passed to ``Axes.plot`` (colour, line style, ...).

    Returns:
        The axes, with axis labels set. Does not add a legend, show or save the figure.
    """
    mu_arr = np.asarray(mu, dtype=float)
    q_arr = np.asarray(q, dtype=float)
    if mu_arr.shape != q_arr.shape:
        raise ValueError(f"mu and q must have the same shape, got {mu_arr.shape} and {q_arr.shape}")
    if ax is None:
        _, ax = plt.subplots()
    ax.plot(mu_arr, q_arr, label=label, **line_kwargs)
    ax.set_xlabel(r"Signal strength $\mu = \sigma / \sigma_{\mathrm{SM}}$")
    ax.set_ylabel(r"$-2\,\Delta \ln L$")
    return ax

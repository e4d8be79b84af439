"""Looking at templates: normalization and shape, shape tests, MC statistical uncertainty.

The diagnostics of episode 3, applied to the histograms of :mod:`statlesson.histograms`: how
much of a variation is a change of yield and how much a change of shape, whether the shape change
is larger than the MC statistical precision (the basis of pruning, :mod:`statlesson.pruning`),
and the MC statistical uncertainty per bin that pyhf's ``staterror`` modifiers describe.
"""

from __future__ import annotations

from collections.abc import Iterable

import hist
import numpy as np
import pandas as pd
from scipy.special import chdtrc

from .catalogue import TEMPLATE_SYSTEMATICS
from .histograms import Templates, check_binning

__all__ = [
    "effective_entries",
    "is_normalization_only",
    "norm_shape_split",
    "relative_stat_uncertainty",
    "shape_chi2",
    "staterror_uncertainty",
    "variation_summary",
]


def norm_shape_split(nominal: hist.Hist, varied: hist.Hist) -> tuple[float, hist.Hist]:
    """Split a variation into a normalization factor and a shape-only template.

    Returns ``(yield(varied) / yield(nominal), varied scaled to the nominal yield)``: the
    ``normsys`` factor and the ``histosys`` template that cabinetry's ``NormPlusShape`` systematic
    makes of it. Yields are sums over the bins of the observable range.
    """
    check_binning(nominal, varied)
    n_yield = float(nominal.values().sum())
    if n_yield <= 0:
        raise ValueError("the nominal template is empty: no normalization to compare with")
    factor = float(varied.values().sum()) / n_yield
    if factor <= 0:
        raise ValueError("the varied template is empty: no shape to compare with")
    return factor, varied * (1.0 / factor)


def shape_chi2(
    nominal: hist.Hist, varied: hist.Hist, *, independent: bool = False
) -> tuple[float, int]:
    """χ² between the normalized shapes of ``varied`` and ``nominal``, and its degrees of freedom.

    χ² = Σ_i (v_i/V − n_i/N)² / σ_i², with σ_i the MC statistical uncertainty of the nominal shape
    (√var(n_i)/N), plus that of the variation if it comes from ``independent`` events (an
    alternative sample). For a variation of the same events the test asks whether its shape change
    is larger than the statistical precision of the template. Bins empty in both are skipped; a bin
    that is empty with no uncertainty in the nominal but filled in the variation makes χ² infinite.
    ndf = number of bins used − 1 (both shapes are normalized).
    """
    check_binning(nominal, varied)
    n, v = nominal.values(), varied.values()
    big_n, big_v = n.sum(), v.sum()
    if big_n <= 0 or big_v <= 0:
        raise ValueError("cannot compare shapes of an empty template")
    var = nominal.variances() / big_n**2
    if independent:
        var = var + varied.variances() / big_v**2
    diff2 = (v / big_v - n / big_n) ** 2
    used = (var > 0) | (diff2 > 0)
    if np.any(used & (var <= 0)):
        return float("inf"), int(used.sum()) - 1
    chi2 = float(np.sum(np.divide(diff2, var, out=np.zeros_like(diff2), where=var > 0)))
    return chi2, int(used.sum()) - 1


def is_normalization_only(
    nominal: hist.Hist,
    up: hist.Hist,
    down: hist.Hist | None = None,
    *,
    independent: bool = False,
    p_min: float = 0.05,
) -> bool:
    """True if the shape change of ``up`` (and ``down``) is compatible with MC statistics.

    Each variation passes if the χ² probability of :func:`shape_chi2` is above ``p_min``; then a
    normalization factor (``normsys``) describes the variation, and a shape template would add only
    statistical noise.
    """
    for varied in (up, down):
        if varied is None:
            continue
        chi2, ndf = shape_chi2(nominal, varied, independent=independent)
        if ndf < 1 or chdtrc(ndf, chi2) < p_min:  # χ² probability
            return False
    return True


def relative_stat_uncertainty(h: hist.Hist) -> np.ndarray:
    """Relative MC statistical uncertainty per bin, √(Σw²)/Σw; NaN for empty bins (undefined)."""
    values, variances = h.values(), h.variances()
    return np.divide(
        np.sqrt(variances), values, out=np.full_like(values, np.nan), where=values > 0
    )


def effective_entries(h: hist.Hist) -> np.ndarray:
    """Effective number of simulated events per bin, (Σw)²/Σw²; 0 for empty bins.

    A bin with N_eff simulated events has a relative MC statistical uncertainty of 1/√N_eff.
    """
    values, variances = h.values(), h.variances()
    return np.divide(values**2, variances, out=np.zeros_like(values), where=variances > 0)


def staterror_uncertainty(hists: Iterable[hist.Hist]) -> np.ndarray:
    """Relative width per bin of the ``staterror`` constraint of pyhf for these samples together.

    pyhf gives every bin one factor γ_i shared by all samples with the modifier, constrained by a
    Gaussian of width √(Σ_s var_s,i) / Σ_s n_s,i (the total MC statistical uncertainty over the
    total MC yield). A bin with no simulated events at all gets width 0 here; pyhf fixes its γ_i.
    """
    hists = list(hists)
    if not hists:
        raise ValueError("no histograms given")
    for h in hists[1:]:
        check_binning(hists[0], h)
    total = np.sum([h.values() for h in hists], axis=0)
    variance = np.sum([h.variances() for h in hists], axis=0)
    return np.divide(np.sqrt(variance), total, out=np.zeros_like(total), where=total > 0)


def variation_summary(templates: Templates, sample: str, region: str) -> pd.DataFrame:
    """Table of every systematic of ``sample`` in ``region``: yield ratios and shape test.

    Columns: ``mechanism``, ``up`` and ``down`` (yield / nominal yield), ``chi2/ndf`` of the larger of
    the two shape χ² (:func:`shape_chi2`, alternative samples as independent events),
    ``normalization only`` (:func:`is_normalization_only`) and ``symmetrized``.
    """
    nominal = templates.nominal(region, sample)
    rows = {}
    for syst in TEMPLATE_SYSTEMATICS.values():
        if sample not in syst.samples:
            continue
        up = templates.variation(region, sample, syst.name, "up")
        down = templates.variation(region, sample, syst.name, "down")
        independent = syst.mechanism == "alternative"
        # a symmetrized down has the same shape change as up, mirrored: test the filled ones only
        tested = [up] if syst.symmetrized else [up, down]
        chi2 = [shape_chi2(nominal, h, independent=independent) for h in tested]
        rows[syst.name] = {
            "mechanism": syst.mechanism,
            "up": norm_shape_split(nominal, up)[0],
            "down": norm_shape_split(nominal, down)[0],
            "chi2/ndf": max(c / n for c, n in chi2),
            "normalization only": is_normalization_only(
                nominal, *tested, independent=independent
            ),
            "symmetrized": syst.symmetrized,
        }
    return pd.DataFrame.from_dict(rows, orient="index")

"""Looking at templates: normalization and shape, shape tests, MC statistical uncertainty.

The diagnostics of episode 3, applied to the templates of :mod:`statlesson.histograms`:

* how much of a variation is a change of yield and how much a change of shape
  (:func:`norm_shape_split`, as cabinetry's ``NormPlusShape`` splits it);
* whether the simulated events *resolve* the shape change (:func:`shape_tests`). Weight and
  jet-shift variations are made from the same events as the nominal, so most of their
  statistical fluctuations cancel in the difference of the two shapes: the test computes the
  uncertainty of that difference event by event (:func:`shape_chi2`), not from the templates'
  own MC statistical uncertainties, which would hide real shape changes;
* whether a shape change *matters* for the data (:func:`shape_chi2_data`): the χ² that the
  shape part of a ±1σ variation adds against the data's statistical precision;
* the MC statistical uncertainty per bin that pyhf's ``staterror`` modifiers describe.

Pruning (:mod:`statlesson.pruning`) decides from the last three.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import hist
import numpy as np
import pandas as pd
from scipy.special import chdtrc

from .catalogue import (
    DATA_SAMPLE,
    LUMI_DATA_PB,
    TEMPLATE_SYSTEMATICS,
)
from .histograms import (
    INPUT_SAMPLES,
    Templates,
    check_binning,
    file_variation_arrays,
    histogram_name,
    new_histogram,
)
from .selection import REGIONS, get_region

__all__ = [
    "P_MIN",
    "effective_entries",
    "event_bins",
    "is_normalization_only",
    "norm_shape_split",
    "relative_stat_uncertainty",
    "shape_chi2",
    "shape_chi2_data",
    "shape_tests",
    "staterror_uncertainty",
    "variation_summary",
]

logger = logging.getLogger(__name__)

#: A shape change counts as resolved by the simulation if the probability of its χ² under
#: "no shape change" (:func:`shape_chi2`) is below this.
P_MIN: float = 0.05

#: Per event: the bin of the region's histogram it fills, or this if it fills none.
OUTSIDE: int = -1

#: Differences of normalized shapes below this count as none (rounding of float sums).
_ZERO: float = 1e-12


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


def event_bins(region: str, mask: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The bin of ``region``'s histogram that each event fills, :data:`OUTSIDE` for none.

    ``mask`` has one entry per event (selected in the region or not) and ``values`` the
    observable (GeV) of the selected events, as :func:`statlesson.histograms.variation_arrays`
    yields them. Events outside the histogram range fill no bin.
    """
    mask = np.asarray(mask, dtype=bool)
    axis = new_histogram(region).axes[0]
    index = np.asarray(axis.index(np.asarray(values, dtype=float)))
    out = np.full(mask.size, OUTSIDE, dtype=np.int64)
    out[mask] = np.where((index < 0) | (index >= axis.size), OUTSIDE, index)
    return out


def _shape_and_gradient(
    bins: np.ndarray, weights: np.ndarray, n_bins: int
) -> tuple[np.ndarray, np.ndarray]:
    """Normalized shape s_i = n_i/N of events filling ``bins`` with ``weights``, and how each
    event moves it: row e is ∂s/∂(number of copies of event e), (w_e/N)(1[b_e = i] − s_i)."""
    bins = np.asarray(bins, dtype=np.int64)
    weights = np.asarray(weights, dtype=float)
    if bins.shape != weights.shape or bins.ndim != 1:
        raise ValueError("give one bin index and one weight per event")
    if np.any(bins >= n_bins) or np.any(bins < OUTSIDE):
        raise ValueError(f"bin indices must lie in [{OUTSIDE}, {n_bins - 1}]")
    inside = bins != OUTSIDE
    w = np.where(inside, weights, 0.0)
    total = w.sum()
    if total <= 0:
        raise ValueError("cannot compare shapes of an empty template")
    shape = np.bincount(bins[inside], weights=w[inside], minlength=n_bins) / total
    gradient = -np.outer(w / total, shape)
    rows = np.flatnonzero(inside)
    gradient[rows, bins[rows]] += w[rows] / total
    return shape, gradient


def shape_chi2(
    nominal: tuple[np.ndarray, np.ndarray],
    varied: tuple[np.ndarray, np.ndarray],
    n_bins: int,
    *,
    same_events: bool,
) -> tuple[float, int]:
    """χ² of the difference between the normalized shapes of two sets of events, and its ndf.

    ``nominal`` and ``varied`` are ``(bins, weights)``, one entry per event (:func:`event_bins`).
    The difference d_i = v_i/V − n_i/N is compared with its covariance, summed over the events
    (the linear approximation of a Poisson bootstrap over events):

    * ``same_events=True`` (a weight or jet-shift variation of the nominal events, in the same
      order): each event moves d by the difference of its two contributions, so fluctuations
      common to both templates cancel and only the events whose weight or bin changes count;
    * ``same_events=False`` (an alternative sample): the two sets fluctuate independently and
      their covariances add.

    χ² = dᵀ C⁻¹ d over the bins used (filled in either template), one bin left out because both
    shapes sum to 1; ndf = bins used − 1. A variation that changes no shape (a constant factor
    on every weight) gives χ² = 0.
    """
    s, g_nominal = _shape_and_gradient(*nominal, n_bins)
    v, g_varied = _shape_and_gradient(*varied, n_bins)
    if same_events:
        if g_nominal.shape != g_varied.shape:
            raise ValueError("same_events=True needs the same events, in the same order, in both")
        moved = g_varied - g_nominal
        cov = moved.T @ moved
    else:
        cov = g_nominal.T @ g_nominal + g_varied.T @ g_varied
    d = v - s
    used = np.flatnonzero((s > 0) | (v > 0))
    ndf = max(int(used.size) - 1, 0)
    if np.all(np.abs(d) <= _ZERO):
        return 0.0, ndf
    keep = used[:-1]
    solution = np.linalg.lstsq(cov[np.ix_(keep, keep)], d[keep], rcond=None)[0]
    return float(d[keep] @ solution), ndf


def shape_tests(
    *, data_dir: str | Path | None = None, lumi_pb: float = LUMI_DATA_PB
) -> pd.DataFrame:
    """The shape test (:func:`shape_chi2`) of every variation filled from events.

    Uses the events, variations, weights and selections of the filling of the templates
    (:func:`statlesson.histograms.file_variation_arrays`: after the templates, nothing is read
    or computed again). Mirrored ``down`` templates are not
    tested: their shape change is that of ``up``. Returns a table indexed by ``sample``,
    ``region``, ``systematic`` and ``direction``, with columns ``chi2``, ``ndf`` and
    ``p_value`` (the χ² probability of a shape change at least this large if there were none).
    """
    arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for sample in INPUT_SAMPLES:
        if sample == DATA_SAMPLE:
            continue
        for name, region, mask, values, weights in file_variation_arrays(
            sample, data_dir=data_dir, lumi_pb=lumi_pb
        ):
            per_event = np.zeros(mask.size)
            per_event[mask] = weights
            arrays[name] = (event_bins(region, mask, values), per_event)
    rows = {}
    for syst in TEMPLATE_SYSTEMATICS.values():
        for sample in syst.samples:
            for region in REGIONS:
                nominal = arrays[histogram_name(region, sample)]
                for direction in syst.computed:
                    varied = arrays[histogram_name(region, sample, syst.name, direction)]
                    chi2, ndf = shape_chi2(
                        nominal,
                        varied,
                        get_region(region).bins,
                        same_events=syst.mechanism != "alternative",
                    )
                    p_value = float(chdtrc(ndf, chi2)) if ndf > 0 else 1.0
                    rows[sample, region, syst.name, direction] = {
                        "chi2": chi2,
                        "ndf": ndf,
                        "p_value": p_value,
                    }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index = pd.MultiIndex.from_tuples(
        table.index, names=["sample", "region", "systematic", "direction"]
    )
    table = table.sort_index()
    logger.info("shape tests of %d variations", len(table))
    return table


def _tests_of(tests: pd.DataFrame, sample: str, region: str, systematic: str) -> pd.DataFrame:
    try:
        return tests.loc[(sample, region, systematic)]
    except KeyError:
        raise KeyError(
            f"no shape test of '{systematic}' for sample '{sample}' in region '{region}'; "
            "the table of diagnostics.shape_tests() has: "
            + ", ".join(sorted({f"{s}/{r}/{n}" for s, r, n, _ in tests.index}))
        ) from None


def is_normalization_only(
    tests: pd.DataFrame, sample: str, region: str, systematic: str, *, p_min: float = P_MIN
) -> bool:
    """True if the simulation resolves no shape change of ``systematic`` for ``sample`` in
    ``region``: every filled direction has a shape-test probability of at least ``p_min``.

    ``tests`` is the table of :func:`shape_tests`. Then a normalization factor (``normsys``)
    describes the variation, and a shape template would add only statistical noise.
    """
    return bool((_tests_of(tests, sample, region, systematic)["p_value"] >= p_min).all())


def shape_chi2_data(templates: Templates, sample: str, region: str, systematic: str) -> float:
    """How much the shape part of a ±1σ variation matters for the data: its χ² against the
    data's statistical precision, the larger of up and down.

    χ² = Σ_i [Y (v_i/V − n_i/N)]² / D_i, with Y = N the sample's nominal yield in the region
    (the shape change in events at the nominal yield, the ``histosys`` part of cabinetry's
    ``NormPlusShape``) and D_i the observed events in bin i (at least 1). It is the change of
    −2 ln L that the shape part alone, at ±1σ and with nothing refitted, would cause.
    """
    nominal = templates.nominal(region, sample)
    data = np.maximum(templates.nominal(region, DATA_SAMPLE).values(), 1.0)
    n = nominal.values()
    out = 0.0
    for direction in ("up", "down"):
        varied = templates.variation(region, sample, systematic, direction).values()
        change = n.sum() * (varied / varied.sum() - n / n.sum())
        out = max(out, float(np.sum(change**2 / data)))
    return out


def relative_stat_uncertainty(h: hist.Hist) -> np.ndarray:
    """Relative MC statistical uncertainty per bin, √(Σw²)/Σw; NaN for empty bins (undefined)."""
    values, variances = h.values(), h.variances()
    return np.divide(np.sqrt(variances), values, out=np.full_like(values, np.nan), where=values > 0)


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


def variation_summary(
    templates: Templates, sample: str, region: str, tests: pd.DataFrame
) -> pd.DataFrame:
    """Table of every systematic of ``sample`` in ``region``: yield ratios and shape tests.

    Columns: ``mechanism``; ``up`` and ``down`` (yield / nominal yield, the ``normsys``
    factors); ``chi2/ndf`` and ``p-value`` of the shape test (:func:`shape_tests`, the larger
    χ² of the filled directions); ``shape resolved`` (not :func:`is_normalization_only`);
    ``shape chi2 vs data`` (:func:`shape_chi2_data`); ``symmetrized``.
    """
    get_region(region)  # KeyError listing the regions
    nominal = templates.nominal(region, sample)
    rows = {}
    for syst in TEMPLATE_SYSTEMATICS.values():
        if sample not in syst.samples:
            continue
        tested = _tests_of(tests, sample, region, syst.name)
        worst = tested["chi2"].to_numpy() / np.maximum(tested["ndf"].to_numpy(), 1)
        factors = {
            d: norm_shape_split(nominal, templates.variation(region, sample, syst.name, d))[0]
            for d in ("up", "down")
        }
        rows[syst.name] = {
            "mechanism": syst.mechanism,
            **factors,
            "chi2/ndf": float(worst.max()),
            "p-value": float(tested["p_value"].min()),
            "shape resolved": not is_normalization_only(tests, sample, region, syst.name),
            "shape chi2 vs data": shape_chi2_data(templates, sample, region, syst.name),
            "symmetrized": syst.symmetrized,
        }
    return pd.DataFrame.from_dict(rows, orient="index")

"""Likelihood scans and CLs upper limits beside cabinetry's and pyhf's calls, tested against them.

* :func:`profile_scan` — −2 Δ ln L of μ from fixed-μ fits (as ``cabinetry.fit.scan``);
* :func:`expected_limits` — the expected CLs upper limit and its ±1σ, ±2σ band from q̃_μ of
  fixed-μ fits to the background-only Asimov data (as ``pyhf.infer.hypotest`` computes it);
* :func:`observed_limit` — the observed CLs limit from a profile scan when the background-only
  hypothesis is excluded by far, so that CLs = p_{s+b}.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyhf
from cabinetry.fit import FitResults, ScanResults
from scipy import stats

from .fitting import VALUE, _check_data, _check_fit_results, _index, conditional_init, refit

__all__ = ["expected_limits", "observed_limit", "profile_scan"]


def profile_scan(
    model: pyhf.pdf.Model,
    data: Sequence[float],
    fit_results: FitResults,
    poi_name: str,
    poi_values: Sequence[float],
) -> ScanResults:
    """−2 Δ ln L of the POI on ``poi_values``, profiling all other parameters (fixed-POI fits).

    Each fit starts at the covariance prediction for that POI value. Returns cabinetry's
    ``ScanResults`` (for ``cabinetry.visualize.scan``).
    """
    _check_fit_results(model, fit_results)
    _check_data(model, data)
    i = _index(fit_results, poi_name)
    values = np.asarray(poi_values, dtype=float)
    lo, hi = model.config.suggested_bounds()[i]
    if np.any(values < lo) or np.any(values > hi):
        raise ValueError(f"scan values must lie within the bounds of {poi_name}: [{lo}, {hi}]")
    delta = []
    for value in values:
        init = conditional_init(fit_results, poi_name, value)
        _, twice_nll = refit(model, data, init, [i], tolerance=VALUE)
        delta.append(twice_nll - fit_results.best_twice_nll)
    return ScanResults(
        name=poi_name,
        bestfit=float(fit_results.bestfit[i]),
        uncertainty=float(fit_results.uncertainty[i]),
        parameter_values=values,
        delta_nlls=np.maximum(np.asarray(delta), 0.0),
    )


def expected_limits(
    model: pyhf.pdf.Model,
    background_pars: Sequence[float],
    *,
    confidence_level: float = 0.95,
) -> np.ndarray:
    """Expected CLs upper limits on the POI: the median and the ±1σ, ±2σ band, ascending.

    The asymptotic formulae for q̃_μ (Cowan, Cranmer, Gross, Vitells) need, for each μ, the test
    statistic of the background-only Asimov data, q_μ,A = −2 ln λ_A(μ); the expected limit of
    band N is the μ where √q_μ,A = N + Φ⁻¹(1 − α Φ(N)). ``background_pars`` are the parameters of
    the Asimov data (μ = 0); they are also its unconditional best fit, so only fixed-μ fits are
    needed: one at a first guess of the median, one at each end of the band, then
    σ_A(μ) = μ / √q_μ,A is interpolated (it is smooth and varies slowly with μ).
    ``pyhf.infer.hypotest(μ, asimov, model, test_stat="qtilde")`` gives CLs = 1 − confidence_level
    at each returned value (the tests check this).
    """
    i = model.config.poi_index
    pars = np.asarray(background_pars, dtype=float)
    if np.size(pars) != model.config.npars or pars[i] != 0:
        raise ValueError(
            f"background_pars must hold the model's {model.config.npars} parameters with the "
            f"POI at 0, got {np.size(pars)} values"
            + (f" with the POI at {pars[i]}" if np.size(pars) > i else "")
        )
    alpha = 1.0 - confidence_level
    asimov = model.expected_data(pars)
    best = -2.0 * float(model.logpdf(pars, asimov)[0])

    def sqrt_q(mu: float) -> float:
        start = pars.copy()
        start[i] = mu
        _, twice_nll = refit(model, asimov, start, [i], tolerance=VALUE)
        return float(np.sqrt(max(twice_nll - best, 0.0)))

    bands = np.arange(-2, 3)
    targets = bands + stats.norm.ppf(1 - alpha * stats.norm.cdf(bands))
    # first guess from the statistical precision: σ_A ≈ √b / s summed over the bins
    signal = model.expected_actualdata(np.where(np.arange(len(pars)) == i, 1.0, pars))
    background = model.expected_actualdata(pars)
    sigma_guess = 1.0 / np.sqrt(np.sum((signal - background) ** 2 / np.maximum(background, 1e-9)))
    mu0 = targets[2] * sigma_guess
    sigma0 = mu0 / sqrt_q(mu0)
    points = np.array([targets[0] * sigma0, mu0, targets[4] * sigma0])
    sigmas = np.array([points[0] / sqrt_q(points[0]), sigma0, points[2] / sqrt_q(points[2])])
    # μ_N = target_N · σ_A(μ_N), σ_A interpolated (quadratic through three points), by iteration
    coeff = np.polyfit(points, sigmas, 2)
    limits = targets * sigma0
    for _ in range(50):
        limits = targets * np.polyval(coeff, limits)
    return limits


def observed_limit(scan: ScanResults, *, confidence_level: float = 0.95) -> float:
    """Observed CLs upper limit from a profile scan, for data far from the background-only case.

    CLs = p_{s+b} / (1 − p_b); when the background-only hypothesis is excluded by many standard
    deviations, 1 − p_b = 1 and CLs = p_{s+b} = 1 − Φ(√q̃_μ), so the limit is where the scan (above
    the best fit) reaches q̃ = Φ⁻¹(confidence_level)². Interpolated linearly in √q̃; the scan must
    reach it.
    """
    target = float(stats.norm.ppf(confidence_level))
    values = np.asarray(scan.parameter_values, dtype=float)
    above = values >= scan.bestfit
    mu = np.concatenate([[scan.bestfit], values[above]])
    root_q = np.sqrt(np.concatenate([[0.0], np.asarray(scan.delta_nlls)[above]]))
    if root_q.max() < target:
        raise ValueError(
            f"the scan does not reach q = {target**2:.2f} above the best fit; extend it to "
            "larger values of the POI"
        )
    k = int(np.argmax(root_q >= target))
    return float(np.interp(target, root_q[k - 1 : k + 1], mu[k - 1 : k + 1]))

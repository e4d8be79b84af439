"""Likelihood scans and CLs upper limits beside cabinetry's and pyhf's calls, tested against them.

* :func:`refit_scan` — −2 Δ ln L of μ from fixed-μ fits (as ``cabinetry.fit.scan``);
* :func:`expected_limits` — the expected CLs upper limit and its ±1σ, ±2σ band: where
  pyhf's asymptotic expected CLs of q̃_μ (``pyhf.infer.hypotest``) is 1 − CL, solved
  with fixed-μ fits to the background-only Asimov data;
* :func:`observed_limit` — the observed CLs limit from a profile scan when the background-only
  hypothesis is excluded by far, so that CLs = p_{s+b}.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pyhf
from cabinetry.fit import FitResults, ScanResults
from scipy import optimize, stats

from .fitting import (
    PRECISE,
    check_fit_results,
    conditional_init,
    parameter_index,
    refit,
)
from .validation import check_data

__all__ = ["expected_limits", "observed_limit", "refit_scan"]

#: Largest |CLs − α| accepted at a returned limit (pyhf's expected CLs at that μ).
_CLS_TOLERANCE: float = 1e-4
#: Most fixed-μ fits that :func:`expected_limits` makes for one band.
_MAX_FITS: int = 12
#: Least difference of √q_μ,A between the fits that propose the next μ.
_SPREAD: float = 0.02
_BAND_NAMES = ("−2σ", "−1σ", "median", "+1σ", "+2σ")


def refit_scan(
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
    check_fit_results(model, fit_results)
    check_data(model, data)
    i = parameter_index(fit_results, poi_name)
    values = np.asarray(poi_values, dtype=float)
    lo, hi = model.config.suggested_bounds()[i]
    if np.any(values < lo) or np.any(values > hi):
        raise ValueError(f"scan values must lie within the bounds of {poi_name}: [{lo}, {hi}]")
    delta = []
    for value in values:
        init = conditional_init(fit_results, poi_name, value)
        _, twice_nll = refit(model, data, init, [i])
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
    """Expected CLs upper limits on the POI: the median and its ±1σ, ±2σ band.

    Returns the five values of the POI (in its own units: the signal strength μ) for
    the bands −2σ, −1σ, median, +1σ, +2σ, in this order: the μ at which the expected
    CLs of that band (the expected set of ``pyhf.infer.hypotest(μ, asimov, model,
    test_stat="qtilde", return_expected_set=True)``, in the same order) equals
    α = 1 − ``confidence_level``.

    pyhf's asymptotic expected CLs depends on μ only through √q_μ,A, where
    q_μ,A = −2 ln λ_A(μ) is the test statistic of the background-only Asimov data
    (the model's prediction at ``background_pars``, which have the POI at 0): band N
    has CLs = Φ(N − √q_μ,A) / Φ(N), computed with pyhf's own distributions
    (:func:`_expected_cls`). For each band the value of √q_μ,A where CLs = α is found
    first (no fits); then μ is solved for with fixed-μ fits
    (:func:`statlesson.fitting.refit`), one per q_μ,A, since ``background_pars`` are
    the unconditional best fit of the Asimov data. The fits use the tolerance
    :data:`~statlesson.fitting.PRECISE` (a looser one stops SLSQP short of the
    minimum). The search starts at a Fisher-information estimate
    of the median, takes inverse-interpolation steps kept inside the bracket of fits
    below and above the target (bisection when a step does not halve the miss), and
    stops at a fitted μ where the expected CLs is within 10⁻⁴ of α; the bands share
    their fits, each started from the nearest earlier minimum. This takes 8 to 12 fits
    on the tests' models and 10 on the lesson's (about 2 s there, on an idle machine).

    Raises ``ValueError`` if ``background_pars`` are not the model's parameters with
    the POI at 0, if ``confidence_level`` is not between 0 and 1, or if a band's limit
    lies above the upper bound of the POI; ``RuntimeError`` if a band needs more than
    12 fits.
    """
    i = model.config.poi_index
    pars = np.asarray(background_pars, dtype=float)
    if np.size(pars) != model.config.npars or pars[i] != 0:
        raise ValueError(
            f"background_pars must hold the model's {model.config.npars} parameters "
            f"with the POI at 0, got {np.size(pars)} values"
            + (f" with the POI at {pars[i]}" if np.size(pars) > i else "")
        )
    if not 0.0 < confidence_level < 1.0:
        raise ValueError(f"confidence_level must lie between 0 and 1, got {confidence_level}")
    alpha = 1.0 - confidence_level
    asimov = model.expected_data(pars)
    best = -2.0 * float(model.logpdf(pars, asimov)[0])
    upper = float(model.config.suggested_bounds()[i][1])
    targets = [_target(band, alpha) for band in range(5)]
    # every fit so far: μ -> (√q_μ,A, fitted parameters); at μ = 0, q_μ,A = 0
    fits: dict[float, tuple[float, np.ndarray]] = {0.0: (0.0, pars)}

    def fit(mu: float) -> None:
        start = fits[min(fits, key=lambda m: abs(m - mu))][1].copy()  # the nearest fit
        start[i] = mu
        fitted, twice_nll = refit(model, asimov, start, [i], tolerance=PRECISE)
        fits[mu] = (float(np.sqrt(max(twice_nll - best, 0.0))), fitted)

    sigma = _sigma_guess(model, pars)  # first guess of the median: target · σ_A
    first = min(targets[2] * sigma, upper) if np.isfinite(sigma) else upper
    limits = np.full(5, np.nan)
    for band in (2, 4, 0, 1, 3):  # the median, the outer bands, then the inner ones
        limits[band] = _solve(fits, fit, band, targets[band], alpha, first, upper)
        first = np.nan  # the later bands start from the fits already made
    return limits


def _expected_cls(sqrt_q_asimov: float) -> np.ndarray:
    """pyhf's asymptotic expected CLs of q̃_μ for the five bands, −2σ … +2σ.

    Given √q_μ,A, this is the expected set of ``pyhf.infer.hypotest(...,
    test_stat="qtilde", return_expected_set=True)`` (with its default
    ``calc_base_dist="normal"``), computed as ``AsymptoticCalculator.expected_pvalues``
    does, with pyhf's ``AsymptoticTestStatDistribution`` for the signal-plus-background
    (shift −√q_μ,A) and the background-only (shift 0) hypotheses. pyhf takes the
    expected values of the test statistic in its −μ̂/σ space, so the branch of q̃_μ for
    √q_μ > √q_μ,A does not enter: CLs = Φ(N − √q_μ,A) / Φ(N) for band N.
    """
    calculators = pyhf.infer.calculators
    signal = calculators.AsymptoticTestStatDistribution(-sqrt_q_asimov)
    background = calculators.AsymptoticTestStatDistribution(0.0)
    cls = []
    for n_sigma in (2, 1, 0, -1, -2):  # pyhf's order: the −2σ band first
        value = background.expected_value(n_sigma)
        cls.append(float(signal.pvalue(value)) / float(background.pvalue(value)))
    return np.array(cls)


def _sigma_guess(model: pyhf.pdf.Model, pars: np.ndarray) -> float:
    """σ_A of the POI at ``pars`` from the expected Fisher information (in POI units).

    I = Jᵀ diag(1/ν) J for the Poisson terms (J = ∂ν/∂θ of the expected counts ν)
    plus the curvature of the constraint terms, both from finite differences, with
    the fixed parameters left out; σ_A = √(I⁻¹)_μμ, NaN if I cannot be inverted.
    """
    i = model.config.poi_index
    free = ~np.asarray(model.config.suggested_fixed(), dtype=bool)
    aux = pyhf.tensorlib.astensor(model.config.auxdata)

    def log_constraint(p: np.ndarray) -> float:  # 0 for a model without constraints
        return float(model.constraint_logpdf(aux, p)) if model.config.nauxdata else 0.0

    counts = np.asarray(model.expected_actualdata(pars), dtype=float)
    constraint = log_constraint(pars)
    slopes = np.zeros((counts.size, pars.size))
    curvature = np.zeros(pars.size)
    for k in np.flatnonzero(free):
        step = 1e-4 * max(1.0, abs(pars[k]))
        up, down = pars.copy(), pars.copy()
        up[k] += step
        down[k] -= step
        slopes[:, k] = (np.asarray(model.expected_actualdata(up)) - counts) / step
        curvature[k] = -(log_constraint(up) + log_constraint(down) - 2.0 * constraint) / step**2
    fisher = slopes.T @ (slopes / np.maximum(counts, 1e-9)[:, None])
    fisher += np.diag(curvature)
    try:
        covariance = np.linalg.inv(fisher[np.ix_(free, free)])
    except np.linalg.LinAlgError:
        return np.nan
    variance = covariance[np.count_nonzero(free[:i]), np.count_nonzero(free[:i])]
    return float(np.sqrt(variance)) if variance > 0 else np.nan


def _target(band: int, alpha: float) -> float:
    """√q_μ,A at which the expected CLs of ``band`` (0 … 4 for −2σ … +2σ) is α."""
    return float(
        optimize.brentq(lambda root_q: _expected_cls(root_q)[band] - alpha, 0.0, 40.0, xtol=1e-12)
    )


def _next_mu(mus: np.ndarray, roots: np.ndarray, target: float) -> float:
    """The μ where √q_μ,A = ``target``, by inverse interpolation (a polynomial of μ in
    √q_μ,A) through up to three fits near the target, spread by at least
    :data:`_SPREAD` in √q_μ,A."""
    chosen: list[int] = []
    for k in np.argsort(np.abs(roots - target)):
        if all(abs(roots[k] - roots[j]) >= _SPREAD for j in chosen):
            chosen.append(int(k))
        if len(chosen) == 3:
            break
    if len(chosen) < 2:
        return np.nan
    x, y = roots[chosen], mus[chosen]
    return float(np.polyval(np.polyfit(x, y, len(chosen) - 1), target))


def _solve(
    fits: dict[float, tuple[float, np.ndarray]],
    fit: Callable[[float], None],
    band: int,
    target: float,
    alpha: float,
    first: float,
    upper: float,
) -> float:
    """The μ of a fit in ``fits`` where the expected CLs of ``band`` is α (within
    :data:`_CLS_TOLERANCE`), making fits with ``fit`` (which adds them to ``fits``)
    until there is one. Each new μ comes from :func:`_next_mu` (``first`` if finite,
    for the first), kept within the bracket of fits below and above ``target`` and
    below ``upper``, the POI's upper bound; it bisects the bracket when a step has
    not halved the distance of √q_μ,A to ``target``."""
    previous = np.inf
    for count in range(_MAX_FITS + 1):
        mus = np.array(sorted(fits))
        roots = np.array([fits[mu][0] for mu in mus])
        errors = np.array([abs(_expected_cls(r)[band] - alpha) for r in roots])
        if errors.min() <= _CLS_TOLERANCE:
            return float(mus[np.argmin(errors)])
        if count == _MAX_FITS:
            break
        below = roots < target
        low = mus[below].max()
        high = mus[~below].min() if np.any(~below) else np.inf
        if not np.isfinite(high) and upper in fits:
            raise ValueError(
                f"the expected limit of the {_BAND_NAMES[band]} band lies above the "
                f"upper bound {upper} of the POI; raise the bound"
            )
        residual = np.abs(roots - target).min()
        slow, previous = residual > 0.5 * previous, residual
        if count == 0 and np.isfinite(first):
            mu = first
        else:
            mu = _next_mu(mus, roots, target)
        if np.isfinite(high):
            if slow or not low < mu < high:
                mu = 0.5 * (low + high)
        else:
            if not mu > low:
                mu = 2.0 * low
            mu = min(mu, upper)
        fit(float(mu))
    raise RuntimeError(f"no expected limit of the {_BAND_NAMES[band]} band after {_MAX_FITS} fits")


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

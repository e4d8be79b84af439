"""Fast, honest interpretation of a fit: impacts, scans, limits and significances.

A fit of the full model has 37 parameters and takes a second or two; cabinetry's exact ranking,
limit and significance need tens to hundreds of such fits, too slow to run live. Near the minimum the
likelihood of this model is very close to Gaussian (thousands of events per bin), so most questions
can be answered from **one** fit's covariance matrix, and a few targeted fits check the answers:

* :func:`covariance_impacts` — the shift of μ̂ when a nuisance parameter is moved by its pre-fit or
  post-fit uncertainty, from the covariance (no refit); :func:`refit_impacts` does the real refits
  for chosen parameters, started at the point the covariance predicts, so they converge quickly;
* :func:`grouped_impacts` — how much each group of uncertainties contributes, from the covariance
  of μ conditional on fixing the group;
* :func:`profile_scan` — −2 Δ ln L of μ from fixed-μ fits;
* :func:`asymptotic_cls` — CLs upper limits (observed from the scan, expected band from a fit to the
  background-only Asimov data) with the asymptotic formulae of Cowan, Cranmer, Gross, Vitells.

Every result is returned in cabinetry's result containers, so cabinetry's plotting functions draw
it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import cabinetry
import numpy as np
import pyhf
from cabinetry.fit import FitResults, LimitResults, RankingResults, ScanResults
from scipy import stats

__all__ = [
    "GROUPS",
    "asymptotic_cls",
    "conditional_init",
    "covariance",
    "covariance_impacts",
    "grouped_impacts",
    "nuisance_parameters",
    "profile_scan",
    "refit",
    "refit_impacts",
    "stat_only_uncertainty",
    "without",
]

#: Groups of nuisance parameters for the uncertainty breakdown (names as in the configuration).
GROUPS: dict[str, tuple[str, ...]] = {
    "jet energy (JES, JER)": ("jes", "jer"),
    "b tagging": ("btag", "mistag"),
    "tt̄ modelling": ("generator", "hadronizer", "ps_isr", "ps_fsr"),
    "lepton scale factor": ("lepton_sf",),
    "background modelling": ("single_top_xsec", "wjets_norm", "scale_muR"),
    "luminosity": ("luminosity",),
    "MC statistics": ("staterror",),
}


def covariance(fit_results: FitResults) -> np.ndarray:
    """Covariance matrix of the fitted parameters, from cabinetry's correlations and uncertainties."""
    sigma = np.asarray(fit_results.uncertainty)
    return np.asarray(fit_results.corr_mat) * np.outer(sigma, sigma)


def _index(fit_results: FitResults, name: str) -> int:
    try:
        return fit_results.labels.index(name)
    except ValueError:
        raise KeyError(
            f"no parameter '{name}' in the fit results; parameters: {', '.join(fit_results.labels)}"
        ) from None


def _indices(fit_results: FitResults, names: Iterable[str]) -> list[int]:
    """Indices of the parameters called ``name``, or whose name is ``name_...`` (so ``"staterror"``
    selects every bin of ``staterror_4j1b`` and ``staterror_4j2b``)."""
    out = []
    for name in names:
        matches = [
            i
            for i, lab in enumerate(fit_results.labels)
            if (base := lab.split("[")[0]) == name or base.startswith(f"{name}_")
        ]
        if not matches:
            raise KeyError(
                f"no parameter '{name}' in the fit results; parameters: "
                f"{', '.join(fit_results.labels)}"
            )
        out += matches
    return sorted(set(out))


def nuisance_parameters(
    fit_results: FitResults, poi_name: str, *, include_staterror: bool = False
) -> list[str]:
    """Labels of the nuisance parameters (everything but the POI; staterror bins optional)."""
    _index(fit_results, poi_name)
    return [
        lab
        for lab in fit_results.labels
        if lab != poi_name and (include_staterror or not lab.startswith("staterror"))
    ]


def without(fit_results: FitResults, prefix: str) -> FitResults:
    """The same fit results without the parameters whose label starts with ``prefix``.

    For plots: ``cabinetry.visualize.correlation_matrix(without(fit_results, "staterror"))``.
    """
    keep = [k for k, lab in enumerate(fit_results.labels) if not lab.startswith(prefix)]
    return fit_results._replace(
        bestfit=np.asarray(fit_results.bestfit)[keep],
        uncertainty=np.asarray(fit_results.uncertainty)[keep],
        labels=[fit_results.labels[k] for k in keep],
        corr_mat=np.asarray(fit_results.corr_mat)[np.ix_(keep, keep)],
    )


def conditional_init(fit_results: FitResults, name: str, value: float) -> np.ndarray:
    """Parameters expected at the minimum when ``name`` is fixed to ``value`` (linear regression).

    For a Gaussian likelihood the other parameters move by C[:, j] / C[j, j] · (value − best fit);
    starting a constrained fit there makes it converge in a few iterations.
    """
    j = _index(fit_results, name)
    cov = covariance(fit_results)
    pars = np.asarray(fit_results.bestfit, dtype=float)
    out = pars + cov[:, j] / cov[j, j] * (value - pars[j])
    out[j] = value
    return out


def covariance_impacts(
    fit_results: FitResults, poi_name: str, prefit_sigma: Mapping[str, float] | None = None
) -> RankingResults:
    """Impacts of every nuisance parameter on the POI from the covariance matrix (no refits).

    Fixing parameter θ at θ̂ + δ moves the POI by C_μθ / C_θθ · δ (exact for a Gaussian likelihood).
    Post-fit impacts use δ = ± the post-fit uncertainty, pre-fit impacts δ = ± the pre-fit one
    (``prefit_sigma[name]``, default 1: the Gaussian constraint of a normsys/histosys). Parameters
    are returned sorted by their post-fit impact, largest first. ``staterror`` parameters are left
    out (their pre-fit widths are the per-bin MC uncertainties).
    """
    i = _index(fit_results, poi_name)
    cov = covariance(fit_results)
    names = nuisance_parameters(fit_results, poi_name)
    idx = [_index(fit_results, n) for n in names]
    prefit = np.array([(prefit_sigma or {}).get(n, 1.0) for n in names])
    slope = cov[i, idx] / cov[idx, idx]
    post = slope * np.asarray(fit_results.uncertainty)[idx]
    pre = slope * prefit
    order = np.argsort(-np.abs(post))
    take = np.asarray(idx)[order]
    return RankingResults(
        bestfit=np.asarray(fit_results.bestfit)[take],
        uncertainty=np.asarray(fit_results.uncertainty)[take],
        labels=[names[k] for k in order],
        prefit_up=pre[order],
        prefit_down=-pre[order],
        postfit_up=post[order],
        postfit_down=-post[order],
    )


def _check_data(model: pyhf.pdf.Model, data: Sequence[float]) -> None:
    """Raise ``ValueError`` if ``data`` is not the model's observed counts followed by its auxdata."""
    n_main, n_aux = model.config.nmaindata, model.config.nauxdata
    n = np.size(data)
    if np.ndim(data) != 1 or n != n_main + n_aux:
        raise ValueError(
            f"data must hold the model's {n_main} observed counts followed by its {n_aux} auxiliary "
            f"data ({n_main + n_aux} numbers), got {n}; take both from "
            "cabinetry.model_utils.model_and_data(workspace)"
        )


def _check_fit_results(model: pyhf.pdf.Model, fit_results: FitResults) -> None:
    """Raise ``ValueError`` if ``fit_results`` do not have the parameters of ``model``."""
    if len(fit_results.labels) != model.config.npars:
        raise ValueError(
            f"the fit results have {len(fit_results.labels)} parameters but the model has "
            f"{model.config.npars}; pass the results of a fit of this model"
        )


def refit(model: pyhf.pdf.Model, data: Sequence[float], init: Sequence[float],
          fixed: Sequence[int] = ()) -> tuple[np.ndarray, float]:  # fmt: skip
    """Minimize −2 ln L from ``init``, holding the parameters with indices ``fixed`` at their
    ``init`` values; returns ``(best-fit parameters, −2 ln L at the minimum)``.

    Uses fast MINUIT settings (no uncertainties); if MINUIT does not declare the minimum valid, the
    fit is repeated with the default, more careful strategy. Raises ``RuntimeError`` if both fail,
    and ``ValueError`` if ``data``, ``init`` or ``fixed`` do not fit the model.
    """
    _check_data(model, data)
    npars = model.config.npars
    if np.ndim(init) != 1 or np.size(init) != npars:
        raise ValueError(
            f"init must hold one value per model parameter ({npars}), got {np.size(init)}; "
            "start from model.config.suggested_init() or a fit result's bestfit"
        )
    bad = [k for k in fixed if not 0 <= k < npars]
    if bad:
        raise ValueError(f"fixed parameter indices {bad} are out of range: the model has {npars}")
    fix = list(model.config.suggested_fixed())
    for k in fixed:
        fix[k] = True
    start = [float(x) for x in init]
    for optimizer in (_FAST, _CAREFUL):
        pyhf.set_backend(pyhf.tensorlib, optimizer)
        try:
            pars, twice_nll = pyhf.infer.mle.fit(
                data, model, init_pars=start, fixed_params=fix, return_fitted_val=True
            )
            return np.asarray(pars), float(twice_nll)
        except pyhf.exceptions.FailedMinimization:
            continue
    raise RuntimeError(f"fit with parameters {fixed} fixed did not converge")


#: MINUIT without the initial Hessian estimate (strategy 0): enough for a start near the minimum.
_FAST = pyhf.optimize.minuit_optimizer(strategy=0, tolerance=0.01)
#: MINUIT's default strategy, the fallback when the fast settings do not converge.
_CAREFUL = pyhf.optimize.minuit_optimizer(strategy=1)


def refit_impacts(
    model: pyhf.pdf.Model,
    data: Sequence[float],
    fit_results: FitResults,
    names: Iterable[str],
    poi_name: str,
) -> RankingResults:
    """Exact post-fit impacts of ``names`` on the POI: refit with each parameter fixed at θ̂ ± σ̂.

    Each fit starts at :func:`conditional_init`. Pre-fit impacts are not computed (NaN).
    """
    _check_fit_results(model, fit_results)
    _check_data(model, data)
    i = _index(fit_results, poi_name)
    names = list(names)
    for name in names:
        _index(fit_results, name)  # every name is checked before the first (slow) fit
    up, down = [], []
    for name in names:
        j = _index(fit_results, name)
        best, sigma = fit_results.bestfit[j], fit_results.uncertainty[j]
        for shifts, value in ((up, best + sigma), (down, best - sigma)):
            pars, _ = refit(model, data, conditional_init(fit_results, name, value), [j])
            shifts.append(pars[i] - fit_results.bestfit[i])
    idx = [_index(fit_results, n) for n in names]
    nan = np.full(len(names), np.nan)
    return RankingResults(
        bestfit=np.asarray(fit_results.bestfit)[idx],
        uncertainty=np.asarray(fit_results.uncertainty)[idx],
        labels=names,
        prefit_up=nan,
        prefit_down=nan.copy(),
        postfit_up=np.asarray(up),
        postfit_down=np.asarray(down),
    )


def _conditional_variance(cov: np.ndarray, i: int, fixed: list[int]) -> float:
    """Variance of parameter i when the parameters ``fixed`` are held at their best-fit values."""
    if not fixed:
        return float(cov[i, i])
    c_if = cov[i, fixed]
    return float(cov[i, i] - c_if @ np.linalg.solve(cov[np.ix_(fixed, fixed)], c_if))


def stat_only_uncertainty(fit_results: FitResults, poi_name: str) -> float:
    """Uncertainty of the POI with every nuisance parameter (MC statistics included) fixed."""
    i = _index(fit_results, poi_name)
    fixed = [k for k in range(len(fit_results.labels)) if k != i]
    return float(np.sqrt(_conditional_variance(covariance(fit_results), i, fixed)))


def grouped_impacts(
    fit_results: FitResults, poi_name: str, groups: Mapping[str, Iterable[str]] = GROUPS
) -> dict[str, float]:
    """Contribution of each group of nuisance parameters to the POI uncertainty.

    Defined as sqrt(σ²(all free) − σ²(group fixed)), with the conditional variance of the POI. The
    contributions of correlated groups do not add up exactly in quadrature to the total.
    """
    i = _index(fit_results, poi_name)
    cov = covariance(fit_results)
    out = {}
    for group, names in groups.items():
        fixed = _indices(fit_results, names)
        out[group] = float(np.sqrt(max(cov[i, i] - _conditional_variance(cov, i, fixed), 0.0)))
    return out


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
        _, twice_nll = refit(model, data, conditional_init(fit_results, poi_name, value), [i])
        delta.append(twice_nll - fit_results.best_twice_nll)
    return ScanResults(
        name=poi_name,
        bestfit=float(fit_results.bestfit[i]),
        uncertainty=float(fit_results.uncertainty[i]),
        parameter_values=values,
        delta_nlls=np.maximum(np.asarray(delta), 0.0),
    )


def asymptotic_cls(
    scan: ScanResults,
    sigma_background_asimov: float,
    *,
    poi_values: Sequence[float] | None = None,
    confidence_level: float = 0.95,
) -> LimitResults:
    """CLs upper limits on the POI with the asymptotic formulae for the q̃_μ test statistic.

    Observed: q̃_μ = −2 Δ ln L from the profile ``scan`` (0 below the best fit; between scan points
    √q̃ is interpolated linearly), and CLs = [1 − Φ(√q̃_μ)] / Φ(√q_μ,A − √q̃_μ), with
    q_μ,A = (μ / σ_A)² and σ_A the POI uncertainty of a fit to the background-only Asimov data
    (``sigma_background_asimov``). Expected limits (median and ±1σ, ±2σ bands):
    μ_up = σ_A [N + Φ⁻¹(1 − α Φ(N))] for N = −2 … 2. CLs curves are evaluated on ``poi_values``
    (default: the scan points), which must not extend above the scan; the observed limit is
    interpolated in log CLs and must lie inside the scanned range.
    """
    if sigma_background_asimov <= 0:
        raise ValueError("the background-only Asimov uncertainty must be positive")
    alpha = 1.0 - confidence_level
    scan_mu = np.asarray(scan.parameter_values, dtype=float)
    mu = scan_mu if poi_values is None else np.asarray(poi_values, dtype=float)
    if mu.max() > scan_mu.max() + 1e-12:
        raise ValueError("poi_values extend beyond the scanned range; extend the scan")
    sqrt_q_scan = np.sqrt(np.where(scan_mu >= scan.bestfit, scan.delta_nlls, 0.0))
    sqrt_q = np.where(mu >= scan.bestfit, np.interp(mu, scan_mu, sqrt_q_scan), 0.0)
    sqrt_qa = mu / sigma_background_asimov
    cls_obs = stats.norm.sf(sqrt_q) / stats.norm.cdf(sqrt_qa - sqrt_q)
    bands = np.array([2, 1, 0, -1, -2])  # pyhf's order of the expected CLs set
    expected_limit = sigma_background_asimov * (
        -bands + stats.norm.ppf(1 - alpha * stats.norm.cdf(-bands))
    )  # ascending: -2σ ... +2σ
    expected_cls = np.array([stats.norm.sf(sqrt_qa + n) / stats.norm.cdf(-n) for n in bands]).T
    below = np.flatnonzero(cls_obs < alpha)
    if len(below) == 0 or below[0] == 0:
        raise ValueError(
            f"the values {mu.min():.3g} … {mu.max():.3g} do not bracket the observed limit; "
            f"extend the scan to where CLs crosses {alpha:g}"
        )
    k = below[0]
    x0, x1 = mu[k - 1], mu[k]
    y0, y1 = np.log(cls_obs[k - 1]), np.log(cls_obs[k])
    observed = x0 + (np.log(alpha) - y0) * (x1 - x0) / (y1 - y0)
    return LimitResults(
        observed_limit=float(observed),
        expected_limit=expected_limit,
        observed_CLs=cls_obs,
        expected_CLs=expected_cls,
        poi_values=mu,
        confidence_level=confidence_level,
    )

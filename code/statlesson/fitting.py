"""Interpretation helpers beside cabinetry's and pyhf's own calls, each tested against them.

A fit of the full model has 36 parameters and takes about a second with uncertainties; cabinetry's
``fit.ranking`` needs four such fits per parameter and pyhf's ``hypotest`` a handful per value of μ,
too slow to run them all live. These helpers answer the same questions with fewer fits; the tests
compare each with the standard call on the lesson's workspace:

* :func:`covariance_impacts` — the shift of μ̂ when a nuisance parameter is moved by its pre-fit or
  post-fit uncertainty, from the covariance (no refit), a shortcut to rank the parameters;
  :func:`refit_impacts` does what ``cabinetry.fit.ranking`` does (refits with one parameter fixed
  at θ̂ ± σ) for chosen parameters only, each fit started where the covariance predicts the minimum;
* :func:`grouped_impacts` — how much each group of uncertainties contributes, from the covariance
  of μ conditional on fixing the group;
* :func:`decorrelate` — the workspace with one parameter per region for a given modifier.

The likelihood scan and the limits are in :mod:`statlesson.limits`.

Every result is returned in cabinetry's result containers where one exists, so cabinetry's
plotting functions draw it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence

import cabinetry
import numpy as np
import pyhf
from cabinetry.fit import FitResults, RankingResults

from .catalogue import GROUPS, SYSTEMATICS
from .validation import check_data

logger = logging.getLogger(__name__)

__all__ = [
    "check_fit_results",
    "conditional_init",
    "covariance",
    "covariance_impacts",
    "decorrelate",
    "drop_modifiers",
    "grouped_impacts",
    "nuisance_parameters",
    "parameter_index",
    "refit",
    "refit_impacts",
    "stat_only_uncertainty",
    "without",
]


def covariance(fit_results: FitResults) -> np.ndarray:
    """Covariance matrix of the fitted parameters, from cabinetry's correlations and errors."""
    sigma = np.asarray(fit_results.uncertainty)
    return np.asarray(fit_results.corr_mat) * np.outer(sigma, sigma)


def parameter_index(fit_results: FitResults, name: str) -> int:
    """Index of the parameter ``name`` in ``fit_results``; ``KeyError`` lists the parameters."""
    try:
        return fit_results.labels.index(name)
    except ValueError:
        raise KeyError(
            f"no parameter '{name}' in the fit results; parameters: {', '.join(fit_results.labels)}"
        ) from None


def _matching(fit_results: FitResults, name: str) -> list[int]:
    """Indices of the parameters called ``name``, or whose name is ``name_...`` (so ``"staterror"``
    selects every bin of ``staterror_4j1b`` and ``staterror_4j2b``); empty if there is none."""
    return [
        i
        for i, lab in enumerate(fit_results.labels)
        if (base := lab.split("[")[0]) == name or base.startswith(f"{name}_")
    ]


def _indices(fit_results: FitResults, names: Iterable[str]) -> list[int]:
    """Indices of the parameters matching each of ``names`` (:func:`_matching`); ``KeyError``
    naming the first name without any."""
    out = []
    for name in names:
        matches = _matching(fit_results, name)
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
    parameter_index(fit_results, poi_name)
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
    j = parameter_index(fit_results, name)
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
    i = parameter_index(fit_results, poi_name)
    cov = covariance(fit_results)
    names = nuisance_parameters(fit_results, poi_name)
    idx = [parameter_index(fit_results, n) for n in names]
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


def check_fit_results(model: pyhf.pdf.Model, fit_results: FitResults) -> None:
    """Raise ``ValueError`` if ``fit_results`` do not have the parameters of ``model``."""
    if len(fit_results.labels) != model.config.npars:
        raise ValueError(
            f"the fit results have {len(fit_results.labels)} parameters but the model has "
            f"{model.config.npars}; pass the results of a fit of this model"
        )


#: SLSQP tolerance of the fits: the POI to about 1e-5 here (checked against MINUIT with
#: strategy 2 by the tests, through cabinetry.fit.ranking). A looser one (1e-4) can stop
#: SLSQP far from the minimum: 0.44 above it in −2 ln L, at one point of the lesson's scan.
PRECISE: float = 1e-6


def refit(
    model: pyhf.pdf.Model,
    data: Sequence[float],
    init: Sequence[float] | np.ndarray,
    fixed: Sequence[int] = (),
    *,
    tolerance: float = PRECISE,
) -> tuple[np.ndarray, float]:
    """Minimize −2 ln L from ``init``, holding the parameters with indices ``fixed`` at
    their ``init`` values; returns ``(best-fit parameters, −2 ln L at the minimum)``.

    Uses SciPy's SLSQP, pyhf's default minimizer (no uncertainties, so no Hessian: several times
    faster than MINUIT), which stops when −2 ln L changes by less than ``tolerance`` between
    iterations (default :data:`PRECISE`). If SLSQP fails, the fit is repeated with
    MINUIT's default strategy. pyhf's global optimizer is changed for these fits only: whatever
    ``pyhf.get_backend()`` was before (MINUIT set by the learner, say) is restored afterwards,
    also after a fallback or an error. Raises ``RuntimeError`` if both fits fail, and
    ``ValueError`` if ``data``, ``init`` or ``fixed`` do not fit the model.
    """
    check_data(model, data)
    npars = model.config.npars
    if np.ndim(init) != 1 or np.size(init) != npars:
        raise ValueError(
            f"init must hold one value per model parameter ({npars}), got "
            f"{np.size(init)}; start from model.config.suggested_init() or a fit "
            "result's bestfit"
        )
    bad = [k for k in fixed if not 0 <= k < npars]
    if bad:
        raise ValueError(f"fixed parameter indices {bad} are out of range: the model has {npars}")
    fix = list(model.config.suggested_fixed())
    for k in fixed:
        fix[k] = True
    start = [float(x) for x in init]
    tensorlib, previous = pyhf.get_backend()  # restored in any case
    try:
        for optimizer in (pyhf.optimize.scipy_optimizer(tolerance=tolerance), _CAREFUL):
            pyhf.set_backend(tensorlib, optimizer)
            try:
                pars, twice_nll = pyhf.infer.mle.fit(
                    data,
                    model,
                    init_pars=start,
                    fixed_params=fix,
                    return_fitted_val=True,
                )
                return np.asarray(pars), float(twice_nll)
            except pyhf.exceptions.FailedMinimization:
                if optimizer is not _CAREFUL:
                    logger.warning(
                        "SciPy's SLSQP did not converge (parameters %s fixed): fitting again "
                        "with MINUIT",
                        list(fixed),
                    )
                continue
    finally:
        pyhf.set_backend(tensorlib, previous)
    raise RuntimeError(f"fit with parameters {fixed} fixed did not converge")


#: MINUIT's default strategy, the fallback when SciPy does not converge.
_CAREFUL = pyhf.optimize.minuit_optimizer(strategy=1)


def refit_impacts(
    model: pyhf.pdf.Model,
    data: Sequence[float],
    fit_results: FitResults,
    names: Iterable[str],
    poi_name: str,
    *,
    prefit: bool = False,
    postfit: bool = True,
) -> RankingResults:
    """Exact impacts of ``names`` on the POI, as ``cabinetry.fit.ranking`` computes them.

    For each parameter, refit with it fixed at θ̂ ± σ̂ (post-fit impacts, unless
    ``postfit=False``) and, with ``prefit=True``, at θ̂ ± its pre-fit uncertainty
    (``cabinetry.model_utils.prefit_uncertainties``); the impact is the change of the POI. Each
    fit starts at :func:`conditional_init`. Impacts not computed are NaN (two calls, one for
    each kind, fit the same as one). Parameters are returned in the order given.
    """
    if not (prefit or postfit):
        raise ValueError("nothing to compute: ask for prefit=True, postfit=True or both")
    check_fit_results(model, fit_results)
    check_data(model, data)
    i = parameter_index(fit_results, poi_name)
    names = list(names)
    for name in names:
        parameter_index(fit_results, name)  # every name is checked before the first (slow) fit
    prefit_sigma = cabinetry.model_utils.prefit_uncertainties(model)
    impacts = np.full((len(names), 4), np.nan)  # pre-fit up, down, post-fit up, down
    for row, name in enumerate(names):
        j = parameter_index(fit_results, name)
        best = fit_results.bestfit[j]
        shifts, columns = [], []
        if prefit:
            shifts, columns = [prefit_sigma[j], -prefit_sigma[j]], [0, 1]
        if postfit:
            shifts += [fit_results.uncertainty[j], -fit_results.uncertainty[j]]
            columns += [2, 3]
        for column, shift in zip(columns, shifts, strict=True):
            if shift == 0:  # unconstrained or fixed: no impact, as in cabinetry
                impacts[row, column] = 0.0
                continue
            pars, _ = refit(model, data, conditional_init(fit_results, name, best + shift), [j])
            impacts[row, column] = pars[i] - fit_results.bestfit[i]
    idx = [parameter_index(fit_results, n) for n in names]
    return RankingResults(
        bestfit=np.asarray(fit_results.bestfit)[idx],
        uncertainty=np.asarray(fit_results.uncertainty)[idx],
        labels=names,
        prefit_up=impacts[:, 0],
        prefit_down=impacts[:, 1],
        postfit_up=impacts[:, 2],
        postfit_down=impacts[:, 3],
    )


def _conditional_variance(cov: np.ndarray, i: int, fixed: list[int]) -> float:
    """Variance of parameter i when the parameters ``fixed`` are held at their best-fit values."""
    if not fixed:
        return float(cov[i, i])
    c_if = cov[i, fixed]
    return float(cov[i, i] - c_if @ np.linalg.solve(cov[np.ix_(fixed, fixed)], c_if))


def stat_only_uncertainty(fit_results: FitResults, poi_name: str) -> float:
    """Uncertainty of the POI with every nuisance parameter (MC statistics included) fixed."""
    i = parameter_index(fit_results, poi_name)
    fixed = [k for k in range(len(fit_results.labels)) if k != i]
    return float(np.sqrt(_conditional_variance(covariance(fit_results), i, fixed)))


def grouped_impacts(
    fit_results: FitResults, poi_name: str, groups: Mapping[str, Iterable[str]] = GROUPS
) -> dict[str, float]:
    """Contribution of each group of nuisance parameters to the POI uncertainty.

    Defined as sqrt(σ²(all free) − σ²(group fixed)), with the conditional variance of the POI. The
    contributions of correlated groups do not add up exactly in quadrature to the total. The
    default groups are those of the catalogue; catalogue systematics that the fit does not have
    (pruned ones) are skipped, and a group without any member in the fit is left out. Any other
    name missing from the fit raises ``KeyError``, as does a fit in which no group has a parameter.
    """
    i = parameter_index(fit_results, poi_name)
    cov = covariance(fit_results)
    out = {}
    for group, names in groups.items():
        present = [n for n in names if _matching(fit_results, n)]
        _indices(fit_results, [n for n in names if n not in present and n not in SYSTEMATICS])
        if not present:
            continue
        fixed = _indices(fit_results, present)
        out[group] = float(np.sqrt(max(cov[i, i] - _conditional_variance(cov, i, fixed), 0.0)))
    if not out:
        raise KeyError(f"no group has a parameter in the fit; parameters: {fit_results.labels}")
    return out


def decorrelate(workspace: Mapping, modifier: str) -> dict:
    """A copy of a workspace in which ``modifier`` becomes one parameter per channel.

    Every modifier called ``modifier`` in channel ``c`` is renamed ``{modifier}_{c}``, so each
    region gets its own nuisance parameter (a robustness check for a parameter that the data
    constrain through two regions at once). Raises ``KeyError`` if no channel has the modifier.
    """
    out = json.loads(json.dumps(workspace))
    found = False
    for channel in out["channels"]:
        for sample in channel["samples"]:
            for mod in sample["modifiers"]:
                if mod["name"] == modifier:
                    mod["name"] = f"{modifier}_{channel['name']}"
                    found = True
    if not found:
        raise KeyError(
            f"no modifier '{modifier}' in the workspace; modifiers: {_modifier_list(out)}"
        )
    return out


def _modifier_list(workspace: Mapping) -> str:
    """The workspace's modifiers as "name (type)", sorted, for error messages."""
    return ", ".join(
        sorted(
            {
                f"{m['name']} ({m['type']})"
                for c in workspace["channels"]
                for s in c["samples"]
                for m in s["modifiers"]
            }
        )
    )


def drop_modifiers(
    workspace: Mapping, *, types: Iterable[str] = (), names: Iterable[str] = ()
) -> dict:
    """A copy of a workspace without the modifiers of the given ``types`` and ``names``.

    A modifier is dropped if its type is in ``types`` (or ``types`` is empty) and its name is in
    ``names`` (or ``names`` is empty): ``types=("histosys",), names=("generator",)`` keeps only
    the normalization part of ``generator``, ``names=("generator",)`` removes the parameter, and
    ``types=("normsys", "histosys", "staterror")`` leaves a statistics-only model. Raises
    ``ValueError`` if both are empty and ``KeyError`` if nothing matches.
    """
    types, names = set(types), set(names)
    if not (types or names):
        raise ValueError("give the types or the names (or both) of the modifiers to drop")
    out = json.loads(json.dumps(workspace))
    dropped = 0
    for channel in out["channels"]:
        for sample in channel["samples"]:
            keep = [
                m
                for m in sample["modifiers"]
                if not ((not types or m["type"] in types) and (not names or m["name"] in names))
            ]
            dropped += len(sample["modifiers"]) - len(keep)
            sample["modifiers"] = keep
    if not dropped:
        raise KeyError(
            f"no modifier of type {sorted(types) or 'any'} and name {sorted(names) or 'any'} "
            f"in the workspace; modifiers: {_modifier_list(out)}"
        )
    return out

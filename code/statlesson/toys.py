"""Pseudo-experiments: sample the model, fit every toy, and look at the pulls of the POI.

A toy study fits the same model hundreds of times, each to a data set drawn from the model at
known parameter values. Fitted one by one from the generating point, each fit costs about a
second. :func:`fit_toys` shares the work between the toys instead:

1. all toys take Newton steps together (Fisher scoring): the expected yields of every toy and
   their derivatives come from one batched pyhf call per step, in which pyhf evaluates thousands
   of parameter points at once, until each toy's parameters stop moving;
2. the few toys that converge slowly (or end at a bound) are finished with
   ``pyhf.infer.mle.fit``, the standard call, from where the shared steps left them.

The tests compare both paths, toy by toy, with the minimum ``pyhf.infer.mle.fit`` finds on its
own on the lesson's workspace, and the toy study's pulls with their expected mean and width.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyhf

from .fitting import refit

__all__ = ["PullStudy", "fit_toys", "pull_study", "sample_toys", "shared_newton_steps"]

#: Step of the forward differences for the derivatives of the expected yields.
_STEP = 1e-5


def sample_toys(
    model: pyhf.pdf.Model, pars: Sequence[float] | np.ndarray, n_toys: int, seed: int
) -> np.ndarray:
    """``n_toys`` pseudo-data sets (main and auxiliary data) drawn from ``model`` at ``pars``.

    Uses pyhf's own sampling. Its numpy backend draws from NumPy's global generator, so that
    generator is seeded with ``seed`` for the draw and restored afterwards.
    """
    if isinstance(n_toys, bool) or not isinstance(n_toys, int) or n_toys < 1:
        raise ValueError(f"n_toys must be a positive number of pseudo-experiments, got {n_toys!r}")
    values = _check_pars(model, pars)
    state = np.random.get_state()
    try:
        np.random.seed(seed)
        return np.asarray(model.make_pdf(pyhf.tensorlib.astensor(values)).sample((n_toys,)))
    finally:
        np.random.set_state(state)


def _check_pars(model: pyhf.pdf.Model, pars: Sequence[float] | np.ndarray) -> np.ndarray:
    values = np.asarray(pars, dtype=float)
    if values.shape != (model.config.npars,):
        raise ValueError(
            f"expected one value per model parameter ({model.config.npars}), got shape "
            f"{values.shape}; start from model.config.suggested_init()"
        )
    return values


def _constraint_curvature(model: pyhf.pdf.Model, aux: np.ndarray, pars: np.ndarray) -> np.ndarray:
    """−∂² ln L_constraint / ∂θ² for every parameter (second differences; Gaussian constraints
    are quadratic, so this is exact for them)."""
    npars, h = model.config.npars, 1e-2
    points = np.repeat(pars[None], 2 * npars + 1, axis=0)
    index = np.arange(npars)
    points[1 + index, index] += h
    points[1 + npars + index, index] -= h
    batched = pyhf.Model(model.spec, batch_size=len(points), **_model_options(model))
    aux_rows = np.repeat(aux[None], len(points), axis=0)
    logpdf = np.asarray(batched.constraint_model.logpdf(aux_rows, points))
    return -(logpdf[1 : npars + 1] + logpdf[npars + 1 :] - 2 * logpdf[0]) / h**2


def _model_options(model: pyhf.pdf.Model) -> dict:
    """Options to build a model equal to ``model`` (the same interpolation codes and POI)."""
    return {
        "poi_name": model.config.poi_name,
        "modifier_settings": model.config.modifier_settings,
        "validate": False,
    }


def _newton_step(
    model: pyhf.pdf.Model,
    counts: np.ndarray,
    aux: np.ndarray,
    theta: np.ndarray,
    curvature: np.ndarray,
) -> np.ndarray:
    """One Fisher-scoring step for each row of ``theta`` (see :func:`shared_newton_steps`)."""
    n_toys, npars = theta.shape
    n_main, width = counts.shape[1], npars + 1
    batched = pyhf.Model(model.spec, batch_size=n_toys * width, **_model_options(model))
    points = np.repeat(theta[:, None, :], width, axis=1)
    index = np.arange(npars)
    points[:, 1 + index, index] += _STEP
    points = points.reshape(-1, npars)
    nu = np.asarray(batched.main_model.expected_data(points)).reshape(n_toys, width, n_main)
    constraint = np.asarray(batched.constraint_model.logpdf(np.repeat(aux, width, 0), points))
    constraint = constraint.reshape(n_toys, width)
    jacobian = (nu[:, 1:] - nu[:, :1]) / _STEP  # toy, parameter, bin
    expected = nu[:, 0]
    gradient = np.einsum("tpb,tb->tp", jacobian, counts / expected - 1.0)
    gradient += (constraint[:, 1:] - constraint[:, :1]) / _STEP
    fisher = np.einsum("tpb,tqb,tb->tpq", jacobian, jacobian, 1.0 / expected)
    fisher += np.diag(curvature)
    fixed = np.flatnonzero(model.config.suggested_fixed())  # these do not move
    gradient[:, fixed] = 0.0
    fisher[:, fixed, :] = 0.0
    fisher[:, :, fixed] = 0.0
    fisher[:, fixed, fixed] = 1.0
    return np.linalg.solve(fisher, gradient[..., None])[..., 0]


def shared_newton_steps(
    model: pyhf.pdf.Model,
    toys: np.ndarray,
    init: Sequence[float] | np.ndarray,
    *,
    tolerance: float = 1e-5,
    max_steps: int = 20,
) -> tuple[np.ndarray, np.ndarray]:
    """Fisher-scoring steps for all toys at once, until every toy has converged.

    Each step solves (JᵀWJ + C) Δθ = ∇ln L for every toy, with J the derivatives of the expected
    main data (forward differences), W = 1/ν, C the curvature of the constraint terms and ∇ln L
    the gradient of the full log-likelihood; parameters the model fixes do not move, and the others
    stay inside the model's bounds. A toy stops once no parameter moves by more than
    ``tolerance``; the others go on, up to ``max_steps``. Returns the parameters (one row per toy)
    and which toys converged. A toy with a parameter at a bound (where a clipped step can stall
    away from the minimum) or with a value that is not finite does not count as converged.

    C is computed once, at ``init``: exact for Gaussian constraints (the lesson's model has only
    those). For other constraints it is an approximation, which slows the steps down but does not
    move the point they converge to, where the gradient vanishes.
    """
    toys = np.atleast_2d(np.asarray(toys, dtype=float))
    start = _check_pars(model, init)
    n_main = model.config.nmaindata
    if toys.shape[1] != n_main + model.config.nauxdata:
        raise ValueError(
            f"each toy needs {n_main + model.config.nauxdata} values (main and auxiliary data), "
            f"got {toys.shape[1]}; draw them with sample_toys()"
        )
    bounds = np.asarray(model.config.suggested_bounds(), dtype=float)
    counts, aux = toys[:, :n_main], toys[:, n_main:]
    curvature = _constraint_curvature(model, aux[0], start)
    theta = np.repeat(start[None], len(toys), axis=0)
    active = np.arange(len(toys))
    for _ in range(max_steps):
        if not active.size:
            break
        step = _newton_step(model, counts[active], aux[active], theta[active], curvature)
        moved = np.clip(theta[active] + step, bounds[:, 0], bounds[:, 1])
        change = np.abs(moved - theta[active]).max(axis=1)
        theta[active] = moved
        active = active[~(change <= tolerance)]  # NaN stays active
    converged = np.ones(len(toys), dtype=bool)
    converged[active] = False
    free = ~np.asarray(model.config.suggested_fixed())
    at_bound = (theta[:, free] <= bounds[free, 0]) | (theta[:, free] >= bounds[free, 1])
    converged &= ~at_bound.any(axis=1) & np.isfinite(theta).all(axis=1)
    return theta, converged


def fit_toys(
    model: pyhf.pdf.Model,
    toys: np.ndarray,
    init: Sequence[float] | np.ndarray,
    *,
    max_steps: int = 20,
) -> np.ndarray:
    """Best-fit parameters of every toy (one row per toy).

    The shared steps of :func:`shared_newton_steps` (at most ``max_steps``) fit most toys. The few
    that have not converged (they approach their minimum slowly, or end at a bound) are fitted with
    ``pyhf.infer.mle.fit`` (:func:`statlesson.fitting.refit`), from where the shared steps left
    them, or from ``init`` if that is not a finite point.
    """
    bestfit, converged = shared_newton_steps(model, toys, init, max_steps=max_steps)
    start = _check_pars(model, init)
    for k in np.flatnonzero(~converged):
        begin = bestfit[k] if np.isfinite(bestfit[k]).all() else start
        bestfit[k] = refit(model, np.asarray(toys[k]).tolist(), begin)[0]
    return bestfit


@dataclass(frozen=True)
class PullStudy:
    """Result of :func:`pull_study`: the POI of every toy, its pulls and their summary."""

    truth: float
    sigma: float
    poi: np.ndarray

    @property
    def pulls(self) -> np.ndarray:
        return (self.poi - self.truth) / self.sigma

    @property
    def mean(self) -> float:
        return float(self.pulls.mean())

    @property
    def width(self) -> float:
        return float(self.pulls.std(ddof=1))

    @property
    def mean_error(self) -> float:
        """Standard error of the mean pull."""
        return self.width / np.sqrt(len(self.poi))

    @property
    def width_error(self) -> float:
        """Standard error of the pull width (Gaussian pulls)."""
        return self.width / np.sqrt(2 * (len(self.poi) - 1))


def pull_study(
    model: pyhf.pdf.Model, pars: Sequence[float] | np.ndarray, n_toys: int, seed: int, sigma: float
) -> PullStudy:
    """Draw ``n_toys`` toys at ``pars``, fit each one and return the pulls of the POI.

    ``sigma`` is the uncertainty the pulls are divided by, for example that of the fit to the Asimov
    data set at ``pars``.
    """
    if not sigma > 0:
        raise ValueError(f"sigma must be a positive uncertainty, got {sigma!r}")
    values = _check_pars(model, pars)
    bestfit = fit_toys(model, sample_toys(model, values, n_toys, seed), values)
    poi = model.config.poi_index
    return PullStudy(truth=float(values[poi]), sigma=float(sigma), poi=bestfit[:, poi])

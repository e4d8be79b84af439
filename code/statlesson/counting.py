"""Counting models built by hand with pyhf, their fits, profile-likelihood scans and intervals.

The functions here serve the first episode ("Statistical models"): a HistFactory model with one
signal region (a few bins of signal and background, a background normalization uncertainty and a
background shape uncertainty), optionally a one-bin control region, fitted with pyhf.

Conventions:

* Yields are expected numbers of events per bin (dimensionless counts).
* ``data`` is always the full pyhf data vector: the observed counts of every bin, channel by channel
  in the order of ``model.config.channels`` (alphabetical), followed by the auxiliary data of the
  constraint terms (``model.config.auxdata``). :func:`make_data` assembles it from per-channel
  counts.
* A scan returns q(μ) = −2 ln λ(μ) = −2 ln L(μ, θ̂̂(μ)) + 2 ln L(μ̂, θ̂), the profile
  likelihood ratio test statistic, so its minimum is (numerically) 0 and the 68 % interval is
  where q(μ) ≤ 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyhf

from .validation import check_data

__all__ = [
    "build_counting_model",
    "counting_spec",
    "fit_poi",
    "interval_from_scan",
    "make_data",
    "profile_scan",
]

#: Name of the parameter of interest (signal strength μ = σ_measured / σ_expected) in these models.
POI_NAME = "mu"


def _as_yields(values: Sequence[float], name: str, *, positive: bool = False) -> list[float]:
    """Check a 1D list of per-bin yields (event counts) and return it as a list of floats."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1D sequence of yields, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains non-finite yields: {arr.tolist()}")
    if positive and np.any(arr <= 0):
        raise ValueError(
            f"{name} must be > 0 in every bin (an empty bin has no expected events to fit), "
            f"got {arr.tolist()}"
        )
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0 in every bin, got {arr.tolist()}")
    return arr.tolist()


def counting_spec(
    signal: Sequence[float],
    background: Sequence[float],
    *,
    bkg_norm_unc: float | None = None,
    bkg_shape_up: Sequence[float] | None = None,
    bkg_shape_down: Sequence[float] | None = None,
    control_signal: Sequence[float] | None = None,
    control_background: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Write the pyhf (HistFactory JSON) specification of a signal + background counting model.

    Args:
        signal: expected signal (tt̄) events per bin of the signal region, for μ = 1.
        background: expected background events per bin of the signal region (all > 0).
        bkg_norm_unc: relative uncertainty on the background normalization, e.g. ``0.1`` for ±10 %.
            Adds a ``normsys`` modifier ``bkg_norm`` with factors ``1 ± bkg_norm_unc`` (must be in
            (0, 1), otherwise the down variation would leave no background). ``None``: no modifier.
        bkg_shape_up, bkg_shape_down: background yields per bin for the +1σ and −1σ variation of a
            shape uncertainty. Adds a ``histosys`` modifier ``bkg_shape``. Give both or neither.
        control_signal, control_background: yields of an optional control region (a second channel,
            ``control_region``). Its background shares ``bkg_norm`` with the signal region, so the
            control region measures the background normalization. Give both or neither.

    Returns:
        A dict with one key ``"channels"``, ready for ``pyhf.Model(spec, poi_name="mu")``.
        The signal carries the free normalization factor ``mu`` (the parameter of interest).

    Raises:
        ValueError: if lengths differ, yields are negative or non-finite, background bins are empty,
            ``bkg_norm_unc`` is outside (0, 1), or only one of a pair of optional arguments
            is given.
    """
    sig = _as_yields(signal, "signal")
    bkg = _as_yields(background, "background", positive=True)
    if len(sig) != len(bkg):
        raise ValueError(
            f"signal and background must have the same number of bins, got {len(sig)} and "
            f"{len(bkg)}"
        )
    if bkg_norm_unc is not None and not 0.0 < bkg_norm_unc < 1.0:
        raise ValueError(
            f"bkg_norm_unc is a relative uncertainty and must be in (0, 1), got {bkg_norm_unc}; "
            "write 0.1 for a 10 % uncertainty"
        )
    if (bkg_shape_up is None) != (bkg_shape_down is None):
        raise ValueError("give both bkg_shape_up and bkg_shape_down, or neither")
    if (control_signal is None) != (control_background is None):
        raise ValueError("give both control_signal and control_background, or neither")

    bkg_modifiers: list[dict[str, Any]] = []
    if bkg_norm_unc is not None:
        bkg_modifiers.append(
            {
                "name": "bkg_norm",
                "type": "normsys",
                "data": {"hi": 1.0 + bkg_norm_unc, "lo": 1.0 - bkg_norm_unc},
            }
        )
    if bkg_shape_up is not None and bkg_shape_down is not None:
        up = _as_yields(bkg_shape_up, "bkg_shape_up")
        down = _as_yields(bkg_shape_down, "bkg_shape_down")
        if not len(up) == len(down) == len(bkg):
            raise ValueError(
                f"bkg_shape_up and bkg_shape_down need {len(bkg)} bins like background, "
                f"got {len(up)} and {len(down)}"
            )
        bkg_modifiers.append(
            {"name": "bkg_shape", "type": "histosys", "data": {"hi_data": up, "lo_data": down}}
        )

    channels = [_channel("signal_region", sig, bkg, bkg_modifiers)]
    if control_signal is not None and control_background is not None:
        cr_sig = _as_yields(control_signal, "control_signal")
        cr_bkg = _as_yields(control_background, "control_background", positive=True)
        if len(cr_sig) != len(cr_bkg):
            raise ValueError(
                "control_signal and control_background must have the same number of bins, "
                f"got {len(cr_sig)} and {len(cr_bkg)}"
            )
        # Only the normalization uncertainty is shared with the control region.
        cr_modifiers = [m for m in bkg_modifiers if m["type"] == "normsys"]
        channels.append(_channel("control_region", cr_sig, cr_bkg, cr_modifiers))
    return {"channels": channels}


def _channel(
    name: str, signal: list[float], background: list[float], bkg_modifiers: list[dict[str, Any]]
) -> dict[str, Any]:
    """One pyhf channel with a ``ttbar`` signal (scaled by ``mu``) and a ``background`` sample."""
    return {
        "name": name,
        "samples": [
            {
                "name": "ttbar",
                "data": signal,
                "modifiers": [{"name": POI_NAME, "type": "normfactor", "data": None}],
            },
            {"name": "background", "data": background, "modifiers": list(bkg_modifiers)},
        ],
    }


def build_counting_model(
    signal: Sequence[float], background: Sequence[float], **kwargs: Any
) -> pyhf.Model:
    """Build the pyhf model of :func:`counting_spec` with ``mu`` as parameter of interest.

    Takes the same arguments as :func:`counting_spec`. The JSON specification is available as
    ``model.spec``.
    """
    return pyhf.Model(counting_spec(signal, background, **kwargs), poi_name=POI_NAME)


def make_data(model: pyhf.Model, observed: Mapping[str, Sequence[float]]) -> list[float]:
    """Assemble the full pyhf data vector from the observed counts of each channel.

    pyhf orders the channels of a model alphabetically (``model.config.channels``), not in the order
    of the specification, so the observed counts are given per channel name and put in that order
    here, followed by the auxiliary data of the constraint terms (``model.config.auxdata``).

    Args:
        model: the pyhf model.
        observed: observed event counts per bin, keyed by channel name.

    Raises:
        KeyError: if a channel of the model is missing or an unknown channel is given.
        ValueError: if a channel has the wrong number of bins or negative / non-finite counts.
    """
    channels = list(model.config.channels)
    missing = [c for c in channels if c not in observed]
    unknown = [c for c in observed if c not in channels]
    if missing or unknown:
        raise KeyError(
            f"observed counts must be given for exactly the channels of the model "
            f"({', '.join(channels)}); missing: {missing or 'none'}, unknown: {unknown or 'none'}"
        )
    data: list[float] = []
    for channel in channels:
        counts = np.asarray(observed[channel], dtype=float)
        nbins = model.config.channel_nbins[channel]
        if counts.shape != (nbins,):
            raise ValueError(
                f"channel '{channel}' has {nbins} bins, got {counts.size} observed counts"
            )
        if not np.all(np.isfinite(counts)) or np.any(counts < 0):
            raise ValueError(f"observed counts in '{channel}' must be finite and >= 0")
        data.extend(counts.tolist())
    return data + list(model.config.auxdata)


def _check_model_and_data(model: pyhf.Model, data: Sequence[float]) -> np.ndarray:
    """Return ``data`` as a float array after checking it fits ``model`` (main + auxiliary data)."""
    if model.config.poi_index is None:
        raise ValueError("the model has no parameter of interest; build it with poi_name='mu'")
    return check_data(model, data, fix="build it with make_data(model, {channel: counts})")


def _best_fit(model: pyhf.Model, data: np.ndarray) -> tuple[np.ndarray, float]:
    """Global maximum-likelihood fit: best-fit parameters and the minimum of −2 ln L."""
    pars, twice_nll = pyhf.infer.mle.fit(data, model, return_fitted_val=True)
    return np.asarray(pyhf.tensorlib.to_numpy(pars), dtype=float), float(twice_nll)


def _all_but_poi_fixed(model: pyhf.Model) -> list[bool]:
    """``fixed_params`` list that fixes every parameter except the parameter of interest."""
    fixed = [True] * model.config.npars
    fixed[model.config.poi_index] = False
    return fixed


def fit_poi(
    model: pyhf.Model, data: Sequence[float], *, fixed_nps: bool = False
) -> tuple[float, float]:
    """Fit the model and return (μ̂, σ_μ): best-fit signal strength and its symmetric uncertainty.

    The uncertainty comes from the curvature of the likelihood at the minimum (MINUIT's HESSE), so
    the pyhf optimizer must be MINUIT: call ``pyhf.set_backend("numpy", "minuit")`` first.

    Args:
        model: pyhf model with a parameter of interest.
        data: observed counts followed by the auxiliary data (see :func:`make_data`).
        fixed_nps: if True, every nuisance parameter is fixed at its best-fit value from the
            full fit and only μ is fitted: σ_μ is then the statistical uncertainty alone.

    Raises:
        RuntimeError: if the current pyhf optimizer is not MINUIT.
        ValueError: if ``data`` does not match the model.
    """
    if pyhf.optimizer.name != "minuit":
        raise RuntimeError(
            f"fit_poi needs uncertainties from MINUIT, but the pyhf optimizer is "
            f"'{pyhf.optimizer.name}'; call pyhf.set_backend('numpy', 'minuit') first"
        )
    arr = _check_model_and_data(model, data)
    poi = model.config.poi_index
    result = pyhf.infer.mle.fit(arr, model, return_uncertainties=True)
    if fixed_nps:
        best = pyhf.tensorlib.to_numpy(result)[:, 0]
        result = pyhf.infer.mle.fit(
            arr,
            model,
            init_pars=best.tolist(),
            fixed_params=_all_but_poi_fixed(model),
            return_uncertainties=True,
        )
    values = np.asarray(pyhf.tensorlib.to_numpy(result), dtype=float)
    return float(values[poi, 0]), float(values[poi, 1])


def profile_scan(
    model: pyhf.Model,
    data: Sequence[float],
    mu_values: Sequence[float],
    *,
    fixed_nps: bool = False,
) -> np.ndarray:
    """Profile likelihood ratio scan q(μ) = −2 ln λ(μ) of the signal strength.

    λ(μ) = L(μ, θ̂̂(μ)) / L(μ̂, θ̂): at each μ the nuisance parameters θ are refitted (profiled).

    Args:
        model: pyhf model with a parameter of interest.
        data: observed counts followed by the auxiliary data (see :func:`make_data`).
        mu_values: values of μ to scan (dimensionless, inside the POI bounds of the model).
        fixed_nps: if True, the nuisance parameters are not profiled but fixed at their
            best-fit values θ̂ from the global fit ("statistics only"); the curve then shows the
            statistical uncertainty alone, and the difference to the profiled curve is the
            systematic part.

    Returns:
        Array of q(μ) (dimensionless, ≥ 0 up to fit precision), one value per entry of
        ``mu_values``.
        q = 1 marks the edges of the 68 % confidence interval.

    Raises:
        ValueError: if ``data`` does not match the model, or ``mu_values`` is empty, not finite or
            outside the bounds of the parameter of interest.
    """
    arr = _check_model_and_data(model, data)
    mu = np.asarray(mu_values, dtype=float)
    if mu.ndim != 1 or mu.size == 0 or not np.all(np.isfinite(mu)):
        raise ValueError(f"mu_values must be a non-empty 1D sequence of finite numbers, got {mu!r}")
    poi = model.config.poi_index
    low, high = model.config.suggested_bounds()[poi]
    if mu.min() < low or mu.max() > high:
        raise ValueError(
            f"mu_values must lie within the bounds of '{model.config.poi_name}' [{low}, {high}], "
            f"got the range [{mu.min()}, {mu.max()}]"
        )

    best, twice_nll_min = _best_fit(model, arr)
    q = np.empty_like(mu)
    fixed = model.config.suggested_fixed()
    has_free_nps = any(not f for i, f in enumerate(fixed) if i != poi)
    if fixed_nps or not has_free_nps:
        # Nothing to profile: evaluate the likelihood with the other parameters at their best fit.
        pars = best.copy()
        for i, mu_i in enumerate(mu):
            pars[poi] = mu_i
            twice_nll = pyhf.infer.mle.twice_nll(pars, arr, model)
            q[i] = float(np.squeeze(pyhf.tensorlib.to_numpy(twice_nll))) - twice_nll_min
        return q

    init = best.tolist()
    for i, mu_i in enumerate(mu):
        pars, twice_nll = pyhf.infer.mle.fixed_poi_fit(
            mu_i, arr, model, init_pars=init, return_fitted_val=True
        )
        init = pyhf.tensorlib.to_numpy(pars).tolist()  # warm start for the next point
        q[i] = float(twice_nll) - twice_nll_min
    return q


def interval_from_scan(
    mu: Sequence[float], q: Sequence[float], level: float = 1.0
) -> tuple[float, float]:
    """Read the interval {μ : q(μ) ≤ level} off a scan, interpolating linearly between scan points.

    Args:
        mu: scanned values of μ, strictly increasing.
        q: −2 ln λ(μ) at those values (as returned by :func:`profile_scan`).
        level: crossing level of q; 1.0 gives the 68 % (1σ) interval, 3.84 the 95 % interval for
            one parameter.

    Returns:
        (low, high): the crossings of q = level to the left and right of the minimum.

    Raises:
        ValueError: for inputs of different lengths, fewer than three points, non-finite values,
            μ not strictly increasing, level ≤ 0, or a scan that does not reach ``level`` on
            one side of its minimum (then widen the scan range).
    """
    mu_arr = np.asarray(mu, dtype=float)
    q_arr = np.asarray(q, dtype=float)
    if mu_arr.ndim != 1 or mu_arr.shape != q_arr.shape:
        raise ValueError(
            f"mu and q must be 1D arrays of the same length, got shapes {mu_arr.shape} and "
            f"{q_arr.shape}"
        )
    if mu_arr.size < 3:
        raise ValueError(f"a scan needs at least three points, got {mu_arr.size}")
    if not (np.all(np.isfinite(mu_arr)) and np.all(np.isfinite(q_arr))):
        raise ValueError("mu and q must be finite")
    if np.any(np.diff(mu_arr) <= 0):
        raise ValueError("mu must be strictly increasing")
    if not level > 0:
        raise ValueError(f"level must be > 0, got {level}")

    i_min = int(np.argmin(q_arr))
    left = np.flatnonzero(q_arr[:i_min] >= level)
    right = np.flatnonzero(q_arr[i_min + 1 :] >= level)
    if left.size == 0:
        raise ValueError(
            f"the scan does not reach q = {level} below its minimum at mu = {mu_arr[i_min]:.4g}; "
            "start the scan at a lower mu"
        )
    if right.size == 0:
        raise ValueError(
            f"the scan does not reach q = {level} above its minimum at mu = {mu_arr[i_min]:.4g}; "
            "extend the scan to a higher mu"
        )
    j = int(left[-1])  # last point at or above level on the left: crossing between j and j + 1
    k = i_min + 1 + int(right[0])  # first point at or above level on the right: between k - 1 and k
    low = float(np.interp(level, [q_arr[j + 1], q_arr[j]], [mu_arr[j + 1], mu_arr[j]]))
    high = float(np.interp(level, [q_arr[k - 1], q_arr[k]], [mu_arr[k - 1], mu_arr[k]]))
    return low, high

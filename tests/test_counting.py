"""Tests of statlesson.counting: hand-built HistFactory models, scans and intervals.

Expected numbers follow from the construction of each test (Poisson statistics, a parabola, Asimov
data), never from running the code under test.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pyhf
import pytest
from scipy.optimize import brentq

from statlesson import histplots, counting

# One-bin counting experiment: signal and background expectation, observed count.
S, B, N = 300.0, 100.0, 430.0


@pytest.fixture(autouse=True)
def minuit_backend():
    """Fit with MINUIT (uncertainties available) and restore the previous backend afterwards."""
    previous = pyhf.get_backend()
    pyhf.set_backend("numpy", "minuit")
    yield
    pyhf.set_backend(*previous)


@pytest.fixture
def three_bin_model() -> pyhf.Model:
    """Signal peaking in the middle bin over a falling background, with both systematics."""
    return counting.build_counting_model(
        [120.0, 260.0, 140.0],
        [90.0, 60.0, 40.0],
        bkg_norm_unc=0.2,
        bkg_shape_up=[80.0, 60.0, 48.0],
        bkg_shape_down=[100.0, 60.0, 32.0],
    )


def asimov(model: pyhf.Model) -> list[float]:
    """Expected data (main + auxiliary) at μ = 1 and all nuisance parameters nominal."""
    return pyhf.tensorlib.to_numpy(model.expected_data(model.config.suggested_init())).tolist()


def poisson_crossings(n: float, s: float, b: float, level: float = 1.0) -> tuple[float, float]:
    """Exact μ where −2 ln λ = level for one Poisson bin: 2[ν − n − n ln(ν/n)] = level, ν = μs + b."""

    def q(mu: float) -> float:
        nu = mu * s + b
        return 2.0 * (nu - n - n * np.log(nu / n)) - level

    mu_hat = (n - b) / s
    return brentq(q, mu_hat - 1.0, mu_hat), brentq(q, mu_hat, mu_hat + 1.0)


# --- the model specification -------------------------------------------------------------------


def test_spec_has_the_requested_modifiers_and_yields():
    spec = counting.counting_spec(
        [10.0, 20.0], [5.0, 6.0], bkg_norm_unc=0.3, bkg_shape_up=[6.0, 6.0], bkg_shape_down=[4.0, 6.0]
    )
    (channel,) = spec["channels"]
    samples = {s["name"]: s for s in channel["samples"]}
    assert samples["ttbar"]["data"] == [10.0, 20.0]
    assert samples["ttbar"]["modifiers"] == [{"name": "mu", "type": "normfactor", "data": None}]
    modifiers = {m["name"]: m for m in samples["background"]["modifiers"]}
    assert modifiers["bkg_norm"]["type"] == "normsys"
    assert modifiers["bkg_norm"]["data"] == pytest.approx({"hi": 1.3, "lo": 0.7})
    assert modifiers["bkg_shape"]["type"] == "histosys"
    assert modifiers["bkg_shape"]["data"] == {"hi_data": [6.0, 6.0], "lo_data": [4.0, 6.0]}


def test_model_predicts_signal_plus_background_and_the_shape_variation(three_bin_model):
    model = three_bin_model
    pars = np.asarray(model.config.suggested_init(), dtype=float)
    nominal = model.expected_actualdata(pars)
    np.testing.assert_allclose(nominal, [210.0, 320.0, 180.0])

    pars[model.config.par_slice("bkg_shape")] = 1.0  # +1σ of the shape uncertainty
    np.testing.assert_allclose(model.expected_actualdata(pars), [200.0, 320.0, 188.0])

    pars = np.asarray(model.config.suggested_init(), dtype=float)
    pars[model.config.poi_index] = 2.0  # twice the signal
    np.testing.assert_allclose(model.expected_actualdata(pars), [330.0, 580.0, 320.0])


def test_control_region_shares_only_the_normalization():
    spec = counting.counting_spec(
        [100.0], [50.0], bkg_norm_unc=0.1, bkg_shape_up=[55.0], bkg_shape_down=[45.0],
        control_signal=[5.0], control_background=[400.0],
    )
    channels = {c["name"]: c for c in spec["channels"]}
    assert set(channels) == {"signal_region", "control_region"}
    cr_bkg = channels["control_region"]["samples"][1]
    assert [m["name"] for m in cr_bkg["modifiers"]] == ["bkg_norm"]
    model = pyhf.Model(spec, poi_name="mu")
    assert set(model.config.par_order) == {"mu", "bkg_norm", "bkg_shape"}


# --- one Poisson bin: results known in closed form ----------------------------------------------


def test_one_bin_scan_minimum_is_at_analytic_mle():
    model = counting.build_counting_model([S], [B])
    mu = np.linspace(0.9, 1.3, 401)  # step 0.001
    q = counting.profile_scan(model, [N], mu)
    assert mu[np.argmin(q)] == pytest.approx((N - B) / S, abs=1e-3)
    assert q.min() == pytest.approx(0.0, abs=1e-4)


def test_one_bin_interval_matches_exact_poisson_crossings():
    model = counting.build_counting_model([S], [B])
    mu = np.linspace(0.8, 1.4, 301)
    low, high = counting.interval_from_scan(mu, counting.profile_scan(model, [N], mu))
    exact_low, exact_high = poisson_crossings(N, S, B)
    assert low == pytest.approx(exact_low, abs=1e-3)
    assert high == pytest.approx(exact_high, abs=1e-3)
    # Large n: the half-width is the Gaussian sqrt(n) / s.
    assert (high - low) / 2 == pytest.approx(np.sqrt(N) / S, rel=0.01)


def test_one_bin_fit_gives_mle_and_sqrt_n_over_s():
    model = counting.build_counting_model([S], [B])
    mu_hat, sigma = counting.fit_poi(model, [N])
    assert mu_hat == pytest.approx((N - B) / S, abs=1e-3)
    # −d²ln L/dμ² at the minimum is s² / n, hence σ = sqrt(n) / s.
    assert sigma == pytest.approx(np.sqrt(N) / S, rel=0.01)


def test_background_normsys_widens_interval_by_quadrature_sum():
    rel_unc = 0.1
    model = counting.build_counting_model([S], [B], bkg_norm_unc=rel_unc)
    data = [N, *model.config.auxdata]
    mu = np.linspace(0.8, 1.4, 301)
    low, high = counting.interval_from_scan(mu, counting.profile_scan(model, data, mu))
    low0, high0 = counting.interval_from_scan(
        mu, counting.profile_scan(model, data, mu, fixed_nps=True)
    )
    assert high - low > 1.05 * (high0 - low0)
    # Statistical and background-normalization uncertainties add in quadrature (linearized).
    expected = np.sqrt(N + (rel_unc * B) ** 2) / S
    assert (high - low) / 2 == pytest.approx(expected, rel=0.03)
    _, sigma = counting.fit_poi(model, data)
    assert sigma == pytest.approx(expected, rel=0.03)


def test_fixed_nps_scan_equals_model_without_nps_when_nps_are_not_pulled():
    # One bin cannot tell signal from background: the constraint keeps the NP at 0, so fixing it
    # there gives back the model without any nuisance parameter.
    with_np = counting.build_counting_model([S], [B], bkg_norm_unc=0.1)
    without_np = counting.build_counting_model([S], [B])
    mu = np.linspace(0.9, 1.3, 41)
    q_fixed = counting.profile_scan(with_np, [N, *with_np.config.auxdata], mu, fixed_nps=True)
    q_none = counting.profile_scan(without_np, [N], mu)
    np.testing.assert_allclose(q_fixed, q_none, atol=1e-3)


# --- Asimov data and control regions -----------------------------------------------------------


def test_profile_scan_equals_a_plain_fixed_poi_fit_loop(three_bin_model):
    """The helper is the loop episode 1 writes out: fixed_poi_fit minus the global minimum."""
    data = [221.0, 340.0, 176.0] + three_bin_model.config.auxdata
    mu = np.linspace(0.8, 1.3, 6)
    _, best = pyhf.infer.mle.fit(data, three_bin_model, return_fitted_val=True)
    plain = [float(pyhf.infer.mle.fixed_poi_fit(m, data, three_bin_model,
                                                return_fitted_val=True)[1]) - float(best)
             for m in mu]  # fmt: skip
    np.testing.assert_allclose(counting.profile_scan(three_bin_model, data, mu), plain,
                               atol=1e-3)


def test_asimov_fit_returns_mu_one(three_bin_model):
    data = asimov(three_bin_model)
    mu_hat, sigma = counting.fit_poi(three_bin_model, data)
    assert mu_hat == pytest.approx(1.0, abs=1e-3)
    assert sigma > 0
    mu_hat_stat, sigma_stat = counting.fit_poi(three_bin_model, data, fixed_nps=True)
    assert mu_hat_stat == pytest.approx(1.0, abs=1e-3)
    assert sigma_stat < sigma  # systematics can only add uncertainty


def test_asimov_scan_is_centred_on_one(three_bin_model):
    mu = np.linspace(0.7, 1.3, 61)
    q = counting.profile_scan(three_bin_model, asimov(three_bin_model), mu)
    low, high = counting.interval_from_scan(mu, q)
    assert low < 1.0 < high
    assert (low + high) / 2 == pytest.approx(1.0, abs=0.01)


def test_control_region_constrains_background_normalization():
    rel_unc, n_cr = 0.2, 400.0
    model = counting.build_counting_model(
        [300.0], [100.0], bkg_norm_unc=rel_unc, control_signal=[0.0], control_background=[n_cr]
    )
    result = pyhf.infer.mle.fit(asimov(model), model, return_uncertainties=True)
    sigma_alpha = float(result[model.config.par_slice("bkg_norm"), 1][0])
    # The control region measures the background to 1/sqrt(n_cr) = 5 %, i.e. 0.25 in units of the
    # 20 % prior; combined with the unit-width constraint: 1 / sqrt(1 + (rel_unc * sqrt(n_cr))**2).
    assert sigma_alpha == pytest.approx(1.0 / np.sqrt(1.0 + (rel_unc * np.sqrt(n_cr)) ** 2), rel=0.1)

    without_cr = counting.build_counting_model([300.0], [100.0], bkg_norm_unc=rel_unc)
    _, sigma_mu_without = counting.fit_poi(without_cr, asimov(without_cr))
    _, sigma_mu_with = counting.fit_poi(model, asimov(model))
    assert sigma_mu_with < sigma_mu_without


@pytest.fixture
def pulled_model() -> tuple[pyhf.Model, list[float]]:
    """One signal-region bin and a control region in tension with the background
    prediction: 480 events where 400 are expected pull the 20 % normalization
    ``bkg_norm`` to about +1σ, so nuisance parameters fixed at their best fit and at
    their nominal value differ clearly (with the nominal background, μ̂ would be
    (430 − 100) / 300 = 1.1 instead of about 1.04)."""
    model = counting.build_counting_model(
        [300.0], [100.0], bkg_norm_unc=0.2,
        control_signal=[0.0], control_background=[400.0],
    )  # fmt: skip
    observed = {"signal_region": [430.0], "control_region": [480.0]}
    data = counting.make_data(model, observed)
    return model, data


def test_stat_only_fit_holds_the_nps_at_their_best_fit(pulled_model):
    model, data = pulled_model
    poi = model.config.poi_index
    best = np.asarray(pyhf.infer.mle.fit(data, model))
    assert best[model.config.par_slice("bkg_norm")][0] > 0.5  # pulled, as constructed
    mu_hat, _ = counting.fit_poi(model, data)
    mu_stat, sigma_stat = counting.fit_poi(model, data, fixed_nps=True)
    assert mu_stat == pytest.approx(mu_hat, abs=1e-3)  # the minimum stays where it is
    fixed = [k != poi for k in range(model.config.npars)]
    standard = pyhf.infer.mle.fit(
        data, model, init_pars=best.tolist(), fixed_params=fixed,
        return_uncertainties=True,
    )  # fmt: skip
    assert mu_stat == pytest.approx(standard[poi, 0], abs=1e-3)
    assert sigma_stat == pytest.approx(standard[poi, 1], rel=1e-3)
    # with the background fixed, the one signal-region bin measures μ alone:
    # σ = sqrt(n) / s
    assert sigma_stat == pytest.approx(np.sqrt(430.0) / 300.0, rel=0.01)


def test_stat_only_scan_holds_the_nps_at_their_best_fit(pulled_model):
    model, data = pulled_model
    poi = model.config.poi_index
    best, twice_nll_min = pyhf.infer.mle.fit(data, model, return_fitted_val=True)
    best = np.asarray(best)
    mu = best[poi] + np.array([-0.15, 0.0, 0.1])
    q = counting.profile_scan(model, data, mu, fixed_nps=True)
    assert q[1] == pytest.approx(0.0, abs=1e-3)
    expected = []
    for value in mu:
        pars = best.copy()
        pars[poi] = value
        twice_nll = -2.0 * float(model.logpdf(pars, data)[0])
        expected.append(twice_nll - float(twice_nll_min))
    np.testing.assert_allclose(q, expected, atol=1e-3)
    # holding the nuisance parameters fixed can only make the curve steeper
    profiled = counting.profile_scan(model, data, mu)
    assert q[0] > profiled[0] + 0.05 and q[2] > profiled[2] + 0.05


# --- reading intervals off a scan --------------------------------------------------------------


def test_interval_of_a_parabola():
    mu = np.linspace(0.0, 2.5, 251)
    q = ((mu - 1.1) / 0.2) ** 2
    assert counting.interval_from_scan(mu, q) == pytest.approx((0.9, 1.3), abs=1e-3)
    assert counting.interval_from_scan(mu, q, level=4.0) == pytest.approx((0.7, 1.5), abs=1e-3)


def test_interval_of_an_asymmetric_scan():
    mu = np.linspace(0.0, 2.0, 201)
    q = np.where(mu < 1.0, ((mu - 1.0) / 0.1) ** 2, ((mu - 1.0) / 0.3) ** 2)
    assert counting.interval_from_scan(mu, q) == pytest.approx((0.9, 1.3), abs=1e-3)


def test_interval_is_exact_on_a_piecewise_linear_scan():
    # Linear interpolation is exact when q is linear between the scan points.
    mu = np.array([0.0, 0.5, 1.0, 1.5, 2.0])
    q = np.array([4.0, 2.0, 0.0, 1.5, 3.0])
    assert counting.interval_from_scan(mu, q) == pytest.approx((0.75, 1.0 + 0.5 / 1.5))


# --- plotting ----------------------------------------------------------------------------------


def test_plot_scan_draws_on_given_axes_and_returns_them():
    fig, ax = plt.subplots()
    mu = np.linspace(0.0, 2.0, 5)
    returned = histplots.plot_scan(mu, (mu - 1.0) ** 2, label="toy", ax=ax, linestyle="--")
    assert returned is ax
    (line,) = ax.get_lines()
    assert line.get_label() == "toy"
    assert line.get_linestyle() == "--"
    np.testing.assert_allclose(line.get_ydata(), (mu - 1.0) ** 2)
    assert ax.get_xlabel() and ax.get_ylabel()
    plt.close(fig)


def test_plot_scan_makes_axes_when_none_given():
    ax = histplots.plot_scan([0.0, 1.0, 2.0], [1.0, 0.0, 1.0], label="toy")
    assert len(ax.get_lines()) == 1
    plt.close(ax.figure)


# --- clear errors for bad input ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"signal": [1.0, 2.0], "background": [1.0]}, "same number of bins"),
        ({"signal": [1.0], "background": [0.0]}, "must be > 0"),
        ({"signal": [-1.0], "background": [1.0]}, ">= 0"),
        ({"signal": [], "background": []}, "non-empty"),
        ({"signal": [1.0], "background": [1.0], "bkg_norm_unc": 10.0}, r"\(0, 1\)"),
        ({"signal": [1.0], "background": [1.0], "bkg_shape_up": [1.0]}, "both"),
        (
            {"signal": [1.0], "background": [1.0], "bkg_shape_up": [1.0, 2.0], "bkg_shape_down": [1.0]},
            "bins",
        ),
        ({"signal": [1.0], "background": [1.0], "control_background": [1.0]}, "both"),
    ],
)
def test_bad_spec_input_raises(kwargs, message):
    with pytest.raises(ValueError, match=message):
        counting.counting_spec(**kwargs)


def test_scan_rejects_data_without_auxdata():
    model = counting.build_counting_model([S], [B], bkg_norm_unc=0.1)
    with pytest.raises(ValueError, match="auxiliary data"):
        counting.profile_scan(model, [N], [1.0])


def test_scan_rejects_mu_outside_bounds():
    model = counting.build_counting_model([S], [B])
    with pytest.raises(ValueError, match="bounds"):
        counting.profile_scan(model, [N], [-1.0, 1.0])


@pytest.mark.parametrize(
    ("mu", "q", "message"),
    [
        ([0.0, 1.0, 2.0], [0.5, 0.0, 4.0], "lower mu"),
        ([0.0, 1.0, 2.0], [4.0, 0.0, 0.5], "higher mu"),
        ([0.0, 2.0, 1.0], [4.0, 0.0, 4.0], "strictly increasing"),
        ([0.0, 1.0], [4.0, 0.0], "three points"),
        ([0.0, 1.0, 2.0], [4.0, 0.0], "same length"),
        ([0.0, 1.0, 2.0], [4.0, np.nan, 4.0], "finite"),
    ],
)
def test_bad_scan_input_raises(mu, q, message):
    with pytest.raises(ValueError, match=message):
        counting.interval_from_scan(mu, q)


def test_fit_poi_asks_for_minuit():
    model = counting.build_counting_model([S], [B])
    pyhf.set_backend("numpy", "scipy")
    with pytest.raises(RuntimeError, match="minuit"):
        counting.fit_poi(model, [N])


# --- assembling the data vector ----------------------------------------------------------------


def test_make_data_orders_channels_like_the_model():
    model = counting.build_counting_model(
        [100.0, 50.0], [20.0, 30.0], bkg_norm_unc=0.1, control_signal=[5.0], control_background=[400.0]
    )
    # pyhf sorts channels by name: the control region comes first.
    assert list(model.config.channels) == ["control_region", "signal_region"]
    data = counting.make_data(model, {"signal_region": [130.0, 75.0], "control_region": [410.0]})
    assert data == [410.0, 130.0, 75.0, 0.0]  # control, signal bins, then the auxiliary datum a = 0


def test_make_data_names_missing_channel():
    model = counting.build_counting_model([S], [B])
    with pytest.raises(KeyError, match="missing.*signal_region"):
        counting.make_data(model, {"control_region": [N]})


def test_make_data_checks_number_of_bins():
    model = counting.build_counting_model([S, S], [B, B])
    with pytest.raises(ValueError, match="2 bins, got 1"):
        counting.make_data(model, {"signal_region": [N]})

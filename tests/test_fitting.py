"""The fit of the full model: closure, recovery of the injected truth, coverage on toys, and the
fast interpretation helpers against exact computations."""

from __future__ import annotations

import json

import cabinetry
import numpy as np
import pyhf
import pytest

from statlesson import catalogue, fitting, limits, ntuple, toys

POI = "mu_ttbar"


def test_asimov_closure(likelihood):
    pdf, _ = likelihood
    asimov = cabinetry.model_utils.asimov_data(pdf)
    result = cabinetry.fit.fit(pdf, asimov, tolerance=1e-4)
    expected = np.asarray(pdf.config.suggested_init())  # mu = 1, NPs 0, gammas 1
    np.testing.assert_allclose(result.bestfit, expected, atol=1e-3)


def test_pseudodata_fit_recovers_injected_signal_strength(likelihood, fit_results):
    truth = json.loads((ntuple.data_dir() / "truth.json").read_text())
    i = fit_results.labels.index(POI)
    pull = (fit_results.bestfit[i] - truth["mu_ttbar"]) / fit_results.uncertainty[i]
    assert abs(pull) < 2


@pytest.fixture(scope="module")
def generating_point(likelihood):
    """The injected truth: μ from truth.json, every other parameter nominal; and the uncertainty
    on μ of the fit to the Asimov data set there (what the pulls are divided by)."""
    pdf, _ = likelihood
    pars = np.asarray(pdf.config.suggested_init())
    pars[pdf.config.poi_index] = json.loads((ntuple.data_dir() / "truth.json").read_text())[POI]
    asimov = cabinetry.fit.fit(pdf, pdf.expected_data(pars).tolist(), init_pars=pars.tolist())
    return pars, asimov.uncertainty[pdf.config.poi_index]


def test_shared_toy_fits_find_the_minimum_pyhf_finds(likelihood, generating_point):
    """The shortcut of the toy study against the standard call, toy by toy: the same μ̂ and the
    same minimum of −2 ln L (the shortcut's is never higher than pyhf's by more than pyhf's
    own tolerance)."""
    pdf, _ = likelihood
    pars, _ = generating_point
    sample = toys.sample_toys(pdf, pars, 4, seed=7)
    shared = toys.fit_toys(pdf, sample, pars)
    pyhf.set_backend("numpy", "scipy")
    for toy, ours in zip(sample, shared):
        standard, twice_nll = pyhf.infer.mle.fit(toy, pdf, init_pars=pars.tolist(),
                                                 return_fitted_val=True)  # fmt: skip
        assert ours[pdf.config.poi_index] == pytest.approx(standard[pdf.config.poi_index],
                                                           abs=1e-4)  # fmt: skip
        assert -2 * float(pdf.logpdf(ours, toy)[0]) <= float(twice_nll) + 1e-3
    # the shared steps alone converge for most toys
    _, converged = toys.shared_newton_steps(pdf, sample, pars)
    assert converged.sum() >= 3


def test_toys_the_shared_steps_leave_unfinished_are_fitted_by_pyhf(likelihood, generating_point):
    pdf, _ = likelihood
    pars, _ = generating_point
    sample = toys.sample_toys(pdf, pars, 3, seed=5)
    _, converged = toys.shared_newton_steps(pdf, sample, pars, max_steps=1)
    assert not converged.any()  # one step is not enough: every toy goes to pyhf's fit
    finished = toys.fit_toys(pdf, sample, pars, max_steps=1)
    complete = toys.fit_toys(pdf, sample, pars)
    np.testing.assert_allclose(finished[:, pdf.config.poi_index],
                               complete[:, pdf.config.poi_index], atol=1e-4)  # fmt: skip


def test_shared_toy_fits_hold_fixed_parameters_where_the_model_fixes_them():
    spec = {
        "channels": [{"name": "sr", "samples": [
            {"name": "signal", "data": [10.0, 20.0],
             "modifiers": [{"name": "mu", "type": "normfactor", "data": None}]},
            {"name": "background", "data": [50.0, 60.0],
             "modifiers": [{"name": "bkg_norm", "type": "normsys",
                            "data": {"hi": 1.2, "lo": 0.8}}]},
        ]}],
        "parameters": [{"name": "bkg_norm", "fixed": True, "inits": [0.5]}],
    }  # fmt: skip
    model = pyhf.Model(spec, poi_name="mu")
    init = np.asarray(model.config.suggested_init())
    sample = toys.sample_toys(model, init, 5, seed=3)
    shared = toys.fit_toys(model, sample, init)
    k = model.config.par_order.index("bkg_norm")
    np.testing.assert_array_equal(shared[:, k], 0.5)
    pyhf.set_backend("numpy", pyhf.optimize.scipy_optimizer(tolerance=1e-10))
    try:
        for toy, ours in zip(sample, shared):
            fixed = model.config.suggested_fixed()
            np.testing.assert_allclose(ours, pyhf.infer.mle.fit(toy, model, fixed_params=fixed),
                                       atol=2e-5)  # fmt: skip
    finally:
        pyhf.set_backend("numpy", "scipy")


@pytest.mark.slow
def test_toy_study_pulls_have_unit_width_and_no_bias(likelihood, generating_point):
    """Sample 200 pseudo-experiments from the model at the injected truth and fit each one.

    The pull divides by the uncertainty of the fit to the Asimov data set at the truth (the toys
    fluctuate around it). With 200 toys the standard error of the mean pull is 0.07 and of the
    width 0.05; the checks allow three standard errors.
    """
    pdf, _ = likelihood
    pars, sigma = generating_point
    study = toys.pull_study(pdf, pars, n_toys=200, seed=20151103, sigma=sigma)
    assert len(study.poi) == 200
    assert abs(study.mean) < 3 * study.mean_error
    assert abs(study.width - 1) < 3 * study.width_error


def test_toys_are_reproducible_and_leave_numpy_alone(likelihood, generating_point):
    pdf, _ = likelihood
    pars, _ = generating_point
    state = np.random.get_state()[1].copy()
    first = toys.sample_toys(pdf, pars, 3, seed=11)
    np.testing.assert_array_equal(first, toys.sample_toys(pdf, pars, 3, seed=11))
    assert not np.array_equal(first, toys.sample_toys(pdf, pars, 3, seed=12))
    np.testing.assert_array_equal(np.random.get_state()[1], state)
    with pytest.raises(ValueError, match="n_toys"):
        toys.sample_toys(pdf, pars, 0, seed=1)
    with pytest.raises(ValueError, match="one value per model parameter"):
        toys.fit_toys(pdf, first, pars[:-1])


def test_covariance_impacts_agree_with_refits(likelihood, fit_results):
    pdf, data = likelihood
    approx = fitting.covariance_impacts(fit_results, POI)
    top = approx.labels[:5]
    exact = fitting.refit_impacts(pdf, data, fit_results, top, POI)
    np.testing.assert_allclose(approx.postfit_up[:5], exact.postfit_up, rtol=0.15, atol=1e-3)
    np.testing.assert_allclose(approx.postfit_down[:5], exact.postfit_down, rtol=0.15, atol=1e-3)
    # on the whole model, the three the shortcut ranks first are the three largest by refits
    size = np.maximum(np.abs(exact.postfit_up), np.abs(exact.postfit_down))
    assert set(approx.labels[:3]) == {top[k] for k in np.argsort(-size)[:3]}
    # ranked by size, and every nuisance parameter except MC statistics is ranked
    assert np.all(np.diff(np.abs(approx.postfit_up)) <= 1e-12)
    assert set(approx.labels) == set(fitting.nuisance_parameters(fit_results, POI))


def test_the_shortcut_picks_every_leading_parameter_for_the_exact_ranking(
    likelihood, fit_results
):
    """Episode 5 refits only the eight parameters the covariance shortcut ranks first; the
    seven largest exact post-fit impacts of all nuisance parameters must be among them (with
    seven refits, the jet energy resolution, sixth by its exact impact, was left out)."""
    pdf, data = likelihood
    approx = fitting.covariance_impacts(fit_results, POI)
    exact = fitting.refit_impacts(pdf, data, fit_results, approx.labels, POI)
    size = np.maximum(np.abs(exact.postfit_up), np.abs(exact.postfit_down))
    largest = {exact.labels[k] for k in np.argsort(-size)[:7]}
    assert largest <= set(approx.labels[:8])


def test_grouped_impact_matches_a_fit_with_the_group_fixed(likelihood, fit_results):
    pdf, data = likelihood
    i = fit_results.labels.index(POI)
    impact = fitting.grouped_impacts(fit_results, POI, {"jets": ("jes", "jer")})["jets"]
    fix = [label in ("jes", "jer") for label in fit_results.labels]
    refit = cabinetry.fit.fit(pdf, data, init_pars=fit_results.bestfit.tolist(), fix_pars=fix)
    expected = np.sqrt(fit_results.uncertainty[i] ** 2 - refit.uncertainty[i] ** 2)
    assert impact == pytest.approx(expected, rel=0.1)


def test_every_default_group_matches_a_fit_with_the_whole_group_fixed(
    likelihood, fit_results
):
    """Each group of the catalogue's breakdown against cabinetry's fit with all of the
    group's parameters held at their best-fit values: σ_μ² − σ_μ,fixed² is the group's
    share of the variance. Fits and covariance agree to about 1 % of σ_μ² here; fixing
    one member of a group instead of all of them misses about 20 % of σ_μ² for tt̄
    modelling and for background modelling."""
    pdf, data = likelihood
    labels = fit_results.labels
    i = labels.index(POI)
    total = fit_results.uncertainty[i] ** 2
    impacts = fitting.grouped_impacts(fit_results, POI)
    in_fit = {}
    for group, members in catalogue.GROUPS.items():
        # staterror stands for every bin's parameter, "staterror_4j1b[0]" and so on
        fix = [label.split("[")[0] in members
               or ("staterror" in members and label.startswith("staterror_"))
               for label in labels]  # fmt: skip
        if any(fix):
            in_fit[group] = fix
    assert set(impacts) == set(in_fit)  # pruned systematics leave no group empty here
    for group, fix in in_fit.items():
        fixed = cabinetry.fit.fit(pdf, data, init_pars=fit_results.bestfit.tolist(),
                                  fix_pars=fix)  # fmt: skip
        share = total - fixed.uncertainty[i] ** 2
        assert impacts[group] ** 2 == pytest.approx(share, abs=0.03 * total), group


def test_stat_only_uncertainty_matches_a_fit_with_every_np_fixed(likelihood, fit_results):
    pdf, data = likelihood
    i = fit_results.labels.index(POI)
    fix = [label != POI for label in fit_results.labels]
    refit = cabinetry.fit.fit(pdf, data, init_pars=fit_results.bestfit.tolist(), fix_pars=fix)
    assert fitting.stat_only_uncertainty(fit_results, POI) == pytest.approx(
        refit.uncertainty[i], rel=0.05
    )


def test_profile_scan_is_zero_at_best_fit_and_parabolic_nearby(likelihood, fit_results):
    pdf, data = likelihood
    i = fit_results.labels.index(POI)
    mu, sigma = fit_results.bestfit[i], fit_results.uncertainty[i]
    scan = limits.refit_scan(pdf, data, fit_results, POI, [mu - sigma, mu, mu + sigma])
    np.testing.assert_allclose(scan.delta_nlls, [1.0, 0.0, 1.0], atol=0.15)
    with pytest.raises(ValueError, match="bounds"):
        limits.refit_scan(pdf, data, fit_results, POI, [-1.0])


def test_observed_limit_needs_a_scan_that_reaches_it():
    scan = cabinetry.fit.ScanResults(POI, 1.0, 0.05, np.array([1.0, 1.01]), np.array([0.0, 0.04]))
    with pytest.raises(ValueError, match="extend it"):
        limits.observed_limit(scan)


def test_observed_limit_of_a_gaussian_scan_is_one_sided_1645_sigma():
    # q = ((mu - 1) / 0.1)^2: the 95 % CL one-sided limit is 1 + 1.645 * 0.1
    mu = np.linspace(0.7, 1.4, 15)
    scan = cabinetry.fit.ScanResults(POI, 1.0, 0.1, mu, ((mu - 1.0) / 0.1) ** 2)
    assert limits.observed_limit(scan) == pytest.approx(1.1645, abs=2e-3)
    assert limits.observed_limit(scan, confidence_level=0.9) == pytest.approx(1.1282, abs=2e-3)


def test_expected_limits_need_the_background_only_point(likelihood):
    pdf, _ = likelihood
    with pytest.raises(ValueError, match="POI at 0"):
        limits.expected_limits(pdf, pdf.config.suggested_init())


def test_decorrelate_gives_one_parameter_per_region(lesson_workspace, likelihood):
    pdf, _ = likelihood
    workspace = lesson_workspace
    split = fitting.decorrelate(workspace, "hadronizer")
    names = {m["name"] for c in split["channels"] for s in c["samples"] for m in s["modifiers"]}
    assert {"hadronizer_4j1b", "hadronizer_4j2b"} <= names and "hadronizer" not in names
    assert any(m["name"] == "hadronizer" for c in workspace["channels"]  # input unchanged
               for s in c["samples"] for m in s["modifiers"])
    split_pdf = pyhf.Workspace(split).model()
    assert split_pdf.config.npars == pdf.config.npars + 1
    # at the nominal point both models predict the same
    np.testing.assert_allclose(
        split_pdf.expected_actualdata(split_pdf.config.suggested_init()),
        pdf.expected_actualdata(pdf.config.suggested_init()),
    )
    with pytest.raises(KeyError, match="no modifier 'hadronizr'"):
        fitting.decorrelate(workspace, "hadronizr")


def test_unknown_parameter_names_are_reported(fit_results):
    with pytest.raises(KeyError, match="no parameter 'jesx'"):
        fitting.conditional_init(fit_results, "jesx", 0.0)
    with pytest.raises(KeyError, match="no parameter 'pdf'"):
        fitting.grouped_impacts(fit_results, POI, {"x": ("pdf",)})


def test_drop_modifiers_keeps_what_it_is_not_asked_to_drop(lesson_workspace):
    def kinds(ws):
        return sorted({(m["name"], m["type"]) for c in ws["channels"]
                       for s in c["samples"] for m in s["modifiers"]})

    before = kinds(lesson_workspace)
    shape_gone = fitting.drop_modifiers(lesson_workspace, types=("histosys",),
                                        names=("generator",))
    assert set(before) - set(kinds(shape_gone)) == {("generator", "histosys")}
    gone = fitting.drop_modifiers(lesson_workspace, names=("generator",))
    assert set(before) - set(kinds(gone)) == {("generator", "histosys"),
                                              ("generator", "normsys")}
    stat_only = fitting.drop_modifiers(lesson_workspace,
                                       types=("normsys", "histosys", "staterror"))
    assert {t for _, t in kinds(stat_only)} == {"normfactor"}
    assert kinds(lesson_workspace) == before  # the original is untouched
    with pytest.raises(KeyError, match="no modifier"):
        fitting.drop_modifiers(lesson_workspace, names=("pdf",))
    with pytest.raises(ValueError, match="types or the names"):
        fitting.drop_modifiers(lesson_workspace)

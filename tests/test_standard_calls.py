"""The interpretation helpers against pyhf's and cabinetry's own calculations on the lesson's workspace.

Episode 5 uses :mod:`statlesson.fitting` where the standard calls are too slow to run live; each
helper must give the standard call's answer within the tolerance stated in its test:

* expected CLs limits and their bands: in ``test_limits.py`` (``pyhf.infer.hypotest``
  gives CLs = 0.05 ± 0.002 at each, on the lesson's model and on models built there);
* the observed limit: ``pyhf.infer.hypotest`` on the observed data gives CLs = 0.05 (±0.003);
* exact impacts: ``cabinetry.fit.ranking`` (four fits for every parameter, on the model cut
  down to six systematics), to 1e-3 in μ; the covariance shortcut's first four parameters
  contain the three leading ones of the refits;
* the profile scan: ``cabinetry.fit.scan`` at the same points, to 0.01 in −2Δln L;
* the significance: pyhf's ``q0`` hypotest excludes μ = 0 by far more than 5σ, with nuisance
  parameters at their bounds in the μ = 0 fit, as the episode says.
"""

from __future__ import annotations


import cabinetry
import numpy as np
import pyhf
import pytest

from statlesson import fitting, limits

POI = "mu_ttbar"
CLS_TOLERANCE = 0.003


def test_observed_limit_matches_pyhf_hypotest(likelihood, fit_results):
    pdf, data = likelihood
    i = fit_results.labels.index(POI)
    mu, sigma = fit_results.bestfit[i], fit_results.uncertainty[i]
    grid = mu + sigma * np.linspace(-2, 2, 7)  # as in episode 5
    limit = limits.observed_limit(limits.refit_scan(pdf, data, fit_results, POI, grid))
    pyhf.set_backend("numpy", "scipy")
    cls, tails = pyhf.infer.hypotest(limit, data, pdf, test_stat="qtilde", return_tail_probs=True)
    assert float(cls) == pytest.approx(0.05, abs=CLS_TOLERANCE)
    # pyhf's tail probabilities are CL_s+b = p_s+b and CL_b = 1 - p_b; here CL_b = 1
    assert float(tails[1]) == pytest.approx(1.0, abs=1e-9)
    assert float(tails[0]) == pytest.approx(float(cls), rel=1e-9)


def test_profile_scan_matches_cabinetry_scan(likelihood, fit_results):
    pdf, data = likelihood
    i = fit_results.labels.index(POI)
    mu, sigma = fit_results.bestfit[i], fit_results.uncertainty[i]
    standard = cabinetry.fit.scan(pdf, data, POI, par_range=(mu - 2 * sigma, mu + 2 * sigma),
                                  n_steps=3)
    ours = limits.refit_scan(pdf, data, fit_results, POI, standard.parameter_values)
    np.testing.assert_allclose(ours.delta_nlls, standard.delta_nlls, atol=0.01)
    assert standard.delta_nlls[0] > 3  # the points are far enough apart to mean something


@pytest.mark.slow
def test_impacts_match_cabinetry_ranking(lesson_workspace, fit_results):
    """``cabinetry.fit.ranking`` makes four fits with uncertainties for every parameter: over two
    hundred on the whole model. It runs here on the lesson's model cut down to the five parameters
    the covariance shortcut ranks first and one it ranks low (MC statistics dropped), which keeps
    every step of the calculation."""
    shortcut = fitting.covariance_impacts(fit_results, POI)
    keep = [*shortcut.labels[:5], shortcut.labels[-1]]
    drop = {m["name"] for c in lesson_workspace["channels"] for s in c["samples"]
            for m in s["modifiers"] if m["type"] not in ("normfactor", "staterror")} - set(keep)
    small = pyhf.Workspace(lesson_workspace).prune(modifiers=sorted(drop),
                                                   modifier_types=["staterror"])  # fmt: skip
    pdf, data = cabinetry.model_utils.model_and_data(small)
    assert sorted(pdf.config.par_names) == sorted([POI, *keep])
    results = cabinetry.fit.fit(pdf, data)
    standard = cabinetry.fit.ranking(pdf, data, fit_results=results)
    ours = fitting.refit_impacts(pdf, data, results, standard.labels, POI, prefit=True)
    for field in ("prefit_up", "prefit_down", "postfit_up", "postfit_down"):
        np.testing.assert_allclose(getattr(ours, field), getattr(standard, field),
                                   atol=1e-3, err_msg=field)
    # the shortcut only chooses which parameters to refit: the three leading parameters of the
    # refits are among its first four (the third and fourth can tie). Its own sizes can be far
    # off here, which is why the page shows refits.
    quick = fitting.covariance_impacts(results, POI)
    size = np.maximum(np.abs(standard.postfit_up), np.abs(standard.postfit_down))
    leading = [standard.labels[k] for k in np.argsort(-size)[:3]]
    assert set(leading) <= set(quick.labels[:4])


def test_background_only_hypothesis_is_excluded_with_parameters_at_their_bounds(likelihood):
    pdf, data = likelihood
    pyhf.set_backend("numpy", "scipy")
    init, bounds, fixed = (pdf.config.suggested_init(), pdf.config.suggested_bounds(),
                           pdf.config.suggested_fixed())  # fmt: skip
    q0, (pars_0, _) = pyhf.infer.test_statistics.q0(0.0, data, pdf, init, bounds, fixed,
                                                     return_fitted_pars=True)
    # pyhf's asymptotic distribution of sqrt(q0) under mu = 0 (what hypotest(test_stat="q0") uses)
    p0 = pyhf.infer.calculators.AsymptoticTestStatDistribution(0.0).pvalue(np.sqrt(q0))
    assert float(p0) < 2.87e-7  # beyond 5 sigma
    assert float(q0) > 25
    names = pdf.config.par_names
    at_bound = [n for n, v, (lo, hi) in zip(names, pars_0, bounds)
                if n != POI and min(v - lo, hi - v) < 1e-3]
    assert "luminosity" in at_bound  # the fit raises every normalization it can

"""Closure of the whole chain on pseudo-data generated with 20 different seeds.

The bundled pseudo-data set is one draw; its fit recovering μ = 1.07 within 2σ says little on its
own. Here the generator draws 20 more data sets (tt̄ and tW events generated anew with each seed,
through the same detector simulation), they are histogrammed as the data are, and the lesson's
model is fitted to each, with its own draw of the auxiliary measurements (the constraints'
central values), as in a frequentist ensemble. Without that draw μ̂ would scatter by its
statistical uncertainty only, about half of σ. The pulls (μ̂ − μ_true)/σ must have mean 0 and width 1 within the
precision 20 data sets give: standard errors 1/√20 = 0.22 on the mean and 1/√38 = 0.16 on the
width, and the checks allow three of them.

W+jets takes 15 s to generate (most of its events fail the selection), so its part of each data
set is a Poisson draw from the simulated W+jets sample instead: every simulated event is counted
k ~ Poisson(w) times, w its weight, so the W+jets yield in each bin is Poisson-distributed around
the template's. That part checks the fit, not the W+jets generation.
"""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from statlesson import histograms, selection, toys
from statlesson.toy import data as toydata
from statlesson.histograms import new_histogram
from test_toydata import as_events

SEEDS = range(1, 21)
AUX_SEED = 99


def _histograms(events: ak.Array, weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
    counts = {}
    for region, (mask, values) in selection.region_observables(events).items():
        h = new_histogram(region)
        h.fill(values, weight=None if weights is None else weights[mask])
        counts[region] = h.values()
    return counts


@pytest.fixture(scope="module")
def wjets_simulation():
    events = selection.read_events("wjets", histograms.required_branches("wjets"))
    return events, selection.nominal_weight(events, "wjets")


def _data_set(seed: int, wjets, channels: list[str]) -> np.ndarray:
    truth = dict(toydata.TRUTH, processes=["ttbar", "single_top"])
    top = _histograms(as_events(toydata.generate_pseudodata(truth, seed=seed)))
    events, weights = wjets
    counts = np.random.default_rng(seed).poisson(weights).astype(float)
    drawn = _histograms(events, counts)
    return np.concatenate([top[c] + drawn[c] for c in channels])


@pytest.mark.slow
def test_fits_to_pseudodata_from_20_seeds_recover_the_injected_signal_strength(
    likelihood, wjets_simulation
):
    pdf, _ = likelihood
    channels = list(pdf.config.channels)
    main = np.array([_data_set(seed, wjets_simulation, channels) for seed in SEEDS])
    assert main.shape == (len(SEEDS), pdf.config.nmaindata)
    assert len({tuple(row) for row in main}) == len(SEEDS)  # every seed gives its own data
    truth = toydata.TRUTH["mu_ttbar"]
    pars = np.asarray(pdf.config.suggested_init())
    pars[pdf.config.poi_index] = truth
    # the auxiliary measurements fluctuate too, from one data set to the next, around the truth
    aux = toys.sample_toys(pdf, pars, len(SEEDS), seed=AUX_SEED)[:, pdf.config.nmaindata :]
    bestfit = toys.fit_toys(pdf, np.hstack([main, aux]), pars)
    # the uncertainty of the fit to the Asimov data set at the truth (as in the toy study)
    asimov = np.asarray(pdf.expected_data(pars))
    sigma = _asimov_sigma(pdf, asimov, pars)
    study = toys.PullStudy(truth=truth, sigma=sigma, poi=bestfit[:, pdf.config.poi_index])
    assert abs(study.mean) < 3 / np.sqrt(len(SEEDS)), study.pulls
    assert abs(study.width - 1) < 3 / np.sqrt(2 * (len(SEEDS) - 1)), study.pulls


def _asimov_sigma(pdf, asimov, pars) -> float:
    import cabinetry

    result = cabinetry.fit.fit(pdf, asimov.tolist(), init_pars=pars.tolist())
    return float(result.uncertainty[pdf.config.poi_index])

"""Systematic variations: each mechanism behaves as the physics says."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
from scipy import stats

from statlesson import catalogue, corrections, selection, variations
from statlesson.toy import data as toydata, detector as toydetector, events as toyevents
from statlesson.catalogue import SAMPLES
from statlesson.ntuple import BTAG_MEDIUM
from statlesson.corrections import jes_uncertainty
from statlesson.variations import btag_weight, jer_smear, jes_shift, weight_ratio
from test_toydata import as_events


@pytest.fixture(scope="module")
def detector_level():
    """40 000 tt̄ events generated now and passed through the toy detector, before any skim or tag
    requirement (so nothing biases the jet response or the tag rates)."""
    rng = np.random.default_rng(7)
    cfg = toyevents.CONFIGS["ttbar"]
    partons = toyevents.generate_partons(rng, cfg, 40_000)
    return partons, cfg, toydetector.detect(rng, partons, cfg)


@pytest.fixture(scope="module")
def ttbar():
    return selection.read_events("ttbar")[:20000]


def test_jes_uncertainty_matches_reference_values_for_central_jets():
    pt = np.array([30.0, 50.0, 100.0])
    np.testing.assert_allclose(jes_uncertainty(pt, np.zeros(3)), [0.03, 0.018, 0.01], atol=0.001)
    assert jes_uncertainty(50.0, 2.4) > jes_uncertainty(50.0, 0.0)


def test_jes_up_and_down_bracket_nominal(ttbar):
    up, down = jes_shift(ttbar, "up"), jes_shift(ttbar, "down")
    assert ak.all(up > ttbar.jet_pt) and ak.all(down < ttbar.jet_pt)
    # symmetric by construction: the nominal is the midpoint
    np.testing.assert_allclose(ak.to_numpy(ak.flatten((up + down) / 2)),
                               ak.to_numpy(ak.flatten(ttbar.jet_pt)), rtol=1e-6)  # fmt: skip


def test_jes_up_moves_events_into_the_selection(ttbar):
    n_nominal = selection.region_masks(ttbar)["4j1b"].sum()
    n_up = selection.region_masks(ttbar, jes_shift(ttbar, "up"))["4j1b"].sum()
    n_down = selection.region_masks(ttbar, jes_shift(ttbar, "down"))["4j1b"].sum()
    assert n_down < n_nominal < n_up


@pytest.fixture(scope="module")
def published(root):
    """The bundled corrections file, read here with correctionlib itself."""
    import correctionlib

    path = root / "data" / "corrections.json"
    return correctionlib.CorrectionSet.from_file(str(path))


def hand_made_jets(pt, eta, genpt) -> ak.Array:
    """One event with the given jets and every branch the selection and shifts read."""
    n = len(pt)
    return ak.Array({
        "jet_pt": [pt], "jet_eta": [eta], "jet_genpt": [genpt],
        "jet_phi": [np.linspace(-3.0, 3.0, n).tolist()], "jet_mass": [[8.0] * n],
        "jet_btag": [[0.1] * n], "lep_pt": [40.0], "lep_eta": [0.3], "event": [1],
    })  # fmt: skip


def test_jes_shift_scales_each_jet_by_the_published_uncertainty(published):
    # same pT at |η| = 0, 1.2 and 2.3 (the uncertainty grows forward), and several pT
    pt = [40.0, 40.0, 40.0, 120.0, 120.0, 300.0]
    eta = [0.0, -1.2, 2.3, 0.4, -2.1, 1.0]
    events = hand_made_jets(pt, eta, [p - 2.0 for p in pt])
    delta = published["jes_uncertainty"].evaluate(np.array(pt), np.array(eta))
    assert delta[2] > 1.3 * delta[0] and delta[4] > 1.3 * delta[3]  # η matters here
    up = ak.to_numpy(jes_shift(events, "up")[0])
    down = ak.to_numpy(jes_shift(events, "down")[0])
    np.testing.assert_allclose(up, np.array(pt) * (1 + delta), rtol=1e-12)
    np.testing.assert_allclose(down, np.array(pt) * (1 - delta), rtol=1e-12)


def test_jes_templates_shift_the_jer_smeared_jets(ttbar):
    """The JES variation of simulation starts from the nominal, JER-smeared pT."""
    nominal = jer_smear(ttbar)
    assert not ak.all(nominal == ttbar.jet_pt)
    for direction in ("up", "down"):
        shifted = variations.shifted_jet_pt(ttbar, "jes", direction)
        assert ak.all(shifted == jes_shift(ttbar, direction, nominal))


def test_jer_keeps_jets_at_their_generator_pt_and_stretches_the_residual(published):
    """Matched jets: pT_gen + s(η) (pT − pT_gen), with s the published factor of each variation
    (1.095 ± 0.018 at |η| < 0.5, 1.162 ± 0.044 at 1.9 < |η| < 2.1)."""
    pt = [45.0, 60.0, 90.0, 150.0, 70.0]
    genpt = [41.0, 65.0, 86.0, 156.0, 70.0]  # the last one exactly at its generator pT
    eta = [0.3, -1.0, 2.0, 0.0, 2.0]
    events = hand_made_jets(pt, eta, genpt)
    residual = np.array(pt) - np.array(genpt)
    for variation in ("nominal", "up", "down"):
        sf = published["jer_sf"].evaluate(np.array(eta), variation)
        smeared = ak.to_numpy(jer_smear(events, variation)[0])
        np.testing.assert_allclose(smeared - np.array(genpt), sf * residual, atol=1e-9,
                                   err_msg=variation)  # fmt: skip
        assert smeared[-1] == 70.0  # pT = pT_gen stays put for any scale factor


def test_jer_nominal_up_and_down_bracket_each_other_as_the_scale_factors_say(ttbar, published):
    """Every jet of the bundled tt̄ file: a matched jet's distance to its generator jet, and an
    unmatched jet's change, grow from down to nominal to up exactly in the ratio of
    s (matched) or √(s² − 1) (unmatched) of that jet's η bin: the three use the same
    random numbers and differ only by the scale factor."""
    eta = ak.to_numpy(ak.flatten(ttbar.jet_eta))
    pt = ak.to_numpy(ak.flatten(ttbar.jet_pt))
    genpt = ak.to_numpy(ak.flatten(ttbar.jet_genpt))
    resolution = published["jet_resolution"].evaluate(pt)
    matched = (genpt > 0) & (np.abs(pt - genpt) < 3 * resolution * pt)
    assert 0.05 < np.mean(~matched) < 0.5  # both kinds are tested
    smeared, sf = {}, {}
    for v in ("down", "nominal", "up"):
        smeared[v] = ak.to_numpy(ak.flatten(jer_smear(ttbar, v)))
        sf[v] = published["jer_sf"].evaluate(eta, v)
    positive = smeared["down"] > 0  # (a factor below zero is clipped to zero)
    for v in ("down", "up"):
        dist = np.where(matched, smeared[v] - genpt, smeared[v] / pt - 1)
        dist_nom = np.where(matched, smeared["nominal"] - genpt, smeared["nominal"] / pt - 1)
        ratio = np.where(matched, sf[v] / sf["nominal"],
                         np.sqrt(sf[v] ** 2 - 1) / np.sqrt(sf["nominal"] ** 2 - 1))
        np.testing.assert_allclose(dist[positive], (ratio * dist_nom)[positive], atol=1e-9)
    assert np.all(sf["down"] < sf["nominal"]) and np.all(sf["nominal"] < sf["up"])


def test_jer_smearing_widens_the_simulated_resolution_to_that_of_data(ttbar):
    """Matched central jets (|η| < 0.5): the core of the response pT / pT_gen of the stored
    simulation widens by the published factor 1.095 (nominal), 1.113 (up) or 1.077 (down)."""
    genpt = ttbar.jet_genpt
    select = ak.flatten((genpt > 40) & (abs(ttbar.jet_eta) < 0.5))
    safe = ak.where(genpt > 0, genpt, 1.0)

    def width(pt):  # robust width: half the 16-84 % range of the response
        r = ak.to_numpy(ak.flatten(pt / safe)[select])
        return np.diff(np.percentile(r, [16, 84]))[0] / 2

    raw = width(ttbar.jet_pt)
    for variation, sf in [("nominal", 1.095), ("up", 1.113), ("down", 1.077)]:
        assert width(jer_smear(ttbar, variation)) / raw == pytest.approx(sf, rel=0.004)


def test_unmatched_jets_get_standard_normal_numbers_the_same_in_chunks(ttbar, published):
    """Jets without a generator match (pileup) are smeared by σ √(s² − 1) z: z, hashed by
    correctionlib from the jet and the event number, is standard normal, and a file processed
    in two chunks gets the same smearing as processed whole."""
    pt = ak.to_numpy(ak.flatten(ttbar.jet_pt))
    unmatched = ak.to_numpy(ak.flatten(ttbar.jet_genpt)) <= 0
    sf = published["jer_sf"].evaluate(ak.to_numpy(ak.flatten(ttbar.jet_eta)), "nominal")
    width = published["jet_resolution"].evaluate(pt) * np.sqrt(sf**2 - 1)
    whole = jer_smear(ttbar)
    z = ((ak.to_numpy(ak.flatten(whole)) / pt - 1) / width)[unmatched]
    assert len(z) > 2000
    assert abs(z.mean()) < 4 / np.sqrt(len(z)) and z.std() == pytest.approx(1, abs=0.03)
    assert stats.kstest(z, "norm").pvalue > 0.001
    half = len(ttbar) // 2
    chunks = ak.concatenate([jer_smear(ttbar[:half]), jer_smear(ttbar[half:])])
    assert ak.all(chunks == whole)


def test_jer_random_numbers_change_with_the_event_number(ttbar):
    """The event number is a source of the hash: another number, another (uncorrelated)
    smearing of unmatched jets; matched jets are not random and do not change."""
    renumbered = ak.with_field(ttbar, ttbar.event + 1_000_003, "event")
    pt = ak.to_numpy(ak.flatten(ttbar.jet_pt))
    genpt = ak.to_numpy(ak.flatten(ttbar.jet_genpt))
    sigma = corrections.jet_resolution(pt)
    unmatched = ~((genpt > 0) & (np.abs(pt - genpt) < 3 * sigma * pt))
    a = ak.to_numpy(ak.flatten(jer_smear(ttbar))) / pt - 1
    b = ak.to_numpy(ak.flatten(jer_smear(renumbered))) / pt - 1
    assert abs(np.corrcoef(a[unmatched], b[unmatched])[0, 1]) < 0.05
    np.testing.assert_array_equal(a[~unmatched], b[~unmatched])


def test_jer_is_reproducible_and_rejects_bad_input(ttbar):
    assert ak.all(jer_smear(ttbar, "up") == jer_smear(ttbar, "up"))
    with pytest.raises(ValueError, match="nominal, up, down.*'sideways'"):
        jer_smear(ttbar, "sideways")
    with pytest.raises(KeyError, match="jet_genpt.*event|event.*jet_genpt"):
        jer_smear(selection.read_events("data", ["jet_pt", "jet_eta", "jet_phi"]))


@pytest.mark.parametrize(
    "systematic", [n for n, s in catalogue.SYSTEMATICS.items() if s.branches is not None]
)
def test_weight_variations_average_near_one_and_bracket(ttbar, systematic):
    up, down = weight_ratio(ttbar, systematic, "up"), weight_ratio(ttbar, systematic, "down")
    assert abs(up.mean() - 1) < 0.05 and abs(down.mean() - 1) < 0.05
    # up and down move the yield in opposite directions
    assert (up.mean() - 1) * (down.mean() - 1) < 0


def test_weight_ratio_errors(ttbar):
    with pytest.raises(KeyError, match="unknown systematic 'pdf'"):
        weight_ratio(ttbar, "pdf", "up")
    with pytest.raises(KeyError, match="not a weight from the ntuple.*lepton_sf"):
        weight_ratio(ttbar, "jes", "up")
    with pytest.raises(ValueError, match="'sideways'"):
        weight_ratio(ttbar, "scale_muR", "sideways")
    wjets = selection.read_events("wjets", ["weight_muR_up"])
    with pytest.raises(KeyError, match="weight_isr_up"):
        weight_ratio(wjets, "ps_isr", "up")


def test_btag_weights_preserve_the_untagged_total(detector_level):
    # Before any b-tag requirement the fixed-working-point weights only move events between
    # tag multiplicities: their average is 1 when ε is the true efficiency.
    partons, cfg, reco = detector_level
    keep = np.ones(len(reco["lep_pt"]), bool)
    arrays = toydata._to_arrays(reco, toydetector.event_weights(partons, cfg, reco), keep)
    events = as_events(arrays)
    for flavours in [(5, 4), (0,)]:
        for direction in ("up", "down"):
            w = btag_weight(events, flavours=flavours, direction=direction)
            assert w.mean() == pytest.approx(1.0, abs=0.005), (flavours, direction)


# --- the calibration the variations start from describes the generated detector ----------------


@pytest.mark.parametrize("data", [False, True], ids=["simulation", "data"])
def test_jets_have_the_published_resolution(detector_level, data):
    """Simulated jets have the simulation's resolution that corrections.json publishes, jets in
    data that resolution times the scale factor of their η (1.1-1.16): the smearing of the
    analysis (``jer_smear``) brings the one to the other. With the wrong one of the two
    resolutions, the fractions below are far off."""
    partons, cfg, reco = detector_level
    if data:
        reco = toydetector.detect(np.random.default_rng(8), partons, cfg, data=True)
    genpt, pt = reco["jet_genpt"], reco["jet_pt"]
    matched = genpt > 50.0  # 4σ above the 20 GeV reconstruction threshold: no selection bias
    sigma = corrections.jet_resolution(genpt[matched])
    if data:
        sigma = sigma * corrections.jer_scale_factor(reco["jet_eta"][matched])
    pull = (pt[matched] / genpt[matched] - 1) / sigma
    for k in (1.0, 2.0):  # Gaussian fractions within ±1σ and ±2σ, with their binomial errors
        p = stats.norm.cdf(k) - stats.norm.cdf(-k)
        error = np.sqrt(p * (1 - p) / matched.sum())
        assert abs(np.mean(abs(pull) < k) - p) < 3 * error, (k, np.mean(abs(pull) < k), p)


def test_simulated_tag_rates_are_the_published_efficiencies(detector_level):
    """Per flavour and jet pT, the fraction of tagged jets is corrections.json's btag_efficiency
    (what btag_weight divides by): χ² of the tagged counts with binomial variances per jet."""
    _, _, reco = detector_level
    pt, flavour = reco["jet_pt"], reco["jet_flavour"]
    tagged = reco["jet_btag"] > BTAG_MEDIUM
    edges = [20.0, 30.0, 50.0, 70.0, 100.0, 150.0, np.inf]
    chi2, ndf = 0.0, 0
    for f in (5, 4, 0):
        for low, high in zip(edges[:-1], edges[1:], strict=True):
            jets = reco["jet_valid"] & (flavour == f) & (pt >= low) & (pt < high)
            eff = corrections.btag_efficiency(pt[jets], flavour[jets])
            chi2 += (tagged[jets].sum() - eff.sum()) ** 2 / np.sum(eff * (1 - eff))
            ndf += 1
    assert stats.chi2.sf(chi2, ndf) > 1e-3, (chi2, ndf)


def test_btag_up_moves_ttbar_from_one_tag_to_two_tags(ttbar):
    masks = selection.region_masks(ttbar)
    w_up = btag_weight(ttbar, direction="up")
    # a higher b-tag efficiency promotes events with an untagged b jet from 4j1b to 4j2b:
    # 4j2b grows by about twice the per-jet uncertainty (two tagged b jets), 4j1b shrinks
    assert 0.03 < w_up[masks["4j2b"]].mean() - 1 < 0.08
    assert w_up[masks["4j1b"]].mean() < 1


def test_mistag_weight_matters_more_for_wjets_than_ttbar(ttbar):
    wjets = selection.read_events("wjets")
    shift_w = abs(btag_weight(wjets, flavours=(0,)).mean() - 1)
    shift_t = abs(btag_weight(ttbar, flavours=(0,)).mean() - 1)
    assert shift_w > shift_t


def test_btag_weight_errors(ttbar):
    with pytest.raises(ValueError, match="unknown jet flavour"):
        btag_weight(ttbar, flavours=(3,))
    with pytest.raises(KeyError, match="jet_flavour"):
        btag_weight(selection.read_events("data", ["jet_pt", "jet_eta", "jet_btag"]))


def test_normalization_systematics_are_two_sided_and_small():
    for name, syst in catalogue.NORMALIZATION_SYSTEMATICS.items():
        assert 0 < syst.size < 0.5 and not syst.one_sided, name
        assert all(s in SAMPLES and not SAMPLES[s].is_data for s in syst.samples)


def test_alternative_samples_exist_and_replace_the_signal():
    for syst in catalogue.SYSTEMATICS.values():
        if syst.mechanism != "alternative":
            continue
        sample = SAMPLES[syst.alternative_sample]
        assert sample.role == "alternative" and sample.alternative_of == catalogue.SIGNAL
        assert syst.one_sided and syst.samples == (catalogue.SIGNAL,)
        assert selection.read_events(sample.name, ["jet_pt"]).fields == ["jet_pt"]

"""Systematic variations: each mechanism behaves as the physics says."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
from scipy import stats

from statlesson import (
    catalogue, corrections, selection, toydata, toydetector, toyevents, variations,
)  # fmt: skip
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


def test_jer_with_unit_scale_factor_changes_nothing(ttbar):
    assert ak.all(jer_smear(ttbar, 1.0) == ttbar.jet_pt)


def test_jer_keeps_jets_at_their_generator_pt():
    events = ak.Array({"jet_pt": [[50.0, 80.0]], "jet_genpt": [[50.0, 70.0]],
                       "jet_eta": [[0.0, 0.0]], "jet_phi": [[0.0, 1.0]]})  # fmt: skip
    smeared = jer_smear(events, 1.2)
    assert smeared[0, 0] == 50.0  # pT = pT_gen stays put for any scale factor
    assert smeared[0, 1] == pytest.approx(70.0 + 1.2 * 10.0)  # the residual is stretched by s


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
        "jet_btag": [[0.1] * n], "lep_pt": [40.0], "lep_eta": [0.3],
    })  # fmt: skip


def test_jes_shift_scales_each_jet_by_the_published_uncertainty(published):
    # same pT at |η| = 0, 1.2 and 2.3 (the uncertainty grows forward), and several pT
    pt = [40.0, 40.0, 40.0, 120.0, 120.0, 300.0]
    eta = [0.0, -1.2, 2.3, 0.4, -2.1, 1.0]
    events = hand_made_jets(pt, eta, [p - 2.0 for p in pt])
    delta = published["jes_uncertainty"].evaluate(np.array(pt), np.array(eta))
    assert delta[2] > 1.3 * delta[0] and delta[4] > 1.3 * delta[3]  # η matters here
    up = ak.to_numpy(variations.shifted_jet_pt(events, "jes", "up")[0])
    down = ak.to_numpy(variations.shifted_jet_pt(events, "jes", "down")[0])
    np.testing.assert_allclose(up, np.array(pt) * (1 + delta), rtol=1e-12)
    np.testing.assert_allclose(down, np.array(pt) * (1 - delta), rtol=1e-12)


def test_jer_variation_stretches_the_residual_by_the_ratio_of_scale_factors(published):
    """Matched jets (residuals of a few GeV, well inside the resolution of 10-15 %): the
    variation stretches pT − pT_gen by SF_var / SF_nom, since the simulation already has
    the nominal resolution of data. The varied factor itself would stretch it by 1.17
    (up) or 1.07 (down)."""
    pt = [45.0, 60.0, 90.0, 150.0, 70.0]
    genpt = [41.0, 65.0, 86.0, 156.0, 70.0]  # the last one exactly at its generator pT
    events = hand_made_jets(pt, [0.5, -1.0, 1.8, 0.0, 2.0], genpt)
    nominal = published["jer_sf"].evaluate("nominal")
    residual = np.array(pt) - np.array(genpt)
    for direction in ("up", "down"):
        ratio = published["jer_sf"].evaluate(direction) / nominal
        assert abs(ratio - 1) > 0.03  # a variation of a few per cent
        varied = ak.to_numpy(variations.shifted_jet_pt(events, "jer", direction)[0])
        np.testing.assert_allclose(varied - np.array(genpt), ratio * residual,
                                   atol=1e-9, err_msg=direction)  # fmt: skip


def test_jer_widens_response_by_scale_factor(ttbar):
    genpt = ttbar.jet_genpt
    matched = ak.flatten(genpt > 0)
    safe_genpt = ak.where(genpt > 0, genpt, 1)
    response = ak.to_numpy(ak.flatten((ttbar.jet_pt - genpt) / safe_genpt)[matched])
    s = (toydetector.JER_SF + toydetector.JER_SF_UNCERTAINTY) / toydetector.JER_SF
    smeared = jer_smear(ttbar, s)
    wider = ak.to_numpy(ak.flatten((smeared - genpt) / safe_genpt)[matched])
    # core of the response (robust width: half the 16-84 % range) grows by about s
    def width(r):
        return np.diff(np.percentile(r, [16, 84]))[0] / 2

    assert width(wider) / width(response) == pytest.approx(s, rel=0.02)


def test_jet_random_numbers_are_standard_normal_and_independent_of_chunking(ttbar):
    noise = variations.jet_random_normal(ttbar, 42)
    flat = ak.to_numpy(ak.flatten(noise))
    assert abs(flat.mean()) < 5 / np.sqrt(len(flat)) and flat.std() == pytest.approx(1, abs=0.01)
    # the same jets processed as two chunks get the same numbers
    half = len(ttbar) // 2
    chunks = [variations.jet_random_normal(ttbar[sl], 42) for sl in (slice(None, half),
                                                                     slice(half, None))]
    assert ak.all(ak.concatenate(chunks) == noise)
    # another seed gives other, uncorrelated numbers
    other = ak.to_numpy(ak.flatten(variations.jet_random_normal(ttbar, 43)))
    assert abs(np.corrcoef(flat, other)[0, 1]) < 0.02


def test_jer_smearing_does_not_depend_on_chunking(ttbar):
    half = len(ttbar) // 2
    whole = jer_smear(ttbar, 1.1)
    chunks = ak.concatenate([jer_smear(ttbar[:half], 1.1), jer_smear(ttbar[half:], 1.1)])
    assert ak.all(chunks == whole)


def test_jer_is_reproducible_and_rejects_bad_input(ttbar):
    assert ak.all(jer_smear(ttbar, 1.1, seed=3) == jer_smear(ttbar, 1.1, seed=3))
    with pytest.raises(ValueError, match="positive"):
        jer_smear(ttbar, -1.0)
    with pytest.raises(KeyError, match="jet_genpt"):
        jer_smear(selection.read_events("data", ["jet_pt", "jet_eta"]), 1.1)


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


def test_simulated_jets_have_the_published_resolution(detector_level):
    """Simulated jets are smeared to the resolution in data that corrections.json publishes, so the
    JER variation applies only the ratio of scale factors. Without the smearing, or with the
    simulation's own resolution (without the scale factor 1.12), the fractions below are far off."""
    _, _, reco = detector_level
    genpt, pt = reco["jet_genpt"], reco["jet_pt"]
    matched = genpt > 50.0  # 4σ above the 20 GeV reconstruction threshold: no selection bias
    pull = (pt[matched] / genpt[matched] - 1) / corrections.jet_resolution(genpt[matched])
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

"""Template histograms: yields, variations, symmetrization, the histograms file, errors.

Expected numbers follow from the definitions (weights, σ·L normalisation) or from histograms built
by hand, never from the module's own output.
"""

from __future__ import annotations

import re

import awkward as ak
import cabinetry
import hist
import numpy as np
import pandas as pd
import pyhf
import pytest
import yaml
import uproot
from scipy import stats

from statlesson import catalogue, diagnostics, histograms, modelspec, selection, variations
from statlesson.toy import data as toydata
from statlesson.catalogue import LUMI_DATA_PB, TEMPLATE_SYSTEMATICS, get_sample
from statlesson.histograms import Templates, histogram_name, symmetrize


def make_hist(values, variances=None, edges=(0.0, 1.0, 2.0, 3.0)):
    """A one-axis Weight histogram with the given bin contents (and variances, default = values)."""
    axis = hist.axis.Regular(len(edges) - 1, edges[0], edges[-1])
    h = hist.Hist(axis, storage=hist.storage.Weight())
    h.view().value = np.asarray(values, dtype=float)
    h.view().variance = np.asarray(values if variances is None else variances, dtype=float)
    return h


@pytest.fixture(scope="module")
def templates():
    return histograms.build_templates()


@pytest.fixture(scope="module")
def single_top_events():
    return selection.read_events("single_top", histograms.required_branches("single_top"))


# --- names and the systematics table -----------------------------------------------------------


def test_histogram_names_are_region_sample_systematic_direction():
    assert histogram_name("4j2b", "ttbar") == "4j2b_ttbar"
    assert histogram_name("4j1b", "data") == "4j1b_data"
    assert histogram_name("4j2b", "ttbar", "jes", "up") == "4j2b_ttbar_jes_up"
    assert histogram_name("4j1b", "wjets", "scale_muR", "down") == "4j1b_wjets_scale_muR_down"


def test_the_documented_input_path_is_the_one_the_configuration_uses():
    """histograms.INPUT_PATH is the pattern the package documents for cabinetry; the lesson's
    configuration must use it (the test below shows that the pattern finds the templates)."""
    config = yaml.safe_load(modelspec.config_file().read_text())
    assert config["General"]["InputPath"].split(":", 1)[1] == histograms.INPUT_PATH


def test_lesson_config_input_path_resolves_to_the_written_templates(templates, tmp_path):
    """cabinetry, given the lesson's own configuration, reads from the histograms file exactly
    the template of each region, sample and variation (not just some histogram of that name)."""
    histograms.write_histograms(templates, tmp_path / histograms.HISTOGRAM_FILE)
    config = modelspec.load_config(modelspec.config_file(), tmp_path)
    cabinetry.templates.collect(config)  # resolves InputPath; raises if a histogram is missing
    folder = config["General"]["HistogramFolder"]
    shape_systematics = [s for s in config["Systematics"] if "VariationPath" in s["Up"]]
    assert shape_systematics  # the check below covers variations, not only nominal templates
    for region in config["Regions"]:
        for sample in config["Samples"]:
            name = sample["SamplePath"]
            read = cabinetry.histo.Histogram.from_config(folder, region, sample, {}, modified=False)
            expected = templates.nominal(region["Name"], name)
            np.testing.assert_allclose(read.yields, expected.values())
            for syst in shape_systematics:
                if sample["Name"] not in np.atleast_1d(syst["Samples"]):
                    continue
                for template, direction in (("Up", "up"), ("Down", "down")):
                    read = cabinetry.histo.Histogram.from_config(
                        folder, region, sample, syst, template=template, modified=False
                    )
                    expected = templates.variation(region["Name"], name, syst["Name"], direction)
                    np.testing.assert_allclose(read.yields, expected.values())
                    np.testing.assert_allclose(read.stdev, np.sqrt(expected.variances()))


def test_expected_names_count_and_uniqueness():
    names = histograms.expected_names()
    assert len(names) == len(set(names))
    # per region and model sample: the nominal and an up and a down for every template
    # systematic of the sample; and the data of each region
    per_region = sum(
        1 + 2 * sum(sample in s.samples for s in TEMPLATE_SYSTEMATICS.values())
        for sample in catalogue.MODEL_SAMPLES
    )
    assert len(names) == len(selection.REGIONS) * (per_region + 1)
    ups = sum(name.endswith("_up") for name in names)
    assert ups == sum(name.endswith("_down") for name in names)
    regions, samples = "|".join(selection.REGIONS), "|".join([*catalogue.MODEL_SAMPLES, "data"])
    pattern = rf"({regions})_({samples})(_\w+_(up|down))?"
    assert all(re.fullmatch(pattern, n) for n in names)


def test_one_sided_systematics_are_exactly_the_alternative_samples():
    one_sided = {name for name, s in TEMPLATE_SYSTEMATICS.items() if s.symmetrized}
    assert one_sided == {"generator", "hadronizer"}  # JER: up and down both computed
    assert TEMPLATE_SYSTEMATICS["generator"].alternative_sample == "ttbar_generator"
    assert TEMPLATE_SYSTEMATICS["hadronizer"].samples == ("ttbar",)
    # parton-shower weights exist only in the tt̄ files
    for name in ("ps_isr", "ps_fsr"):
        assert TEMPLATE_SYSTEMATICS[name].samples == ("ttbar",)
    mechanisms = {s.mechanism for s in TEMPLATE_SYSTEMATICS.values()}
    assert mechanisms == {"weight", "shift", "alternative"}
    assert TEMPLATE_SYSTEMATICS["jes"].variation_path("down") == "_jes_down"
    with pytest.raises(ValueError, match="'up' or 'down'"):
        TEMPLATE_SYSTEMATICS["jes"].variation_path("sideways")


def test_unknown_names_raise_key_errors_listing_valid_ones():
    with pytest.raises(KeyError, match="unknown region '4j3b'; valid regions: 4j1b, 4j2b"):
        histogram_name("4j3b", "ttbar")
    with pytest.raises(KeyError, match="valid samples: ttbar, single_top, wjets, data"):
        histogram_name("4j2b", "zjets")
    with pytest.raises(KeyError, match="'generator' variation of 'ttbar'"):
        histogram_name("4j2b", "ttbar_generator")
    with pytest.raises(KeyError, match="unknown systematic 'pileup'; valid systematics: lepton_sf"):
        histogram_name("4j2b", "ttbar", "pileup", "up")
    with pytest.raises(KeyError, match="'ps_isr' does not apply to sample 'wjets'; it applies to"):
        histogram_name("4j2b", "wjets", "ps_isr", "up")
    with pytest.raises(ValueError, match="needs a direction"):
        histogram_name("4j2b", "ttbar", "jes")
    with pytest.raises(KeyError, match="no histogram '4j2b_ttbar_JES_up'; names are"):
        Templates()["4j2b_ttbar_JES_up"]
    with pytest.raises(KeyError, match="unknown sample 'top'; valid samples"):
        histograms.computed_variations("top")


def test_branches_and_variations_per_file():
    data_branches = histograms.required_branches("data")
    assert data_branches == list(selection.SELECTION_BRANCHES)  # data carry no weights or truth
    single_top = histograms.required_branches("single_top")
    assert "weight_isr_up" not in single_top
    assert {"jet_genpt", "event"} <= set(single_top)  # the JER smearing of every simulation
    assert histograms.computed_variations("ttbar_generator") == [("generator", "up")]
    # tt̄: the nominal and both directions of every systematic filled from its events (JER
    # included: both computed); the alternative samples give their own up
    from_events = [s for s in TEMPLATE_SYSTEMATICS.values()
                   if "ttbar" in s.samples and s.mechanism != "alternative"]  # fmt: skip
    assert len(histograms.computed_variations("ttbar")) == 1 + 2 * len(from_events)
    assert ("jer", "down") in histograms.computed_variations("wjets")
    assert histograms.computed_variations("data") == [(None, None)]


# --- filling -----------------------------------------------------------------------------------


def test_region_observables_agree_with_selection_observable():
    events = selection.read_events("ttbar", histograms.required_branches("ttbar"))[:3000]
    shifted = events.jet_pt * 1.05
    for jet_pt in (None, shifted):
        both = selection.region_observables(events, jet_pt)
        for region in selection.REGIONS:
            mask, values = selection.observable(events, region, jet_pt)
            np.testing.assert_array_equal(both[region][0], mask)
            np.testing.assert_allclose(both[region][1], values)


def test_nominal_yield_is_sum_of_weights_of_selected_events(single_top_events):
    filled = histograms.fill_sample("single_top", single_top_events)
    s = get_sample("single_top")
    for region in selection.REGIONS:
        # the events selected with the nominal (JER-smeared) jets of simulation
        jet_pt = variations.jer_smear(single_top_events)
        mask, _ = selection.observable(single_top_events, region, jet_pt)
        # yield = Σ weight × lepton SF × σ ε L / N_generated over the selected events
        per_event = ak.to_numpy(single_top_events.weight * single_top_events.weight_lepsf)
        sigma_eps_l_over_n = s.xsec_pb * s.filter_eff * LUMI_DATA_PB / s.n_generated
        expected = np.sum(per_event.astype(np.float64)[mask]) * sigma_eps_l_over_n
        h = filled.nominal(region, "single_top")
        # per-event weights are float32 (relative rounding ~1e-7)
        assert h.sum(flow=True).value == pytest.approx(expected, rel=1e-6)


def test_data_histogram_counts_selected_events():
    events = selection.read_events("data", histograms.required_branches("data"))
    filled = histograms.fill_sample("data", events)
    for region, mask in selection.region_masks(events).items():
        h = filled.nominal(region, "data")
        assert h.sum(flow=True).value == mask.sum()
        np.testing.assert_array_equal(h.values(), h.variances())  # unit weights: Σw² = Σw


def test_pure_normalization_weight_changes_only_normalization(single_top_events):
    # lepton SF up/down replaced by exactly ±2 % of the nominal SF for every event
    sf = single_top_events.weight_lepsf
    events = ak.with_field(single_top_events, sf * 1.02, "weight_lepsf_up")
    events = ak.with_field(events, events.weight_lepsf * 0.98, "weight_lepsf_down")
    filled = histograms.fill_sample("single_top", events)
    for region in selection.REGIONS:
        nominal = filled.nominal(region, "single_top")
        for direction, factor in [("up", 1.02), ("down", 0.98)]:
            varied = filled.variation(region, "single_top", "lepton_sf", direction)
            np.testing.assert_allclose(varied.values(), factor * nominal.values(), rtol=1e-6)
            expected_var = factor**2 * nominal.variances()
            np.testing.assert_allclose(varied.variances(), expected_var, rtol=1e-6)
            norm, shape = diagnostics.norm_shape_split(nominal, varied)
            assert norm == pytest.approx(factor, rel=1e-6)
            np.testing.assert_allclose(shape.values(), nominal.values(), rtol=1e-6)


def test_missing_branch_raises_key_error_naming_it(tmp_path):
    arrays = toydata.generate_sample("single_top", 2000)
    del arrays["weight_lepsf_up"]
    path = toydata.write_ntuple(tmp_path / "single_top.root", arrays)
    with pytest.raises(KeyError, match="weight_lepsf_up"):
        histograms.fill_sample("single_top", path=path)
    events = selection.read_events("single_top", selection.SELECTION_BRANCHES)
    with pytest.raises(KeyError, match="weight, weight_lepsf"):
        histograms.fill_sample("single_top", events)


def test_empty_selection_names_sample_and_region(single_top_events):
    soft_leptons = ak.with_field(single_top_events, single_top_events.lep_pt * 0 + 10.0, "lep_pt")
    with pytest.raises(ValueError, match="sample 'single_top'.*region '4j1b'"):
        histograms.fill_sample("single_top", soft_leptons)


def test_alternative_sample_fills_the_ttbar_variation():
    filled = histograms.fill_sample("ttbar_generator")
    assert sorted(filled) == ["4j1b_ttbar_generator_up", "4j2b_ttbar_generator_up"]


# --- the full set ------------------------------------------------------------------------------


def test_build_templates_gives_every_expected_histogram(templates):
    assert list(templates) == histograms.expected_names()
    for name, h in templates.items():
        region = selection.get_region(name.split("_")[0])
        np.testing.assert_allclose(h.axes[0].edges, region.edges)
        assert h.axes[0].label == region.label
        assert h.storage_type is hist.storage.Weight


def test_jer_down_is_computed_from_the_events_not_mirrored(templates):
    """Both JER templates come from smearing the simulation (scale factor up or down): the
    down template is not 2 × nominal − up, and both differ from the nominal."""
    for region in selection.REGIONS:
        nominal = templates.nominal(region, "ttbar").values()
        up = templates.variation(region, "ttbar", "jer", "up").values()
        down = templates.variation(region, "ttbar", "jer", "down").values()
        assert not np.allclose(down, 2 * nominal - up, rtol=1e-4)
        assert not np.allclose(up, nominal) and not np.allclose(down, nominal)
        assert np.all(down > 0) and np.all(up > 0)


def test_jes_up_and_down_bracket_the_nominal_yield(templates):
    # higher jet pT: more jets above 30 GeV, more selected events (and the reverse)
    for region in selection.REGIONS:
        for sample in catalogue.MODEL_SAMPLES:
            up = templates.variation(region, sample, "jes", "up").values().sum()
            down = templates.variation(region, sample, "jes", "down").values().sum()
            nominal = templates.nominal(region, sample).values().sum()
            assert down < nominal < up


def test_alternative_ttbar_is_normalised_to_the_same_cross_section(templates):
    # same σ·ε·L, different generator: yields agree up to acceptance changes of a few per cent
    for region in selection.REGIONS:
        nominal = templates.nominal(region, "ttbar").values().sum()
        for name in ("generator", "hadronizer"):
            up = templates.variation(region, "ttbar", name, "up").values().sum()
            assert up / nominal == pytest.approx(1.0, abs=0.1)


def test_symmetrized_down_is_two_nominal_minus_up(templates):
    for name in ("generator", "hadronizer"):
        for region in selection.REGIONS:
            nominal = templates.nominal(region, "ttbar")
            up = templates.variation(region, "ttbar", name, "up")
            down = templates.variation(region, "ttbar", name, "down")
            expected = np.maximum(2 * nominal.values() - up.values(), 0.0)
            np.testing.assert_allclose(down.values(), expected)


def test_symmetrize_mirrors_and_clips_at_zero(monkeypatch, caplog):
    import logging

    nominal, up = make_hist([10.0, 20.0, 5.0]), make_hist([12.0, 18.0, 11.0])
    monkeypatch.setattr(logging.getLogger("statlesson"), "propagate", True)
    with caplog.at_level(logging.WARNING, logger="statlesson"):
        down = symmetrize(nominal, up, "4j2b_x_y_down")
    np.testing.assert_allclose(down.values(), [8.0, 22.0, 0.0])  # 2·5 − 11 < 0 → 0
    assert "4j2b_x_y_down: 1 bin(s) set to 0" in caplog.text  # not silently
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="statlesson"):
        symmetrize(nominal, make_hist([12.0, 18.0, 6.0]))
    assert caplog.text == ""  # nothing clipped, nothing said
    np.testing.assert_allclose(down.variances(), up.variances())
    with pytest.raises(ValueError, match="binning"):
        symmetrize(nominal, make_hist([1.0, 2.0], edges=(0.0, 1.0, 2.0)))


def test_weight_variations_keep_the_nominal_selection(templates):
    # a weight changes no observable: a bin empty in the nominal stays empty in the variation
    for region in selection.REGIONS:
        nominal = templates.nominal(region, "wjets").values()
        for name in ("lepton_sf", "scale_muR", "btag", "mistag"):
            for d in ("up", "down"):
                varied = templates.variation(region, "wjets", name, d).values()
                np.testing.assert_array_equal(varied == 0, nominal == 0)


# --- the file ----------------------------------------------------------------------------------


def test_written_file_contains_exactly_the_expected_histograms(templates, tmp_path):
    path = histograms.build_histograms(tmp_path / "out")
    assert path == tmp_path / "out" / histograms.HISTOGRAM_FILE
    with uproot.open(path) as f:
        assert sorted(f.keys(cycle=False)) == sorted(histograms.expected_names())
        assert {f[k].classname for k in f.keys(cycle=False)} == {"TH1D"}
    back = histograms.read_histograms(path)
    assert list(back) == list(templates)  # rebuilt from scratch: same names, same order
    for name in ("4j2b_ttbar", "4j1b_wjets_jes_up", "4j2b_ttbar_generator_down", "4j1b_data"):
        np.testing.assert_allclose(back[name].values(), templates[name].values())
        np.testing.assert_allclose(back[name].variances(), templates[name].variances())
    assert not list(path.parent.glob("*.tmp"))


def test_cabinetry_finds_every_template_it_needs(templates, tmp_path):
    path = histograms.write_histograms(templates, tmp_path / "histograms.root")
    systematics = [
        {"Name": s.name, "Type": "NormPlusShape", "Samples": list(s.samples),
         "Up": {"VariationPath": s.variation_path("up")},
         "Down": {"VariationPath": s.variation_path("down")}}
        for s in TEMPLATE_SYSTEMATICS.values()
    ]  # fmt: skip
    config = {
        "General": {"Measurement": "ttbar", "POI": "mu", "HistogramFolder": str(tmp_path / "h"),
                    "InputPath": f"{path}:{histograms.INPUT_PATH}", "VariationPath": ""},
        "Regions": [{"Name": r, "RegionPath": r} for r in selection.REGIONS],
        "Samples": [{"Name": "Data", "SamplePath": "data", "Data": True}]
        + [{"Name": s, "SamplePath": s} for s in catalogue.MODEL_SAMPLES],
        "Systematics": systematics,
        "NormFactors": [{"Name": "mu", "Samples": "ttbar", "Nominal": 1, "Bounds": [0, 5]}],
    }  # fmt: skip
    assert cabinetry.configuration.validate(config)
    cabinetry.templates.collect(config)  # raises if a histogram is missing from the file
    collected = list((tmp_path / "h").glob("*.npz"))
    assert len(collected) == len(histograms.expected_names())


def test_failed_write_keeps_the_previous_file(tmp_path):
    path = histograms.write_histograms({"a": make_hist([1.0, 2.0, 3.0])}, tmp_path / "h.root")
    before = path.read_bytes()
    with pytest.raises(TypeError, match="cannot be written to a ROOT file"):  # not a histogram
        histograms.write_histograms({"a": make_hist([4.0, 5.0, 6.0]), "b": object()}, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.root"]


def test_read_histograms_names_the_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="build_histograms"):
        histograms.read_histograms(tmp_path / "nothing.root")


# --- normalization, shape and MC statistics ----------------------------------------------------


def test_norm_shape_split_by_hand():
    nominal, varied = make_hist([10.0, 30.0, 60.0]), make_hist([12.0, 36.0, 72.0])
    norm, shape = diagnostics.norm_shape_split(nominal, varied)
    assert norm == pytest.approx(1.2)
    np.testing.assert_allclose(shape.values(), [10.0, 30.0, 60.0])
    with pytest.raises(ValueError, match="empty"):
        diagnostics.norm_shape_split(make_hist([0.0, 0.0, 0.0]), make_hist([1.0, 1.0, 1.0]))


def _events(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.random.Generator]:
    """``n`` simulated events: a bin in 0..3 (or outside, -1) and a weight of about 1."""
    rng = np.random.default_rng(seed)
    bins = rng.choice([-1, 0, 1, 2, 3], size=n, p=[0.1, 0.4, 0.25, 0.15, 0.1])
    return bins, rng.gamma(20.0, 0.05, size=n), rng


def _bootstrap_chi2(nominal, varied, same_events: bool, seed: int, n_boot: int = 3000):
    """χ² of the shape difference with its covariance from a Poisson bootstrap over events."""
    rng = np.random.default_rng(seed)

    def shapes(bins, weights, copies):
        inside = bins >= 0
        filled = np.stack([(copies * weights * (bins == i)).sum(axis=1) for i in range(4)], 1)
        return filled / (copies * weights * inside).sum(axis=1)[:, None]

    copies = rng.poisson(1.0, size=(n_boot, nominal[0].size))
    other = copies if same_events else rng.poisson(1.0, size=(n_boot, varied[0].size))
    d = shapes(*varied, other) - shapes(*nominal, copies)
    one = np.ones((1, nominal[0].size))
    centre = shapes(*varied, np.ones((1, varied[0].size))) - shapes(*nominal, one)
    cov = np.cov(d[:, :3], rowvar=False)  # three bins: the fourth follows (shapes sum to 1)
    return float(centre[0, :3] @ np.linalg.solve(cov, centre[0, :3]))


@pytest.mark.parametrize("kind", ["weight", "migration", "independent"])
def test_shape_chi2_agrees_with_a_bootstrap_over_events(kind):
    bins, weights, rng = _events(4000, seed=7)
    if kind == "weight":  # events of the last bins weigh 4 % more, with some scatter
        varied = (bins, weights * (1 + 0.04 * (bins >= 2) + 0.01 * rng.normal(size=bins.size)))
    elif kind == "migration":  # one event in ten moves up one bin (or out of the range)
        move = rng.random(bins.size) < 0.1
        shifted = np.where(move & (bins >= 0), bins + 1, bins)
        varied = (np.where(shifted > 3, -1, shifted), weights)
    else:  # another sample with a tilted shape
        other, other_w, _ = _events(3000, seed=8)
        varied = (other, other_w * (1 + 0.5 * (other == 3)))
    same = kind != "independent"
    chi2, ndf = diagnostics.shape_chi2((bins, weights), varied, 4, same_events=same)
    assert ndf == 3
    assert chi2 > 5  # a shape change the events resolve, and not an infinite one
    assert chi2 == pytest.approx(_bootstrap_chi2((bins, weights), varied, same, seed=9),
                                 rel=0.15)


def test_shape_chi2_of_the_same_events_sees_what_template_uncertainties_hide():
    """A 1 % tilt of the weights, far below each bin's 2-3 % MC statistical uncertainty, is
    resolved because the varied template reuses the nominal events; a constant factor on
    every weight is no shape change at all."""
    bins, weights, _ = _events(3000, seed=3)
    tilt = (bins, weights * (1 + 0.01 * (bins == 3)))
    chi2, ndf = diagnostics.shape_chi2((bins, weights), tilt, 4, same_events=True)
    assert stats.chi2.sf(chi2, ndf) < 1e-6
    # the same tilt in an independent sample of the same size is lost in the noise
    other, other_w, _ = _events(3000, seed=4)
    chi2_ind, _ = diagnostics.shape_chi2(
        (bins, weights), (other, other_w * (1 + 0.01 * (other == 3))), 4, same_events=False
    )
    assert stats.chi2.sf(chi2_ind, ndf) > 0.01
    scaled = (bins, 1.07 * weights)
    assert diagnostics.shape_chi2((bins, weights), scaled, 4, same_events=True) == (0.0, 3)
    with pytest.raises(ValueError, match="same events"):
        diagnostics.shape_chi2((bins, weights), (other[:2000], other_w[:2000]), 4,
                               same_events=True)


def test_is_normalization_only_reads_every_filled_direction():
    index = pd.MultiIndex.from_tuples(
        [("ttbar", "4j1b", "jes", "up"), ("ttbar", "4j1b", "jes", "down"),
         ("ttbar", "4j1b", "jer", "up")],
        names=["sample", "region", "systematic", "direction"],
    )
    tests = pd.DataFrame({"chi2": [5.0, 40.0, 3.0], "ndf": [10, 10, 10],
                          "p_value": [0.89, 2e-5, 0.98]}, index=index).sort_index()
    assert not diagnostics.is_normalization_only(tests, "ttbar", "4j1b", "jes")
    assert diagnostics.is_normalization_only(tests, "ttbar", "4j1b", "jer")
    with pytest.raises(KeyError, match="ttbar/4j1b/jes"):
        diagnostics.is_normalization_only(tests, "wjets", "4j1b", "jes")


def test_mc_stat_helpers_by_hand():
    h = hist.Hist(hist.axis.Regular(2, 0.0, 2.0), storage=hist.storage.Weight())
    h.fill(np.full(100, 0.5), weight=0.5)  # 100 events of weight 0.5 in bin 0, bin 1 empty
    rel = diagnostics.relative_stat_uncertainty(h)
    assert rel[0] == pytest.approx(0.1)  # 1/√100
    assert np.isnan(rel[1])
    np.testing.assert_allclose(diagnostics.effective_entries(h), [100.0, 0.0])


def test_staterror_uncertainty_matches_pyhf():
    a = make_hist([100.0, 50.0, 0.0], [100.0, 400.0, 0.0])
    b = make_hist([300.0, 0.0, 0.0], [900.0, 0.0, 0.0])
    expected = [np.sqrt(1000.0) / 400.0, 20.0 / 50.0, 0.0]  # √Σvar / Σn; empty bin: 0
    np.testing.assert_allclose(diagnostics.staterror_uncertainty([a, b]), expected)
    spec = {"channels": [{"name": "ch", "samples": [
        {"name": n, "data": h.values().tolist(),
         "modifiers": [{"name": "staterror_ch", "type": "staterror",
                        "data": np.sqrt(h.variances()).tolist()}]}
        for n, h in [("a", a), ("b", b)]]}]}  # fmt: skip
    parameters = pyhf.Model(spec, poi_name=None).config.param_set("staterror_ch")
    np.testing.assert_allclose(parameters.sigmas[:2], expected[:2])
    assert parameters.suggested_fixed == [False, False, True]  # no MC at all: γ fixed


def test_variation_summary_of_ttbar(templates):
    table = diagnostics.variation_summary(templates, "ttbar", "4j1b", diagnostics.shape_tests())
    assert list(table.index) == [n for n, s in TEMPLATE_SYSTEMATICS.items() if "ttbar" in s.samples]
    # lepton SF uncertainty of 1–2 %: a normalization; whatever shape it has (its size depends
    # on the lepton's pT and η) is far too small for the data to see
    assert 1.01 < table.loc["lepton_sf", "up"] < 1.02
    assert table.loc["lepton_sf", "shape chi2 vs data"] < 0.01
    # JES moves every jet pT and hence H_T itself: a shape effect, resolved, that the data see
    assert table.loc["jes", "shape resolved"]
    assert table.loc["jes", "shape chi2 vs data"] > 1
    # mirrored templates: the down effect is minus the up effect
    for name in ("generator", "hadronizer"):
        up, down = table.loc[name, "up"], table.loc[name, "down"]
        assert up - 1 == pytest.approx(1 - down, rel=1e-6)


# --- plots (statlesson.histplots) ---------------------------------------------------------------


@pytest.fixture()
def plt_agg():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from statlesson import plotting

    plotting.use_style()
    yield plt
    plt.close("all")


def test_figure_layout_helpers(plt_agg):
    from statlesson import plotting

    width = plt_agg.rcParams["figure.figsize"][0]
    assert plotting.figure_width(1) == width
    assert plotting.figure_width(2) == pytest.approx(1.6 * width)  # 60 % more per extra panel
    plotting.presentation_mode()  # larger fonts: wider multi-panel figures
    assert plotting.figure_width(2) > 1.6 * plt_agg.rcParams["figure.figsize"][0]
    plotting.presentation_mode(False)
    pairs = plotting.ratio_axes(2)
    assert len(pairs) == 2 and pairs[0][0].figure is pairs[1][1].figure
    assert pairs[0][0].figure.get_size_inches()[0] == pytest.approx(1.6 * width)
    axes = plotting.panels(3)
    assert len(axes) == 3 and axes[0].figure is axes[2].figure
    assert plotting.events_label(histograms.new_histogram("4j2b")) == "Events / 40 GeV"
    assert plotting.events_label(make_hist([1.0, 2.0, 3.0])) == "Events / bin"  # no GeV axis
    with pytest.raises(ValueError, match="at least one column"):
        plotting.ratio_axes(0)


def test_plot_stack_draws_mc_band_and_data_ratio(plt_agg):
    from statlesson import histplots

    mc = {"wjets": make_hist([10.0, 20.0, 0.0]), "ttbar": make_hist([30.0, 60.0, 0.0])}
    data = make_hist([44.0, 77.0, 0.0])
    main, ratio = histplots.plot_stack(mc, data)
    labels = main.get_legend_handles_labels()[1]
    assert {"W+jets", r"$t\bar{t}$", "MC stat. unc.", "Pseudo-data"} <= set(labels)
    # data / MC points only in bins with MC: 44/40 and 77/80; the empty third bin is skipped
    container = [c for c in ratio.containers][0]
    points = container.lines[0].get_ydata()
    np.testing.assert_allclose(points, [44.0 / 40.0, 77.0 / 80.0])
    # the data's 68 % Poisson (Garwood) interval, divided by the prediction: asymmetric
    n = np.array([44.0, 77.0])
    low = stats.chi2.ppf(stats.norm.cdf(-1), 2 * n) / 2
    high = stats.chi2.ppf(stats.norm.cdf(1), 2 * n + 2) / 2
    bars = np.array([seg[:, 1] for seg in container.lines[2][0].get_segments()])
    np.testing.assert_allclose(bars.min(axis=1), low / [40.0, 80.0], rtol=1e-3)
    np.testing.assert_allclose(bars.max(axis=1), high / [40.0, 80.0], rtol=1e-3)
    # the same intervals on the data points of the main panel (an empty bin gets 0 to 1.84)
    (points,) = [c for c in main.containers if type(c).__name__ == "ErrorbarContainer"]
    bars = np.array([seg[:, 1] for seg in points.lines[2][0].get_segments()])
    np.testing.assert_allclose(bars[:2].min(axis=1), low, rtol=1e-3)
    np.testing.assert_allclose(bars[:2].max(axis=1), high, rtol=1e-3)
    assert bars[2, 1] == pytest.approx(stats.chi2.ppf(stats.norm.cdf(1), 2) / 2, rel=1e-3)
    with pytest.raises(ValueError, match="binning"):
        histplots.plot_stack(mc, make_hist([1.0, 2.0], edges=(0.0, 1.0, 2.0)))


def test_plot_stat_uncertainty_and_ratios(plt_agg):
    from statlesson import histplots

    ax = histplots.plot_stat_uncertainty({"ttbar": make_hist([100.0, 25.0, 0.0])})
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "Relative MC stat. uncertainty"
    nominal = make_hist([10.0, 20.0, 0.0])
    ax = histplots.plot_ratios(nominal, {"up": make_hist([11.0, 22.0, 1.0])})
    assert ax.get_ylabel() == "Variation / nominal"
    assert "up" in ax.get_legend_handles_labels()[1]


def test_plot_templates_one_column_per_region(plt_agg, templates):
    from statlesson import histplots

    pairs = histplots.plot_templates(templates, "ttbar", "generator", ratio_range=(0.8, 1.2))
    assert len(pairs) == len(selection.REGIONS)
    main, ratio = pairs[0]
    assert main.get_legend().get_texts()[-1].get_text() == "Generator down (mirrored)"
    assert ratio.get_ylim() == (0.8, 1.2)
    texts = " ".join(t.get_text() for t in main.texts)
    assert "Toy simulation" in texts and "4j1b" in texts
    with pytest.raises(KeyError, match="does not apply"):
        histplots.plot_templates(templates, "wjets", "generator")


def test_signal_theory_variations_keep_the_inclusive_cross_section():
    """For tt̄, μR up changes the inclusive cross section by a few percent (generator sums), but the
    templates only keep its effect on the acceptance: the ratio of the region yield changes to the
    inclusive change is removed, while a background keeps the full effect."""
    from statlesson import selection

    sums = selection.read_generator_sums("ttbar")
    inclusive = sums["sumw_weight_muR_up"] / sums["n_generated"]
    assert inclusive < 0.99  # the raw weights lower the inclusive cross section
    ttbar = histograms.fill_sample("ttbar")
    for region in ("4j1b", "4j2b"):
        nominal = ttbar.nominal(region, "ttbar").values().sum()
        up = ttbar.variation(region, "ttbar", "scale_muR", "up").values().sum()
        # the acceptance effect is much smaller than the inclusive one
        assert abs(up / nominal - 1) < 0.5 * abs(inclusive - 1)
    wjets = histograms.fill_sample("wjets")
    nominal = wjets.nominal("4j1b", "wjets").values().sum()
    up = wjets.variation("4j1b", "wjets", "scale_muR", "up").values().sum()
    assert up / nominal < 0.97  # backgrounds keep the full scale uncertainty of their prediction


def test_filled_templates_follow_the_catalogue(templates):
    """Every catalogue systematic has up and down templates exactly for its samples, and each
    filled variation moves the prediction (the mechanism was applied, not skipped)."""
    for syst in catalogue.TEMPLATE_SYSTEMATICS.values():
        for sample in catalogue.MODEL_SAMPLES:
            for region in selection.REGIONS:
                if sample not in syst.samples:
                    assert histogram_name(region, sample) + f"_{syst.name}_up" not in templates
                    continue
                nominal = templates.nominal(region, sample).values()
                for direction in syst.computed:
                    varied = templates.variation(region, sample, syst.name, direction).values()
                    assert not np.allclose(varied, nominal, rtol=1e-9, atol=0), (
                        syst.name, sample, region, direction,
                    )


def test_file_variation_arrays_are_computed_once_per_version_of_the_file(tmp_path, root):
    """The shape tests reuse what the templates computed from a file, and a rewritten file is
    read again: the cache is keyed by the file's size and modification time."""
    import shutil

    copy = tmp_path / "sample.root"
    shutil.copy(root / "data" / "wjets.root", copy)
    first = histograms.file_variation_arrays("wjets", path=copy)
    assert histograms.file_variation_arrays("wjets", path=copy) is first  # not recomputed
    with pytest.raises(ValueError, match="read-only"):
        first[0][4][0] = 0.0  # nobody changes what the next caller gets
    shutil.copy(root / "data" / "single_top.root", copy)  # another file at the same path
    again = histograms.file_variation_arrays("wjets", path=copy)
    assert again is not first and len(again[0][2]) != len(first[0][2])
    expected = histograms.variation_arrays("wjets", selection.read_events(
        "wjets", histograms.required_branches("wjets"), path=copy))
    for a, b in zip(again, expected, strict=True):
        assert a[:2] == b[:2]
        for x, y in zip(a[2:], b[2:]):
            np.testing.assert_array_equal(x, y)

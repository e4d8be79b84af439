"""The bundled ntuples: format, documentation, reproducibility and physics content."""

from __future__ import annotations

import hashlib
import re

import awkward as ak
import numpy as np
import pytest
import uproot

from statlesson import ntuple, selection
from statlesson.toy import data as toydata, detector as toydetector, events as toyevents
from statlesson.catalogue import SAMPLES, sample_names
from statlesson.ntuple import DATA_BRANCHES, MC_BRANCHES, PS_BRANCHES, TREE_NAME, data_path

TTBAR_SAMPLES = ["ttbar", "ttbar_generator", "ttbar_hadronizer"]


def expected_branches(name: str) -> set[str]:
    if SAMPLES[name].is_data:
        return set(DATA_BRANCHES)
    extra = PS_BRANCHES if name in TTBAR_SAMPLES else ()
    return set(MC_BRANCHES) | set(extra)


@pytest.fixture(scope="module")
def events():
    return {name: selection.read_events(name) for name in SAMPLES}


@pytest.mark.parametrize("name", list(SAMPLES))
def test_file_is_ttree_with_documented_branches(name):
    with uproot.open(data_path(name)) as f:
        tree = f[TREE_NAME]
        # cabinetry's ntuple reader and ROOT users expect a TTree, not an RNTuple
        assert tree.classname == "TTree"
        branches = set(tree.keys()) - {"njet"}
    assert branches == expected_branches(name)


@pytest.mark.parametrize("name", sample_names(include_data=False))
def test_runs_tree_has_generator_sums(name):
    sums = selection.read_generator_sums(name)
    n = SAMPLES[name].n_generated
    assert sums["n_generated"] == n
    assert sums["sumw_weight"] == n  # generator weights are 1
    # the skim keeps a fraction of the generated events
    with uproot.open(data_path(name)) as f:
        assert f["runs"].classname == "TTree"
        assert f[TREE_NAME].num_entries < n
    # a larger renormalisation scale lowers the inclusive cross section by a few percent
    assert 0.93 < sums["sumw_weight_muR_up"] / n < 0.99 < 1.01 < sums["sumw_weight_muR_down"] / n
    for ps in PS_BRANCHES:
        if f"sumw_{ps}" in sums:
            assert sums[f"sumw_{ps}"] / n == pytest.approx(1.0, abs=0.005)


def test_data_has_no_runs_tree():
    with pytest.raises(KeyError, match="no 'runs' tree"):
        selection.read_generator_sums("data")


def test_data_card_documents_every_branch_and_file(root):
    card = (root / "data" / "README.md").read_text()
    documented = set(re.findall(r"^\| `([a-zA-Z_]+)`", card, flags=re.M))
    all_branches = set(MC_BRANCHES) | set(PS_BRANCHES) | {"njet"}
    assert all_branches <= documented, all_branches - documented
    for name in SAMPLES:
        assert f"`{SAMPLES[name].file}`" in card


def test_data_card_event_counts_match_files(root):
    card = (root / "data" / "README.md").read_text()
    for name in SAMPLES:
        row = re.search(rf"^\| `{name}\.root` \| ([\d,]+) \|", card, flags=re.M)
        assert row, f"no event-count row for {name}.root in data/README.md"
        with uproot.open(data_path(name)) as f:
            assert int(row.group(1).replace(",", "")) == f[TREE_NAME].num_entries


def test_data_folder_within_budget(root):
    total = sum(p.stat().st_size for p in (root / "data").iterdir())
    assert total <= 25e6


def _content_hash(path) -> str:
    digest = hashlib.sha256()
    with uproot.open(path) as f:
        arrays = f[TREE_NAME].arrays()
    for field in sorted(arrays.fields):
        column = arrays[field]
        if column.ndim > 1:
            digest.update(ak.to_numpy(ak.num(column)).tobytes())
            column = ak.flatten(column)
        digest.update(field.encode())
        digest.update(ak.to_numpy(column).tobytes())
    return digest.hexdigest()


@pytest.mark.slow
def test_regeneration_reproduces_bundled_arrays(regenerated, root):
    for name in SAMPLES:
        assert _content_hash(regenerated / f"{name}.root") == _content_hash(data_path(name)), name
    assert (regenerated / "truth.json").read_text() == (root / "data" / "truth.json").read_text()


@pytest.mark.slow
def test_selection_counts_stable_under_regeneration(regenerated):
    for name in sample_names():
        bundled = selection.region_masks(selection.read_events(name, selection.SELECTION_BRANCHES))
        fresh = selection.region_masks(
            selection.read_events(name, selection.SELECTION_BRANCHES, data_dir=regenerated)
        )
        for region in bundled:
            assert bundled[region].sum() == fresh[region].sum() > 0, (name, region)


def test_generation_is_deterministic_and_seed_streams_are_independent():
    a = toydata.generate_sample("single_top", 2000)
    b = toydata.generate_sample("single_top", 2000)
    assert ak.all(a["jet"].pt == b["jet"].pt)
    c = toydata.generate_sample("ttbar", 2000)
    assert len(a["met_pt"]) != len(c["met_pt"]) or not np.array_equal(a["met_pt"], c["met_pt"])


def test_pseudodata_seeds_give_new_independent_data_sets():
    """Every seed, 0 included, draws a data set of its own; no seed gives back the bundled one."""
    truth = dict(toydata.TRUTH, processes=["single_top"])
    default = toydata.generate_pseudodata(truth)["met_pt"]
    drawn = [toydata.generate_pseudodata(truth, seed=s)["met_pt"] for s in (0, 1, 0)]
    assert ak.all(drawn[0] == drawn[2])  # reproducible
    for other in (default, drawn[1]):
        assert len(drawn[0]) != len(other) or not ak.all(drawn[0] == other)
    assert len(default) != len(drawn[1]) or not ak.all(default == drawn[1])
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        toydata.generate_pseudodata(truth, seed=-1)


def test_ttbar_has_two_true_b_jets_and_more_jets_than_wjets(events):
    tt, wj = events["ttbar"], events["wjets"]
    # each tt̄ event has two b quarks; some b jets fall outside the acceptance or below threshold
    n_b = ak.sum(tt.jet_flavour == 5, axis=1)
    assert 1.7 < ak.mean(n_b) <= 2.1
    assert ak.mean(n_b >= 2) > 0.85
    # W+jets has two b jets only when a b b̄ pair was radiated (enriched by the b-tag skim)
    assert ak.mean(ak.sum(wj.jet_flavour == 5, axis=1) >= 2) < 0.6
    assert ak.mean(ak.num(tt.jet_pt)) > ak.mean(ak.num(wj.jet_pt)) + 0.2


def test_jet_pt_spectrum_falls_steeply(events):
    pt = ak.to_numpy(ak.flatten(events["ttbar"].jet_pt))
    counts, _ = np.histogram(pt, bins=[40, 80, 120, 160, 200, 240, 280])
    assert np.all(np.diff(counts) < 0)
    assert counts[-1] < counts[0] / 20


def test_btag_discriminant_reproduces_working_point_efficiencies():
    rng = np.random.default_rng(1)
    pt = np.full(200_000, 120.0)
    for flavour, efficiency in [(5, 0.65), (4, 0.12), (0, 0.01)]:
        score = toydetector._btag_score(rng, pt, np.full(pt.shape, flavour))
        assert np.mean(score > ntuple.BTAG_MEDIUM) == pytest.approx(efficiency, abs=0.005)
        assert np.all((score >= 0) & (score <= 1))


def test_btag_separates_flavours_in_the_ntuple(events):
    tt = events["ttbar"]
    mean = {f: ak.mean(tt.jet_btag[tt.jet_flavour == f]) for f in (5, 4, 0)}
    assert mean[5] > mean[4] + 0.1 > mean[0] + 0.2


def _ht_yield(ev, name):
    mask, values = selection.observable(ev, "4j1b")
    return selection.nominal_weight(ev, name)[mask].sum(), np.mean(values)


@pytest.mark.parametrize("alternative", ["ttbar_generator", "ttbar_hadronizer"])
def test_alternative_ttbar_samples_differ_by_a_few_percent(events, alternative):
    nominal_yield, nominal_mean = _ht_yield(events["ttbar"], "ttbar")
    alt_yield, alt_mean = _ht_yield(events[alternative], alternative)
    # differences in acceptance and shape of a few percent, well above the MC statistical precision
    assert 0.01 < abs(alt_yield / nominal_yield - 1) < 0.10
    assert 0.005 < abs(alt_mean / nominal_mean - 1) < 0.05


@pytest.mark.parametrize("name", ["ttbar", "single_top", "wjets"])
def test_weights_have_sensible_magnitudes(events, name):
    ev = events[name]
    sf, up, down = ev.weight_lepsf, ev.weight_lepsf_up, ev.weight_lepsf_down
    assert ak.all(down < sf) and ak.all(sf < up)
    assert ak.all(abs(up / sf - 1) < 0.03)
    # raising the renormalisation scale lowers the cross section, lowering it raises it
    assert ak.mean(ev.weight_muR_up) < 1 < ak.mean(ev.weight_muR_down)
    weight_names = [f for f in ev.fields if f.startswith("weight_") and "lepsf" not in f]
    for field in weight_names:
        w = ak.to_numpy(ev[field])
        assert abs(np.mean(w) - 1) < 0.1, field
        assert np.mean(abs(w - 1) < 0.1) > 0.7, field


def test_parton_shower_weights_average_to_one_before_the_skim():
    # ISR/FSR weights only redistribute events between radiation patterns
    cfg = toyevents.CONFIGS["ttbar"]
    rng = np.random.default_rng(3)
    partons = toyevents.generate_partons(rng, cfg, 100_000)
    reco = toydetector.detect(rng, partons, cfg)
    weights = toydetector.event_weights(partons, cfg, reco)
    for name in PS_BRANCHES:
        assert np.mean(weights[name]) == pytest.approx(1.0, abs=0.005), name


def test_top_mass_peak_in_4j2b(events):
    mask, mbjj = selection.observable(events["ttbar"], "4j2b")
    counts, edges = np.histogram(mbjj, bins=np.arange(100, 400, 10))
    peak = edges[np.argmax(counts)] + 5
    assert 150 < peak < 190


def as_events(arrays: dict) -> ak.Array:
    """The generator's arrays as ``selection.read_events`` gives them (jets as ``jet_*`` fields)."""
    jets = {f"jet_{field}": arrays["jet"][field] for field in arrays["jet"].fields}
    return ak.zip({**jets, **{k: v for k, v in arrays.items() if k != "jet"}}, depth_limit=1)


@pytest.fixture(scope="module")
def regenerated_pseudodata():
    """The tt̄ and tW part of the pseudo-data, regenerated in this process (about 2 s; W+jets
    would take 15 s). Each process has its own random stream, so these are the events of the
    bundled data.root, unless the generator has changed."""
    truth = dict(toydata.TRUTH, processes=["ttbar", "single_top"])
    return as_events(toydata.generate_pseudodata(truth)), truth


def assert_yields_match_prediction(data, events, truth):
    """Data counts in the skim and in each region agree with the simulation scaled to the truth,
    within 3 standard deviations: Poisson of the data plus the MC statistics (sum of w²)."""
    data_masks = selection.region_masks(data)
    for region in ("skim", *selection.REGIONS):
        expected = mc_variance = 0.0
        for name in truth["processes"]:
            ev = events[name]
            scale = truth["mu_ttbar"] if name == "ttbar" else 1.0
            weights = scale * selection.nominal_weight(ev, name, truth["lumi_pb"])
            if region != "skim":
                weights = weights[selection.region_masks(ev)[region]]
            expected += weights.sum()
            mc_variance += np.sum(weights**2)
        observed = len(data) if region == "skim" else data_masks[region].sum()
        sigma = np.sqrt(expected + mc_variance)
        assert abs(observed - expected) < 3 * sigma, (region, observed, expected, sigma)


def test_pseudodata_yield_matches_injected_truth(events):
    # σ ≈ 0.5 % of the yield in the skim, 0.9 % in 4j1b, 1.0 % in 4j2b
    assert_yields_match_prediction(events["data"], events, toydata.TRUTH)


def test_regenerated_pseudodata_yield_matches_the_simulation(events, regenerated_pseudodata):
    """The generator, run now, still makes data that the bundled simulation describes: a lost
    lepton scale factor (+2.6 % events) or a detector change of data alone would show."""
    data, truth = regenerated_pseudodata
    assert_yields_match_prediction(data, events, truth)


def test_data_has_no_generator_truth(events):
    assert "jet_flavour" not in events["data"].fields
    assert "weight" not in events["data"].fields


def test_write_ntuple_does_not_leave_partial_files(tmp_path):
    good = tmp_path / "x.root"
    toydata.write_ntuple(good, toydata.generate_sample("single_top", 500))
    before = good.read_bytes()
    # a string has no dtype, so the branch types cannot be declared: nothing is written
    with pytest.raises(AttributeError, match="dtype"):
        toydata.write_ntuple(good, {"jet": ak.Array([[1.0]]), "met_pt": "not an array"})
    assert good.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["x.root"]

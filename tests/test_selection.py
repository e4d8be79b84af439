"""Event selection, regions and observables, checked on hand-made events with known answers."""

from __future__ import annotations

import itertools

import awkward as ak
import hist
import numpy as np
import pytest
import uproot

from statlesson import histograms, selection
from statlesson.selection import get_region, observable, read_events, region_masks

B, L = 0.95, 0.05  # b-tag scores: tagged, untagged


def make_events(event_list):
    """An events array from [{'jets': [(pt, eta, phi, mass, btag), ...], 'lep': (pt, eta)}]."""
    cols = {k: [] for k in ["jet_pt", "jet_eta", "jet_phi", "jet_mass", "jet_btag"]}
    lep_pt, lep_eta = [], []
    for ev in event_list:
        for i, key in enumerate(cols):
            cols[key].append([j[i] for j in ev["jets"]])
        lep_pt.append(ev["lep"][0])
        lep_eta.append(ev["lep"][1])
    return ak.zip(
        {**{k: ak.Array(v) for k, v in cols.items()}, "lep_pt": lep_pt, "lep_eta": lep_eta},
        depth_limit=1,
    )


def jets(*specs):
    return [(pt, eta, phi, 10.0, btag) for pt, eta, phi, btag in specs]


def event(*specs, lep=(40, 0)):
    """One event: jets given as (pt, eta, phi, btag), jet mass 10 GeV; lepton (pt, eta)."""
    return {"jets": jets(*specs), "lep": lep}


def test_regions_follow_jet_and_btag_counts():
    events = make_events(
        [
            event((50, 0, 0, B), (45, 0, 1, L), (40, 0, 2, L), (35, 0, 3, L)),
            event((50, 0, 0, B), (45, 0, 1, B), (40, 0, 2, L), (35, 0, 3, L)),
            # only three jets above 30 GeV
            event((50, 0, 0, B), (45, 0, 1, B), (40, 0, 2, L), (29, 0, 3, L)),
            # fourth jet outside the tracker acceptance
            event((50, 0, 0, B), (45, 0, 1, L), (40, 0, 2, L), (35, 2.5, 3, L)),
            # lepton too soft, then lepton too forward
            event((50, 0, 0, B), (45, 0, 1, L), (40, 0, 2, L), (35, 0, 3, L), lep=(29, 0)),
            event((50, 0, 0, B), (45, 0, 1, L), (40, 0, 2, L), (35, 0, 3, L), lep=(40, 2.2)),
            # a b-tagged jet below threshold does not count
            event((50, 0, 0, B), (45, 0, 1, L), (40, 0, 2, L), (35, 0, 3, L), (25, 0, 4, B)),
        ]
    )  # fmt: skip
    masks = region_masks(events)
    assert masks["4j1b"].tolist() == [True, False, False, False, False, False, True]
    assert masks["4j2b"].tolist() == [False, True, False, False, False, False, False]


def test_ht_is_scalar_sum_of_selected_jets():
    events = make_events(
        [{"jets": jets((50, 0, 0, B), (45, 1, 1, L), (40, -1, 2, L), (35, 0, 3, L), (20, 0, 4, L)),
          "lep": (40, 0)}]
    )  # fmt: skip
    mask, values = observable(events, "4j1b")
    assert mask.tolist() == [True]
    assert values[0] == pytest.approx(50 + 45 + 40 + 35)


def test_jet_pt_override_moves_jets_across_threshold():
    events = make_events(
        [{"jets": jets((50, 0, 0, B), (45, 0, 1, L), (40, 0, 2, L), (31, 0, 3, L)), "lep": (40, 0)}]
    )
    scaled_down = events.jet_pt * 0.95  # 31 GeV -> 29.45 GeV: the event loses its fourth jet
    assert region_masks(events)["4j1b"].tolist() == [True]
    assert region_masks(events, scaled_down)["4j1b"].tolist() == [False]


def _brute_force_mbjj(ev) -> float:
    """Readable reference: loop over all trijets with a b tag, take the one with the largest pT."""
    sel = [(pt, eta, phi, m, b) for pt, eta, phi, m, b in zip(
        ev.jet_pt, ev.jet_eta, ev.jet_phi, ev.jet_mass, ev.jet_btag, strict=True)
        if pt > 30 and abs(eta) < 2.4]  # fmt: skip
    best_pt, best_mass = -1.0, np.nan
    for trio in itertools.combinations(sel, 3):
        if not any(b > 0.8 for *_, b in trio):
            continue
        p = np.zeros(4)
        for pt, eta, phi, m, _ in trio:
            px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
            p += [np.sqrt(px**2 + py**2 + pz**2 + m**2), px, py, pz]
        if np.hypot(p[1], p[2]) > best_pt:
            best_pt, best_mass = np.hypot(p[1], p[2]), np.sqrt(max(p[0] ** 2 - p[1:] @ p[1:], 0))
    return best_mass


def test_mbjj_matches_brute_force_on_simulated_events():
    events = read_events("ttbar", selection.SELECTION_BRANCHES)[:300]
    mask, values = observable(events, "4j2b")
    reference = [_brute_force_mbjj(ev) for ev in events[mask]]
    np.testing.assert_allclose(values, reference, rtol=1e-4)


def test_mbjj_of_a_known_configuration():
    # three massless 50 GeV jets at 120° in the transverse plane: zero total pT, mass = 150 GeV
    events = make_events(
        [{"jets": [(50, 0, 0, 0, B), (50, 0, 2 * np.pi / 3, 0, B), (50, 0, -2 * np.pi / 3, 0, L),
                   (31, 3.0, 0, 0, L)],
          "lep": (40, 0)}]
    )  # fmt: skip
    # the fourth jet is outside |η| < 2.4, so the event has only three jets: not in a region
    assert not region_masks(events)["4j2b"][0]
    mask = ak.Array([[True, True, True, False]])
    assert selection.m_bjj(events, mask)[0] == pytest.approx(150.0, rel=1e-5)


def test_unknown_region_lists_valid_regions():
    with pytest.raises(KeyError, match="unknown region '4j3b'; valid regions: 4j1b, 4j2b"):
        get_region("4j3b")
    events = make_events([{"jets": jets((50, 0, 0, B)), "lep": (40, 0)}])
    with pytest.raises(KeyError, match="4j3b"):
        observable(events, "4j3b")


def test_events_fill_the_bin_of_their_observable_in_gev():
    """An event fills the template bin that holds its H_T or m_bjj in GeV: four jets just above
    the 30 GeV threshold and a top-like trijet are visible, a 700 GeV H_T is overflow."""
    events = make_events(
        [
            event((31, 0, 0, B), (30.5, 0, 1, L), (30.25, 0, 2, L), (30.25, 0, 3, L)),  # H_T = 122
            event((60, 0, 0, B), (45, 0, 1, L), (34, 0, 2, L), (31, 0, 3, L)),  # H_T = 170
            event((250, 0, 0, B), (200, 0, 1, L), (150, 0, 2, L), (100, 0, 3, L)),  # H_T = 700
            event((80, 0.3, 0, B), (60, -0.2, 2.3, B), (50, 0.8, -2.1, L), (35, 1.5, 1, L)),
        ]
    )  # fmt: skip
    filled = histograms.fill_sample("data", events)  # unit weights: the histograms count events
    ht_values, overflow = [122.0, 170.0], 1
    top_like = _brute_force_mbjj(events[3])
    assert 150 < top_like < 200
    for region, values in [("4j1b", ht_values), ("4j2b", [top_like])]:
        h = filled.nominal(region, "data")
        expected = np.zeros(h.axes[0].size)
        for value in values:
            index = h.axes[0].index(value)
            assert 0 <= index < h.axes[0].size, (region, value)  # a visible bin
            low, high = h.axes[0][index]
            assert low <= value < high
            expected[index] += 1
        np.testing.assert_array_equal(h.values(), expected)
        assert h[hist.underflow].value == 0
    assert filled.nominal("4j1b", "data")[hist.overflow].value == overflow


def test_template_range_keeps_every_selected_event_and_shows_the_top_peak():
    """No pseudo-data event of 4j1b falls below the first H_T bin (four jets above 30 GeV make
    at least 120 GeV), and the m_bjj template of 4j2b peaks in the bin of the top mass."""
    filled = histograms.fill_sample("data")
    ht = filled.nominal("4j1b", "data")
    assert ht[hist.underflow].value == 0
    mbjj = filled.nominal("4j2b", "data")
    low, high = mbjj.axes[0][int(np.argmax(mbjj.values()))]
    assert low <= 172.5 < high


def test_missing_branch_is_named(tmp_path):
    with pytest.raises(KeyError, match="jet_ptt") as err:
        read_events("ttbar", ["jet_pt", "jet_ptt"])
    assert "available" in str(err.value)


def test_file_without_tree_is_reported(tmp_path):
    path = tmp_path / "empty.root"
    with uproot.recreate(path) as f:
        f["other"] = "not a tree"
    with pytest.raises(KeyError, match="no TTree 'events'"):
        read_events("ttbar", path=path)


def test_wrong_path_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.root"):
        read_events("ttbar", path=tmp_path / "nowhere.root")
    with pytest.raises(FileNotFoundError, match="make data"):
        read_events("ttbar", data_dir=tmp_path)


def test_nominal_weight_of_data_is_one_and_mc_includes_lepton_sf():
    data = read_events("data", ["lep_pt"])
    assert np.all(selection.nominal_weight(data, "data") == 1)
    mc = read_events("wjets", ["weight", "weight_lepsf"])
    w = selection.nominal_weight(mc, "wjets")
    from statlesson.catalogue import get_sample

    expected = ak.to_numpy(mc.weight * mc.weight_lepsf) * get_sample("wjets").lumi_weight()
    np.testing.assert_allclose(w, expected)


def test_adding_a_region_is_one_declaration(monkeypatch):
    """A region declared only in selection.REGIONS (its jets, b tags, observable and binning) is
    selected, filled into templates, and named as missing from the configuration."""
    from statlesson import modelspec, variations
    from statlesson.validation import ConfigError

    five = selection.Region("5j1b", "ht", r"$H_T$ [GeV]", 10, 150.0, 550.0,
                            "≥ 5 jets, exactly 1 b tag", min_jets=5, b_tags=(1, 1))  # fmt: skip
    monkeypatch.setitem(selection.REGIONS, five.name, five)
    events = read_events("single_top", histograms.required_branches("single_top"))
    jet_pt = variations.jer_smear(events)
    masks = region_masks(events, jet_pt)
    assert 0 < masks["5j1b"].sum() < masks["4j1b"].sum()
    assert not np.any(masks["5j1b"] & ~masks["4j1b"])  # a subset of 4j1b: one more jet
    n_jets = ak.to_numpy(ak.sum(selection.select_jets(events, jet_pt), axis=1))
    assert np.all(n_jets[masks["5j1b"]] >= 5)
    filled = histograms.fill_sample("single_top")
    h = filled["5j1b_single_top"]
    np.testing.assert_allclose(h.axes[0].edges, five.edges)
    assert "5j1b_single_top_jes_up" in filled
    with pytest.raises(ConfigError, match="no region '5j1b'"):
        modelspec.load_config()  # the lesson's configuration lacks it

"""The corrections file: written by the generator, read by the analysis with correctionlib."""

from __future__ import annotations

import awkward as ak
import correctionlib
import numpy as np
import pytest

from statlesson import corrections, ntuple, selection
from statlesson.toy import data as toydata, detector as toydetector

PT = np.array([20.0, 25.5, 30.0, 47.0, 100.0, 180.0, 450.0])
ETA = np.array([0.0, -0.4, 1.1, -1.9, 2.2, -2.4, 0.9])


def test_bundled_file_is_what_the_generator_writes(tmp_path, root):
    written = toydata.write_corrections(tmp_path / ntuple.CORRECTIONS_FILE)
    assert written.read_text() == (root / "data" / ntuple.CORRECTIONS_FILE).read_text()


def test_file_follows_the_correctionlib_schema(root):
    cset = correctionlib.CorrectionSet.from_file(str(root / "data" / ntuple.CORRECTIONS_FILE))
    assert set(cset) == {
        "jes_uncertainty", "jet_resolution", "jer_sf", "jer_smear", "btag_sf", "btag_efficiency",
        "lepton_sf",
    }  # fmt: skip


def test_corrections_reproduce_the_toy_detector():
    """The file describes the detector that made the ntuples (formulas written twice, checked)."""
    np.testing.assert_allclose(
        corrections.jes_uncertainty(PT, ETA), toydetector.jes_uncertainty(PT, ETA), rtol=1e-12
    )
    np.testing.assert_allclose(
        corrections.jet_resolution(PT), toydetector.jet_resolution(PT), rtol=1e-12
    )
    for flavour in (5, 4, 0):
        flav = np.full(PT.shape, flavour)
        np.testing.assert_allclose(
            corrections.btag_efficiency(PT, flav), toydetector.btag_efficiency(PT, flav)
        )
        unc = toydetector.BTAG_SF_UNCERTAINTY[flavour]
        np.testing.assert_allclose(corrections.btag_scale_factor(flav, "up"), 1 + unc)
        np.testing.assert_allclose(corrections.btag_scale_factor(flav, "down"), 1 - unc)
        np.testing.assert_allclose(corrections.btag_scale_factor(flav), 1.0)
    sf, unc = toydetector.lepton_scale_factor(PT, ETA)
    np.testing.assert_allclose(corrections.lepton_scale_factor(PT, ETA), sf, rtol=1e-12)
    np.testing.assert_allclose(corrections.lepton_scale_factor(PT, ETA, "up"), sf + unc)
    np.testing.assert_allclose(corrections.lepton_scale_factor(PT, ETA, "down"), sf - unc)
    eta = ETA + 0.013  # off the bin edges (where the sign of η decides the side)
    np.testing.assert_allclose(corrections.jer_scale_factor(eta), toydetector.jer_scale_factor(eta))


@pytest.mark.parametrize("index", range(9))
def test_jer_scale_factors_are_the_published_table_in_each_eta_bin(index):
    """Each |η| bin, at its centre and for either sign of η, nominal and ±1σ."""
    lo, hi = toydetector.JER_ETA_EDGES[index], toydetector.JER_ETA_EDGES[index + 1]
    eta = np.array([0.5 * (lo + hi), -0.5 * (lo + hi)])
    sf, unc = toydetector.JER_SF[index], toydetector.JER_SF_UNCERTAINTY[index]
    np.testing.assert_allclose(corrections.jer_scale_factor(eta), [sf, sf])
    np.testing.assert_allclose(corrections.jer_scale_factor(eta, "up"), [sf + unc] * 2)
    np.testing.assert_allclose(corrections.jer_scale_factor(eta, "down"), [sf - unc] * 2)


def test_reference_values_of_the_calibration():
    """Published-size numbers (CMS 2015): JES 3 % at 30 GeV and 1 % at 100 GeV for central jets,
    JER scale factor 1.095 ± 0.018 central and 1.16 ± 0.05 at |η| ≈ 2.2, b-tag scale factor
    uncertainties 3 % (b), 6 % (c), 10 % (light)."""
    np.testing.assert_allclose(corrections.jes_uncertainty(np.array([30.0, 100.0]), 0.0),
                               [0.03, 0.01], atol=0.001)  # fmt: skip
    np.testing.assert_allclose(corrections.jer_scale_factor(np.array([0.2, -2.2]), "down"),
                               [1.077, 1.112])  # fmt: skip
    np.testing.assert_allclose(corrections.jet_resolution(np.array([30.0, 100.0])),
                               [0.20, 0.10], atol=0.005)  # fmt: skip
    np.testing.assert_allclose(corrections.btag_scale_factor(np.array([5, 4, 0]), "up"),
                               [1.03, 1.06, 1.10])  # fmt: skip


def test_lepton_scale_factor_matches_the_stored_weight_branches():
    events = selection.read_events("single_top", ["lep_pt", "lep_eta", "weight_lepsf",
                                                  "weight_lepsf_up", "weight_lepsf_down"])  # fmt: skip
    pt, eta = ak.to_numpy(events.lep_pt), ak.to_numpy(events.lep_eta)
    for variation, branch in [("nominal", "weight_lepsf"), ("up", "weight_lepsf_up"),
                              ("down", "weight_lepsf_down")]:  # fmt: skip
        stored = ak.to_numpy(events[branch])
        # the branches hold the factor of the unrounded lepton, rounded to 1/8192
        np.testing.assert_allclose(
            corrections.lepton_scale_factor(pt, eta, variation), stored, atol=2e-4
        )


def test_jagged_inputs_keep_their_structure():
    pt = ak.Array([[30.0, 100.0], [], [47.0]])
    eta = ak.Array([[0.0, 0.0], [], [1.0]])
    delta = corrections.jes_uncertainty(pt, eta)
    assert ak.to_list(ak.num(delta)) == [2, 0, 1]
    np.testing.assert_allclose(ak.to_numpy(ak.flatten(delta)),
                               corrections.jes_uncertainty(np.array([30.0, 100.0, 47.0]),
                                                           np.array([0.0, 0.0, 1.0])))  # fmt: skip
    flavour = ak.Array([[5, 0], [], [4]])
    np.testing.assert_allclose(ak.to_list(ak.flatten(corrections.btag_scale_factor(flavour, "up"))),
                               [1.03, 1.10, 1.06])  # fmt: skip


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(KeyError, match="no correction 'jes'.*jes_uncertainty"):
        corrections.evaluate("jes", 30.0, 0.0)
    with pytest.raises(ValueError, match="nominal, up, down.*'sideways'"):
        corrections.jer_scale_factor(0.0, "sideways")
    with pytest.raises(FileNotFoundError, match="make data"):
        corrections.load(tmp_path / "corrections.json")
    with pytest.raises(FileNotFoundError, match="make data"):
        ntuple.corrections_path(tmp_path)

import json
import math

import pytest

from statlesson import catalogue, toydata
from statlesson.catalogue import SAMPLES, get_sample
from statlesson.ntuple import data_path


def test_unknown_sample_lists_valid_names():
    with pytest.raises(KeyError, match="unknown sample 'ttbarr'") as err:
        get_sample("ttbarr")
    for name in SAMPLES:
        assert name in str(err.value)


def test_missing_file_names_file_and_make_data(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        data_path("ttbar", tmp_path)
    message = str(err.value)
    assert str(tmp_path / "ttbar.root") in message
    assert "make data" in message


def test_lumi_weight_normalises_generated_events_to_cross_section():
    # Summed over all generated events (before any selection) the weights give σ · ε · L events.
    for sample in SAMPLES.values():
        if sample.is_data:
            continue
        total = sample.lumi_weight(1000.0) * sample.n_generated
        assert math.isclose(total, sample.xsec_pb * sample.filter_eff * 1000.0, rel_tol=1e-12)


def test_lumi_weight_rejects_data_and_bad_luminosity():
    with pytest.raises(ValueError, match="data"):
        get_sample("data").lumi_weight()
    with pytest.raises(ValueError, match="positive"):
        get_sample("ttbar").lumi_weight(0.0)


def test_lepton_jets_branching_fraction():
    # 2 × BR(W → eν, μν) × BR(W → hadrons) with PDG values; a typo here would bias every yield.
    assert catalogue.BR_LEPTON_JETS == pytest.approx(0.2928, abs=5e-4)


def test_data_luminosity_is_documented_fraction_of_2015():
    assert catalogue.LUMI_DATA_PB == pytest.approx(catalogue.LUMI_2015_PB * catalogue.LUMI_FRACTION)


def test_truth_file_matches_generator_truth(root):
    truth = json.loads((root / "data" / "truth.json").read_text())
    for key, value in toydata.TRUTH.items():
        assert truth[key] == value, key

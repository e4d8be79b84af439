import dataclasses
import os
import importlib
import json
import re

import awkward as ak
import numpy as np
import pytest
import uproot
import yaml

from statlesson import catalogue, ntuple, selection
from statlesson.toy import data as toydata
from statlesson.catalogue import SAMPLES, get_sample, sample_names
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


@pytest.mark.parametrize("name", sample_names(include_data=False))
def test_lumi_weight_times_the_generated_weights_is_sigma_times_lumi(name):
    # Summed over every generated event of the file (its runs tree, before the skim), the weights
    # times the lumi weight give σ · ε · L events: the catalogue's N_generated is the file's.
    sample = get_sample(name)
    sum_of_weights = selection.read_generator_sums(name)["sumw_weight"]
    expected_events = sample.xsec_pb * sample.filter_eff * 1000.0
    assert sample.lumi_weight(1000.0) * sum_of_weights == pytest.approx(expected_events, rel=1e-9)


def test_lumi_weight_rejects_data_and_bad_luminosity():
    with pytest.raises(ValueError, match="data"):
        get_sample("data").lumi_weight()
    with pytest.raises(ValueError, match="positive"):
        get_sample("ttbar").lumi_weight(0.0)


def _card_luminosity(card: str, what: str) -> float:
    found = re.search(rf"{what} ([\d.]+) pb⁻¹", card)
    assert found, f"data/README.md does not state '{what} ... pb⁻¹'"
    return float(found.group(1))


def test_pseudodata_file_holds_the_data_luminosity_the_card_documents(root):
    """The lumi-weighted simulation (× μ for tt̄) predicts the number of events in data.root: the
    luminosity this measures, with the Poisson error of the data and the MC statistics (Σw²), is
    LUMI_DATA_PB, which the data card states, as it states the full 2015 luminosity."""
    expected = mc_variance = 0.0
    for name in toydata.TRUTH["processes"]:
        events = selection.read_events(name, ["weight", "weight_lepsf"])
        weights = ak.to_numpy(events.weight * events.weight_lepsf) * get_sample(name).lumi_weight()
        weights *= toydata.TRUTH["mu_ttbar"] if name == catalogue.SIGNAL else 1.0
        expected += weights.sum()
        mc_variance += np.sum(weights**2)
    with uproot.open(data_path("data")) as f:
        observed = f[ntuple.TREE_NAME].num_entries
    measured_lumi = catalogue.LUMI_DATA_PB * observed / expected
    error = catalogue.LUMI_DATA_PB * np.sqrt(expected + mc_variance) / expected  # about 0.5 %
    assert abs(measured_lumi - catalogue.LUMI_DATA_PB) < 3 * error, (measured_lumi, error)
    card = (root / "data" / "README.md").read_text()
    assert _card_luminosity(card, "L =") == round(catalogue.LUMI_DATA_PB, 1)
    assert _card_luminosity(card, "correspond to") == catalogue.LUMI_2015_PB


#: Rows of the data card's normalisation table, by the samples they describe.
CARD_ROWS = {"tt̄ (all three)": ("ttbar", "ttbar_generator", "ttbar_hadronizer"),
             "single top (tW)": ("single_top",), "W+jets": ("wjets",)}  # fmt: skip


def test_normalisation_in_the_data_card_is_the_catalogue_s(root):
    simulated = {name for name, sample in SAMPLES.items() if not sample.is_data}
    listed = {name for names in CARD_ROWS.values() for name in names}
    assert listed == simulated, (
        f"simulated samples without a row of the data card's normalisation table: "
        f"{sorted(simulated - listed)}; add the row to data/README.md and to CARD_ROWS"
    )
    card = (root / "data" / "README.md").read_text()
    for label, names in CARD_ROWS.items():
        row = re.search(rf"^\| {re.escape(label)} \| ([\d.]+) \| ([\d.]+) \| ([\d, /]+) \|",
                        card, flags=re.M)  # fmt: skip
        assert row, f"no normalisation row for {label} in data/README.md"
        counts = [int(n.replace(",", "")) for n in row.group(3).split("/")]
        for name, n_generated in zip(names, counts, strict=True):
            sample = get_sample(name)
            assert float(row.group(1)) == pytest.approx(sample.xsec_pb, abs=0.01), name
            assert float(row.group(2)) == pytest.approx(sample.filter_eff, abs=5e-5), name
            assert n_generated == sample.n_generated, name


def test_every_systematic_has_its_size_and_a_reference_in_the_data_card(root):
    card = (root / "data" / "README.md").read_text()
    start = card.index("## Systematic uncertainties")
    table = card[start:card.index("\n## ", start + 1)]
    rows = {}
    for line in table.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        if line.startswith("| `"):
            for name in re.findall(r"`(\w+)`", cells[0]):
                rows[name] = cells
    missing = set(catalogue.SYSTEMATICS) - set(rows)
    assert not missing, f"data/README.md has no row for {sorted(missing)}"
    for name, cells in rows.items():
        assert name in catalogue.SYSTEMATICS, f"data card row for unknown systematic {name}"
        assert len(cells) == 4 and all(cells), f"row of {name}: mechanism, size and reference"
    for name, syst in catalogue.NORMALIZATION_SYSTEMATICS.items():
        assert f"±{100 * syst.size:g} %" in rows[name][2], name


def test_ttbar_events_have_the_leptons_the_branching_fraction_counts():
    """ε_filter of tt̄ is the ℓ+jets branching fraction with direct W → eν, μν decays only: the
    generated events hold one electron or muon (no τ), electrons and muons equally often."""
    flavour = ak.to_numpy(selection.read_events("ttbar", ["lep_flavour"]).lep_flavour)
    assert set(np.unique(flavour)) == {11, 13}
    binomial_error = np.sqrt(0.25 / len(flavour))
    assert abs(np.mean(flavour == 11) - 0.5) < 3 * binomial_error


def test_truth_file_matches_generator_truth(root):
    truth = json.loads((root / "data" / "truth.json").read_text())
    for key, value in toydata.TRUTH.items():
        assert truth[key] == value, key


# --- the systematics --------------------------------------------------------------------------


def test_every_systematic_has_one_group_and_the_groups_cover_the_fit(lesson_workspace):
    members = {name for names in catalogue.GROUPS.values() for name in names}
    # every nuisance parameter of the lesson's workspace belongs to a group
    samples = [s for channel in lesson_workspace["channels"] for s in channel["samples"]]
    modifiers = {m["name"] for s in samples for m in s["modifiers"]}
    for name in modifiers - {"mu_ttbar"}:
        base = "staterror" if name.startswith("staterror_") else name
        assert base in members, name


def test_systematic_entries_are_consistent():
    for name, syst in catalogue.SYSTEMATICS.items():
        assert set(syst.samples) <= set(catalogue.MODEL_SAMPLES), name
        if syst.mechanism == "normalization":
            assert syst.size is not None and 0 < syst.size < 1 and not syst.one_sided, name
        else:
            assert syst.size is None, name
        if syst.mechanism == "alternative":
            assert catalogue.get_sample(syst.alternative_sample).alternative_of == catalogue.SIGNAL
        if syst.keeps_inclusive_xsec:  # divided by generator-level sums of its weight branches
            assert syst.branches is not None and catalogue.SIGNAL in syst.samples, name
        if syst.mechanism == "weight":
            assert (syst.branches is not None) != bool(syst.jet_flavours), name


def test_config_and_catalogue_agree_in_both_directions(root):
    """Every configuration entry is a catalogue systematic acting on its samples, with the
    catalogue's type and size; the catalogue systematics missing from it are pruned everywhere
    (checked against the pruning decisions in test_model)."""
    config = yaml.safe_load((root / "episodes" / "ttbar_config.yml").read_text())
    entries = {s["Name"]: s for s in config["Systematics"]}
    for name, entry in entries.items():
        syst = catalogue.get_systematic(name)  # KeyError for a name the catalogue lacks
        samples = [entry["Samples"]] if isinstance(entry["Samples"], str) else entry["Samples"]
        assert set(samples) <= set(syst.samples), name
        if syst.mechanism == "normalization":
            assert entry["Type"] == "Normalization"
            assert entry["Up"]["Normalization"] == pytest.approx(syst.size)
            assert entry["Down"]["Normalization"] == pytest.approx(-syst.size)
        elif entry["Type"] == "NormPlusShape":
            assert entry["Up"] == {"VariationPath": syst.variation_path("up")}
            assert entry["Down"] == {"VariationPath": syst.variation_path("down")}
        else:  # a template systematic pruned to a normalization: two-sided, symmetric
            assert entry["Type"] == "Normalization", name
            up, down = entry["Up"]["Normalization"], entry["Down"]["Normalization"]
            assert up == pytest.approx(-down) and up != 0, name
    # only template systematics can be pruned away; the normalizations are always there
    assert set(catalogue.NORMALIZATION_SYSTEMATICS) <= set(entries)


@pytest.mark.parametrize("original, sample", [("scale_muF", "wjets"), ("jes", "single_top")],
                         ids=["weight", "shift"])  # fmt: skip
def test_adding_a_systematic_is_one_catalogue_entry(monkeypatch, original, sample):
    """A new systematic, declared only in the catalogue (a shift with the kind of shift it is),
    is filled by the template code: a copy of an existing one under another name (a second
    factorization scale, a second jet-energy-scale source) gives identical templates."""
    from statlesson import histograms

    copy = dataclasses.replace(catalogue.SYSTEMATICS[original], name=f"{original}_copy")
    for table in (catalogue.SYSTEMATICS, catalogue.TEMPLATE_SYSTEMATICS):
        monkeypatch.setitem(table, copy.name, copy)
    filled = histograms.fill_sample(sample)
    for region in selection.REGIONS:
        for direction in ("up", "down"):
            new = filled[f"{region}_{sample}_{copy.name}_{direction}"]
            old = filled[f"{region}_{sample}_{original}_{direction}"]
            np.testing.assert_array_equal(new.values(), old.values())
    assert f"4j1b_{sample}_{copy.name}_up" in histograms.expected_names()


def test_a_shift_of_an_unknown_kind_is_named(monkeypatch):
    from statlesson import histograms, variations

    odd = dataclasses.replace(catalogue.SYSTEMATICS["jes"], name="jet_angle", shift="angle")
    monkeypatch.setitem(catalogue.SYSTEMATICS, odd.name, odd)
    events = selection.read_events("single_top", histograms.required_branches("single_top"))
    with pytest.raises(KeyError, match="no jet-momentum shift 'angle'.*scale, resolution"):
        variations.shifted_jet_pt(events, "jet_angle", "up")


def test_every_shift_systematic_has_its_function():
    from statlesson import variations

    for syst in catalogue.SYSTEMATICS.values():
        if syst.mechanism == "shift":
            assert syst.shift in variations.SHIFTS, syst.name
        else:
            assert syst.shift is None, syst.name


def test_each_simulated_sample_has_its_own_random_stream():
    simulated = [n for n, s in SAMPLES.items() if not s.is_data]
    assert set(toydata.STREAMS) == set(simulated)
    assert set(toydata.DATA_STREAMS) == set(catalogue.MODEL_SAMPLES)
    streams = [*toydata.STREAMS.values(), *toydata.DATA_STREAMS.values()]
    assert len(streams) == len(set(streams))


def test_a_sample_does_not_depend_on_the_order_of_the_catalogue(monkeypatch):
    """The generator, imported afresh from a catalogue in another order, gives the same events."""
    before = toydata.generate_sample("single_top", 300)
    monkeypatch.setattr(catalogue, "SAMPLES", dict(reversed(list(SAMPLES.items()))))
    try:
        after = importlib.reload(toydata).generate_sample("single_top", 300)
    finally:
        monkeypatch.undo()
        importlib.reload(toydata)
    assert ak.all(after["met_pt"] == before["met_pt"])


# --- where the data are -----------------------------------------------------------------------


def test_data_folder_from_the_environment_variable(monkeypatch, tmp_path):
    monkeypatch.setenv(ntuple.DATA_ENV, str(tmp_path))
    assert ntuple.data_dir() == tmp_path
    with pytest.raises(FileNotFoundError, match="make data"):
        ntuple.data_path("ttbar")
    monkeypatch.setenv(ntuple.DATA_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match=f"{ntuple.DATA_ENV} is set to .*nowhere"):
        ntuple.data_dir()


def test_data_folder_found_from_the_working_folder_without_the_package_path(
    monkeypatch, tmp_path, root
):
    """An installed (non-editable) package finds the lesson from where it runs."""
    monkeypatch.delenv(ntuple.DATA_ENV, raising=False)
    monkeypatch.setattr(ntuple, "__file__", str(tmp_path / "site-packages" / "ntuple.py"))
    monkeypatch.chdir(root / "episodes")
    assert ntuple.data_dir() == root / "data"
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match=f"lesson repository.*{ntuple.DATA_ENV}="):
        ntuple.data_dir()


def test_lesson_found_from_the_environment_variable_anywhere(monkeypatch, tmp_path, root):
    """With STATLESSON_DATA set, an installed package finds the configuration from any folder."""
    from statlesson import modelspec

    monkeypatch.setattr(ntuple, "__file__", str(tmp_path / "site-packages" / "ntuple.py"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(ntuple.DATA_ENV, str(root / "data"))
    assert modelspec.config_file() == root / "episodes" / "ttbar_config.yml"
    assert ntuple.data_path("wjets") == root / "data" / "wjets.root"


#: Run in a fresh interpreter on the edited copy of the package (see the test below).
ADDED_SAMPLE_SCRIPT = """
import json, sys, yaml
from statlesson import catalogue, histograms, modelspec
from statlesson.validation import ConfigError
out = {"package": histograms.__file__, "model_samples": list(catalogue.MODEL_SAMPLES),
       "input_samples": list(histograms.INPUT_SAMPLES),
       "expected": [n for n in histograms.expected_names() if "zjets" in n]}
new, old = histograms.fill_sample("zjets"), histograms.fill_sample("single_top")
out["filled"] = sorted(new)
out["same_as_stand_in"] = all(
    (new[n].values() == old[n.replace("zjets", "single_top")].values()).all() for n in new)
def error(config):
    try:
        modelspec.check_against_analysis(config)
    except ConfigError as err:
        return str(err)
    return None
config = yaml.safe_load(modelspec.config_file().read_text())
out["lesson_config"] = error(config)
config["Samples"].append({"Name": "zjets", "SamplePath": "zjets"})
out["with_sample"] = error(config)
lumi = next(s for s in config["Systematics"] if s["Name"] == "luminosity")
lumi["Samples"].append("zjets")
out["with_sample_and_luminosity"] = error(config)
json.dump(out, sys.stdout)
"""


def test_adding_a_background_sample_is_one_catalogue_entry(tmp_path, root):
    """A background declared by one ``Sample`` entry in a copy of the catalogue (and its ntuple)
    joins the model samples, is filled with every systematic that acts on all model samples, and
    is named as missing from the configuration until its ``Samples`` block and the luminosity's
    sample list name it. Its stand-in ntuple is the single-top file with single top's
    normalisation, so its templates must equal single top's."""
    import shutil
    import subprocess
    import sys

    package = tmp_path / "pkg" / "statlesson"
    shutil.copytree(root / "code" / "statlesson", package,
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    tw = get_sample("single_top")
    entry = (f'        Sample(name="zjets", role="background", label="Z+jets", color="#a96b59",\n'
             f"               xsec_pb={tw.xsec_pb!r}, filter_eff={tw.filter_eff!r},\n"
             f"               n_generated={tw.n_generated!r}, description=\"Z+jets.\"),\n")  # fmt: skip
    source = (package / "catalogue.py").read_text()
    anchor = '        Sample(\n            name="data",'
    assert source.count(anchor) == 1, "the data sample's entry moved; update the anchor"
    (package / "catalogue.py").write_text(source.replace(anchor, entry + anchor))
    data = tmp_path / "data"
    data.mkdir()
    for path in (root / "data").iterdir():
        (data / path.name).symlink_to(path)
    (data / "zjets.root").symlink_to(root / "data" / "single_top.root")
    env = {**os.environ, "PYTHONPATH": str(package.parent), ntuple.DATA_ENV: str(data)}
    run = subprocess.run([sys.executable, "-c", ADDED_SAMPLE_SCRIPT], cwd=root / "episodes",
                         env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["package"].startswith(str(package))  # the edited copy, not the installed one
    assert "zjets" in out["model_samples"] and "zjets" in out["input_samples"]
    all_samples = [s for s in catalogue.TEMPLATE_SYSTEMATICS.values()
                   if s.samples == catalogue.MODEL_SAMPLES]  # fmt: skip
    expected = {f"{region}_zjets" for region in selection.REGIONS} | {
        f"{region}_zjets_{syst.name}_{direction}"
        for region in selection.REGIONS
        for syst in all_samples
        for direction in catalogue.DIRECTIONS
    }
    assert set(out["filled"]) == expected
    assert set(out["expected"]) == expected
    assert out["same_as_stand_in"]
    assert "no sample 'zjets'" in out["lesson_config"]
    assert "'luminosity'" in out["with_sample"] and "add zjets" in out["with_sample"]
    assert out["with_sample_and_luminosity"] is None

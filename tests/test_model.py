"""The cabinetry configuration, the workspace and its validator."""

from __future__ import annotations

import copy
import json

import numpy as np
import pyhf
import pytest
import yaml

from statlesson import catalogue, diagnostics, histograms, modelspec, pruning, validation
from statlesson.validation import ConfigError, WorkspaceValidationError


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    histograms.build_histograms(folder)
    return folder


@pytest.fixture(scope="module")
def config(workdir):
    return modelspec.load_config(modelspec.config_file(), workdir)


@pytest.fixture(scope="module")
def workspace(config):
    return modelspec.build_workspace(config)


def _systematic(config, name):
    return next(s for s in config["Systematics"] if s["Name"] == name)


@pytest.fixture(scope="module")
def effects(workdir):
    """The pruning effect table of the lesson's templates."""
    templates = histograms.read_histograms(workdir / histograms.HISTOGRAM_FILE)
    return pruning.effect_table(templates, diagnostics.shape_tests())


def test_config_covers_every_modelled_systematic_with_the_right_size(config, effects):
    """The hand-written YAML applies the pruning decisions, in both directions."""
    decided = pruning.decisions(effects)
    kept = decided[decided["decision"] != "drop"]
    entries = {s["Name"]: s for s in config["Systematics"]}
    expected = set(kept["systematic"]) | set(catalogue.NORMALIZATION_SYSTEMATICS)
    assert set(entries) == expected
    for name, syst in catalogue.NORMALIZATION_SYSTEMATICS.items():
        entry = entries[name]
        assert entry["Type"] == "Normalization", name
        assert set(validation._as_list(entry["Samples"])) == set(syst.samples), name
        assert entry["Up"]["Normalization"] == pytest.approx(syst.size)
        assert entry["Down"]["Normalization"] == pytest.approx(-syst.size)
    for name, rows in kept.groupby("systematic"):
        entry = entries[name]
        assert set(validation._as_list(entry["Samples"])) == set(rows["sample"]), name
        (kind,) = set(rows["decision"])
        if kind == "normalization":
            assert entry["Type"] == "Normalization", name
            # the written size describes every kept sample's yield change in both regions
            used = effects[(effects["systematic"] == name) & effects["sample"].isin(rows["sample"])]
            tol = pruning.SAME_FACTOR_TOLERANCE
            np.testing.assert_allclose(used["up"] - 1, entry["Up"]["Normalization"], atol=tol)
            np.testing.assert_allclose(used["down"] - 1, entry["Down"]["Normalization"], atol=tol)
        else:
            assert entry["Type"] == "NormPlusShape", name
            # every template systematic reads both templates from the file; for a one-sided one
            # the down template is the mirrored one of statlesson.histograms (one symmetrization)
            syst = catalogue.TEMPLATE_SYSTEMATICS[name]
            assert entry["Up"] == {"VariationPath": syst.variation_path("up")}, name
            assert entry["Down"] == {"VariationPath": syst.variation_path("down")}, name


def test_pruned_systematics_are_negligible_and_kept_ones_are_not(effects):
    decided = pruning.decisions(effects).set_index(["systematic", "sample"])
    # the factorization scale moves no region's prediction by more than 0.2 / sqrt(N_data)
    muf = effects[effects["systematic"] == "scale_muF"]
    assert (muf["effect"] < 0.2 * muf["data_precision"]).all()
    assert (decided.loc["scale_muF", "decision"] == "drop").all()
    # jet energy scale on ttbar is far above the data's precision and changes the shape
    assert decided.loc[("jes", "ttbar"), "decision"] == "shape"
    # b tagging needs no shape in 4j2b (nearly every event has two tagged b jets) but moves
    # the regions in opposite directions: one Normalization value cannot describe it
    btag = effects[(effects["systematic"] == "btag") & (effects["sample"] == "ttbar")]
    assert not btag.loc[btag["region"] == "4j2b", "shape_resolved"].any()
    # the lepton scale factor's shape change is resolved (the templates share their events)
    # but far too small for the data to see: a normalization
    lepsf = effects[(effects["systematic"] == "lepton_sf") & (effects["sample"] == "ttbar")]
    assert lepsf["shape_resolved"].all()
    assert (lepsf["shape_chi2_data"] < 0.01 * pruning.PRUNE_FRACTION**2).all()
    assert decided.loc[("lepton_sf", "ttbar"), "decision"] == "normalization"
    assert np.sign(btag["up"] - 1).tolist() == [-1, 1]  # 4j1b loses, 4j2b gains
    assert decided.loc[("btag", "ttbar"), "decision"] == "shape"
    # a stricter threshold drops more, a looser one less
    assert (pruning.decisions(effects, fraction=0.5)["decision"] == "drop").sum() > (
        decided["decision"] == "drop").sum()
    with pytest.raises(ValueError, match="between 0 and 1"):
        pruning.decisions(effects, fraction=1.5)


def test_config_binning_matches_the_analysis_regions(config):
    from statlesson import selection

    for region in config["Regions"]:
        np.testing.assert_allclose(region["Binning"], selection.get_region(region["Name"]).edges)


def test_config_and_analysis_agree_in_both_directions(config):
    """The configuration is checked against the regions and samples the package fills, both
    ways, with a message that names what is missing where."""
    modelspec.check_against_analysis(config)  # the lesson's configuration agrees
    fewer = copy.deepcopy(config)
    fewer["Regions"] = [r for r in fewer["Regions"] if r["Name"] != "4j2b"]
    with pytest.raises(ConfigError, match="no region '4j2b' of statlesson.selection.REGIONS"):
        modelspec.check_against_analysis(fewer)
    more = copy.deepcopy(config)
    more["Regions"].append(dict(more["Regions"][0], Name="5j1b", RegionPath="5j1b"))
    with pytest.raises(ConfigError, match="'5j1b'.*not a region of the analysis"):
        modelspec.check_against_analysis(more)
    rebinned = copy.deepcopy(config)
    rebinned["Regions"][0]["Binning"] = rebinned["Regions"][0]["Binning"][:-1]
    with pytest.raises(ConfigError, match="Binning .* differs"):
        modelspec.check_against_analysis(rebinned)
    no_wjets = copy.deepcopy(config)
    no_wjets["Samples"] = [s for s in no_wjets["Samples"] if s["Name"] != "wjets"]
    with pytest.raises(ConfigError, match="no sample 'wjets'"):
        modelspec.check_against_analysis(no_wjets)
    zjets = copy.deepcopy(config)
    zjets["Samples"].append({"Name": "zjets", "SamplePath": "zjets"})
    with pytest.raises(ConfigError, match="'zjets' is not a model sample"):
        modelspec.check_against_analysis(zjets)


def _edited(config, name, **changes):
    out = copy.deepcopy(config)
    entry = next(s for s in out["Systematics"] if s["Name"] == name)
    entry.update(changes)
    return out


@pytest.mark.parametrize(("name", "changes", "words"), [
    ("luminosity", {"Samples": ["ttbar", "wjets"]}, "add single_top to its Samples"),
    ("wjets_norm", {"Samples": ["wjets", "ttbar"]}, "remove ttbar"),
    ("wjets_norm", {"Down": {"Normalization": -0.1}}, "Down -0.1 differ .* ±0.2"),
    ("single_top_xsec", {"Type": "NormPlusShape"}, "missing or not a Normalization"),
])  # fmt: skip
def test_config_normalizations_are_the_catalogue_s(config, name, changes, words):
    """The normalization-only systematics of the configuration act on the catalogue's samples
    with the catalogue's sizes (a new background must join the luminosity's list)."""
    with pytest.raises(ConfigError, match=f"'{name}'.*{words}"):
        modelspec.check_against_analysis(_edited(config, name, **changes))


def test_config_paths_point_into_the_working_folder(config, workdir):
    assert config["General"]["InputPath"].startswith(str(workdir / "histograms.root:"))
    assert config["General"]["HistogramFolder"].startswith(str(workdir))


def test_missing_and_malformed_config_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.yml"):
        modelspec.load_config(tmp_path / "nothere.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("General: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        modelspec.load_config(bad)
    bad.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="General, Regions, Samples"):
        modelspec.load_config(bad)


def _raw_config():
    return yaml.safe_load(modelspec.config_file().read_text())


def test_schema_violation_names_the_place():
    cfg = _raw_config()
    cfg["Systematics"][0]["Type"] = "Normalisation"
    with pytest.raises(ConfigError, match="Systematics/0/Type"):
        validation.validate_config(cfg)


def test_unknown_sample_in_a_systematic_is_named():
    cfg = _raw_config()
    _systematic(cfg, "jes")["Samples"] = ["ttbar", "zjets"]
    with pytest.raises(ConfigError, match="'jes'.*zjets.*valid: Pseudodata, ttbar"):
        validation.validate_config(cfg)


def test_classic_luminosity_sign_mistake_is_caught_in_the_config():
    cfg = _raw_config()
    _systematic(cfg, "luminosity")["Down"] = {"Normalization": 0.023}
    with pytest.raises(ConfigError, match="luminosity.*same direction.*Normalization: -0.023"):
        validation.validate_config(cfg)


def test_built_workspace_is_valid_and_passes_the_checks(workspace, tmp_path):
    warnings = validation.validate_workspace(workspace)
    assert all(p.severity == "warning" for p in warnings)
    path = modelspec.save_workspace(workspace, tmp_path / "ws.json")
    ws = pyhf.Workspace(json.loads(path.read_text()))
    assert ws.channels == ["4j1b", "4j2b"]
    assert set(ws.samples) == {"ttbar", "single_top", "wjets"}
    assert ws.get_measurement()["config"]["poi"] == "mu_ttbar"


def test_workspace_yields_match_the_histograms_file(workspace, workdir):
    templates = histograms.read_histograms(workdir / histograms.HISTOGRAM_FILE)
    for channel in workspace["channels"]:
        for sample in channel["samples"]:
            expected = templates.nominal(channel["name"], sample["name"]).values()
            np.testing.assert_allclose(sample["data"], expected, rtol=1e-6)
    observed = {o["name"]: o["data"] for o in workspace["observations"]}
    for region in ("4j1b", "4j2b"):
        np.testing.assert_allclose(observed[region], templates.nominal(region, "data").values())


def test_luminosity_becomes_normsys_on_every_sample(workspace):
    table = modelspec.modifier_table(workspace)
    lumi = table[table.modifier == "luminosity"]
    from statlesson import selection

    every = len(catalogue.MODEL_SAMPLES) * len(selection.REGIONS)  # every sample, every region
    assert len(lumi) == every and set(lumi.type) == {"normsys"}
    size = catalogue.get_systematic("luminosity").size
    np.testing.assert_allclose(lumi.up, 1 + size)
    np.testing.assert_allclose(lumi.down, 1 - size)
    assert size == pytest.approx(0.023)  # the 2015 value of the papers we compare with


def _with_normsys(workspace, name, hi, lo):
    ws = copy.deepcopy(workspace)
    for channel in ws["channels"]:
        for sample in channel["samples"]:
            for mod in sample["modifiers"]:
                if mod["name"] == name and mod["type"] == "normsys":
                    mod["data"] = {"hi": hi, "lo": lo}
    return ws


def test_validator_catches_one_sided_luminosity(workspace):
    broken = _with_normsys(workspace, "luminosity", 1.023, 1.023)
    with pytest.raises(WorkspaceValidationError) as err:
        validation.validate_workspace(broken)
    messages = [p.message for p in err.value.problems]
    from statlesson import selection

    assert len(messages) == len(catalogue.MODEL_SAMPLES) * len(selection.REGIONS)  # one each
    assert any("'luminosity'" in m and "'ttbar'" in m and "'4j2b'" in m for m in messages)
    assert all("wrong sign" in m for m in messages)


def test_validator_catches_a_variation_from_an_unfilled_histogram(workspace):
    broken = _with_normsys(workspace, "jes", 1.08, 0.0)
    problems = validation.check_workspace(broken)
    errors = [p for p in problems if p.severity == "error" and p.modifier == "jes"]
    assert {p.region for p in errors} == {"4j1b", "4j2b"}
    assert all("unfilled" in p.message and "-100 %" in p.message for p in errors)


def test_validator_reports_empty_bins_and_zero_yields(workspace):
    ws = copy.deepcopy(workspace)
    channel = ws["channels"][0]
    zeros = [0.0] * len(channel["samples"][0]["data"])
    for sample in channel["samples"]:
        sample["data"] = list(zeros)
    problems = validation.check_workspace(ws)
    assert any(p.check == "empty prediction" and p.region == channel["name"] for p in problems)
    assert {p.sample for p in problems if p.check == "zero yield"} == {
        s["name"] for s in channel["samples"]
    }


def test_invalid_modifier_type_is_rejected_by_the_schema(workspace):
    ws = copy.deepcopy(workspace)
    ws["channels"][0]["samples"][0]["modifiers"][0]["type"] = "normsyss"
    with pytest.raises(pyhf.exceptions.InvalidSpecification):
        validation.validate_workspace(ws)


def test_missing_histograms_file_says_how_to_build_it(tmp_path):
    cfg = modelspec.load_config(modelspec.config_file(), tmp_path)
    with pytest.raises(FileNotFoundError, match="build_histograms"):
        modelspec.build_workspace(cfg)


def test_variation_pointing_at_a_missing_histogram_is_named(config, tmp_path):
    cfg = copy.deepcopy(config)
    cfg["General"]["HistogramFolder"] = str(tmp_path / "h")
    _systematic(cfg, "jes")["Down"] = {"VariationPath": "_jes_dwn"}
    with pytest.raises(KeyError, match="jes_dwn"):
        modelspec.build_workspace(cfg)


def test_save_workspace_keeps_the_old_file_when_writing_fails(workspace, tmp_path):
    path = modelspec.save_workspace(workspace, tmp_path / "ws.json")
    before = path.read_text()
    with pytest.raises(TypeError):
        modelspec.save_workspace({"bad": object()}, path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ws.json"]


def test_normsys_factors_lookup(workspace):
    hi, lo = modelspec.normsys_factors(workspace, "luminosity", "4j2b", "wjets")
    assert (hi, lo) == pytest.approx((1.023, 0.977))
    # a symmetrized one-sided variation mirrors its up factor
    hi, lo = modelspec.normsys_factors(workspace, "generator", "4j1b", "ttbar")
    assert hi + lo == pytest.approx(2.0)
    with pytest.raises(KeyError, match="no normsys 'generator' on sample 'wjets'.*available"):
        modelspec.normsys_factors(workspace, "generator", "4j1b", "wjets")


@pytest.mark.parametrize("name", ["generator", "hadronizer", "jer"])
def test_the_fit_uses_the_mirrored_templates_of_the_histograms_file(workspace, workdir, name):
    """One symmetrization: the workspace's down variation of a one-sided systematic is the
    mirrored template that statlesson.histograms wrote (and episode 3 shows), split by cabinetry
    into a normalization factor and a shape."""
    templates = histograms.read_histograms(workdir / histograms.HISTOGRAM_FILE)
    checked = 0
    for channel in workspace["channels"]:
        for sample in channel["samples"]:
            mods = {(m["name"], m["type"]): m["data"] for m in sample["modifiers"]}
            if (name, "histosys") not in mods:
                continue
            down = templates.variation(channel["name"], sample["name"], name, "down").values()
            lo = np.asarray(mods[name, "histosys"]["lo_data"]) * mods[name, "normsys"]["lo"]
            np.testing.assert_allclose(lo, down, rtol=1e-6)
            checked += 1
    assert checked >= 1


def test_sizes_an_analyst_recognises_and_enough_simulated_events(workdir, workspace):
    """No normsys beyond ±25 % (the largest prior is the W+jets normalization, 20 %), no empty
    bin in any template of the model, and in every bin an MC statistical uncertainty below the
    data's and below 10 %."""
    from statlesson import diagnostics, selection

    for channel in workspace["channels"]:
        for sample in channel["samples"]:
            where = f"{sample['name']} in {channel['name']}"
            assert min(sample["data"]) > 0, f"empty bin in the nominal template of {where}"
            for mod in sample["modifiers"]:
                if mod["type"] == "normsys":
                    size = max(abs(mod["data"]["hi"] - 1), abs(mod["data"]["lo"] - 1))
                    assert size <= 0.25, f"{mod['name']} on {where}: {size:.0%}"
                if mod["type"] == "histosys":
                    shifted = mod["data"]["hi_data"] + mod["data"]["lo_data"]
                    assert min(shifted) > 0, f"empty bin in a template of {mod['name']}, {where}"
    templates = histograms.read_histograms(workdir / histograms.HISTOGRAM_FILE)
    for region in selection.REGIONS:
        nominals = [templates.nominal(region, s) for s in catalogue.MODEL_SAMPLES]
        mc = diagnostics.staterror_uncertainty(nominals)
        data = templates.nominal(region, catalogue.DATA_SAMPLE).values()
        assert np.all(mc < 1 / np.sqrt(data)), (region, mc * np.sqrt(data))
        assert np.all(mc < 0.10), (region, mc)

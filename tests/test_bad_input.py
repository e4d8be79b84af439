"""Bad input gets a clear error, and nothing is lost.

Every public helper that reads a file, takes a name, selects events, reads a configuration or a
workspace, or writes a file is given bad input here: a wrong path, a file that is not ROOT or has no
``events`` tree, a missing branch, an unknown sample/region/systematic, an empty selection, a malformed
cabinetry configuration, a malformed pyhf workspace, and a writer that fails midway. Each test checks
the error type and that the message names the problem (and the fix, where there is one). Cases that
other test files already check are not repeated (for example an unknown region in
``test_selection.py`` or a missing histograms file in ``test_model.py``).

Inputs are tiny files built in ``tmp_path``; the whole file runs in a few seconds.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import awkward as ak
import hist
import matplotlib
import numpy as np
import pyhf
import pytest
import uproot
import yaml
from cabinetry.fit import FitResults

from statlesson import (
    catalogue, diagnostics, fileio, fitting, histograms, histplots, inference, limits, modelspec,
    ntuple, selection, setupcheck, toydata, validation, variations,
)  # fmt: skip
from statlesson.validation import ConfigError, WorkspaceSchemaError, WorkspaceValidationError

matplotlib.use("Agg")

# --------------------------------------------------------------------------------------------------
# tiny inputs
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Small ROOT files (single top, about 400 events) with one defect each, and a non-ROOT file."""
    folder = tmp_path_factory.mktemp("bad_input")
    arrays = toydata.generate_sample("single_top", 3000)
    no_genpt = [f for f in arrays["jet"].fields if f != "genpt"]
    soft_leptons = dict(arrays, lep_pt=arrays["lep_pt"] * 0 + 10)  # below the 30 GeV threshold
    out = {
        "good": toydata.write_ntuple(folder / "good.root", arrays),
        "soft": toydata.write_ntuple(folder / "soft.root", soft_leptons),  # no event is selected
        "empty": toydata.write_ntuple(folder / "empty.root", {k: v[:0] for k, v in arrays.items()}),
        "no_genpt": toydata.write_ntuple(
            folder / "no_genpt.root", dict(arrays, jet=arrays["jet"][no_genpt])
        ),
        "notree": folder / "notree.root",
        "junk": folder / "junk.root",
        "missing": folder / "nothing_here.root",
    }
    with uproot.recreate(out["notree"]) as f:
        f["other"] = "not a tree"
    out["junk"].write_text("this is not a ROOT file\n" * 100)
    return out


@pytest.fixture(scope="module")
def events(files) -> ak.Array:
    return selection.read_events("single_top", path=files["good"])


@pytest.fixture()
def plt_agg():
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def _hist(values, edges=(0.0, 1.0, 2.0, 3.0)) -> hist.Hist:
    h = hist.Hist(hist.axis.Regular(len(edges) - 1, edges[0], edges[-1]), storage=hist.storage.Weight())
    h.view().value = np.asarray(values, dtype=float)
    h.view().variance = np.asarray(values, dtype=float)
    return h


def _raw_config() -> dict:
    return yaml.safe_load(modelspec.config_file().read_text())


def _workspace() -> dict:
    """A valid two-bin pyhf workspace: signal + background with normsys and histosys."""
    spec = inference.counting_spec(
        [10.0, 20.0], [5.0, 5.0], bkg_norm_unc=0.1, bkg_shape_up=[6.0, 6.0], bkg_shape_down=[4.0, 4.0]
    )
    return {
        "channels": spec["channels"],
        "observations": [{"name": "signal_region", "data": [15.0, 25.0]}],
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}],
        "version": "1.0.0",
    }


def _files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --------------------------------------------------------------------------------------------------
# wrong path, a file that is not ROOT, a file without the tree it needs
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        pytest.param(lambda f: selection.read_events("single_top", path=f["junk"]), OSError,
                     r"ntuple .*junk\.root is not a readable ROOT file.*make data", id="read_events"),
        pytest.param(lambda f: selection.read_generator_sums("single_top", path=f["junk"]), OSError,
                     r"junk\.root is not a readable ROOT file.*make data", id="read_generator_sums"),
        pytest.param(lambda f: selection.read_generator_sums("ttbar", path=f["missing"]),
                     FileNotFoundError, r"ntuple not found: .*nothing_here\.root.*make data",
                     id="read_generator_sums-missing"),
        pytest.param(lambda f: histograms.fill_sample("single_top", path=f["missing"]),
                     FileNotFoundError, r"nothing_here\.root.*make data", id="fill_sample-missing"),
        pytest.param(lambda f: histograms.fill_sample("single_top", path=f["junk"]), OSError,
                     "not a readable ROOT file", id="fill_sample-junk"),
        pytest.param(lambda f: histograms.build_histograms(f["missing"].parent / "out",
                                                           data_dir=f["missing"].parent / "nodata"),
                     FileNotFoundError, r"ntuple for sample 'ttbar' not found.*make data",
                     id="build_histograms"),
        pytest.param(lambda f: fileio.open_root(f["missing"], what="ntuple", fix="; run make"),
                     FileNotFoundError, r"ntuple not found: .*nothing_here\.root; run make",
                     id="open_root-missing"),
        pytest.param(lambda f: fileio.open_root(f["junk"]), OSError,
                     r"junk\.root is not a readable ROOT file \(not a ROOT file", id="open_root-junk"),
        pytest.param(lambda f: modelspec.load_config(f["missing"].parent), FileNotFoundError,
                     "cabinetry configuration not found", id="load_config-folder"),
    ],
)  # fmt: skip
def test_wrong_path_or_not_a_root_file(files, call, error, match):
    with pytest.raises(error, match=match):
        call(files)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        pytest.param(lambda f: histograms.fill_sample("single_top", path=f["notree"]), KeyError,
                     "no TTree 'events'; it contains: other", id="fill_sample"),
        pytest.param(lambda f: selection.check_ntuple("single_top", path=f["notree"]), KeyError,
                     "no TTree 'events'", id="check_ntuple"),
        pytest.param(lambda f: selection.read_generator_sums("single_top", path=f["good"]), KeyError,
                     "no 'runs' tree.*only simulated ntuples.*it contains: events",
                     id="read_generator_sums"),
    ],
)  # fmt: skip
def test_file_without_the_tree(files, call, error, match):
    with pytest.raises(error, match=match):
        call(files)


@pytest.mark.parametrize(
    ("defect", "error", "match"),
    [
        ("notree", KeyError, r"wjets\.root has no TTree 'events' \(it contains: other\).*make data"),
        ("junk", OSError, r"wjets\.root is not a readable ROOT file.*make data"),
    ],
)
def test_inventory_names_a_broken_file(files, tmp_path, defect, error, match):
    for name in catalogue.SAMPLES:
        (tmp_path / f"{name}.root").symlink_to(ntuple.data_dir() / f"{name}.root")
    (tmp_path / "wjets.root").unlink()
    (tmp_path / "wjets.root").write_bytes(files[defect].read_bytes())
    with pytest.raises(error, match=match):
        setupcheck.inventory(tmp_path)


def test_build_workspace_with_a_histograms_file_that_is_not_root(tmp_path):
    config = modelspec.load_config(modelspec.config_file(), tmp_path)
    (tmp_path / histograms.HISTOGRAM_FILE).write_text("not ROOT")
    with pytest.raises(OSError, match=r"histograms\.root is not a readable ROOT file.*build_histograms"):
        modelspec.build_workspace(config)


def test_read_histograms_of_a_file_that_is_not_root(files):
    with pytest.raises(OSError, match=r"histograms file .*junk\.root is not a readable ROOT file"):
        histograms.read_histograms(files["junk"])


def test_read_histograms_of_an_ntuple(files):
    with pytest.raises(ValueError, match=r"(?s)not a histograms file.*events.*TTree"):
        histograms.read_histograms(files["good"])


# --------------------------------------------------------------------------------------------------
# missing branch
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "match"),
    [
        pytest.param(lambda ev: selection.select_jets(ev[["jet_pt"]]),
                     "jet selection needs branch.*jet_eta.*they have: jet_pt", id="select_jets"),
        pytest.param(lambda ev: selection.region_masks(ev[["jet_pt", "jet_eta", "lep_pt"]]),
                     "selection needs branch.*jet_btag, lep_eta.*read_events", id="region_masks"),
        pytest.param(lambda ev: selection.observable(ev[["jet_pt", "jet_eta", "jet_btag", "lep_pt"]],
                                                     "4j1b"), "lep_eta", id="observable"),
        pytest.param(lambda ev: selection.m_bjj(ev[["jet_pt", "jet_eta", "jet_btag"]],
                                                selection.select_jets(ev)),
                     "m_bjj needs branch.*jet_phi, jet_mass", id="m_bjj"),
        pytest.param(lambda ev: selection.nominal_weight(ev[["lep_pt", "weight"]], "single_top"),
                     "nominal weight of sample 'single_top' needs branch.*weight_lepsf",
                     id="nominal_weight"),
        pytest.param(lambda ev: variations.btag_weight(ev[["jet_pt", "jet_btag", "jet_flavour"]]),
                     "b-tag weight needs branch.*jet_eta", id="btag_weight-jet_eta"),
    ],
)  # fmt: skip
def test_events_without_a_needed_branch(events, call, match):
    with pytest.raises(KeyError, match=match):
        call(events)


def test_file_without_a_needed_branch_fails_before_reading(files):
    # the JER variation needs the generator-level jet pT; the check names it and what is there
    with pytest.raises(KeyError, match=r"jet_genpt not found in .*no_genpt\.root.*available: jet_pt"):
        histograms.fill_sample("single_top", path=files["no_genpt"])


@pytest.mark.parametrize(
    ("call", "branch"),
    [
        (lambda ev: variations.jes_shift(ev[["jet_pt"]], "up"), "jet_eta"),
        (lambda ev: variations.btag_weight(ev[["jet_pt", "jet_eta", "jet_flavour"]]), "jet_btag"),
    ],
    ids=["jes_shift", "btag_weight"],
)
def test_variations_name_a_missing_branch(events, call, branch):
    with pytest.raises(KeyError, match=branch):
        call(events)


# --------------------------------------------------------------------------------------------------
# unknown sample, region, systematic, parameter
# --------------------------------------------------------------------------------------------------

VALID_SAMPLES = "valid samples: ttbar, ttbar_generator, ttbar_hadronizer, single_top, wjets, data"


@pytest.mark.parametrize(
    ("call", "match"),
    [
        pytest.param(lambda: ntuple.data_path("zjets"), VALID_SAMPLES, id="data_path"),
        pytest.param(lambda: selection.read_events("zjets"), VALID_SAMPLES, id="read_events"),
        pytest.param(lambda: selection.nominal_weight(ak.Array([{"weight": 1.0}]), "zjets"),
                     VALID_SAMPLES, id="nominal_weight"),
        pytest.param(lambda: toydata.generate_sample("zjets", 10), VALID_SAMPLES, id="generate_sample"),
        pytest.param(lambda: toydata.generate_pseudodata(dict(toydata.TRUTH, processes=["zjets"])),
                     "unknown process.*zjets; valid: ttbar", id="generate_pseudodata"),
        pytest.param(lambda: histograms.required_branches("zjets"), VALID_SAMPLES,
                     id="required_branches"),
        pytest.param(lambda: histograms.fill_sample("zjets"), VALID_SAMPLES, id="fill_sample"),
        pytest.param(lambda: histograms.new_histogram("4j3b"), "unknown region '4j3b'; valid regions",
                     id="new_histogram"),
        pytest.param(lambda: catalogue.get_systematic("pdf"),
                     "unknown systematic 'pdf'; valid systematics: lepton_sf", id="get_systematic"),
        pytest.param(lambda: histograms.Templates().variation("4j1b", "ttbar", "JES", "up"),
                     "unknown systematic 'JES'", id="Templates.variation"),
        pytest.param(lambda: diagnostics.variation_summary(histograms.Templates(), "zjets", "4j1b"),
                     "unknown sample 'zjets'", id="variation_summary-sample"),
        pytest.param(lambda: diagnostics.variation_summary(histograms.Templates(), "ttbar", "4j3b"),
                     "unknown region '4j3b'", id="variation_summary-region"),
        pytest.param(lambda: histplots.plot_templates(histograms.Templates(), "ttbar", "pdf"),
                     "unknown systematic 'pdf'", id="plot_templates-systematic"),
        pytest.param(lambda: histplots.plot_templates(histograms.Templates(), "ttbar", "jes",
                                                      regions=("4j3b",)),
                     "unknown region '4j3b'", id="plot_templates-region"),
        pytest.param(lambda: histplots.plot_stack({"zjets": _hist([1.0, 2.0, 3.0])}), VALID_SAMPLES,
                     id="plot_stack"),
        pytest.param(lambda: histplots.plot_stat_uncertainty({"zjets": _hist([1.0, 2.0, 3.0])}),
                     VALID_SAMPLES, id="plot_stat_uncertainty"),
    ],
)  # fmt: skip
def test_unknown_names_list_the_valid_ones(call, match, plt_agg):
    with pytest.raises(KeyError, match=match):
        call()


def test_write_all_checks_every_name_before_generating_anything(tmp_path):
    with pytest.raises(KeyError, match=f"unknown sample 'zjets'; {VALID_SAMPLES}"):
        toydata.write_all(tmp_path / "out", ["ttbar", "zjets"])
    assert not (tmp_path / "out").exists()  # ttbar was not generated and written first


def test_unknown_region_or_sample_in_a_workspace():
    ws = _workspace()
    with pytest.raises(KeyError, match="no region '4j3b' in this workspace; regions: signal_region"):
        modelspec.normsys_factors(ws, "bkg_norm", "4j3b", "background")
    with pytest.raises(KeyError, match="no sample 'zjets' in region 'signal_region'.*samples: ttbar, "
                                       "background"):
        modelspec.normsys_factors(ws, "bkg_norm", "signal_region", "zjets")


@pytest.fixture(scope="module")
def small_fit():
    """A two-bin counting model, its data and fit results built by hand (no fit needed)."""
    pdf = inference.build_counting_model([10.0, 20.0], [5.0, 5.0], bkg_norm_unc=0.1)
    data = inference.make_data(pdf, {"signal_region": [15.0, 25.0]})
    results = FitResults(np.array([1.0, 0.0]), np.array([0.3, 0.9]), list(pdf.config.par_names),
                         np.eye(2), 10.0)  # fmt: skip
    return pdf, data, results


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda m, d, r: fitting.covariance_impacts(r, "mu_ttbar"), id="covariance_impacts"),
        pytest.param(lambda m, d, r: fitting.nuisance_parameters(r, "mu_ttbar"),
                     id="nuisance_parameters"),
        pytest.param(lambda m, d, r: fitting.stat_only_uncertainty(r, "mu_ttbar"),
                     id="stat_only_uncertainty"),
        pytest.param(lambda m, d, r: limits.profile_scan(m, d, r, "mu_ttbar", [1.0]),
                     id="profile_scan"),
        pytest.param(lambda m, d, r: fitting.refit_impacts(m, d, r, ["bkg_norm", "mu_ttbar"], "mu"),
                     id="refit_impacts"),
    ],
)  # fmt: skip
def test_unknown_parameter_lists_the_parameters(small_fit, call):
    with pytest.raises(KeyError, match="no parameter 'mu_ttbar' in the fit results; parameters: mu, "
                                       "bkg_norm"):
        call(*small_fit)


# --------------------------------------------------------------------------------------------------
# empty selection and empty input
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("defect", "n_events"), [("soft", r"\d+"), ("empty", "0")], ids=["all-events-fail", "no-events"]
)
def test_fill_sample_of_a_file_with_no_selected_event(files, defect, n_events):
    with pytest.raises(
        ValueError,
        match=rf"no event of sample 'single_top' passes the selection of region '4j1b' \({n_events} "
        "events read\\)",
    ):
        histograms.fill_sample("single_top", path=files[defect])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        pytest.param(lambda: diagnostics.shape_chi2(_hist([0, 0, 0]), _hist([0, 0, 0])),
                     "cannot compare shapes of an empty template", id="shape_chi2"),
        pytest.param(lambda: diagnostics.staterror_uncertainty([]), "no histograms given",
                     id="staterror_uncertainty"),
        pytest.param(lambda: histplots.plot_stack({}), "nothing to stack", id="plot_stack"),
        pytest.param(lambda: histplots.plot_stat_uncertainty({}), "nothing to plot",
                     id="plot_stat_uncertainty"),
        pytest.param(lambda: histplots.plot_variation(_hist([0, 0, 0]), _hist([1, 2, 3]), label="JES",
                                                     normalize=True),
                     "JES: the nominal histogram is empty and cannot be normalized.*normalize=False",
                     id="plot_variation"),
        pytest.param(lambda: toydata.generate_sample("single_top", 0),
                     "n_generated must be a positive number of events, got 0", id="generate_sample"),
        pytest.param(lambda: inference.profile_scan(inference.build_counting_model([1.0], [1.0]),
                                                    [1.0], []),
                     "mu_values must be a non-empty", id="inference.profile_scan"),
    ],
)  # fmt: skip
def test_empty_input(call, match, plt_agg):
    with pytest.raises(ValueError, match=match):
        call()


# --------------------------------------------------------------------------------------------------
# malformed cabinetry configuration
# --------------------------------------------------------------------------------------------------


def _edit(path: tuple, value=None, *, delete: bool = False):
    """A change of the lesson's configuration: set (or delete) the entry at ``path``."""

    def apply(config: dict) -> dict:
        config = copy.deepcopy(config)
        target = config
        for key in path[:-1]:
            target = target[key]
        if delete:
            del target[path[-1]]
        else:
            target[path[-1]] = value
        return config

    return apply


@pytest.mark.parametrize(
    ("change", "match"),
    [
        # wrong types
        pytest.param(_edit(("Regions", 0, "Binning"), "110-550"),
                     "at Regions/0/Binning: '110-550' is not of type 'array'", id="binning-string"),
        pytest.param(_edit(("NormFactors", 0, "Bounds"), "0-5"),
                     "at NormFactors/0/Bounds: '0-5' is not of type 'array'", id="bounds-string"),
        pytest.param(_edit(("Systematics", 0, "Up"), {"Normalization": "0.023"}),
                     "at Systematics/0/Up/Normalization: '0.023' is not of type 'number'",
                     id="normalization-string"),
        pytest.param(_edit(("Samples", 1, "Name"), 5), "at Samples/1/Name: 5 is not of type 'string'",
                     id="name-number"),
        # missing blocks and keys
        pytest.param(_edit(("Regions",), delete=True), "at top level: 'Regions' is a required property",
                     id="no-regions"),
        pytest.param(_edit(("NormFactors",), delete=True), "'NormFactors' is a required property",
                     id="no-normfactors"),
        pytest.param(_edit(("General", "InputPath"), delete=True),
                     "at General: 'InputPath' is a required property", id="no-inputpath"),
        pytest.param(_edit(("Systematics", 3, "Up"), delete=True),
                     "at Systematics/3: 'Up' is a required property", id="no-up"),
        # unknown keys
        pytest.param(_edit(("Fit",), {"Method": "minuit"}), r"\('Fit' was unexpected\)",
                     id="unknown-block"),
        pytest.param(_edit(("General", "Lumi"), 564.0), r"at General: .*\('Lumi' was unexpected\)",
                     id="unknown-general-key"),
        pytest.param(_edit(("Systematics", 3, "Sample"), "ttbar"),
                     r"at Systematics/3: .*\('Sample' was unexpected\)", id="sample-for-samples"),
        pytest.param(_edit(("Systematics", 0, "Up"), {"Normalisation": 0.023}),
                     r"at Systematics/0/Up: .*\('Normalisation' was unexpected\)", id="spelling"),
        # inconsistent entries
        pytest.param(_edit(("Systematics", 0, "Regions"), ["4j3b"]),
                     "'luminosity' refers to unknown region.*4j3b; valid: 4j1b, 4j2b",
                     id="unknown-region"),
        pytest.param(_edit(("NormFactors", 0, "Samples"), "tt"),
                     "NormFactors entry 'mu_ttbar' refers to unknown sample.*tt; valid: Pseudodata",
                     id="unknown-normfactor-sample"),
        pytest.param(_edit(("Systematics", 0, "Up"), {"VariationPath": "_lumi_up"}),
                     "Normalization systematic 'luminosity' needs Up and Down", id="norm-without-value"),
        pytest.param(_edit(("Systematics", 0, "Down"), {"Normalization": -1.5}),
                     "relative change of -1.5 removes the whole sample", id="norm-below-minus-one"),
        pytest.param(lambda c: dict(c, Regions=c["Regions"] + c["Regions"][:1]),
                     "at Regions: two entries are identical; remove the duplicate", id="duplicate"),
        pytest.param(lambda c: dict(c, Samples=c["Samples"] + [{"Name": "wjets", "SamplePath": "w"}]),
                     "Samples has more than one entry named wjets; names must be unique",
                     id="duplicate-name"),
        pytest.param(_edit(("Samples", 0, "Data"), False),
                     "exactly one sample must have Data: true .*found 0", id="no-data-sample"),
    ],
)  # fmt: skip
def test_malformed_config_is_named(tmp_path, change, match):
    config = change(_raw_config())
    with pytest.raises(ConfigError, match=match):
        validation.validate_config(config)
    path = tmp_path / "config.yml"  # the same through load_config, from a file
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match=match.replace("at top level: ", "")):
        modelspec.load_config(path, tmp_path)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        pytest.param("General:\n\t- InputPath: x\n",
                     r"not valid YAML at line 2, column 1: .*'\\t' that cannot start.*spaces, not tabs",
                     id="tab"),
        pytest.param("Regions: [{Name: 4j1b}\n", "not valid YAML at line 2", id="unclosed"),
        pytest.param("", "does not look like a cabinetry configuration", id="empty-file"),
        pytest.param("General:\nRegions: []\n", "the General block must be a mapping.*got None",
                     id="general-empty"),
        pytest.param("General: histograms.root\n",
                     "General block must be a mapping.*got 'histograms.root'", id="general-string"),
    ],
)  # fmt: skip
def test_config_file_that_does_not_parse(tmp_path, text, match):
    path = tmp_path / "config.yml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        modelspec.load_config(path)


def test_build_workspace_validates_a_config_it_did_not_load(tmp_path):
    config = _edit(("General", "InputPath"), delete=True)(modelspec.load_config(modelspec.config_file(), tmp_path))
    with pytest.raises(ConfigError, match="'InputPath' is a required property"):
        modelspec.build_workspace(config)


def test_build_workspace_leaves_the_physics_checks_to_the_workspace(tmp_path, monkeypatch):
    """A configuration with the luminosity sign mistake can still be built, so that the workspace
    checks can be shown finding it (episode 4): only the schema is checked before building."""
    config = modelspec.load_config(modelspec.config_file(), tmp_path)
    broken = _edit(("Systematics", 0, "Down"), {"Normalization": 0.023})(config)
    with pytest.raises(ConfigError, match="same direction"):
        validation.validate_config(broken)
    histograms.write_histograms({"a": _hist([1.0, 2.0, 3.0])}, tmp_path / histograms.HISTOGRAM_FILE)
    for name in ("collect", "postprocess"):  # no templates needed: cabinetry itself is not tested
        monkeypatch.setattr(modelspec.cabinetry.templates, name, lambda *args, **kwargs: None)
    monkeypatch.setattr(modelspec.cabinetry.workspace, "build", lambda config: {"built": True})
    assert modelspec.build_workspace(broken) == {"built": True}


# --------------------------------------------------------------------------------------------------
# malformed pyhf workspace
# --------------------------------------------------------------------------------------------------


def _set(path: tuple, value):
    def apply(ws: dict) -> dict:
        ws = copy.deepcopy(ws)
        target = ws
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return ws

    return apply


def _add_staterror(data):
    def apply(ws: dict) -> dict:
        ws = copy.deepcopy(ws)
        ws["channels"][0]["samples"][1]["modifiers"].append(
            {"name": "staterror_sr", "type": "staterror", "data": data}
        )
        return ws

    return apply


BKG = ("channels", 0, "samples", 1)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        pytest.param(_set((*BKG, "modifiers", 0, "type"), "normsyss"),
                     "sample 'background', modifier 'bkg_norm'.*unknown modifier type 'normsyss', "
                     "valid types: normfactor, .*normsys, histosys", id="unknown-type"),
        pytest.param(_set((*BKG, "modifiers", 0, "data"), {"hi": 1.1}),
                     r"modifier 'bkg_norm'.*a normsys modifier needs 'data': "
                     r"\{'hi': <factor>, 'lo': <factor>\}", id="normsys-without-lo"),
        pytest.param(_set((*BKG, "modifiers", 1, "data"), [4.0, 6.0]),
                     "modifier 'bkg_shape'.*a histosys modifier needs 'data': {'hi_data'",
                     id="histosys-as-list"),
        pytest.param(_add_staterror(None),
                     "a staterror modifier needs 'data': \\[<absolute uncertainty per bin>\\]",
                     id="staterror-null"),
        pytest.param(_set((*BKG, "data"), "5, 5"),
                     "sample 'background' .*data.*'5, 5' is not of type 'array'",
                     id="sample-data-string"),
        pytest.param(_set(("channels",), {}), "schema at top level \\(channels\\).* is not of type "
                     "'array'.*cabinetry.workspace.build", id="channels-dict"),
        pytest.param(lambda ws: {k: v for k, v in ws.items() if k != "observations"},
                     "does not follow pyhf's schema at top level: 'observations' is a required "
                     "property", id="no-observations"),
    ],
)  # fmt: skip
def test_workspace_with_an_invalid_modifier_or_block(change, match):
    broken = change(_workspace())
    with pytest.raises(WorkspaceSchemaError, match=match) as err:
        validation.validate_workspace(broken)
    # still what pyhf raises for a schema violation, and a ValueError like the other model errors
    assert isinstance(err.value, pyhf.exceptions.InvalidSpecification)
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize("helper", [validation.check_workspace, modelspec.modifier_table])
def test_inspection_helpers_reject_a_malformed_workspace(helper):
    broken = _set((*BKG, "modifiers", 0, "type"), "normsyss")(_workspace())
    with pytest.raises(WorkspaceSchemaError, match="unknown modifier type 'normsyss'"):
        helper(broken)
    with pytest.raises(WorkspaceSchemaError, match="not a pyhf workspace.*got a list"):
        helper([broken])


@pytest.mark.parametrize(
    ("change", "match"),
    [
        pytest.param(_set((*BKG, "modifiers", 1, "data", "hi_data"), [6.0, 6.0, 6.0]),
                     "hi_data of histosys 'bkg_shape' on sample 'background' has 3 entries, but the "
                     "region has 2 bins", id="histosys"),
        pytest.param(_add_staterror([1.0]),
                     "the data of staterror 'staterror_sr' on sample 'background' has 1 entry, but "
                     "the region has 2 bins", id="staterror"),
        pytest.param(_set((*BKG, "data"), [5.0, 5.0, 5.0]),
                     "the data of sample 'background' has 3 entries, but the region has 2 bins "
                     "\\(like sample 'ttbar'\\)", id="sample"),
        pytest.param(_set(("observations", 0, "data"), [15.0]),
                     "the observed data has 1 entry, but the region has 2 bins", id="observations"),
    ],
)  # fmt: skip
def test_workspace_data_of_the_wrong_length(change, match):
    broken = change(_workspace())
    with pytest.raises(WorkspaceValidationError, match=match) as err:
        validation.validate_workspace(broken)
    assert [p.check for p in err.value.problems] == ["bin count"]


# --------------------------------------------------------------------------------------------------
# other bad arguments of the fitting and plotting helpers
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "match"),
    [
        pytest.param(lambda m, d, r: fitting.refit(m, d[:2], m.config.suggested_init()),
                     "data must hold the model's 2 observed counts followed by its 1 auxiliary data "
                     r"\(3 numbers\), got 2; .*model_and_data", id="refit-data"),
        pytest.param(lambda m, d, r: fitting.refit(m, d, [1.0]),
                     r"init must hold one value per model parameter \(2\), got 1", id="refit-init"),
        pytest.param(lambda m, d, r: fitting.refit(m, d, m.config.suggested_init(), [7]),
                     r"fixed parameter indices \[7\] are out of range: the model has 2",
                     id="refit-fixed"),
        pytest.param(lambda m, d, r: limits.profile_scan(m, d, r._replace(labels=["a", "b", "c"]),
                                                          "a", [1.0]),
                     "the fit results have 3 parameters but the model has 2", id="scan-other-model"),
        pytest.param(lambda m, d, r: limits.profile_scan(m, d + [0.0], r, "mu", [1.0]),
                     "got 4", id="scan-data"),
        pytest.param(lambda m, d, r: inference.fit_poi(
            pyhf.Model(inference.counting_spec([1.0], [1.0]), poi_name=None), [1.0]),
                     "no parameter of interest", id="fit_poi-no-poi"),
        pytest.param(lambda m, d, r: histplots.plot_scan([0.0, 1.0], [1.0], label="x"),
                     "mu and q must have the same shape", id="plot_scan"),
        pytest.param(lambda m, d, r: inference.interval_from_scan([0, 1, 2], [1, 0, 1], level=0),
                     "level must be > 0", id="interval_from_scan"),
        pytest.param(lambda m, d, r: histplots.plot_xsec_comparison((888.0, 30.0), {}),
                     r"give \(central, \+uncertainty, -uncertainty\) in pb, got \(888.0, 30.0\)",
                     id="plot_xsec_comparison"),
        pytest.param(lambda m, d, r: histplots.plot_stat_uncertainty(
            {"ttbar": _hist([1.0, 2.0, 3.0]), "wjets": _hist([1.0, 2.0], edges=(0.0, 1.0, 2.0))}),
                     "wjets: binning differs", id="plot_stat_uncertainty-binning"),
    ],
)  # fmt: skip
def test_bad_fit_and_plot_arguments(small_fit, plt_agg, call, match):
    previous = pyhf.get_backend()
    pyhf.set_backend("numpy", "minuit")
    try:
        with pytest.raises(ValueError, match=match):
            call(*small_fit)
    finally:
        pyhf.set_backend(*previous)


def test_truth_for_pseudodata_needs_its_keys():
    with pytest.raises(KeyError, match=r"truth lacks processes, lumi_pb; .*dict\(toydata.TRUTH"):
        toydata.generate_pseudodata({"mu_ttbar": 1.0})


# --------------------------------------------------------------------------------------------------
# a failed write never replaces a good file with a partial one
# --------------------------------------------------------------------------------------------------


def _disk_full(*args, **kwargs):
    raise OSError(28, "No space left on device")


def test_ntuple_writer_failing_midway_keeps_the_old_file(files, tmp_path, monkeypatch):
    path = tmp_path / "ntuple.root"
    path.write_bytes(files["good"].read_bytes())
    before = path.read_bytes()
    arrays = toydata.generate_sample("wjets", 2000)
    # the file is open and its tree created when filling the tree fails
    monkeypatch.setattr(uproot.writing.writable.WritableTree, "extend", _disk_full)
    with pytest.raises(OSError, match="No space left"):
        toydata.write_ntuple(path, arrays)
    assert path.read_bytes() == before
    assert _files_in(tmp_path) == ["ntuple.root"]


def test_histogram_writer_failing_midway_keeps_the_old_file(tmp_path, monkeypatch):
    path = histograms.write_histograms({"a": _hist([1.0, 2.0, 3.0])}, tmp_path / "h.root")
    before = path.read_bytes()
    setitem = uproot.writing.writable.WritableDirectory.__setitem__
    written = []

    def fail_on_second(self, name, value):
        if written:
            _disk_full()
        written.append(name)
        setitem(self, name, value)

    monkeypatch.setattr(uproot.writing.writable.WritableDirectory, "__setitem__", fail_on_second)
    with pytest.raises(OSError, match="No space left"):
        histograms.write_histograms({"a": _hist([4.0, 5.0, 6.0]), "b": _hist([7.0, 8.0, 9.0])}, path)
    assert written == ["a"]  # the first histogram was written to the temporary file
    assert path.read_bytes() == before
    assert _files_in(tmp_path) == ["h.root"]


def test_workspace_writer_failing_midway_keeps_the_old_file(tmp_path, monkeypatch):
    path = modelspec.save_workspace(_workspace(), tmp_path / "ws.json")
    before = path.read_bytes()

    def partial_dump(obj, f, **kwargs):
        f.write('{"channels": [')
        _disk_full()

    monkeypatch.setattr(modelspec.json, "dump", partial_dump)
    with pytest.raises(OSError, match="No space left"):
        modelspec.save_workspace(_workspace(), path)
    assert path.read_bytes() == before
    assert _files_in(tmp_path) == ["ws.json"]


def test_workspace_that_json_cannot_store_keeps_the_old_file(tmp_path):
    path = modelspec.save_workspace(_workspace(), tmp_path / "ws.json")
    before = path.read_bytes()
    ws = _workspace()
    ws["observations"][0]["data"] = np.array([15.0, 25.0])
    with pytest.raises(TypeError, match=r"ndarray is not JSON serializable.*\.tolist\(\).*the "
                                        "previous file is unchanged"):
        modelspec.save_workspace(ws, path)
    assert path.read_bytes() == before
    assert _files_in(tmp_path) == ["ws.json"]


def test_truth_file_writer_failing_midway_keeps_the_old_file(tmp_path, monkeypatch):
    (tmp_path / "truth.json").write_text(json.dumps(toydata.TRUTH))
    before = (tmp_path / "truth.json").read_bytes()
    tiny = toydata.generate_sample("single_top", 500)
    monkeypatch.setattr(toydata, "generate_pseudodata", lambda: tiny)
    write_text = Path.write_text

    def half_write(self, data, *args, **kwargs):
        write_text(self, data[: len(data) // 2], *args, **kwargs)
        _disk_full()

    monkeypatch.setattr(Path, "write_text", half_write)
    with pytest.raises(OSError, match="No space left"):
        toydata.write_all(tmp_path, ["data"])
    assert (tmp_path / "truth.json").read_bytes() == before
    assert _files_in(tmp_path) == ["data.root", "truth.json"]  # data.root: complete, renamed in


def test_build_histograms_without_ntuples_keeps_the_old_file(tmp_path):
    path = histograms.write_histograms({"a": _hist([1.0, 2.0, 3.0])}, tmp_path / "histograms.root")
    before = path.read_bytes()
    with pytest.raises(FileNotFoundError, match="make data"):
        histograms.build_histograms(tmp_path, data_dir=tmp_path / "no_data")
    assert path.read_bytes() == before
    assert _files_in(tmp_path) == ["histograms.root"]


@pytest.mark.parametrize(
    ("write", "error", "match"),
    [
        pytest.param(lambda p: modelspec.save_workspace(_workspace(), p), IsADirectoryError,
                     "is a folder; give the path of a file inside it", id="save_workspace-folder"),
        pytest.param(lambda p: histograms.write_histograms({"a": _hist([1, 2, 3])}, p),
                     IsADirectoryError, "is a folder", id="write_histograms-folder"),
        pytest.param(lambda p: modelspec.save_workspace(_workspace(), p / "blocker" / "ws.json"),
                     NotADirectoryError, r"blocker is a file, not a folder", id="parent-is-a-file"),
    ],
)  # fmt: skip
def test_output_path_that_cannot_be_a_file(tmp_path, write, error, match):
    (tmp_path / "blocker").write_text("a file where a folder should be")
    with pytest.raises(error, match=match):
        write(tmp_path)
    assert _files_in(tmp_path) == ["blocker"]

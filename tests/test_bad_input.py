"""Bad input gets a clear error, and nothing is lost.

Every public helper that reads a file, takes a name, selects events, reads a configuration or a
workspace, or writes a file is given bad input here: a wrong path, a file that is not ROOT or has
no ``events`` tree, a missing branch, an unknown sample/region/systematic, an empty selection, a
malformed cabinetry configuration, a malformed pyhf workspace, and a writer that fails midway.
Each case checks the error type and the key words a user needs in the message: the bad name or
value, and what is valid or how to fix it. Whole sentences are not pinned, so a message can be
reworded, but it fails the moment it stops naming the problem. Cases that other test files already
check are not repeated (for example an unknown region in ``test_selection.py`` or a missing
histograms file in ``test_model.py``).

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
import pandas as pd
import pyhf
import pytest
import uproot
import yaml
from cabinetry.fit import FitResults

from statlesson import (
    catalogue, diagnostics, fileio, fitting, histograms, histplots, counting, limits, modelspec,
    ntuple, selection, setupcheck, validation, variations,
)  # fmt: skip
from statlesson.toy import data as toydata
from statlesson.validation import ConfigError, WorkspaceSchemaError, WorkspaceValidationError

matplotlib.use("Agg")


def assert_names(excinfo: pytest.ExceptionInfo, *words: str) -> None:
    """Each of ``words`` occurs in the error message (for a ``KeyError``, in its unquoted text)."""
    error = excinfo.value
    message = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    missing = [word for word in words if word not in message]
    assert not missing, f"{type(error).__name__} message lacks {missing}: {message}"


def check(call, error: type[Exception], words: tuple[str, ...], *args) -> pytest.ExceptionInfo:
    """``call(*args)`` raises ``error`` whose message names every one of ``words``."""
    with pytest.raises(error) as excinfo:
        call(*args)
    assert_names(excinfo, *words)
    return excinfo


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
    axis = hist.axis.Regular(len(edges) - 1, edges[0], edges[-1])
    h = hist.Hist(axis, storage=hist.storage.Weight())
    h.view().value = np.asarray(values, dtype=float)
    h.view().variance = np.asarray(values, dtype=float)
    return h


def _raw_config() -> dict:
    return yaml.safe_load(modelspec.config_file().read_text())


def _workspace() -> dict:
    """A valid two-bin pyhf workspace: signal + background with normsys and histosys."""
    spec = counting.counting_spec([10.0, 20.0], [5.0, 5.0], bkg_norm_unc=0.1,
                                   bkg_shape_up=[6.0, 6.0], bkg_shape_down=[4.0, 4.0])  # fmt: skip
    return {
        "channels": spec["channels"],
        "observations": [{"name": "signal_region", "data": [15.0, 25.0]}],
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}],
        "version": "1.0.0",
    }


def _files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


ROOT_FIX = ("ROOT", "make data")  # a file that is not ROOT: say so, and how to regenerate it
ALL_SAMPLES = tuple(catalogue.SAMPLES)  # what an unknown sample name is told is valid
REGIONS = ("4j1b", "4j2b")
param = pytest.param


# --------------------------------------------------------------------------------------------------
# files: a wrong path, a file that is not ROOT, without the tree or the branch it needs, or with
# no event in the selection
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        param(lambda f: selection.read_events("single_top", path=f["junk"]), OSError,
              ("ntuple", "junk.root", *ROOT_FIX), id="read_events-junk"),
        param(lambda f: selection.read_generator_sums("single_top", path=f["junk"]), OSError,
              ("junk.root", *ROOT_FIX), id="read_generator_sums-junk"),
        param(lambda f: selection.read_generator_sums("ttbar", path=f["missing"]),
              FileNotFoundError, ("nothing_here.root", "make data"),
              id="read_generator_sums-missing"),
        param(lambda f: histograms.fill_sample("single_top", path=f["missing"]),
              FileNotFoundError, ("nothing_here.root", "make data"), id="fill_sample-missing"),
        param(lambda f: histograms.fill_sample("single_top", path=f["junk"]), OSError,
              ("junk.root", *ROOT_FIX), id="fill_sample-junk"),
        param(lambda f: histograms.build_histograms(f["missing"].parent / "out",
                                                    data_dir=f["missing"].parent / "nodata"),
              FileNotFoundError, ("'ttbar'", "nodata", "make data"), id="build_histograms"),
        param(lambda f: fileio.open_root(f["missing"], what="ntuple", fix="; run make"),
              FileNotFoundError, ("nothing_here.root", "run make"), id="open_root-missing"),
        param(lambda f: fileio.open_root(f["junk"]), OSError, ("junk.root", "ROOT"),
              id="open_root-junk"),
        param(lambda f: modelspec.load_config(f["missing"].parent), FileNotFoundError,
              ("configuration", "bad_input"), id="load_config-folder"),
        param(lambda f: histograms.read_histograms(f["junk"]), OSError,
              ("histograms file", "junk.root", "ROOT"), id="read_histograms-junk"),
        # a file without the tree it needs
        param(lambda f: histograms.fill_sample("single_top", path=f["notree"]), KeyError,
              ("notree.root", "'events'", "other"), id="fill_sample-no-tree"),
        param(lambda f: selection.check_ntuple("single_top", path=f["notree"]), KeyError,
              ("notree.root", "'events'"), id="check_ntuple-no-tree"),
        param(lambda f: selection.read_generator_sums("single_top", path=f["good"]), KeyError,
              ("'runs'", "simulated", "events"), id="read_generator_sums-no-runs-tree"),
        param(lambda f: histograms.read_histograms(f["good"]), ValueError,
              ("good.root", "histograms file", "TTree", "read_events"),
              id="read_histograms-ntuple"),
        # the JER variation needs the generator-level jet pT: named, with what is there, before
        # any event is read
        param(lambda f: histograms.fill_sample("single_top", path=f["no_genpt"]), KeyError,
              ("jet_genpt", "no_genpt.root", "available", "jet_pt"), id="fill_sample-no-branch"),
    ],
)  # fmt: skip
def test_bad_file(files, call, error, words):
    check(call, error, words, files)


@pytest.mark.parametrize("defect", ["soft", "empty"], ids=["all-events-fail", "no-events"])
def test_fill_sample_of_a_file_with_no_selected_event(files, defect):
    with uproot.open(files[defect]) as f:
        n_events = f[ntuple.TREE_NAME].num_entries
    check(lambda: histograms.fill_sample("single_top", path=files[defect]), ValueError,
          ("'single_top'", "'4j1b'", f"({n_events} events"))  # fmt: skip


@pytest.mark.parametrize(("defect", "error", "words"), [
    ("notree", KeyError, ("wjets.root", "'events'", "other", "make data")),
    ("junk", OSError, ("wjets.root", *ROOT_FIX)),
])  # fmt: skip
def test_inventory_names_a_broken_file(files, tmp_path, defect, error, words):
    for name in catalogue.SAMPLES:
        (tmp_path / f"{name}.root").symlink_to(ntuple.data_dir() / f"{name}.root")
    (tmp_path / "wjets.root").unlink()
    (tmp_path / "wjets.root").write_bytes(files[defect].read_bytes())
    check(setupcheck.inventory, error, words, tmp_path)


def test_build_workspace_with_a_histograms_file_that_is_not_root(tmp_path):
    config = modelspec.load_config(modelspec.config_file(), tmp_path)
    (tmp_path / histograms.HISTOGRAM_FILE).write_text("not ROOT")
    check(modelspec.build_workspace, OSError, ("histograms.root", "ROOT", "build_histograms"),
          config)  # fmt: skip


# --------------------------------------------------------------------------------------------------
# events without a needed branch
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "words"),
    [
        param(lambda ev: selection.select_jets(ev[["jet_pt"]]),
              ("jet selection", "jet_eta", "jet_pt"), id="select_jets"),
        param(lambda ev: selection.region_masks(ev[["jet_pt", "jet_eta", "lep_pt"]]),
              ("selection", "jet_btag", "lep_eta", "read_events"), id="region_masks"),
        param(lambda ev: selection.observable(ev[["jet_pt", "jet_eta", "jet_btag", "lep_pt"]],
                                              "4j1b"), ("lep_eta",), id="observable"),
        param(lambda ev: selection.m_bjj(ev[["jet_pt", "jet_eta", "jet_btag"]],
                                         selection.select_jets(ev)),
              ("m_bjj", "jet_phi", "jet_mass"), id="m_bjj"),
        param(lambda ev: selection.nominal_weight(ev[["lep_pt", "weight"]], "single_top"),
              ("'single_top'", "weight_lepsf"), id="nominal_weight"),
        param(lambda ev: variations.btag_weight(ev[["jet_pt", "jet_btag", "jet_flavour"]]),
              ("b-tag weight", "jet_eta"), id="btag_weight-jet_eta"),
        param(lambda ev: variations.btag_weight(ev[["jet_pt", "jet_eta", "jet_flavour"]]),
              ("jet_btag",), id="btag_weight-jet_btag"),
        param(lambda ev: variations.jes_shift(ev[["jet_pt"]], "up"), ("jet_eta",),
              id="jes_shift"),
    ],
)  # fmt: skip
def test_events_without_a_needed_branch(events, call, words):
    check(call, KeyError, words, events)


# --------------------------------------------------------------------------------------------------
# unknown sample, region, systematic; empty input
# --------------------------------------------------------------------------------------------------

ZJETS = ("'zjets'", *ALL_SAMPLES)


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        param(lambda: ntuple.data_path("zjets"), KeyError, ZJETS, id="data_path"),
        param(lambda: selection.read_events("zjets"), KeyError, ZJETS, id="read_events"),
        param(lambda: selection.nominal_weight(ak.Array([{"weight": 1.0}]), "zjets"), KeyError,
              ZJETS, id="nominal_weight"),
        param(lambda: toydata.generate_sample("zjets", 10), KeyError, ZJETS, id="generate_sample"),
        param(lambda: toydata.generate_pseudodata(dict(toydata.TRUTH, processes=["zjets"])),
              KeyError, ("zjets", *toydata.DATA_STREAMS), id="generate_pseudodata"),
        param(lambda: histograms.required_branches("zjets"), KeyError, ZJETS,
              id="required_branches"),
        param(lambda: histograms.fill_sample("zjets"), KeyError, ZJETS, id="fill_sample"),
        param(lambda: histograms.new_histogram("4j3b"), KeyError, ("'4j3b'", *REGIONS),
              id="new_histogram"),
        param(lambda: catalogue.get_systematic("pdf"), KeyError,
              ("'pdf'", *catalogue.SYSTEMATICS), id="get_systematic"),
        param(lambda: histograms.Templates().variation("4j1b", "ttbar", "JES", "up"), KeyError,
              ("'JES'", "jes"), id="Templates.variation"),
        param(lambda: diagnostics.variation_summary(histograms.Templates(), "zjets", "4j1b",
                                                      pd.DataFrame()),
              KeyError, ("'zjets'", *catalogue.MODEL_SAMPLES, "data"),
              id="variation_summary-sample"),
        param(lambda: diagnostics.variation_summary(histograms.Templates(), "ttbar", "4j3b",
                                                      pd.DataFrame()),
              KeyError, ("'4j3b'", *REGIONS), id="variation_summary-region"),
        param(lambda: histplots.plot_templates(histograms.Templates(), "ttbar", "pdf"), KeyError,
              ("'pdf'", "jes"), id="plot_templates-systematic"),
        param(lambda: histplots.plot_templates(histograms.Templates(), "ttbar", "jes",
                                               regions=("4j3b",)),
              KeyError, ("'4j3b'", *REGIONS), id="plot_templates-region"),
        param(lambda: histplots.plot_stack({"zjets": _hist([1.0, 2.0, 3.0])}), KeyError, ZJETS,
              id="plot_stack"),
        param(lambda: histplots.plot_stat_uncertainty({"zjets": _hist([1.0, 2.0, 3.0])}),
              KeyError, ZJETS, id="plot_stat_uncertainty"),
        param(lambda: modelspec.normsys_factors(_workspace(), "bkg_norm", "4j3b", "background"),
              KeyError, ("'4j3b'", "signal_region"), id="normsys_factors-region"),
        param(lambda: modelspec.normsys_factors(_workspace(), "bkg_norm", "signal_region",
                                                "zjets"),
              KeyError, ("'zjets'", "'signal_region'", "ttbar", "background"),
              id="normsys_factors-sample"),
        param(lambda: toydata.generate_pseudodata({"mu_ttbar": 1.0}), KeyError,
              ("processes", "lumi_pb", "dict(statlesson.toy.data.TRUTH"), id="generate_pseudodata-truth"),
        # empty input
        param(lambda: diagnostics.shape_chi2((np.array([-1, -1]), np.ones(2)),
                                             (np.array([-1, -1]), np.ones(2)), 3,
                                             same_events=True),
              ValueError, ("shapes", "empty"), id="shape_chi2-empty"),
        param(lambda: diagnostics.staterror_uncertainty([]), ValueError, ("no histograms",),
              id="staterror_uncertainty-empty"),
        param(lambda: histplots.plot_stack({}), ValueError, ("nothing to stack", "at least one"),
              id="plot_stack-empty"),
        param(lambda: histplots.plot_stat_uncertainty({}), ValueError,
              ("nothing to plot", "at least one"), id="plot_stat_uncertainty-empty"),
        param(lambda: histplots.plot_variation(_hist([0, 0, 0]), _hist([1, 2, 3]), label="JES",
                                               normalize=True),
              ValueError, ("JES", "empty", "normalize=False"), id="plot_variation-empty"),
        param(lambda: toydata.generate_sample("single_top", 0), ValueError,
              ("n_generated", "positive", "got 0"), id="generate_sample-zero"),
        param(lambda: counting.profile_scan(counting.build_counting_model([1.0], [1.0]), [1.0],
                                             []),
              ValueError, ("mu_values", "non-empty"), id="counting.profile_scan-empty"),
    ],
)  # fmt: skip
def test_unknown_name_or_empty_input(plt_agg, call, error, words):
    check(call, error, words)


def test_write_all_checks_every_name_before_generating_anything(tmp_path):
    check(toydata.write_all, KeyError, ZJETS, tmp_path / "out", ["ttbar", "zjets"])
    assert not (tmp_path / "out").exists()  # ttbar was not generated and written first


# --------------------------------------------------------------------------------------------------
# fits and plots: unknown parameters, arguments of the wrong size or shape
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_fit():
    """A two-bin counting model, its data and fit results built by hand (no fit needed)."""
    pdf = counting.build_counting_model([10.0, 20.0], [5.0, 5.0], bkg_norm_unc=0.1)
    data = counting.make_data(pdf, {"signal_region": [15.0, 25.0]})
    results = FitResults(np.array([1.0, 0.0]), np.array([0.3, 0.9]), list(pdf.config.par_names),
                         np.eye(2), 10.0)  # fmt: skip
    return pdf, data, results


UNKNOWN_PARAMETER = (KeyError, ("'mu_ttbar'", "mu, bkg_norm"))  # the bad name, the valid ones


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        param(lambda m, d, r: fitting.covariance_impacts(r, "mu_ttbar"), *UNKNOWN_PARAMETER,
              id="covariance_impacts"),
        param(lambda m, d, r: fitting.nuisance_parameters(r, "mu_ttbar"), *UNKNOWN_PARAMETER,
              id="nuisance_parameters"),
        param(lambda m, d, r: fitting.stat_only_uncertainty(r, "mu_ttbar"), *UNKNOWN_PARAMETER,
              id="stat_only_uncertainty"),
        param(lambda m, d, r: limits.refit_scan(m, d, r, "mu_ttbar", [1.0]),
              *UNKNOWN_PARAMETER, id="profile_scan-parameter"),
        param(lambda m, d, r: fitting.refit_impacts(m, d, r, ["bkg_norm", "mu_ttbar"], "mu"),
              *UNKNOWN_PARAMETER, id="refit_impacts"),
        param(lambda m, d, r: fitting.refit(m, d[:2], m.config.suggested_init()), ValueError,
              ("2 observed counts", "1 auxiliary", "got 2", "model_and_data"), id="refit-data"),
        param(lambda m, d, r: fitting.refit(m, [d[0], -1.0, d[2]], m.config.suggested_init()),
              ValueError, ("counts >= 0", "[1]", "[-1.0]"), id="refit-negative-data"),
        param(lambda m, d, r: counting.fit_poi(m, [d[0], np.nan, d[2]]), ValueError,
              ("finite", "[1]", "nan"), id="fit_poi-nan-data"),
        param(lambda m, d, r: counting.fit_poi(m, d[:2]), ValueError,
              ("2 observed counts", "got 2", "make_data"), id="fit_poi-data"),
        param(lambda m, d, r: fitting.refit(m, d, [1.0]), ValueError, ("init", "(2)", "got 1"),
              id="refit-init"),
        param(lambda m, d, r: fitting.refit(m, d, m.config.suggested_init(), [7]), ValueError,
              ("[7]", "out of range", "has 2"), id="refit-fixed"),
        param(lambda m, d, r: limits.refit_scan(m, d, r._replace(labels=["a", "b", "c"]), "a",
                                                  [1.0]),
              ValueError, ("3 parameters", "model has 2"), id="scan-other-model"),
        param(lambda m, d, r: limits.refit_scan(m, d + [0.0], r, "mu", [1.0]), ValueError,
              ("3 numbers", "got 4"), id="scan-data"),
        param(lambda m, d, r: counting.fit_poi(
            pyhf.Model(counting.counting_spec([1.0], [1.0]), poi_name=None), [1.0]),
              ValueError, ("parameter of interest", "poi_name"), id="fit_poi-no-poi"),
        param(lambda m, d, r: histplots.plot_scan([0.0, 1.0], [1.0], label="x"), ValueError,
              ("same shape", "(2,)", "(1,)"), id="plot_scan"),
        param(lambda m, d, r: counting.interval_from_scan([0, 1, 2], [1, 0, 1], level=0),
              ValueError, ("level", "> 0", "got 0"), id="interval_from_scan"),
        param(lambda m, d, r: histplots.plot_xsec_comparison((888.0, 30.0), {}), ValueError,
              ("(888.0, 30.0)", "+uncertainty", "-uncertainty"), id="plot_xsec_comparison"),
        param(lambda m, d, r: histplots.plot_stat_uncertainty(
            {"ttbar": _hist([1.0, 2.0, 3.0]), "wjets": _hist([1.0, 2.0], edges=(0.0, 1.0, 2.0))}),
              ValueError, ("wjets", "binning"), id="plot_stat_uncertainty-binning"),
    ],
)  # fmt: skip
def test_bad_fit_and_plot_arguments(small_fit, plt_agg, call, error, words):
    previous = pyhf.get_backend()
    pyhf.set_backend("numpy", "minuit")
    try:
        check(call, error, words, *small_fit)
    finally:
        pyhf.set_backend(*previous)


# --------------------------------------------------------------------------------------------------
# malformed cabinetry configuration
# --------------------------------------------------------------------------------------------------


def _edit(path: tuple, value=None, *, delete: bool = False):
    """A change of a configuration or workspace: set (or delete) the entry at ``path``."""

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
    ("change", "words"),
    [
        # wrong types: where, the bad value, the type expected
        param(_edit(("Regions", 0, "Binning"), "110-550"),
              ("Regions/0/Binning", "'110-550'", "array"), id="binning-string"),
        param(_edit(("NormFactors", 0, "Bounds"), "0-5"),
              ("NormFactors/0/Bounds", "'0-5'", "array"), id="bounds-string"),
        param(_edit(("Systematics", 0, "Up"), {"Normalization": "0.023"}),
              ("Systematics/0/Up/Normalization", "'0.023'", "number"), id="normalization-string"),
        param(_edit(("Samples", 1, "Name"), 5), ("Samples/1/Name", "5", "string"),
              id="name-number"),
        # missing blocks and keys
        param(_edit(("Regions",), delete=True), ("'Regions'", "required"), id="no-regions"),
        param(_edit(("NormFactors",), delete=True), ("'NormFactors'", "required"),
              id="no-normfactors"),
        param(_edit(("General", "InputPath"), delete=True), ("General", "'InputPath'", "required"),
              id="no-inputpath"),
        param(_edit(("Systematics", 3, "Up"), delete=True), ("Systematics/3", "'Up'", "required"),
              id="no-up"),
        # unknown keys
        param(_edit(("Fit",), {"Method": "minuit"}), ("'Fit'", "unexpected"), id="unknown-block"),
        param(_edit(("General", "Lumi"), 564.0), ("General", "'Lumi'", "unexpected"),
              id="unknown-general-key"),
        param(_edit(("Systematics", 3, "Sample"), "ttbar"),
              ("Systematics/3", "'Sample'", "unexpected"), id="sample-for-samples"),
        param(_edit(("Systematics", 0, "Up"), {"Normalisation": 0.023}),
              ("Systematics/0/Up", "'Normalisation'", "unexpected"), id="spelling"),
        # inconsistent entries
        param(_edit(("Systematics", 0, "Regions"), ["4j3b"]),
              ("'luminosity'", "4j3b", "4j1b, 4j2b"), id="unknown-region"),
        param(_edit(("NormFactors", 0, "Samples"), "zjets"),
              ("'mu_ttbar'", "zjets", "Pseudodata", "ttbar"), id="unknown-normfactor-sample"),
        param(_edit(("Systematics", 0, "Up"), {"VariationPath": "_lumi_up"}),
              ("'luminosity'", "Normalization", "Up and Down"), id="norm-without-value"),
        param(_edit(("Systematics", 0, "Down"), {"Normalization": -1.5}),
              ("-1.5", "whole sample"), id="norm-below-minus-one"),
        param(lambda c: dict(c, Regions=c["Regions"] + c["Regions"][:1]),
              ("Regions", "identical", "duplicate"), id="duplicate"),
        param(lambda c: dict(c, Samples=c["Samples"] + [{"Name": "wjets", "SamplePath": "w"}]),
              ("Samples", "wjets", "unique"), id="duplicate-name"),
        param(_edit(("Samples", 0, "Data"), False), ("Data: true", "found 0"),
              id="no-data-sample"),
    ],
)  # fmt: skip
def test_malformed_config_is_named(tmp_path, change, words):
    config = change(_raw_config())
    check(validation.validate_config, ConfigError, words, config)
    path = tmp_path / "config.yml"  # the same through load_config, from a file
    path.write_text(yaml.safe_dump(config))
    check(modelspec.load_config, ConfigError, words, path, tmp_path)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        param("General:\n\t- InputPath: x\n", ("YAML", "line 2", "column 1", "tabs"), id="tab"),
        param("Regions: [{Name: 4j1b}\n", ("YAML", "line 2"), id="unclosed"),
        param("", ("config.yml", "cabinetry configuration"), id="empty-file"),
        param("General:\nRegions: []\n", ("General", "mapping", "None"), id="general-empty"),
        param("General: histograms.root\n", ("General", "mapping", "'histograms.root'"),
              id="general-string"),
    ],
)  # fmt: skip
def test_config_file_that_does_not_parse(tmp_path, text, words):
    path = tmp_path / "config.yml"
    path.write_text(text)
    check(modelspec.load_config, ConfigError, words, path)


def test_build_workspace_validates_a_config_it_did_not_load(tmp_path):
    config = modelspec.load_config(modelspec.config_file(), tmp_path)
    config = _edit(("General", "InputPath"), delete=True)(config)
    check(modelspec.build_workspace, ConfigError, ("'InputPath'", "required"), config)


def test_build_workspace_leaves_the_physics_checks_to_the_workspace(tmp_path, monkeypatch):
    """A configuration with the luminosity sign mistake can still be built, so that the workspace
    checks can be shown finding it (episode 4): only the schema is checked before building."""
    config = modelspec.load_config(modelspec.config_file(), tmp_path)
    broken = _edit(("Systematics", 0, "Down"), {"Normalization": 0.023})(config)
    check(validation.validate_config, ConfigError, ("luminosity", "same direction"), broken)
    histograms.write_histograms({"a": _hist([1.0, 2.0, 3.0])}, tmp_path / histograms.HISTOGRAM_FILE)
    for name in ("collect", "postprocess"):  # no templates needed: cabinetry itself is not tested
        monkeypatch.setattr(modelspec.cabinetry.templates, name, lambda *args, **kwargs: None)
    monkeypatch.setattr(modelspec.cabinetry.workspace, "build", lambda config: {"built": True})
    assert modelspec.build_workspace(broken) == {"built": True}


# --------------------------------------------------------------------------------------------------
# malformed pyhf workspace
# --------------------------------------------------------------------------------------------------


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
    ("change", "words"),
    [
        param(_edit((*BKG, "modifiers", 0, "type"), "normsyss"),
              ("'background'", "'bkg_norm'", "'normsyss'", "normsys", "histosys"),
              id="unknown-type"),
        param(_edit((*BKG, "modifiers", 0, "data"), {"hi": 1.1}),
              ("'bkg_norm'", "normsys", "'hi'", "'lo'"), id="normsys-without-lo"),
        param(_edit((*BKG, "modifiers", 1, "data"), [4.0, 6.0]),
              ("'bkg_shape'", "histosys", "'hi_data'"), id="histosys-as-list"),
        param(_add_staterror(None), ("'staterror_sr'", "'data'", "absolute uncertainty per bin"),
              id="staterror-null"),
        param(_edit((*BKG, "data"), "5, 5"), ("'background'", "'5, 5'", "array"),
              id="sample-data-string"),
        param(_edit(("channels",), {}), ("channels", "array", "cabinetry.workspace.build"),
              id="channels-dict"),
        param(lambda ws: {k: v for k, v in ws.items() if k != "observations"},
              ("'observations'", "required"), id="no-observations"),
    ],
)  # fmt: skip
def test_workspace_with_an_invalid_modifier_or_block(change, words):
    broken = change(_workspace())
    excinfo = check(validation.validate_workspace, WorkspaceSchemaError, words, broken)
    # still what pyhf raises for a schema violation, and a ValueError like the other model errors
    assert isinstance(excinfo.value, pyhf.exceptions.InvalidSpecification)
    assert isinstance(excinfo.value, ValueError)


@pytest.mark.parametrize("helper", [validation.check_workspace, modelspec.modifier_table])
def test_inspection_helpers_reject_a_malformed_workspace(helper):
    broken = _edit((*BKG, "modifiers", 0, "type"), "normsyss")(_workspace())
    check(helper, WorkspaceSchemaError, ("'normsyss'",), broken)
    check(helper, WorkspaceSchemaError, ("pyhf workspace", "list"), [broken])


@pytest.mark.parametrize(
    ("change", "words"),
    [
        param(_edit((*BKG, "modifiers", 1, "data", "hi_data"), [6.0, 6.0, 6.0]),
              ("hi_data", "'bkg_shape'", "'background'", "3 entries", "2 bins"), id="histosys"),
        param(_add_staterror([1.0]), ("'staterror_sr'", "'background'", "1 entry", "2 bins"),
              id="staterror"),
        param(_edit((*BKG, "data"), [5.0, 5.0, 5.0]),
              ("'background'", "3 entries", "2 bins", "'ttbar'"), id="sample"),
        param(_edit(("observations", 0, "data"), [15.0]), ("observed data", "1 entry", "2 bins"),
              id="observations"),
    ],
)  # fmt: skip
def test_workspace_data_of_the_wrong_length(change, words):
    broken = change(_workspace())
    excinfo = check(validation.validate_workspace, WorkspaceValidationError, words, broken)
    assert [p.check for p in excinfo.value.problems] == ["bin count"]


# --------------------------------------------------------------------------------------------------
# a failed write never replaces a good file with a partial one
# --------------------------------------------------------------------------------------------------


def _disk_full(*args, **kwargs):
    raise OSError(28, "No space left on device")


def assert_left_alone(path: Path, before: bytes, *names: str) -> None:
    """``path`` still holds ``before`` and its folder holds only ``names``: no partial file."""
    assert path.read_bytes() == before
    assert _files_in(path.parent) == sorted(names)


def test_ntuple_writer_failing_midway_keeps_the_old_file(files, tmp_path, monkeypatch):
    path = tmp_path / "ntuple.root"
    path.write_bytes(files["good"].read_bytes())
    before = path.read_bytes()
    arrays = toydata.generate_sample("wjets", 2000)
    # the file is open and its tree created when filling the tree fails
    monkeypatch.setattr(uproot.writing.writable.WritableTree, "extend", _disk_full)
    check(toydata.write_ntuple, OSError, ("No space left",), path, arrays)
    assert_left_alone(path, before, "ntuple.root")


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
    new = {"a": _hist([4.0, 5.0, 6.0]), "b": _hist([7.0, 8.0, 9.0])}
    check(histograms.write_histograms, OSError, ("No space left",), new, path)
    assert written == ["a"]  # the first histogram was written to the temporary file
    assert_left_alone(path, before, "h.root")


def test_workspace_writer_failing_midway_keeps_the_old_file(tmp_path, monkeypatch):
    path = modelspec.save_workspace(_workspace(), tmp_path / "ws.json")
    before = path.read_bytes()

    def partial_dump(obj, f, **kwargs):
        f.write('{"channels": [')
        _disk_full()

    monkeypatch.setattr(modelspec.json, "dump", partial_dump)
    check(modelspec.save_workspace, OSError, ("No space left",), _workspace(), path)
    assert_left_alone(path, before, "ws.json")


def test_workspace_that_json_cannot_store_keeps_the_old_file(tmp_path):
    path = modelspec.save_workspace(_workspace(), tmp_path / "ws.json")
    before = path.read_bytes()
    ws = _workspace()
    ws["observations"][0]["data"] = np.array([15.0, 25.0])
    check(modelspec.save_workspace, TypeError, ("ndarray", ".tolist()", "unchanged"), ws, path)
    assert_left_alone(path, before, "ws.json")


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
    check(toydata.write_all, OSError, ("No space left",), tmp_path, ["data"])
    # data.root is complete (renamed in before the truth file was written)
    assert_left_alone(tmp_path / "truth.json", before, "data.root", "truth.json")


def test_build_histograms_without_ntuples_keeps_the_old_file(tmp_path):
    path = histograms.write_histograms({"a": _hist([1.0, 2.0, 3.0])}, tmp_path / "histograms.root")
    before = path.read_bytes()
    check(lambda: histograms.build_histograms(tmp_path, data_dir=tmp_path / "no_data"),
          FileNotFoundError, ("no_data", "make data"))  # fmt: skip
    assert_left_alone(path, before, "histograms.root")


@pytest.mark.parametrize(
    ("write", "error", "words"),
    [
        param(lambda p: modelspec.save_workspace(_workspace(), p), IsADirectoryError,
              ("{folder}", "is a folder", "file inside it"), id="save_workspace-folder"),
        param(lambda p: histograms.write_histograms({"a": _hist([1, 2, 3])}, p),
              IsADirectoryError, ("{folder}", "is a folder"), id="write_histograms-folder"),
        param(lambda p: modelspec.save_workspace(_workspace(), p / "blocker" / "ws.json"),
              NotADirectoryError, ("blocker", "not a folder"), id="parent-is-a-file"),
    ],
)  # fmt: skip
def test_output_path_that_cannot_be_a_file(tmp_path, write, error, words):
    (tmp_path / "blocker").write_text("a file where a folder should be")
    check(write, error, tuple(w.format(folder=tmp_path.name) for w in words), tmp_path)
    assert _files_in(tmp_path) == ["blocker"]

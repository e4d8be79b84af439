"""The Dask path of episode 6 gives the same templates as the single-process path."""

from __future__ import annotations

import awkward as ak
import hist
import numpy as np
import pytest

from statlesson import catalogue, daskrun, histograms, ntuple, scaleout, selection


@pytest.fixture(scope="module")
def reference() -> histograms.Templates:
    return histograms.build_templates()


def _assert_same(templates, reference):
    comparison = scaleout.compare_templates(templates, reference)
    assert list(templates) == list(reference)  # same names, in file order
    assert comparison["equal"].all(), comparison[~comparison["equal"]]
    for name, h in reference.items():  # values and variances, independently of compare_templates
        np.testing.assert_allclose(templates[name].values(flow=True), h.values(flow=True), rtol=1e-10)
        np.testing.assert_allclose(
            templates[name].variances(flow=True), h.variances(flow=True), rtol=1e-10
        )
        assert templates[name].axes[0] == h.axes[0]


@pytest.mark.parametrize("split", [{"steps_per_file": 1}, {"steps_per_file": 3}, {"step_size": 25000}])
def test_dask_templates_equal_single_process_for_any_chunking(reference, split):
    lazy = scaleout.lazy_templates(**split)
    _assert_same(scaleout.compute_templates(lazy, scheduler="sync"), reference)


def test_every_file_is_split_into_several_chunks_by_default():
    for sample in histograms.INPUT_SAMPLES:
        assert scaleout.lazy_events(sample).npartitions == scaleout.DEFAULT_STEPS_PER_FILE > 1


@pytest.mark.slow
def test_local_cluster_gives_the_same_templates_and_leaves_no_workers(reference, tmp_path, capfd):
    from dask.distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address="127.0.0.1:0", local_directory=tmp_path)  # fmt: skip
    client = Client(cluster)
    try:
        assert len(client.scheduler_info()["workers"]) == 2
        templates = scaleout.compute_templates(scaleout.lazy_templates())
        assert len(daskrun.worker_processes()) >= 2  # the workers are separate processes
    finally:
        left = daskrun.close_cluster(client, cluster)
    assert left == [] and daskrun.worker_processes() == []
    _assert_same(templates, reference)
    assert " - ERROR - " not in capfd.readouterr().err  # nothing alarming from the workers


def test_template_names_follow_the_computed_variations():
    for sample in histograms.INPUT_SAMPLES:
        names = scaleout.template_names(sample)
        assert len(names) == 2 * len(histograms.computed_variations(sample)) == len(set(names))
        assert set(names) <= set(histograms.expected_names())
    assert scaleout.template_names("ttbar_generator") == ["4j1b_ttbar_generator_up",
                                                          "4j2b_ttbar_generator_up"]  # fmt: skip


def test_partition_columns_of_one_chunk_fill_the_chunk_templates():
    events = selection.read_events("wjets", histograms.required_branches("wjets"))[:3000]
    entries = scaleout.partition_columns(events, "wjets")
    h = scaleout.file_histogram("wjets")
    h.fill(template=entries.template, observable=entries.value, weight=entries.weight)
    split = scaleout.split_templates("wjets", h)
    for name, region, mask, values, weights in histograms.variation_arrays("wjets", events):
        direct = histograms.new_histogram(region).fill(values, weight=weights)
        np.testing.assert_allclose(split[name].values(flow=True), direct.values(flow=True))
        assert split[name].sum(flow=True).value == pytest.approx(weights.sum(dtype=np.float64))
        assert mask.sum() == len(values)
    # an empty chunk gives no entries, not an error
    assert len(scaleout.partition_columns(events[:0], "wjets")) == 0


def test_task_graph_is_one_fused_task_per_chunk_plus_the_sum():
    lazy = scaleout.lazy_templates(steps_per_file=3)["wjets"]
    written = daskrun.task_graph_table(lazy)
    assert written.loc["from-uproot", "tasks"] == 3
    assert written.loc["variations-wjets", "depends on"] == "from-uproot"
    run = daskrun.task_graph_table(lazy, optimize=True)
    assert run["tasks"].sum() == 3 + 1


def test_bad_input_gets_clear_errors(tmp_path, reference):
    with pytest.raises(KeyError, match="unknown sample 'tt'"):
        scaleout.lazy_events("tt")
    with pytest.raises(ValueError, match="steps_per_file must be positive, got 0"):
        scaleout.lazy_events("ttbar", steps_per_file=0)
    with pytest.raises(TypeError, match="step_size must be a whole number of events or chunks, got 2.5"):
        scaleout.lazy_events("ttbar", step_size=2.5)
    with pytest.raises(ValueError, match="steps_per_file or step_size, not both"):
        scaleout.lazy_templates(steps_per_file=2, step_size=1000)
    with pytest.raises(FileNotFoundError, match="make data"):
        scaleout.lazy_templates(data_dir=tmp_path)
    with pytest.raises(ValueError, match="needs its generator-level sums"):
        scaleout.partition_columns(selection.read_events("ttbar")[:10], "ttbar")
    partial = dict(reference)
    del partial["4j2b_wjets"]
    with pytest.raises(KeyError, match="in only one of the two sets: 4j2b_wjets"):
        scaleout.compare_templates(partial, reference)
    rebinned = dict(reference)
    rebinned["4j2b_wjets"] = hist.Hist(hist.axis.Regular(5, 0, 1), storage=hist.storage.Weight())
    with pytest.raises(ValueError, match="'4j2b_wjets' has a different binning"):
        scaleout.compare_templates(rebinned, reference)


def test_compare_templates_finds_a_changed_bin(reference):
    changed = dict(reference)
    h = reference["4j1b_ttbar"].copy()
    h.view().value[3] *= 1.001
    changed["4j1b_ttbar"] = h
    comparison = scaleout.compare_templates(changed, reference)
    assert not comparison.loc["4j1b_ttbar", "equal"]
    assert comparison.loc["4j1b_ttbar", "max rel. diff. (values)"] == pytest.approx(1e-3)
    assert comparison["equal"].sum() == len(reference) - 1
    assert ak.all(comparison.drop(index="4j1b_ttbar")["equal"])


def test_a_sample_without_selected_events_is_an_error_as_in_the_single_process_path(tmp_path):
    """Copy the ntuples, but keep only W+jets events that fail the selection (lepton pT too low)."""
    import shutil

    import uproot


    for sample in histograms.INPUT_SAMPLES:
        shutil.copy(ntuple.data_path(sample), tmp_path / catalogue.get_sample(sample).file)
    path = tmp_path / catalogue.get_sample("wjets").file
    with uproot.open(ntuple.data_path("wjets")) as f:
        events = f["events"].arrays()
        runs = f["runs"].arrays()
    soft = events[events.lep_pt < selection.LEP_PT_MIN][:50]
    assert len(soft) > 0
    with uproot.recreate(path) as f:
        f["events"] = {k: soft[k] for k in soft.fields}
        f["runs"] = {k: runs[k] for k in runs.fields}
    with pytest.raises(ValueError, match="no event of sample 'wjets' passes the selection of region '4j1b'"):
        histograms.fill_sample("wjets", data_dir=tmp_path)
    lazy = scaleout.lazy_templates(data_dir=tmp_path)
    with pytest.raises(ValueError, match="no event of sample 'wjets' passes the selection of region '4j1b'"):
        scaleout.compute_templates(lazy, scheduler="sync")

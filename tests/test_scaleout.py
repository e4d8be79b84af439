"""The Dask path of episode 6 gives the same templates as the single-process path.

On one process (``scheduler="sync"``), on a ``LocalCluster`` as in the episode, and on a cluster
started apart with the ``dask scheduler`` and ``dask worker`` commands, as in the episode's
going-further section "a cluster someone else started".
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import awkward as ak
import hist
import numpy as np
import psutil
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


#: The whole test on a cluster started apart, from its start: past this the watchdog kills the
#: scheduler and the worker, so that a hung scheduler fails the test instead of hanging the suite.
CLUSTER_DEADLINE_S = 120.0


class SeparateCluster:
    """``dask scheduler`` and ``dask worker`` started as commands, as someone else would start them.

    Each runs in a process group of its own, from the ``dask`` command next to this Python (the
    same environment, so the same helper package), in the repository (so the same ``data/``). The
    scheduler listens on 127.0.0.1 on a port the system chooses and writes its address into a
    scheduler file. :meth:`stop` ends both process groups (SIGTERM, then SIGKILL); a watchdog calls
    it after :data:`CLUSTER_DEADLINE_S`. Should the test process itself die, the scheduler closes
    after an idle timeout and the worker soon after it.
    """

    def __init__(self, folder: Path):
        self.folder = folder
        self.scheduler_file = folder / "scheduler.json"
        self.processes: dict[str, subprocess.Popen] = {}
        self.seen: dict[int, float] = {}  # pid -> start time of every process of the two groups
        self.timed_out = False
        self.stopped = False
        self._watchdog = threading.Timer(CLUSTER_DEADLINE_S, self._expire)
        self._watchdog.daemon = True

    def start(self) -> None:
        dask = Path(sys.executable).parent / "dask"
        assert dask.is_file(), f"no dask command next to {sys.executable}"
        self.folder.mkdir()
        self._watchdog.start()
        # on this machine only, without dashboard; the HTTP server that remains (health checks)
        # on a free port too
        local = ("--host", "127.0.0.1", "--no-dashboard", "--dashboard-address", "127.0.0.1:0")
        self._start("scheduler", str(dask), "scheduler", *local, "--port", "0",
                    "--scheduler-file", str(self.scheduler_file),
                    "--idle-timeout", f"{CLUSTER_DEADLINE_S + 30:.0f}s")
        # one worker process (without the nanny that would restart it: faster to start), two
        # threads; it imports the physics code while the test prepares its inputs
        self._start("worker", str(dask), "worker", *local, "--scheduler-file",
                    str(self.scheduler_file), "--nthreads", "2", "--no-nanny",
                    "--death-timeout", "30s", "--local-directory", str(self.folder / "worker"),
                    "--preload", "statlesson.scaleout")

    def _start(self, name: str, *command: str) -> None:
        with open(self.folder / f"{name}.log", "wb") as log:
            process = subprocess.Popen(command, cwd=ntuple.lesson_root(), stdin=subprocess.DEVNULL,
                                       stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)  # fmt: skip
        self.processes[name] = process
        self.record()

    def address(self) -> str:
        """The scheduler's address, once its scheduler file is written."""
        scheduler = self.processes["scheduler"]
        while not self.scheduler_file.is_file():
            assert scheduler.poll() is None, f"the scheduler exited\n{self.logs()}"
            assert not self.timed_out, f"no scheduler file after {CLUSTER_DEADLINE_S} s"
            time.sleep(0.1)
        while True:  # the file may be seen before it is complete
            try:
                return json.loads(self.scheduler_file.read_text())["address"]
            except (json.JSONDecodeError, KeyError):
                assert not self.timed_out, f"no scheduler address after {CLUSTER_DEADLINE_S} s"
                time.sleep(0.1)

    def worker_address(self, client) -> str:
        """The address of the worker, once it has joined the scheduler ``client`` is connected to."""
        while not (workers := client.scheduler_info()["workers"]):
            assert self.processes["worker"].poll() is None, f"the worker exited\n{self.logs()}"
            assert not self.timed_out, f"no worker after {CLUSTER_DEADLINE_S} s\n{self.logs()}"
            time.sleep(0.2)
        self.record()  # the worker's own processes, if it started any
        (address,) = workers
        return address

    def record(self) -> None:
        """Note every process of the two groups: the command's process and its descendants."""
        for process in self.processes.values():
            if process.poll() is not None:
                continue  # ended and reaped: its PID may be another process's by now
            try:
                tree = psutil.Process(process.pid)
                for p in [tree, *tree.children(recursive=True)]:
                    self.seen.setdefault(p.pid, p.create_time())
            except psutil.NoSuchProcess:
                continue

    def running(self) -> list[int]:
        """The processes noted by :meth:`record` that still run (not the same PID reused)."""
        alive = []
        for pid, started in self.seen.items():
            try:
                p = psutil.Process(pid)
                if p.create_time() == started and p.status() != psutil.STATUS_ZOMBIE:
                    alive.append(pid)
            except psutil.NoSuchProcess:
                continue
        return alive

    def _signal_groups(self, signum: int) -> None:
        for process in self.processes.values():
            try:
                os.killpg(process.pid, signum)  # the group of the command: it and its children
            except ProcessLookupError:
                continue

    def _expire(self) -> None:
        self.timed_out = True
        self._signal_groups(signal.SIGKILL)

    def stop(self) -> None:
        """End both process groups: SIGTERM, and SIGKILL for what is left after 10 s."""
        self._watchdog.cancel()
        if self.stopped:
            return
        self.stopped = True
        self.record()
        self._signal_groups(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self._signal_groups(signal.SIGKILL)  # also any child that outlived its parent
        for process in self.processes.values():
            process.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n" + log.read_text(errors="replace")[-3000:]
                         for log in sorted(self.folder.glob("*.log")))  # fmt: skip


@pytest.fixture
def separate_cluster(tmp_path):
    """A :class:`SeparateCluster`, started; its process groups are ended whatever happens."""
    cluster = SeparateCluster(tmp_path / "cluster")
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
    assert not cluster.timed_out, (
        f"the cluster did not finish within {CLUSTER_DEADLINE_S} s and was killed\n"
        + cluster.logs()
    )
    assert cluster.running() == [], "processes of the cluster still run"


def _small_ntuples(folder: Path, n_events: int = 3000) -> Path:
    """The first ``n_events`` events of every input file, with its runs tree, written into
    ``folder`` as the bundled files are written (TTrees)."""
    import uproot

    from statlesson.toy import data as toydata

    folder.mkdir()
    for sample in histograms.INPUT_SAMPLES:
        with uproot.open(ntuple.data_path(sample)) as f:
            events = f[ntuple.TREE_NAME].arrays(entry_stop=n_events)
            runs = f[ntuple.RUNS_TREE].arrays(library="np") if ntuple.RUNS_TREE in f else None
        jets = {name[4:]: events[name] for name in events.fields if name.startswith("jet_")}
        arrays = {"jet": ak.zip(jets)}  # written as jet_* with the counter njet
        arrays |= {name: events[name] for name in events.fields
                   if not name.startswith(("jet_", "njet"))}  # fmt: skip
        toydata.write_ntuple(folder / catalogue.get_sample(sample).file, arrays, runs)
    return folder


@pytest.mark.slow
def test_a_cluster_started_apart_gives_the_same_templates_and_is_left_with_nothing(
    separate_cluster, tmp_path
):
    """Episode 6's filling through a ``Client`` connected to the address of a scheduler that runs
    in another process, with a worker in a third; on small copies of the ntuples, which every
    process reads from the same folder."""
    from dask.distributed import Client, get_task_stream

    # while the scheduler and the worker start: the inputs and the single-process templates
    data = _small_ntuples(tmp_path / "data")
    reference = histograms.build_templates(data_dir=data)
    lazy = scaleout.lazy_templates(data_dir=data)
    assert {scaleout.lazy_events(sample, data_dir=data).npartitions
            for sample in lazy} == {scaleout.DEFAULT_STEPS_PER_FILE}  # chunks to add up
    address = separate_cluster.address()
    assert address.startswith("tcp://127.0.0.1:")
    with Client(address, timeout=30) as client:  # as a learner connects to a cluster's scheduler
        worker = separate_cluster.worker_address(client)
        # the worker is the process started apart, with the same packages and the same lesson
        assert set(client.run(os.getpid).values()) <= set(separate_cluster.seen)
        versions = client.get_versions(check=True, packages=["statlesson", "uproot",
                                                             "dask_awkward", "hist"])  # fmt: skip
        assert versions["workers"][worker]["packages"] == versions["client"]["packages"]
        assert client.run(ntuple.data_dir) == {worker: ntuple.data_dir()}  # its corrections file
        with get_task_stream(client) as stream:
            templates = scaleout.compute_templates(lazy)  # as in the episode: the active client
        assert stream.data and {task["worker"] for task in stream.data} == {worker}
    separate_cluster.stop()
    assert separate_cluster.running() == [], separate_cluster.logs()
    assert len(separate_cluster.seen) >= 2
    _assert_same(templates, reference)


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

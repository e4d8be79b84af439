"""The template histograms of episode 3, filled with Dask (episode 6).

The physics is not rewritten: every chunk of events goes through the same
:func:`statlesson.histograms.variation_arrays` as the single-process path. What changes is who
reads the files and where the work runs:

* :func:`lazy_events` opens a sample's ntuple with ``uproot.dask``: a *lazy* dask-awkward array
  split into partitions (chunks of events). Nothing is read yet.
* :func:`lazy_templates` maps :func:`partition_columns` over the partitions of every input file
  (``dask_awkward.map_partitions``) and fills one lazy ``hist.dask.Hist`` per file, with a
  ``template`` category axis holding all the file's templates. Still nothing is read: the result
  is a task graph.
* :func:`compute_templates` hands the whole graph to Dask in **one** ``dask.compute`` call: each
  chunk is read once and fills every template; the per-chunk histograms are then added up. The
  symmetrized ``down`` templates are added afterwards, as in
  :func:`statlesson.histograms.build_templates`.

:func:`compare_templates` checks that two sets of templates agree bin by bin.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import awkward as ak
import dask
import dask_awkward as dak
import hist
import hist.dask
import numpy as np
import pandas as pd
import uproot

from . import histograms, selection
from .catalogue import LUMI_DATA_PB, SIGNAL, get_sample
from .ntuple import TREE_NAME
from .selection import REGIONS

__all__ = [
    "DEFAULT_STEPS_PER_FILE",
    "compare_templates",
    "compute_templates",
    "file_histogram",
    "lazy_events",
    "lazy_file_histogram",
    "lazy_templates",
    "partition_columns",
    "split_templates",
    "template_names",
]

#: Chunks (partitions) per file by default: several, to show the mechanics. Real analyses use
#: chunks of 10⁵–10⁶ events, because every chunk has a fixed cost (opening the file, the Python
#: overhead of each array operation) that only large chunks make small.
DEFAULT_STEPS_PER_FILE: int = 2


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be a whole number of events or chunks, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return int(value)


def _split(steps_per_file: int | None, step_size: int | None) -> dict[str, int]:
    if steps_per_file is not None and step_size is not None:
        raise ValueError("give steps_per_file or step_size, not both")
    if step_size is not None:
        return {"step_size": _positive_int("step_size", step_size)}
    if steps_per_file is None:
        steps_per_file = DEFAULT_STEPS_PER_FILE
    return {"steps_per_file": _positive_int("steps_per_file", steps_per_file)}


def lazy_events(
    sample: str,
    *,
    steps_per_file: int | None = None,
    step_size: int | None = None,
    data_dir: str | Path | None = None,
) -> dak.Array:
    """``sample``'s ntuple as a lazy dask-awkward array, split into partitions (chunks).

    The file is split into ``steps_per_file`` chunks (default :data:`DEFAULT_STEPS_PER_FILE`), or
    into chunks of ``step_size`` events; give one of the two. Only the branches the templates need
    (:func:`statlesson.histograms.required_branches`) will be read. The file, its tree and the
    branches are checked now, with the errors of :func:`statlesson.selection.read_events`; uproot
    also reads the file's metadata (entries, branch types), but no event data.
    """
    split = _split(steps_per_file, step_size)
    branches = histograms.required_branches(sample)
    path = selection.check_ntuple(sample, branches, data_dir=data_dir)
    return uproot.dask({str(path): TREE_NAME}, filter_name=branches, **split)


def template_names(sample: str) -> list[str]:
    """Names of the templates filled from ``sample``'s file, in its ``template`` axis's order."""
    target = get_sample(sample).fills  # an alternative sample fills variations of another
    return [
        histograms.histogram_name(region, target, name, direction)
        for name, direction in histograms.computed_variations(sample)
        for region in REGIONS
    ]


_OUTPUT_FORM = ak.zip(
    {"template": np.zeros(0, np.int32), "value": np.zeros(0), "weight": np.zeros(0)}
).layout.form


def _output_meta() -> ak.Array:
    """A data-less array of :func:`partition_columns`'s output type (for Dask's bookkeeping)."""
    return ak.Array(_OUTPUT_FORM.length_zero_array().to_typetracer(forget_length=True))


def partition_columns(
    events: ak.Array,
    sample: str,
    generator_sums: Mapping[str, float] | None = None,
    lumi_pb: float = LUMI_DATA_PB,
) -> ak.Array:
    """What one chunk of ``sample`` fills into its templates, as one flat list of entries.

    One entry per (template, selected event): ``template`` (index into :func:`template_names`),
    ``value`` (the observable in GeV) and ``weight``. That is a few tens of entries per selected
    event, about 100 MB for a chunk of 500 000 events: fine for the chunk sizes of real analyses,
    and simple, since one ``fill`` per chunk then serves every template. The numbers come from
    :func:`statlesson.histograms.variation_arrays`, the single-process physics, so a chunk is
    histogrammed exactly as the whole file would be.

    When Dask traces the graph with a data-less *typetracer* array (to learn which branches are
    needed), the function marks every branch it was given as needed and returns a data-less array
    of the output type: :func:`lazy_events` already reads only the needed branches.
    """
    if ak.backend(events) == "typetracer":
        ak.typetracer.touch_data(events)
        return _output_meta()
    index = {name: i for i, name in enumerate(template_names(sample))}
    template, value, weight = [], [], []
    for name, _, _, values, weights in histograms.variation_arrays(
        sample, events, generator_sums=generator_sums, lumi_pb=lumi_pb
    ):
        template.append(np.full(len(values), index[name], dtype=np.int32))
        value.append(np.asarray(values, dtype=np.float64))
        weight.append(np.asarray(weights, dtype=np.float64))
    return ak.zip(
        {
            "template": np.concatenate(template),
            "value": np.concatenate(value),
            "weight": np.concatenate(weight),
        }
    )


def file_histogram(sample: str) -> hist.Hist:
    """Empty histogram of every template of ``sample``'s file: ``template`` category × observable.

    Both regions have the same binning (10 bins from 110 to 510 GeV), so one regular axis serves
    H_T (4j1b) and m_bjj (4j2b); :func:`split_templates` gives each template its region's axis back.
    """
    axes = [histograms.new_histogram(region).axes[0] for region in REGIONS]
    if any(not np.array_equal(a.edges, axes[0].edges) for a in axes):
        raise ValueError(
            "the regions have different binnings; one observable axis cannot hold both"
        )
    return hist.Hist(
        hist.axis.IntCategory(
            range(len(template_names(sample))), name="template", label=f"template of {sample}"
        ),
        hist.axis.Regular(
            axes[0].size,
            axes[0].edges[0],
            axes[0].edges[-1],
            name="observable",
            label="observable [GeV]",
        ),
        storage=hist.storage.Weight(),
    )


def lazy_templates(
    *,
    steps_per_file: int | None = None,
    step_size: int | None = None,
    data_dir: str | Path | None = None,
    lumi_pb: float = LUMI_DATA_PB,
) -> dict[str, hist.dask.Hist]:
    """One lazy ``hist.dask.Hist`` per input file holding all its templates (no events read yet).

    Each file is split as in :func:`lazy_events`. For each file, ``map_partitions`` runs
    :func:`partition_columns` on every chunk and the chunk's
    entries fill a :func:`file_histogram`. The symmetrized ``down`` templates are not here:
    :func:`compute_templates` adds them.
    """
    lazy: dict[str, hist.dask.Hist] = {}
    for sample in histograms.INPUT_SAMPLES:
        events = lazy_events(
            sample, steps_per_file=steps_per_file, step_size=step_size, data_dir=data_dir
        )
        sums = None
        if sample == SIGNAL:
            sums = selection.read_generator_sums(sample, data_dir=data_dir)
        lazy[sample] = lazy_file_histogram(events, sample, sums, lumi_pb)
    return lazy


def lazy_file_histogram(
    events: dak.Array,
    sample: str,
    generator_sums: Mapping[str, float] | None = None,
    lumi_pb: float = LUMI_DATA_PB,
) -> hist.dask.Hist:
    """The lazy :func:`file_histogram` of ``sample`` filled from the lazy ``events``.

    ``events`` may come from any files in the format of the bundled ntuples (tree ``events``, the
    branches of :func:`statlesson.histograms.required_branches`), local or remote: e.g.
    ``uproot.dask({"root://host//path/file.root": "events"}, ...)``. ``map_partitions`` runs
    :func:`partition_columns` on every chunk, and the entries fill one histogram per chunk.
    """
    entries = dak.map_partitions(
        partition_columns,
        events,
        sample,
        generator_sums,
        lumi_pb,
        meta=_output_meta(),
        label=f"variations-{sample}",
    )
    h = hist.dask.Hist(*file_histogram(sample).axes, storage=hist.storage.Weight())
    h.fill(template=entries.template, observable=entries.value, weight=entries.weight)
    return h


def split_templates(sample: str, h: hist.Hist) -> histograms.Templates:
    """The templates in one file's :func:`file_histogram`, as 1D histograms of their region."""
    out = histograms.Templates()
    for i, name in enumerate(template_names(sample)):
        template = histograms.new_histogram(name.split("_", 1)[0])
        template.view(flow=True)[...] = h[{"template": hist.loc(i)}].view(flow=True)
        out[name] = template
    return out


def compute_templates(lazy: Mapping[str, Any], **compute_kwargs: Any) -> histograms.Templates:
    """Compute every file's histogram in one ``dask.compute`` call and return all the templates.

    ``compute_kwargs`` go to ``dask.compute`` (e.g. ``scheduler="sync"``; by default the active
    ``dask.distributed`` client, if any). Returns what
    :func:`statlesson.histograms.build_templates` returns: the filled templates plus the
    symmetrized ``down`` ones, in file order.
    """
    (computed,) = dask.compute(dict(lazy), **compute_kwargs)
    filled = histograms.Templates()
    for sample, h in computed.items():
        templates = split_templates(sample, h)
        for name in template_names(sample)[: len(REGIONS)]:  # the nominal (or the alternative's up)
            if templates[name].sum(flow=True).variance == 0:  # no event at all, like fill_sample
                raise ValueError(
                    f"no event of sample '{sample}' passes the selection of region "
                    f"'{name.split('_', 1)[0]}': cannot build its templates"
                )
        filled.update(templates)
    return histograms.complete_templates(filled)


def compare_templates(
    ours: Mapping[str, hist.Hist], reference: Mapping[str, hist.Hist], *, rtol: float = 1e-9
) -> pd.DataFrame:
    """Bin-by-bin comparison of two sets of templates with the same names.

    One row per template: the largest relative difference of the bin contents and of the
    variances (relative to the reference, over all bins including the flow bins), and ``equal``:
    both within ``rtol``. Raises ``KeyError`` naming templates that are in only one set.
    """
    only = set(ours) ^ set(reference)
    if only:
        raise KeyError(f"templates in only one of the two sets: {', '.join(sorted(only))}")

    def rel(a: np.ndarray, b: np.ndarray) -> float:
        scale = np.maximum(np.abs(b), np.finfo(float).tiny)
        return float(np.max(np.abs(a - b) / scale, initial=0.0))

    rows = {}
    for name, ref in reference.items():
        h = ours[name]
        if h.axes != ref.axes:
            raise ValueError(f"template '{name}' has a different binning in the two sets")
        d_value = rel(h.values(flow=True), ref.values(flow=True))
        d_variance = rel(h.variances(flow=True), ref.variances(flow=True))
        rows[name] = {
            "max rel. diff. (values)": d_value,
            "max rel. diff. (variances)": d_variance,
            "equal": d_value <= rtol and d_variance <= rtol,
        }
    return pd.DataFrame.from_dict(rows, orient="index")

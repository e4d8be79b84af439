"""Template histograms: nominal and every systematic variation, for every sample and region.

The histograms file is the input of the statistical model. cabinetry (episode 4) reads it with
``InputPath: "<folder>/histograms.root:{RegionPath}_{SamplePath}{VariationPath}"``
(:data:`INPUT_PATH`), the region and sample names as ``RegionPath`` and ``SamplePath``, and
``VariationPath: "_<systematic>_up"`` or ``"_<systematic>_down"`` for each systematic. So the
names in the file are ``{region}_{sample}`` for the nominal templates and the pseudo-data (e.g.
``4j2b_ttbar``) and ``{region}_{sample}_{systematic}_{up|down}`` for the variations (e.g.
``4j2b_ttbar_jes_up``).

Every template systematic has an ``up`` and a ``down`` histogram in the file; for the one-sided
ones (the alternative tt̄ samples) ``down`` is the symmetrized ``2 · nominal − up``
(:func:`symmetrize`), which the configuration reads (not cabinetry's ``Symmetrize``).

Filling reads each sample's file once (only the branches it needs, :func:`required_branches`;
:func:`file_variation_arrays` keeps what was computed from a file for the next caller, such as
the shape tests): weight variations reuse the nominal observable with other weights; jet-energy
variations redo the selection with shifted jet pT. Histograms are ``hist.Hist`` with
``Weight()`` storage, in expected events at the pseudo-data luminosity; entries outside the
observable range go to the flow bins, which the statistical model does not use.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from pathlib import Path

import awkward as ak
import hist
import numpy as np
import uproot

from . import selection, variations
from .catalogue import (
    DATA_SAMPLE,
    DIRECTIONS,
    LUMI_DATA_PB,
    MODEL_SAMPLES,
    SIGNAL,
    TEMPLATE_SYSTEMATICS,
    get_sample,
    get_systematic,
)
from .fileio import atomic_output, open_root
from .ntuple import corrections_path
from .selection import REGIONS, get_region

__all__ = [
    "HISTOGRAM_FILE",
    "INPUT_PATH",
    "INPUT_SAMPLES",
    "Templates",
    "build_histograms",
    "build_templates",
    "check_binning",
    "complete_templates",
    "computed_variations",
    "expected_names",
    "file_variation_arrays",
    "fill_sample",
    "histogram_name",
    "new_histogram",
    "read_histograms",
    "required_branches",
    "symmetrize",
    "variation_arrays",
    "write_histograms",
]

logger = logging.getLogger(__name__)

#: Default name of the histograms file inside an episode's output folder.
HISTOGRAM_FILE: str = "histograms.root"

#: Path of a histogram inside the file, in cabinetry's placeholders (after ``file.root:``).
INPUT_PATH: str = "{RegionPath}_{SamplePath}{VariationPath}"

#: Alternative samples by name, with the systematic each one gives the ``up`` template of.
_ALTERNATIVES = {
    s.alternative_sample: s for s in TEMPLATE_SYSTEMATICS.values() if s.alternative_sample
}

#: Samples whose files are read to fill the templates: the model samples, the alternative tt̄
#: samples and the data, each read once.
INPUT_SAMPLES: tuple[str, ...] = (*MODEL_SAMPLES, *_ALTERNATIVES, DATA_SAMPLE)


def _check_sample(sample: str) -> str:
    valid = (*MODEL_SAMPLES, DATA_SAMPLE)
    if sample not in valid:
        hint = ""
        if sample in _ALTERNATIVES:
            alt = get_sample(sample)
            hint = f" ('{sample}' is the '{_ALTERNATIVES[sample].name}' variation of "
            hint += f"'{alt.alternative_of}')"
        raise KeyError(f"unknown sample '{sample}'{hint}; valid samples: {', '.join(valid)}")
    return sample


def histogram_name(
    region: str, sample: str, systematic: str | None = None, direction: str | None = None
) -> str:
    """Name of a histogram in the file: ``{region}_{sample}`` or ``{region}_{sample}_{syst}_{dir}``.

    Raises ``KeyError`` (listing the valid names) for an unknown region, sample or systematic, or a
    systematic that does not apply to the sample, and ``ValueError`` for a direction other than
    ``"up"``/``"down"`` or a direction without a systematic.
    """
    region = get_region(region).name
    _check_sample(sample)
    if systematic is None:
        if direction is not None:
            raise ValueError("a direction needs a systematic; the nominal has none")
        return f"{region}_{sample}"
    syst = get_systematic(systematic)
    if sample not in syst.samples:
        raise KeyError(
            f"systematic '{systematic}' does not apply to sample '{sample}'; "
            f"it applies to: {', '.join(syst.samples)}"
        )
    if direction is None:
        raise ValueError(f"systematic '{systematic}' needs a direction: 'up' or 'down'")
    return f"{region}_{sample}{syst.variation_path(direction)}"


def expected_names() -> list[str]:
    """Every histogram name in the file, in the order they are written.

    Per region: each model sample's nominal followed by its variations (each systematic up, then
    down), then the data.
    """
    names = []
    for region in REGIONS:
        for sample in MODEL_SAMPLES:
            names.append(histogram_name(region, sample))
            for syst in TEMPLATE_SYSTEMATICS.values():
                if sample in syst.samples:
                    names += [histogram_name(region, sample, syst.name, d) for d in DIRECTIONS]
        names.append(histogram_name(region, DATA_SAMPLE))
    return names


class Templates(dict[str, hist.Hist]):
    """Histograms by their name in the file (see :func:`histogram_name`), with friendly lookups."""

    def __missing__(self, key: str) -> hist.Hist:
        raise KeyError(
            f"no histogram '{key}'; names are {{region}}_{{sample}} (nominal) and "
            f"{{region}}_{{sample}}_{{systematic}}_{{up|down}}, e.g. "
            f"'{histogram_name('4j2b', 'ttbar', 'jes', 'up')}'"
        )

    def nominal(self, region: str, sample: str) -> hist.Hist:
        """Nominal template (or data) of ``sample`` in ``region``."""
        return self[histogram_name(region, sample)]

    def variation(self, region: str, sample: str, systematic: str, direction: str) -> hist.Hist:
        """``up`` or ``down`` template of ``systematic`` for ``sample`` in ``region``."""
        return self[histogram_name(region, sample, systematic, direction)]


def new_histogram(region: str) -> hist.Hist:
    """Empty histogram with the region's binning (GeV) and axis label, and ``Weight()`` storage."""
    reg = get_region(region)
    axis = hist.axis.Regular(reg.bins, reg.low, reg.high, name=reg.observable, label=reg.label)
    return hist.Hist(axis, storage=hist.storage.Weight())


def _role(sample: str) -> str:
    role = get_sample(sample).role  # KeyError listing every sample for an unknown name
    if role == "alternative" and sample not in _ALTERNATIVES:
        raise KeyError(f"sample '{sample}' is an alternative sample that no systematic uses")
    return "model" if role in ("signal", "background") else role


def computed_variations(sample: str) -> list[tuple[str | None, str | None]]:
    """The (systematic, direction) pairs filled from the events of ``sample``'s file.

    ``(None, None)`` is the nominal. An alternative tt̄ sample gives only the ``up`` template of its
    systematic; symmetrized ``down`` templates are not filled from events and are not listed.
    """
    role = _role(sample)
    if role == "data":
        return [(None, None)]
    if role == "alternative":
        return [(_ALTERNATIVES[sample].name, "up")]
    out: list[tuple[str | None, str | None]] = [(None, None)]
    for syst in TEMPLATE_SYSTEMATICS.values():
        if sample in syst.samples and syst.mechanism != "alternative":
            out += [(syst.name, d) for d in syst.computed]
    return out


def required_branches(sample: str) -> list[str]:
    """Branches of ``sample``'s ntuple needed to fill all its histograms (nothing else is read)."""
    branches = list(selection.SELECTION_BRANCHES)
    role = _role(sample)
    if role == "data":
        return branches
    branches += ["weight", "weight_lepsf", *variations.JER_BRANCHES]  # simulation: JER smearing
    for name, direction in computed_variations(sample)[1:]:  # after the nominal
        assert name is not None  # only the nominal has no name
        syst = get_systematic(name)
        if syst.branches is not None:
            branches.append(syst.branches[0 if direction == "up" else 1])
            branches += [syst.replaces] if syst.replaces else []
        if syst.jet_flavours:
            branches.append("jet_flavour")
    return list(dict.fromkeys(branches))  # unique, in order


def variation_arrays(
    sample: str,
    events: ak.Array,
    *,
    generator_sums: Mapping[str, float] | None = None,
    lumi_pb: float = LUMI_DATA_PB,
) -> Iterator[tuple[str, str, np.ndarray, np.ndarray, np.ndarray]]:
    """What each histogram of ``sample`` is filled with: the physics of :func:`fill_sample`.

    Yields ``(histogram name, region, mask, values, weights)`` for every variation of
    :func:`computed_variations` and both regions: ``mask`` selects the events of the region (one
    entry per event), ``values`` is the observable (GeV) and ``weights`` the event weight of the
    selected events. It works on any number of events, including none, so it can run on a whole file
    or on one chunk of it (episode 6). For the signal, ``generator_sums`` (the ``runs`` tree,
    :func:`statlesson.selection.read_generator_sums`) is needed to keep the inclusive cross section
    of the variations that keep it (``keeps_inclusive_xsec`` in the catalogue) fixed.
    """
    selection.require_branches(  # required_branches also rejects a sample without templates
        events, required_branches(sample), f"filling the templates of sample '{sample}'"
    )
    if sample == SIGNAL and generator_sums is None:
        raise ValueError(
            f"the signal '{sample}' needs its generator-level sums: pass "
            f"generator_sums=selection.read_generator_sums('{sample}')"
        )
    target = get_sample(sample).fills
    w_nominal = selection.nominal_weight(events, sample, lumi_pb)
    # simulation: the jets smeared to the resolution of data (JER), as every template starts
    jet_pt = None if get_sample(sample).is_data else variations.jer_smear(events)
    nominal_obs = selection.region_observables(events, jet_pt)
    for name, direction in computed_variations(sample):
        syst = None if name is None else get_systematic(name)
        obs, weights = nominal_obs, w_nominal
        if syst is not None and syst.mechanism == "weight":
            assert name is not None and direction is not None
            weights = w_nominal * variations.weight_factor(events, name, direction, jet_pt)
            if sample == SIGNAL and syst.keeps_inclusive_xsec:
                assert syst.branches is not None and generator_sums is not None
                # σ(varied) / σ(nominal) = Σ k / N over all generated events (generator weight 1)
                branch = syst.branches[0 if direction == "up" else 1]
                weights = weights * generator_sums["n_generated"] / generator_sums[f"sumw_{branch}"]
        elif syst is not None and syst.mechanism == "shift":
            assert name is not None and direction is not None
            shifted = variations.shifted_jet_pt(events, name, direction, jet_pt)
            obs = selection.region_observables(events, shifted)
        for region, (mask, values) in obs.items():
            mask = ak.to_numpy(mask)
            key = histogram_name(region, target, name, direction)
            yield key, region, mask, ak.to_numpy(values), weights[mask]


def fill_sample(
    sample: str,
    events: ak.Array | None = None,
    *,
    data_dir: str | Path | None = None,
    path: str | Path | None = None,
    lumi_pb: float = LUMI_DATA_PB,
) -> Templates:
    """Fill every histogram that ``sample``'s events contribute, in both regions.

    Reads the file once (:func:`file_variation_arrays`; a missing branch raises ``KeyError``)
    unless ``events`` are given. Returns the nominal and the variations of
    :func:`computed_variations`, named as in the file (an alternative tt̄ sample gives
    ``{region}_ttbar_{systematic}_up``), in events at ``lumi_pb`` (pb^-1); see
    :func:`variation_arrays`. Raises ``ValueError`` naming sample and region if no event is
    selected.
    """
    _role(sample)
    arrays: Iterable[tuple[str, str, np.ndarray, np.ndarray, np.ndarray]]
    if events is None:
        arrays = file_variation_arrays(sample, data_dir=data_dir, path=path, lumi_pb=lumi_pb)
    else:
        sums = None
        if sample == SIGNAL:
            sums = selection.read_generator_sums(sample, data_dir=data_dir, path=path)
        arrays = variation_arrays(sample, events, generator_sums=sums, lumi_pb=lumi_pb)
    out = Templates()
    for name, region, mask, values, weights in arrays:
        if not mask.any():
            raise ValueError(
                f"no event of sample '{sample}' passes the selection of region '{region}' "
                f"({mask.size} events read): cannot build its templates"
            )
        h = new_histogram(region)
        h.fill(values, weight=weights)
        out[name] = h
    return out


def file_variation_arrays(
    sample: str,
    *,
    data_dir: str | Path | None = None,
    path: str | Path | None = None,
    lumi_pb: float = LUMI_DATA_PB,
) -> tuple[tuple[str, str, np.ndarray, np.ndarray, np.ndarray], ...]:
    """:func:`variation_arrays` of ``sample``'s file, computed once per version of the file.

    What they depend on, the versions (size, modification time) of the file and of the
    corrections file, the sample's variations and the regions, keys a cache of the last 8
    results (read-only arrays): the templates and the shape tests read each file once.
    """
    file_path = selection.check_ntuple(
        sample, required_branches(sample), data_dir=data_dir, path=path
    ).resolve()
    versions = tuple(
        (p.stat().st_mtime_ns, p.stat().st_size) for p in (file_path, corrections_path().resolve())
    )
    analysis = (tuple(computed_variations(sample)), tuple(REGIONS.values()))
    return _file_arrays(sample, file_path, versions, analysis, lumi_pb)


@lru_cache(maxsize=8)
def _file_arrays(
    sample: str, path: Path, _versions: tuple, _analysis: tuple, lumi_pb: float
) -> tuple:
    events = selection.read_events(sample, required_branches(sample), path=path)
    sums = selection.read_generator_sums(sample, path=path) if sample == SIGNAL else None
    out = tuple(variation_arrays(sample, events, generator_sums=sums, lumi_pb=lumi_pb))
    for item in out:
        for array in item[2:]:
            array.setflags(write=False)
    return out


def symmetrize(nominal: hist.Hist, up: hist.Hist, name: str = "down template") -> hist.Hist:
    """Mirror a one-sided variation: ``down = 2 · nominal − up``, bin by bin.

    The relative effect of ``down`` is minus that of ``up`` in every bin. A bin where ``up`` is more
    than twice the nominal (only possible in near-empty bins) would become negative; it is set to 0
    (a template cannot predict a negative number of events), with a warning naming ``name``. The
    variances are those of ``up``: the mirror image fluctuates as much as the template it is made
    from.
    """
    check_binning(nominal, up)
    down = up.copy()
    view = down.view()
    mirrored = 2.0 * nominal.values() - up.values()
    if np.any(mirrored < 0):
        clipped = int(np.sum(mirrored < 0))
        reason = "where up is more than twice the nominal (too few simulated events there?)"
        logger.warning("%s: %d bin(s) set to 0, %s", name, clipped, reason)
    view.value = np.maximum(mirrored, 0.0)
    view.variance = up.variances()
    return down


def check_binning(a: hist.Hist, b: hist.Hist, name: str = "histograms") -> None:
    """Raise ``ValueError`` naming ``name`` unless ``b`` has the axes (binning) of ``a``."""
    if a.axes != b.axes:
        raise ValueError(f"{name}: binning differs from the reference; compare one region")


def build_templates(
    *, data_dir: str | Path | None = None, lumi_pb: float = LUMI_DATA_PB
) -> Templates:
    """Fill every histogram of the file from the bundled ntuples (each file read once).

    Reads the model samples, the alternative tt̄ samples and the data, fills nominal and variations,
    adds the symmetrized ``down`` of the one-sided systematics, and returns them in the order of
    :func:`expected_names`.
    """
    filled = Templates()
    for sample in INPUT_SAMPLES:
        filled.update(fill_sample(sample, data_dir=data_dir, lumi_pb=lumi_pb))
    logger.info("filled %d histograms from %d files", len(filled), len(INPUT_SAMPLES))
    return complete_templates(filled)


def complete_templates(filled: Mapping[str, hist.Hist]) -> Templates:
    """Add the symmetrized ``down`` templates to the filled ones and order them as in the file.

    ``filled`` holds every histogram of :func:`computed_variations` of every input sample (however
    they were filled); a missing one raises ``KeyError`` naming it.
    """
    filled = Templates(filled)
    for syst in TEMPLATE_SYSTEMATICS.values():
        if syst.symmetrized:
            for region in REGIONS:
                for sample in syst.samples:
                    up = filled[histogram_name(region, sample, syst.name, "up")]
                    nominal = filled[histogram_name(region, sample)]
                    down = histogram_name(region, sample, syst.name, "down")
                    filled[down] = symmetrize(nominal, up, down)
    return Templates((name, filled[name]) for name in expected_names())


def write_histograms(hists: Mapping[str, hist.Hist], path: str | Path) -> Path:
    """Write ``hists`` (name → histogram) into a ROOT file at ``path`` and return the path.

    Written next to the destination and renamed into place, so a failed run never leaves a partial
    file where a good one was. Histograms become ``TH1D`` with their sums of squared weights.
    """
    path = Path(path)
    with atomic_output(path, ".root.tmp") as tmp, uproot.recreate(tmp) as f:
        for name, h in hists.items():
            f[name] = h
    logger.info("wrote %d histograms to %s", len(hists), path)
    return path


def read_histograms(path: str | Path) -> Templates:
    """Read every histogram of a histograms file back as ``hist.Hist`` (name → histogram).

    Raises ``FileNotFoundError`` for a missing file, ``OSError`` for a file that is not ROOT, and
    ``ValueError`` for a ROOT file holding something other than histograms (an ntuple, say).
    """
    path = Path(path)
    with open_root(path, what="histograms file", fix="; create it with build_histograms()") as f:
        keys = f.keys(cycle=False)
        other = [key for key in keys if not hasattr(f[key], "to_hist")]
        if other:
            raise ValueError(
                f"{path} is not a histograms file: "
                + ", ".join(f"{key} is a {f[key].classname}" for key in other)
                + "; read ntuples with statlesson.selection.read_events, or rebuild the "
                "histograms with build_histograms()"
            )
        return Templates((key, f[key].to_hist()) for key in keys)


def build_histograms(
    out_dir: str | Path,
    *,
    filename: str = HISTOGRAM_FILE,
    data_dir: str | Path | None = None,
    lumi_pb: float = LUMI_DATA_PB,
) -> Path:
    """(Re)create the histograms file in ``out_dir`` from the ntuples and return its path.

    Later episodes call this with their own output folder, so they never depend on a file another
    episode wrote.
    """
    templates = build_templates(data_dir=data_dir, lumi_pb=lumi_pb)
    return write_histograms(templates, Path(out_dir) / filename)

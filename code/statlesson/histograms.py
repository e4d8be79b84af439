"""Template histograms: nominal and every systematic variation, for every sample and region.

The histograms file is the input of the statistical model. cabinetry (episode 4) reads it with a
histogram-input configuration whose path pattern is :data:`INPUT_PATH`::

    General:
      InputPath: "<folder>/histograms.root:{RegionPath}_{SamplePath}{VariationPath}"
      VariationPath: ""

with ``RegionPath`` the region name (``4j1b``, ``4j2b``), ``SamplePath`` the sample name
(``ttbar``, ``single_top``, ``wjets``, ``data``) and, for each systematic,
``Up: {VariationPath: "_<systematic>_up"}`` and ``Down: {VariationPath: "_<systematic>_down"}``
(:meth:`Systematic.variation_path`). So the names in the file are

* ``{region}_{sample}`` for the nominal templates and the pseudo-data, e.g. ``4j2b_ttbar``;
* ``{region}_{sample}_{systematic}_{up|down}`` for the variations, e.g. ``4j2b_ttbar_jes_up``.

Every systematic of :data:`SYSTEMATICS` has both an ``up`` and a ``down`` histogram in the file.
For the one-sided ones (the alternative tt̄ samples and the jet energy resolution) the ``down``
histogram is the symmetrized ``2 · nominal − up`` (:func:`symmetrize`), flagged by
:attr:`Systematic.symmetrized`; a configuration may read it, or use cabinetry's own
``Down: {Symmetrize: true}``, which splits normalization and shape before mirroring.

Filling reads each sample's file once (only the branches it needs, :func:`required_branches`) and
fills every variation from those arrays: weight variations reuse the nominal observable with other
weights; jet-energy variations recompute the selection and the observable from shifted jet pT
(the trijet mass only for the selected events). Histograms are ``hist.Hist`` with ``Weight()``
storage, so each bin keeps the sum of squared weights for the MC statistical uncertainty. Yields
are expected numbers of events at the pseudo-data luminosity (weights normalised to
σ · ε_filter · L / N_generated). Entries outside the region's observable range go to the flow
bins, which the statistical model does not use.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import awkward as ak
import hist
import numpy as np
import pandas as pd
import uproot
from scipy.special import chdtrc

from . import selection, variations
from .fileio import atomic_output, open_root
from .samples import LUMI_DATA_PB, get_sample
from .selection import REGIONS, get_region

__all__ = [
    "ALL_MC",
    "DATA_SAMPLE",
    "DIRECTIONS",
    "HISTOGRAM_FILE",
    "INPUT_PATH",
    "INPUT_SAMPLES",
    "JER_SEED",
    "MODEL_SAMPLES",
    "SIGNAL",
    "SIGNAL_NORMALIZED",
    "SYSTEMATICS",
    "Systematic",
    "Templates",
    "build_histograms",
    "build_templates",
    "complete_templates",
    "computed_variations",
    "effective_entries",
    "expected_names",
    "fill_sample",
    "get_systematic",
    "histogram_name",
    "is_normalization_only",
    "new_histogram",
    "norm_shape_split",
    "read_histograms",
    "region_observables",
    "relative_stat_uncertainty",
    "required_branches",
    "shape_chi2",
    "staterror_uncertainty",
    "symmetrize",
    "variation_arrays",
    "variation_summary",
    "write_histograms",
]

#: Simulated samples of the statistical model (the alternative tt̄ samples are variations of
#: ``ttbar``, not samples of their own).
MODEL_SAMPLES: tuple[str, ...] = ("ttbar", "single_top", "wjets")

#: All simulated samples of the model, as the ``samples`` of a systematic that applies to every one.
ALL_MC: tuple[str, ...] = MODEL_SAMPLES

#: The (pseudo-)data sample: only a nominal histogram per region.
DATA_SAMPLE: str = "data"

#: Default name of the histograms file inside an episode's output folder.
HISTOGRAM_FILE: str = "histograms.root"

#: Path of a histogram inside the file, in cabinetry's placeholders (after ``file.root:``).
INPUT_PATH: str = "{RegionPath}_{SamplePath}{VariationPath}"

#: The two directions of a variation, in file-name spelling.
DIRECTIONS: tuple[str, str] = ("up", "down")

#: Seed of the stochastic part of the JER smearing (jets without a generator match), so that the
#: histograms are the same in every run.
JER_SEED: int = 42

Kind = Literal["weight", "shift", "alternative"]


@dataclass(frozen=True)
class Systematic:
    """A systematic uncertainty that is modelled with template histograms.

    Attributes:
        name: identifier used in histogram names and as the nuisance-parameter name.
        kind: how it is applied: ``"weight"`` (event weights change), ``"shift"`` (jet momenta
            change and the selection is redone), ``"alternative"`` (another simulated sample).
        samples: model samples it applies to.
        computed: directions filled from events: ``("up", "down")``, or ``("up",)`` for a one-sided
            variation whose ``down`` is symmetrized.
        label: short label for plots and tables.
        description: one sentence on what is varied, with the size of the variation.
        alternative_sample: for ``kind == "alternative"``, the sample whose events give ``up``.
    """

    name: str
    kind: Kind
    samples: tuple[str, ...]
    computed: tuple[str, ...]
    label: str
    description: str
    alternative_sample: str | None = None

    @property
    def symmetrized(self) -> bool:
        """True if the ``down`` template is ``2 · nominal − up`` rather than filled from events."""
        return "down" not in self.computed

    def variation_path(self, direction: str) -> str:
        """cabinetry ``VariationPath`` of the ``up`` or ``down`` template, e.g. ``"_jes_up"``."""
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be 'up' or 'down', got {direction!r}")
        return f"_{self.name}_{direction}"


#: Every systematic that is modelled with histograms, in a fixed order. Normalization-only
#: uncertainties without templates (luminosity, background cross sections) are in
#: :data:`statlesson.variations.NORMALIZATION`; cabinetry adds them as ``Normalization``
#: systematics.
SYSTEMATICS: dict[str, Systematic] = {
    s.name: s
    for s in [
        Systematic("lepton_sf", "weight", ALL_MC, DIRECTIONS, "Lepton SF",
                   "lepton identification and trigger scale factor ±1σ (1–2 %)"),
        Systematic("scale_muR", "weight", ALL_MC, DIRECTIONS, r"$\mu_R$ scale",
                   "renormalisation scale × 2 (up) and × 1/2 (down)"),
        Systematic("scale_muF", "weight", ALL_MC, DIRECTIONS, r"$\mu_F$ scale",
                   "factorisation scale × 2 (up) and × 1/2 (down)"),
        Systematic("ps_isr", "weight", ("ttbar",), DIRECTIONS, "ISR",
                   "parton-shower initial-state radiation scale up and down (tt̄ only)"),
        Systematic("ps_fsr", "weight", ("ttbar",), DIRECTIONS, "FSR",
                   "parton-shower final-state radiation scale up and down (tt̄ only)"),
        Systematic("btag", "weight", ALL_MC, DIRECTIONS, "b tagging",
                   "b-tagging scale factors of b (3 %) and c jets (6 %) ±1σ, correlated"),
        Systematic("mistag", "weight", ALL_MC, DIRECTIONS, "Mistag",
                   "light-flavour mistag scale factor ±1σ (10 %)"),
        Systematic("jes", "shift", ALL_MC, DIRECTIONS, "JES",
                   "jet energy scale ±1σ (3 % at 30 GeV, 1 % at 100 GeV); selection redone"),
        Systematic("jer", "shift", ALL_MC, ("up",), "JER",
                   "jet energy resolution scale factor 1.12 → 1.17 (hybrid smearing), one-sided; "
                   "down symmetrized"),
        Systematic("generator", "alternative", ("ttbar",), ("up",), "Generator",
                   "alternative matrix-element generator for tt̄, one-sided; down symmetrized",
                   alternative_sample=variations.ALTERNATIVE_SAMPLES["generator"]),
        Systematic("hadronizer", "alternative", ("ttbar",), ("up",), "Hadronizer",
                   "alternative parton shower and hadronization for tt̄, one-sided; "
                   "down symmetrized",
                   alternative_sample=variations.ALTERNATIVE_SAMPLES["hadronizer"]),
    ]
}  # fmt: skip

_ALTERNATIVES: dict[str, Systematic] = {
    s.alternative_sample: s for s in SYSTEMATICS.values() if s.alternative_sample is not None
}

#: Samples whose files are read to fill the templates: the model samples, the alternative tt̄
#: samples and the data, each read once.
INPUT_SAMPLES: tuple[str, ...] = (*MODEL_SAMPLES, *_ALTERNATIVES, DATA_SAMPLE)

#: The signal: the sample whose cross section the measurement determines.
SIGNAL: str = "ttbar"

#: Theory variations whose effect on the *inclusive* signal cross section is divided out (with the
#: generator-level sums of the ``runs`` tree): measuring σ(tt̄), only their effect on the acceptance
#: and the shapes is an uncertainty of the measurement.
SIGNAL_NORMALIZED: tuple[str, ...] = ("scale_muR", "scale_muF", "ps_isr", "ps_fsr")

#: Flavours of the jets whose b-tagging scale factor each b-tag systematic varies.
_BTAG_FLAVOURS: dict[str, tuple[int, ...]] = {"btag": (5, 4), "mistag": (0,)}


def get_systematic(name: str) -> Systematic:
    """Return the :class:`Systematic` called ``name``; a ``KeyError`` lists the valid names."""
    try:
        return SYSTEMATICS[name]
    except KeyError:
        raise KeyError(
            f"unknown systematic '{name}'; valid systematics: {', '.join(SYSTEMATICS)}"
        ) from None


def _check_sample(sample: str) -> str:
    valid = (*MODEL_SAMPLES, DATA_SAMPLE)
    if sample not in valid:
        hint = ""
        if sample in _ALTERNATIVES:
            hint = f" ('{sample}' is the '{_ALTERNATIVES[sample].name}' variation of 'ttbar')"
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
            for syst in SYSTEMATICS.values():
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
    s = get_sample(sample)  # KeyError listing every sample for a name that does not exist at all
    if s.is_data:
        return "data"
    if sample in _ALTERNATIVES:
        return "alternative"
    if sample in MODEL_SAMPLES:
        return "model"
    raise KeyError(
        f"sample '{sample}' is not used for templates; valid: {', '.join(MODEL_SAMPLES)}"
    )


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
    for syst in SYSTEMATICS.values():
        if sample in syst.samples and syst.kind != "alternative":
            out += [(syst.name, d) for d in syst.computed]
    return out


def required_branches(sample: str) -> list[str]:
    """Branches of ``sample``'s ntuple needed to fill all its histograms (nothing else is read)."""
    branches = list(selection.SELECTION_BRANCHES)
    role = _role(sample)
    if role == "data":
        return branches
    branches += ["weight", "weight_lepsf"]
    for name, direction in computed_variations(sample):
        if name in variations.WEIGHT_BRANCHES:
            up, down, replaced = variations.WEIGHT_BRANCHES[name]
            branches += [up if direction == "up" else down] + ([replaced] if replaced else [])
        elif name in _BTAG_FLAVOURS:
            branches.append("jet_flavour")
        elif name == "jer":
            branches.append("jet_genpt")
    return list(dict.fromkeys(branches))  # unique, in order


def region_observables(
    events: ak.Array, jet_pt: ak.Array | None = None
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{region: (mask, values)}`` for both regions, computing the event selection only once.

    Same result as :func:`statlesson.selection.observable` per region (values in GeV, for the
    selected events only); ``jet_pt`` (GeV) replaces the stored jet pT, e.g. for a JES variation.
    """
    masks = selection.region_masks(events, jet_pt)
    out = {}
    for name, reg in REGIONS.items():
        mask = masks[name]
        selected = events[mask]
        pt = selected.jet_pt if jet_pt is None else jet_pt[mask]
        jets = selection.select_jets(selected, pt)
        if reg.observable == "ht":
            values = selection.ht(pt, jets)
        else:
            values = selection.m_bjj(selected, jets, None if jet_pt is None else pt)
        out[name] = (mask, values)
    return out


def _weight_factor(events: ak.Array, systematic: str, direction: str) -> np.ndarray:
    if systematic in _BTAG_FLAVOURS:
        return variations.btag_weight(
            events, flavours=_BTAG_FLAVOURS[systematic], direction=direction
        )
    return variations.weight_ratio(events, systematic, direction)


def _shifted_pt(events: ak.Array, systematic: str, direction: str) -> ak.Array:
    if systematic == "jes":
        return variations.jes_shift(events, direction)
    if systematic == "jer":
        sign = 1.0 if direction == "up" else -1.0
        s = (variations.JER_SF + sign * variations.JER_SF_UNCERTAINTY) / variations.JER_SF
        return variations.jer_smear(events, s, seed=JER_SEED)
    raise KeyError(f"no jet-momentum shift defined for '{systematic}'; valid: jes, jer")


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
    of the :data:`SIGNAL_NORMALIZED` variations fixed.
    """
    role = _role(sample)
    selection.require_branches(
        events, required_branches(sample), f"filling the templates of sample '{sample}'"
    )
    if sample == SIGNAL and generator_sums is None:
        raise ValueError(
            f"the signal '{sample}' needs its generator-level sums: pass "
            f"generator_sums=selection.read_generator_sums('{sample}')"
        )
    target = "ttbar" if role == "alternative" else sample
    w_nominal = selection.nominal_weight(events, sample, lumi_pb)
    nominal_obs = region_observables(events)
    for name, direction in computed_variations(sample):
        kind = None if name is None else SYSTEMATICS[name].kind
        obs, weights = nominal_obs, w_nominal
        if kind == "weight":
            weights = w_nominal * _weight_factor(events, name, direction)
            if sample == SIGNAL and name in SIGNAL_NORMALIZED:
                branch = variations.WEIGHT_BRANCHES[name][0 if direction == "up" else 1]
                weights = weights * generator_sums["n_generated"] / generator_sums[f"sumw_{branch}"]
        elif kind == "shift":
            obs = region_observables(events, _shifted_pt(events, name, direction))
        for region, (mask, values) in obs.items():
            mask = ak.to_numpy(mask)
            yield (histogram_name(region, target, name, direction), region, mask,
                   ak.to_numpy(values), weights[mask])  # fmt: skip


def fill_sample(
    sample: str,
    events: ak.Array | None = None,
    *,
    data_dir: str | Path | None = None,
    path: str | Path | None = None,
    lumi_pb: float = LUMI_DATA_PB,
) -> Templates:
    """Fill every histogram that ``sample``'s events contribute, in both regions.

    The file is read once (:func:`required_branches`, via :func:`statlesson.selection.read_events`,
    which raises ``KeyError`` naming a missing branch) unless ``events`` are given. Returns the
    nominal and the variations of :func:`computed_variations`, named as in the file: for an
    alternative tt̄ sample that is ``{region}_ttbar_{systematic}_up``. Yields in events at
    ``lumi_pb`` (pb^-1). For the signal, the variations in :data:`SIGNAL_NORMALIZED` keep the
    inclusive cross section fixed (divided by their generator-level effect). Raises ``ValueError``
    naming sample and region if no event is selected.
    """
    _role(sample)
    if events is None:
        events = selection.read_events(
            sample, required_branches(sample), data_dir=data_dir, path=path
        )
    sums = None
    if sample == SIGNAL:
        sums = selection.read_generator_sums(sample, data_dir=data_dir, path=path)
    out = Templates()
    for name, region, mask, values, weights in variation_arrays(
        sample, events, generator_sums=sums, lumi_pb=lumi_pb
    ):
        if not mask.any():
            raise ValueError(
                f"no event of sample '{sample}' passes the selection of region '{region}' "
                f"({len(events)} events read): cannot build its templates"
            )
        h = new_histogram(region)
        h.fill(values, weight=weights)
        out[name] = h
    return out


def symmetrize(nominal: hist.Hist, up: hist.Hist) -> hist.Hist:
    """Mirror a one-sided variation: ``down = 2 · nominal − up``, bin by bin.

    The relative effect of ``down`` is minus that of ``up`` in every bin. A bin where ``up`` is more
    than twice the nominal (only possible in near-empty bins) would become negative; it is set to 0
    (a template cannot predict a negative number of events). The variances are those of ``up``: the
    mirror image fluctuates as much as the template it is made from.
    """
    _check_binning(nominal, up)
    down = up.copy()
    view = down.view()
    view.value = np.maximum(2.0 * nominal.values() - up.values(), 0.0)
    view.variance = up.variances()
    return down


def _check_binning(a: hist.Hist, b: hist.Hist) -> None:
    if not np.array_equal(a.axes[0].edges, b.axes[0].edges):
        raise ValueError("histograms have different binning; compare templates of one region")


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
    return complete_templates(filled)


def complete_templates(filled: Mapping[str, hist.Hist]) -> Templates:
    """Add the symmetrized ``down`` templates to the filled ones and order them as in the file.

    ``filled`` holds every histogram of :func:`computed_variations` of every input sample (however
    they were filled); a missing one raises ``KeyError`` naming it.
    """
    filled = Templates(filled)
    for syst in SYSTEMATICS.values():
        if syst.symmetrized:
            for region in REGIONS:
                for sample in syst.samples:
                    up = filled[histogram_name(region, sample, syst.name, "up")]
                    nominal = filled[histogram_name(region, sample)]
                    down = histogram_name(region, sample, syst.name, "down")
                    filled[down] = symmetrize(nominal, up)
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


# --- looking at templates: normalization and shape, MC statistics ------------------------------


def norm_shape_split(nominal: hist.Hist, varied: hist.Hist) -> tuple[float, hist.Hist]:
    """Split a variation into a normalization factor and a shape-only template.

    Returns ``(yield(varied) / yield(nominal), varied scaled to the nominal yield)``: the
    ``normsys`` factor and the ``histosys`` template that cabinetry's ``NormPlusShape`` systematic
    makes of it. Yields are sums over the bins of the observable range.
    """
    _check_binning(nominal, varied)
    n_yield = float(nominal.values().sum())
    if n_yield <= 0:
        raise ValueError("the nominal template is empty: no normalization to compare with")
    factor = float(varied.values().sum()) / n_yield
    if factor <= 0:
        raise ValueError("the varied template is empty: no shape to compare with")
    return factor, varied * (1.0 / factor)


def shape_chi2(
    nominal: hist.Hist, varied: hist.Hist, *, independent: bool = False
) -> tuple[float, int]:
    """χ² between the normalized shapes of ``varied`` and ``nominal``, and its degrees of freedom.

    χ² = Σ_i (v_i/V − n_i/N)² / σ_i², with σ_i the MC statistical uncertainty of the nominal shape
    (√var(n_i)/N), plus that of the variation if it comes from ``independent`` events (an
    alternative sample). For a variation of the same events the test asks whether its shape change
    is larger than the statistical precision of the template. Bins empty in both are skipped; a bin
    that is empty with no uncertainty in the nominal but filled in the variation makes χ² infinite.
    ndf = number of bins used − 1 (both shapes are normalized).
    """
    _check_binning(nominal, varied)
    n, v = nominal.values(), varied.values()
    big_n, big_v = n.sum(), v.sum()
    if big_n <= 0 or big_v <= 0:
        raise ValueError("cannot compare shapes of an empty template")
    var = nominal.variances() / big_n**2
    if independent:
        var = var + varied.variances() / big_v**2
    diff2 = (v / big_v - n / big_n) ** 2
    used = (var > 0) | (diff2 > 0)
    if np.any(used & (var <= 0)):
        return float("inf"), int(used.sum()) - 1
    chi2 = float(np.sum(np.divide(diff2, var, out=np.zeros_like(diff2), where=var > 0)))
    return chi2, int(used.sum()) - 1


def is_normalization_only(
    nominal: hist.Hist,
    up: hist.Hist,
    down: hist.Hist | None = None,
    *,
    independent: bool = False,
    p_min: float = 0.05,
) -> bool:
    """True if the shape change of ``up`` (and ``down``) is compatible with MC statistics.

    Each variation passes if the χ² probability of :func:`shape_chi2` is above ``p_min``; then a
    normalization factor (``normsys``) describes the variation, and a shape template would add only
    statistical noise.
    """
    for varied in (up, down):
        if varied is None:
            continue
        chi2, ndf = shape_chi2(nominal, varied, independent=independent)
        if ndf < 1 or chdtrc(ndf, chi2) < p_min:  # χ² probability
            return False
    return True


def relative_stat_uncertainty(h: hist.Hist) -> np.ndarray:
    """Relative MC statistical uncertainty per bin, √(Σw²)/Σw; NaN for empty bins (undefined)."""
    values, variances = h.values(), h.variances()
    return np.divide(
        np.sqrt(variances), values, out=np.full_like(values, np.nan), where=values > 0
    )


def effective_entries(h: hist.Hist) -> np.ndarray:
    """Effective number of simulated events per bin, (Σw)²/Σw²; 0 for empty bins.

    A bin with N_eff simulated events has a relative MC statistical uncertainty of 1/√N_eff.
    """
    values, variances = h.values(), h.variances()
    return np.divide(values**2, variances, out=np.zeros_like(values), where=variances > 0)


def staterror_uncertainty(hists: Iterable[hist.Hist]) -> np.ndarray:
    """Relative width per bin of the ``staterror`` constraint of pyhf for these samples together.

    pyhf gives every bin one factor γ_i shared by all samples with the modifier, constrained by a
    Gaussian of width √(Σ_s var_s,i) / Σ_s n_s,i (the total MC statistical uncertainty over the
    total MC yield). A bin with no simulated events at all gets width 0 here; pyhf fixes its γ_i.
    """
    hists = list(hists)
    if not hists:
        raise ValueError("no histograms given")
    for h in hists[1:]:
        _check_binning(hists[0], h)
    total = np.sum([h.values() for h in hists], axis=0)
    variance = np.sum([h.variances() for h in hists], axis=0)
    return np.divide(np.sqrt(variance), total, out=np.zeros_like(total), where=total > 0)


def variation_summary(templates: Templates, sample: str, region: str) -> pd.DataFrame:
    """Table of every systematic of ``sample`` in ``region``: yield ratios and shape test.

    Columns: ``kind``, ``up`` and ``down`` (yield / nominal yield), ``chi2/ndf`` of the larger of
    the two shape χ² (:func:`shape_chi2`, alternative samples as independent events),
    ``normalization only`` (:func:`is_normalization_only`) and ``symmetrized``.
    """
    nominal = templates.nominal(region, sample)
    rows = {}
    for syst in SYSTEMATICS.values():
        if sample not in syst.samples:
            continue
        up = templates.variation(region, sample, syst.name, "up")
        down = templates.variation(region, sample, syst.name, "down")
        independent = syst.kind == "alternative"
        # a symmetrized down has the same shape change as up, mirrored: test the filled ones only
        tested = [up] if syst.symmetrized else [up, down]
        chi2 = [shape_chi2(nominal, h, independent=independent) for h in tested]
        rows[syst.name] = {
            "kind": syst.kind,
            "up": norm_shape_split(nominal, up)[0],
            "down": norm_shape_split(nominal, down)[0],
            "chi2/ndf": max(c / n for c, n in chi2),
            "normalization only": is_normalization_only(
                nominal, *tested, independent=independent
            ),
            "symmetrized": syst.symmetrized,
        }
    return pd.DataFrame.from_dict(rows, orient="index")

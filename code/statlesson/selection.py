"""Reading the ntuples, the event selection, and the two analysis regions.

The selection follows the Analysis Grand Challenge tt̄ analysis:

* exactly one lepton with pT > 30 GeV and |η| < 2.1;
* jets with pT > 30 GeV and |η| < 2.4, at least four of them;
* b tagging at the medium working point (discriminant > 0.800);
* region ``4j1b``: exactly one b-tagged jet, observable H_T (scalar sum of the selected jets' pT);
* region ``4j2b``: at least two b-tagged jets, observable m_bjj, the mass of the three-jet
  combination with the largest pT among those that contain at least one b-tagged jet.

Jet pT can be passed in explicitly so that the same code serves jet-energy-scale and -resolution
variations (the pT changes, and with it which jets pass the selection).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import awkward as ak
import numpy as np
import uproot

from .catalogue import LUMI_DATA_PB, get_sample
from .fileio import open_root, root_contents
from .ntuple import BTAG_MEDIUM, RUNS_TREE, TREE_NAME, data_path

__all__ = [
    "JET_ETA_MAX",
    "JET_PT_MIN",
    "LEP_ETA_MAX",
    "LEP_PT_MIN",
    "OBSERVABLES",
    "REGIONS",
    "Region",
    "SELECTION_BRANCHES",
    "check_ntuple",
    "get_region",
    "ht",
    "m_bjj",
    "nominal_weight",
    "observable",
    "read_events",
    "read_generator_sums",
    "region_masks",
    "region_observables",
    "require_branches",
    "select_jets",
]

LEP_PT_MIN, LEP_ETA_MAX = 30.0, 2.1  # GeV, |η|
JET_PT_MIN, JET_ETA_MAX = 30.0, 2.4  # GeV, |η|

# fmt: skip (below): branch names listed compactly, grouped by object
#: Branches the nominal selection needs.
SELECTION_BRANCHES: tuple[str, ...] = (
    "jet_pt", "jet_eta", "jet_phi", "jet_mass", "jet_btag", "lep_pt", "lep_eta",
)  # fmt: skip


@dataclass(frozen=True)
class Region:
    """An analysis region, declared once: its selection, observable and binning.

    Attributes:
        name: identifier, as in histogram names and the configuration's ``Regions``.
        observable: the quantity histogrammed, a key of :data:`OBSERVABLES`.
        label: axis label (GeV).
        bins, low, high: the regular binning, in GeV.
        description: one line on the selection and the observable.
        min_jets: at least this many selected jets.
        b_tags: the number of b-tagged selected jets, ``(at least, at most)``; ``None`` for no
            upper limit.
    """

    name: str
    observable: str
    label: str
    bins: int
    low: float
    high: float
    description: str
    min_jets: int = 4
    b_tags: tuple[int, int | None] = (1, None)

    @property
    def edges(self) -> np.ndarray:
        """Bin edges in GeV."""
        return np.linspace(self.low, self.high, self.bins + 1)


# fmt: skip (below): a table, one region per entry with its arguments in the same order
REGIONS: dict[str, Region] = {
    r.name: r
    for r in [
        Region("4j1b", "ht", r"$H_T$ [GeV]", 10, 110.0, 510.0,
               "≥ 4 jets, exactly 1 b tag; H_T = scalar sum of jet pT", b_tags=(1, 1)),
        Region("4j2b", "m_bjj", r"$m_{bjj}$ [GeV]", 10, 110.0, 510.0,
               "≥ 4 jets, ≥ 2 b tags; m_bjj = mass of the highest-pT trijet with a b tag",
               b_tags=(2, None)),
    ]
}  # fmt: skip


def require_branches(events: ak.Array, fields: tuple[str, ...] | list[str], what: str) -> None:
    """Raise ``KeyError`` naming the branches ``what`` needs that ``events`` lack, and the fix.

    ``what`` names the step in the message, e.g. ``"the jet energy scale shift"``.
    """
    present = set(getattr(events, "fields", None) or ())
    missing = [f for f in fields if f not in present]
    if missing:
        raise KeyError(
            f"{what} needs branch(es) {', '.join(missing)}, which these events do not have "
            f"(they have: {', '.join(sorted(present)) or 'none'}); read them with "
            f"read_events(sample, [...])"
        )


def get_region(name: str) -> Region:
    """Return the :class:`Region` called ``name``; ``KeyError`` lists the valid names otherwise."""
    try:
        return REGIONS[name]
    except KeyError:
        raise KeyError(f"unknown region '{name}'; valid regions: {', '.join(REGIONS)}") from None


def read_events(
    sample: str,
    branches: list[str] | tuple[str, ...] | None = None,
    *,
    data_dir: str | Path | None = None,
    path: str | Path | None = None,
) -> ak.Array:
    """Read ``branches`` of sample ``sample`` from its ntuple (all branches if None).

    ``path`` overrides the file location. Raises ``FileNotFoundError`` for a missing file and
    ``OSError`` for a file that is not a ROOT file (both saying how to regenerate it), ``KeyError``
    for a file without the ``events`` tree or a missing branch (listing what is there).
    """
    file_path = check_ntuple(sample, branches, data_dir=data_dir, path=path)
    with uproot.open(file_path) as f:
        tree = f[TREE_NAME]
        if branches is not None:
            return tree.arrays(list(branches))
        return tree.arrays(filter_name="/^(?!njet$).*/")


_REGENERATE = "; run `make data` to regenerate it"


def _ntuple_path(sample: str, data_dir: str | Path | None, path: str | Path | None) -> Path:
    """``path`` if given, else the bundled ntuple of ``sample`` (in ``data_dir``, if given)."""
    return Path(path) if path is not None else data_path(sample, data_dir)


def check_ntuple(
    sample: str,
    branches: list[str] | tuple[str, ...] | None = None,
    *,
    data_dir: str | Path | None = None,
    path: str | Path | None = None,
) -> Path:
    """Check that ``sample``'s ntuple exists, with the ``events`` tree and ``branches``; its path.

    Raises the errors described in :func:`read_events`, before any event is read.
    """
    file_path = _ntuple_path(sample, data_dir, path)
    with open_root(file_path, what="ntuple", fix=_REGENERATE) as f:
        if TREE_NAME not in f:
            raise KeyError(
                f"file {file_path} has no TTree '{TREE_NAME}'; it contains: {root_contents(f)}"
            )
        tree = f[TREE_NAME]
        if branches is not None:
            missing = [b for b in branches if b not in tree]
            if missing:
                raise KeyError(
                    f"branch(es) {', '.join(missing)} not found in {file_path} "
                    f"(sample '{sample}'); "
                    f"available: {', '.join(k for k in tree.keys() if not k.startswith('n'))}"
                )
    return file_path


def read_generator_sums(
    sample: str, *, data_dir: str | Path | None = None, path: str | Path | None = None
) -> dict[str, float]:
    """Generator-level sums of a simulated sample: ``n_generated`` and ``sumw_<weight>`` per weight.

    They are sums over all generated events, before the skim (the ``runs`` tree); ``path``
    overrides the file location. Raises ``KeyError`` for data, which has no generator information,
    and ``FileNotFoundError``/``OSError`` for a missing or unreadable file.
    """
    path = _ntuple_path(sample, data_dir, path)
    with open_root(path, what="ntuple", fix=_REGENERATE) as f:
        if RUNS_TREE not in f:
            raise KeyError(
                f"{path} has no '{RUNS_TREE}' tree (is '{sample}' data?); only simulated ntuples "
                f"have generator sums; it contains: {root_contents(f)}"
            )
        arrays = f[RUNS_TREE].arrays(library="np")
    return {name: float(values[0]) for name, values in arrays.items()}


def select_jets(events: ak.Array, jet_pt: ak.Array | None = None) -> ak.Array:
    """Jagged boolean mask of jets with pT > 30 GeV and |η| < 2.4.

    ``jet_pt`` (GeV) replaces ``events.jet_pt``, e.g. for a jet-energy-scale variation.
    """
    require_branches(
        events, ("jet_eta",) if jet_pt is not None else ("jet_pt", "jet_eta"), "jet selection"
    )
    pt = events.jet_pt if jet_pt is None else jet_pt
    return (pt > JET_PT_MIN) & (abs(events.jet_eta) < JET_ETA_MAX)


def region_masks(events: ak.Array, jet_pt: ak.Array | None = None) -> dict[str, np.ndarray]:
    """Event masks of the regions of :data:`REGIONS` (numpy booleans): the lepton, and each
    region's numbers of jets and b tags.

    Raises ``KeyError`` naming the branches of :data:`SELECTION_BRANCHES` the events lack.
    """
    needed = [b for b in SELECTION_BRANCHES if b not in ("jet_phi", "jet_mass")]
    require_branches(
        events, needed if jet_pt is None else [b for b in needed if b != "jet_pt"], "selection"
    )
    jets = select_jets(events, jet_pt)
    n_jets = ak.to_numpy(ak.sum(jets, axis=1))
    n_b = ak.to_numpy(ak.sum(jets & (events.jet_btag > BTAG_MEDIUM), axis=1))
    lepton = ak.to_numpy((events.lep_pt > LEP_PT_MIN) & (abs(events.lep_eta) < LEP_ETA_MAX))
    masks = {}
    for name, region in REGIONS.items():
        least, most = region.b_tags
        mask = lepton & (n_jets >= region.min_jets) & (n_b >= least)
        masks[name] = mask if most is None else mask & (n_b <= most)
    return masks


def ht(jet_pt: ak.Array, jet_mask: ak.Array) -> np.ndarray:
    """H_T in GeV: scalar sum of the pT of the jets in ``jet_mask``, per event."""
    return ak.to_numpy(ak.sum(jet_pt[jet_mask], axis=1))


def m_bjj(events: ak.Array, jet_mask: ak.Array, jet_pt: ak.Array | None = None) -> np.ndarray:
    """Trijet mass in GeV: of the three-jet combinations with ≥ 1 b tag, the one of largest pT.

    Events must have at least three selected jets and one b tag (true in region 4j2b). The jet
    four-momenta are built with explicit px, py, pz, E arithmetic, which is several times faster
    than going through a vector library for this one quantity.
    """
    require_branches(events, ("jet_pt", "jet_eta", "jet_phi", "jet_mass", "jet_btag"), "m_bjj")
    pt = (events.jet_pt if jet_pt is None else jet_pt)[jet_mask]
    eta, phi = events.jet_eta[jet_mask], events.jet_phi[jet_mask]
    # scale the mass with the pT so that a pT variation scales the whole four-vector
    mass = (events.jet_mass * (1 if jet_pt is None else jet_pt / events.jet_pt))[jet_mask]
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    jets = ak.zip(
        {
            "px": px,
            "py": py,
            "pz": pz,
            "e": np.sqrt(px**2 + py**2 + pz**2 + mass**2),
            "b": events.jet_btag[jet_mask] > BTAG_MEDIUM,
        },
        depth_limit=2,
    )
    j1, j2, j3 = ak.unzip(ak.combinations(jets, 3))
    tx, ty = j1.px + j2.px + j3.px, j1.py + j2.py + j3.py
    tz, te = j1.pz + j2.pz + j3.pz, j1.e + j2.e + j3.e
    has_b = j1.b | j2.b | j3.b
    tpt2 = ak.where(has_b, tx**2 + ty**2, -1.0)
    best = ak.argmax(tpt2, axis=1, keepdims=True)
    m2 = (te**2 - tx**2 - ty**2 - tz**2)[best]
    return np.sqrt(np.maximum(ak.to_numpy(ak.fill_none(ak.firsts(m2), np.nan)), 0.0))


def _ht_of(events: ak.Array, jets: ak.Array, jet_pt: ak.Array | None) -> np.ndarray:
    return ht(events.jet_pt if jet_pt is None else jet_pt, jets)


#: The observables a region can histogram, by name: from the selected events, their selected
#: jets and the jet pT (``None``: the stored one), the value per event in GeV. A new observable
#: is one function here.
OBSERVABLES: dict[str, Callable[[ak.Array, ak.Array, ak.Array | None], np.ndarray]] = {
    "ht": _ht_of,
    "m_bjj": m_bjj,
}


def region_observables(
    events: ak.Array, jet_pt: ak.Array | None = None, regions: list[str] | None = None
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{region: (mask, values)}``: the events of each region and their observable (GeV).

    The one place where the observables are computed. The event selection is done once for all
    ``regions`` (default: both); ``values`` holds the observable of the selected events only (H_T
    in 4j1b, m_bjj in 4j2b). ``jet_pt`` (GeV) replaces the stored jet pT, e.g. for a jet energy
    scale variation. Raises ``KeyError`` for an unknown region or missing branches.
    """
    names = [get_region(r).name for r in (regions if regions is not None else REGIONS)]
    masks = region_masks(events, jet_pt)
    out = {}
    for name in names:
        mask = masks[name]
        selected = events[mask]
        pt = selected.jet_pt if jet_pt is None else jet_pt[mask]
        jets = select_jets(selected, pt)
        compute = OBSERVABLES[REGIONS[name].observable]
        out[name] = (mask, compute(selected, jets, None if jet_pt is None else pt))
    return out


def observable(
    events: ak.Array, region: str, jet_pt: ak.Array | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(mask, values)``: events in ``region`` and their observable (GeV) for those events.

    One region of :func:`region_observables`. Raises ``KeyError`` for an unknown region (listing
    the valid ones) or missing branches.
    """
    return region_observables(events, jet_pt, [region])[get_region(region).name]


def nominal_weight(events: ak.Array, sample: str, lumi_pb: float = LUMI_DATA_PB) -> np.ndarray:
    """Nominal per-event weight: generator weight × lepton scale factor × σ·ε·L/N (ones for data).

    Raises ``KeyError`` for an unknown sample, or simulated events without ``weight`` and
    ``weight_lepsf``.
    """
    s = get_sample(sample)
    if s.is_data:
        return np.ones(len(events))
    require_branches(events, ("weight", "weight_lepsf"), f"the nominal weight of sample '{sample}'")
    return ak.to_numpy(events.weight * events.weight_lepsf) * s.lumi_weight(lumi_pb)

"""How each systematic uncertainty is applied to the events.

Four mechanisms, one function family each:

* **event weight** — a per-event factor relative to the nominal weight (lepton scale factor, QCD
  scales, parton-shower ISR/FSR, b-tagging and mistag scale factors): :func:`weight_ratio`,
  :func:`btag_weight`;
* **kinematic shift** — the jet momenta change and the selection is redone (jet energy scale and
  resolution): :func:`jes_shift`, :func:`jer_smear`;
* **alternative sample** — a different simulation of the same process (generator, hadronizer): read
  the other file (see :data:`ALTERNATIVE_SAMPLES`);
* **normalization** — a constant factor on a sample's yield (luminosity, background cross sections):
  :data:`NORMALIZATION`.

Numbers are those of the toy detector, chosen to match published CMS 13 TeV values (DESIGN and
``data/README.md``).
"""

from __future__ import annotations

import awkward as ak
import numpy as np
from scipy.special import ndtri

from .samples import LUMI_REL_UNCERTAINTY
from .selection import require_branches, select_jets
from .toydata import BTAG_MEDIUM, btag_efficiency, jet_resolution

__all__ = [
    "ALTERNATIVE_SAMPLES",
    "BTAG_SF_UNCERTAINTY",
    "JER_SF",
    "JER_SF_UNCERTAINTY",
    "JET_KEY_BRANCHES",
    "NORMALIZATION",
    "WEIGHT_BRANCHES",
    "btag_weight",
    "jer_smear",
    "jes_shift",
    "jes_uncertainty",
    "jet_random_normal",
    "weight_ratio",
]

#: Weight-based systematics: name -> (branch for up, branch for down, branch they replace or None).
#: A ratio ``branch / replaced`` (or ``branch`` alone) multiplies the nominal event weight.
WEIGHT_BRANCHES: dict[str, tuple[str, str, str | None]] = {
    "lepton_sf": ("weight_lepsf_up", "weight_lepsf_down", "weight_lepsf"),
    "scale_muR": ("weight_muR_up", "weight_muR_down", None),
    "scale_muF": ("weight_muF_up", "weight_muF_down", None),
    "ps_isr": ("weight_isr_up", "weight_isr_down", None),
    "ps_fsr": ("weight_fsr_up", "weight_fsr_down", None),
}

#: Alternative-sample systematics: name -> sample replacing the nominal tt̄ simulation (one-sided).
ALTERNATIVE_SAMPLES: dict[str, str] = {"generator": "ttbar_generator", "hadronizer": "ttbar_hadronizer"}

#: Normalization systematics: name -> (relative uncertainty, samples it applies to; None = all MC).
NORMALIZATION: dict[str, tuple[float, tuple[str, ...] | None]] = {
    "luminosity": (LUMI_REL_UNCERTAINTY, None),
    "single_top_xsec": (0.10, ("single_top",)),
    "wjets_norm": (0.20, ("wjets",)),
}

#: Data/MC jet-energy-resolution scale factor (|η| < 2.4) and its uncertainty. The stored jet pT is
#: already smeared with the nominal factor, so a variation applies the *ratio* to it.
JER_SF, JER_SF_UNCERTAINTY = 1.12, 0.05

#: Uncertainty of the b-tagging scale factors by hadron flavour (nominal scale factor 1 in the toy):
#: b jets 3 %, c jets twice that (as in CMS), light-flavour (mistag) 10 %.
BTAG_SF_UNCERTAINTY: dict[int, float] = {5: 0.03, 4: 0.06, 0: 0.10}


def _direction(direction: str) -> int:
    if direction not in ("up", "down"):
        raise ValueError(f"direction must be 'up' or 'down', got {direction!r}")
    return 1 if direction == "up" else -1


def weight_ratio(events: ak.Array, systematic: str, direction: str) -> np.ndarray:
    """Factor that multiplies the nominal event weight for a weight-based systematic.

    ``systematic`` is a key of :data:`WEIGHT_BRANCHES`; ``direction`` is ``"up"`` or ``"down"``.
    Raises ``KeyError`` for an unknown systematic or when the events lack the branch (for example the
    parton-shower weights, which only the tt̄ samples have).
    """
    if systematic not in WEIGHT_BRANCHES:
        raise KeyError(
            f"unknown weight systematic '{systematic}'; valid: {', '.join(WEIGHT_BRANCHES)}"
        )
    up, down, replaced = WEIGHT_BRANCHES[systematic]
    branch = up if _direction(direction) > 0 else down
    for needed in (branch, replaced):
        if needed is not None and needed not in events.fields:
            raise KeyError(f"branch '{needed}' needed for '{systematic}' is not in these events")
    ratio = events[branch] if replaced is None else events[branch] / events[replaced]
    return ak.to_numpy(ratio).astype(np.float64)


def jes_uncertainty(pt_gev: ak.Array | np.ndarray, eta: ak.Array | np.ndarray):
    """Relative jet-energy-scale uncertainty: about 3 % at 30 GeV, 1.8 % at 50, 1 % at 100 GeV.

    It falls as 1/pT towards a 0.14 % floor and grows by up to 50 % towards |η| = 2.4.
    """
    return (0.0014 + 0.857 / pt_gev) * (1.0 + 0.5 * (abs(eta) / 2.4) ** 2)


def jes_shift(events: ak.Array, direction: str) -> ak.Array:
    """Jet pT (GeV) with the jet energy scale shifted by ±1σ: pT · (1 ± δ(pT, η))."""
    sign = _direction(direction)
    require_branches(events, ("jet_pt", "jet_eta"), "the jet energy scale shift")
    return events.jet_pt * (1.0 + sign * jes_uncertainty(events.jet_pt, events.jet_eta))


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """The SplitMix64 finalizer: a well-mixed 64-bit hash of each element (wraps modulo 2^64)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


#: Jet branches whose values key the random number of each jet (:func:`jet_random_normal`).
JET_KEY_BRANCHES: tuple[str, ...] = ("jet_pt", "jet_eta", "jet_phi", "jet_genpt")


def jet_random_normal(events: ak.Array, seed: int) -> ak.Array:
    """One standard-normal random number per jet, fixed by ``seed`` and the jet itself.

    The number is a hash of the seed, the jet's stored kinematics (:data:`JET_KEY_BRANCHES`) and its
    position in the event, turned into a Gaussian by the inverse normal CDF. Unlike numbers drawn
    in sequence from a generator, it does not depend on which other events are processed with the
    jet: a file read whole or in chunks (episode 6) gives every jet the same smearing.
    (Experiments seed their smearing from event and jet properties for the same reason.)
    """
    missing = [b for b in JET_KEY_BRANCHES if b not in events.fields]
    if missing:
        raise KeyError(
            f"per-jet random numbers need the branch(es) {', '.join(missing)}; "
            f"read {', '.join(JET_KEY_BRANCHES)}"
        )
    counts = ak.num(events.jet_pt)
    index = ak.to_numpy(ak.flatten(ak.local_index(events.jet_pt))).astype(np.uint64)
    bits = np.full(len(index), seed, dtype=np.uint64)
    for branch in JET_KEY_BRANCHES:
        values = ak.to_numpy(ak.flatten(events[branch])).astype(np.float64)
        bits = _splitmix64(bits ^ values.view(np.uint64))
    bits = _splitmix64(bits ^ index)
    uniform = ((bits >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53  # in (0, 1)
    return ak.unflatten(ndtri(uniform), counts)


def jer_smear(
    events: ak.Array,
    scale_factor: float,
    *,
    seed: int = 42,
) -> ak.Array:
    """Jet pT (GeV) smeared with the CMS hybrid method by a relative resolution scale factor.

    Matched jets (``jet_genpt > 0`` and |pT − pT_gen| < 3 σ_JER pT) are scaled deterministically:
    pT → pT · max(0, 1 + (s − 1)(pT − pT_gen)/pT); unmatched jets get a Gaussian smearing of width
    σ_JER · sqrt(max(s² − 1, 0)) from :func:`jet_random_normal` with ``seed``: reproducible, and
    the same for a jet whether the file is processed at once or in chunks. ``s`` = 1 leaves every
    jet unchanged; s > 1 widens the resolution, s < 1 narrows it (only matched jets can be
    narrowed).
    """
    if scale_factor <= 0:
        raise ValueError(f"JER scale factor must be positive, got {scale_factor}")
    if "jet_genpt" not in events.fields:
        raise KeyError("JER smearing needs the generator-level jet pT branch 'jet_genpt' (simulation)")
    pt, genpt = events.jet_pt, events.jet_genpt
    sigma = jet_resolution(pt)
    matched = (genpt > 0) & (abs(pt - genpt) < 3 * sigma * pt)
    scaled = pt * np.maximum(0.0, 1.0 + (scale_factor - 1.0) * (pt - genpt) / pt)
    noise = jet_random_normal(events, seed)
    width = sigma * np.sqrt(max(scale_factor**2 - 1.0, 0.0))
    stochastic = pt * np.maximum(0.0, 1.0 + width * noise)
    return ak.where(matched, scaled, stochastic)


def btag_weight(
    events: ak.Array,
    *,
    flavours: tuple[int, ...] = (5, 4),
    direction: str = "up",
    jet_pt: ak.Array | None = None,
) -> np.ndarray:
    """Event weight for a ±1σ change of the b-tagging scale factors of the given jet flavours.

    Uses the standard per-event formula for a fixed working point,
    w = Π_tagged SF · Π_untagged (1 − SF ε)/(1 − ε),
    over the selected jets, with ε the simulated tagging efficiency of each jet. With all scale
    factors at their nominal value (1 in the toy) w = 1. ``flavours=(5, 4)`` is the b-tagging
    systematic (b and c jets, correlated); ``flavours=(0,)`` the light-flavour mistag systematic.
    """
    sign = _direction(direction)
    if "jet_flavour" not in events.fields:
        raise KeyError("b-tag weights need the branch 'jet_flavour' (simulation only)")
    require_branches(events, ("jet_pt", "jet_eta", "jet_btag"), "the b-tag weight")
    unknown = set(flavours) - set(BTAG_SF_UNCERTAINTY)
    if unknown:
        raise ValueError(f"unknown jet flavour(s) {sorted(unknown)}; valid: 5 (b), 4 (c), 0 (light)")
    pt = events.jet_pt if jet_pt is None else jet_pt
    counts = ak.num(pt)
    flat_pt = ak.to_numpy(ak.flatten(pt))
    flavour = ak.to_numpy(ak.flatten(events.jet_flavour))
    sf = np.ones_like(flat_pt)
    for f in flavours:
        sf[flavour == f] += sign * BTAG_SF_UNCERTAINTY[f]
    eff = btag_efficiency(flat_pt, flavour)
    tagged = ak.to_numpy(ak.flatten(events.jet_btag)) > BTAG_MEDIUM
    per_jet = np.where(tagged, sf, (1.0 - sf * eff) / (1.0 - eff))
    selected = ak.to_numpy(ak.flatten(select_jets(events, jet_pt)))
    per_jet = ak.unflatten(np.where(selected, per_jet, 1.0), counts)
    return ak.to_numpy(ak.prod(per_jet, axis=1))

"""How each systematic uncertainty is applied to the events.

Four mechanisms (:attr:`statlesson.catalogue.Systematic.mechanism`), one function family each:

* **event weight** — a per-event factor relative to the nominal weight (lepton scale factor, QCD
  scales, parton-shower ISR/FSR from weight branches; b-tagging and mistag scale factors from the
  corrections file): :func:`weight_ratio`, :func:`btag_weight`, :func:`weight_factor`;
* **kinematic shift** — the jet momenta change and the selection is redone (jet energy scale and
  resolution, from the corrections file): :func:`jes_shift`, :func:`jer_smear`,
  :func:`shifted_jet_pt`;
* **alternative sample** — a different simulation of the same process (generator, hadronizer): read
  the other file (:attr:`~statlesson.catalogue.Systematic.alternative_sample`);
* **normalization** — a constant factor on a sample's yield (luminosity, background cross sections):
  no templates, the catalogue's ``size``.

Detector corrections come from ``data/corrections.json`` through :mod:`statlesson.corrections`
(correctionlib), never from the generator.
"""

from __future__ import annotations

import awkward as ak
import numpy as np
from scipy.special import ndtri

from . import corrections
from .catalogue import SYSTEMATICS, Systematic, get_systematic
from .ntuple import BTAG_MEDIUM
from .selection import require_branches, select_jets

__all__ = [
    "FLAVOURS",
    "JET_KEY_BRANCHES",
    "JER_SEED",
    "btag_weight",
    "jer_smear",
    "jes_shift",
    "jet_random_normal",
    "shifted_jet_pt",
    "weight_factor",
    "weight_ratio",
]

#: Hadron flavours of the jets (b, c, light), as in the ``jet_flavour`` branch.
FLAVOURS: tuple[int, ...] = (5, 4, 0)

#: Seed of the stochastic part of the JER smearing (jets without a generator match), so that the
#: histograms are the same in every run.
JER_SEED: int = 42


def _direction(direction: str) -> int:
    if direction not in ("up", "down"):
        raise ValueError(f"direction must be 'up' or 'down', got {direction!r}")
    return 1 if direction == "up" else -1


def _weight_systematic(systematic: str) -> Systematic:
    syst = get_systematic(systematic)
    if syst.branches is None:
        raise KeyError(
            f"'{systematic}' is not a weight from the ntuple; weight-branch systematics: "
            + ", ".join(n for n, s in SYSTEMATICS.items() if s.branches is not None)
        )
    return syst


def weight_ratio(events: ak.Array, systematic: str, direction: str) -> np.ndarray:
    """Factor that multiplies the nominal event weight for a weight-branch systematic.

    ``systematic`` has weight ``branches`` in the catalogue (lepton_sf, scale_muR, ...);
    ``direction`` is ``"up"`` or ``"down"``. The factor is ``branch / replaced`` (or ``branch``).
    Raises ``KeyError`` for another systematic or when the events lack the branch (for example
    the parton-shower weights, which only the tt̄ samples have).
    """
    syst = _weight_systematic(systematic)
    up, down = syst.branches
    branch = up if _direction(direction) > 0 else down
    for needed in (branch, syst.replaces):
        if needed is not None and needed not in events.fields:
            raise KeyError(f"branch '{needed}' needed for '{systematic}' is not in these events")
    ratio = events[branch] if syst.replaces is None else events[branch] / events[syst.replaces]
    return ak.to_numpy(ratio).astype(np.float64)


def jes_shift(events: ak.Array, direction: str) -> ak.Array:
    """Jet pT (GeV) with the jet energy scale shifted by ±1σ: pT · (1 ± δ(pT, η))."""
    sign = _direction(direction)
    require_branches(events, ("jet_pt", "jet_eta"), "the jet energy scale shift")
    delta = corrections.jes_uncertainty(events.jet_pt, events.jet_eta)
    return events.jet_pt * (1.0 + sign * delta)


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
    seed: int = JER_SEED,
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
    sigma = corrections.jet_resolution(pt)
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
    unknown = set(flavours) - set(FLAVOURS)
    if unknown:
        raise ValueError(f"unknown jet flavour(s) {sorted(unknown)}; valid: 5 (b), 4 (c), 0 (light)")
    pt = events.jet_pt if jet_pt is None else jet_pt
    counts = ak.num(pt)
    flat_pt = ak.to_numpy(ak.flatten(pt)).astype(np.float64)
    flavour = ak.to_numpy(ak.flatten(events.jet_flavour)).astype(np.int64)
    variation = "up" if sign > 0 else "down"
    # the scale factors depend on the flavour only: look them up once per flavour
    factor = {f: float(corrections.btag_scale_factor(f, variation if f in flavours else "nominal"))
              for f in FLAVOURS}  # fmt: skip
    sf = np.select([flavour == 5, flavour == 4], [factor[5], factor[4]], factor[0])
    eff = corrections.btag_efficiency(flat_pt, flavour)
    tagged = ak.to_numpy(ak.flatten(events.jet_btag)) > BTAG_MEDIUM
    per_jet = np.where(tagged, sf, (1.0 - sf * eff) / (1.0 - eff))
    selected = ak.to_numpy(ak.flatten(select_jets(events, jet_pt)))
    per_jet = ak.unflatten(np.where(selected, per_jet, 1.0), counts)
    return ak.to_numpy(ak.prod(per_jet, axis=1))


def weight_factor(events: ak.Array, systematic: str, direction: str) -> np.ndarray:
    """Per-event factor on the nominal weight for any weight systematic of the catalogue.

    A b-tagging systematic (with ``jet_flavours``) uses :func:`btag_weight`, the others their
    weight branches (:func:`weight_ratio`). Raises ``KeyError`` for a systematic of another
    mechanism.
    """
    syst = get_systematic(systematic)
    if syst.mechanism != "weight":
        raise KeyError(f"'{systematic}' is a {syst.mechanism} systematic, not an event weight")
    if syst.jet_flavours:
        return btag_weight(events, flavours=syst.jet_flavours, direction=direction)
    return weight_ratio(events, systematic, direction)


def shifted_jet_pt(events: ak.Array, systematic: str, direction: str) -> ak.Array:
    """Jet pT (GeV) of a kinematic-shift systematic of the catalogue, ``up`` or ``down``.

    The shift follows from the corrections the systematic uses: the jet energy scale
    uncertainty (:func:`jes_shift`) or the resolution scale factor, whose varied value relative
    to the nominal one smears the jets (:func:`jer_smear`). Raises ``KeyError`` for a systematic
    that is not a shift.
    """
    syst = get_systematic(systematic)
    if syst.mechanism != "shift":
        raise KeyError(f"'{systematic}' is a {syst.mechanism} systematic, not a jet shift")
    if "jes_uncertainty" in syst.corrections:
        return jes_shift(events, direction)
    if "jer_sf" in syst.corrections:
        _direction(direction)
        ratio = corrections.jer_scale_factor(direction) / corrections.jer_scale_factor()
        return jer_smear(events, ratio, seed=JER_SEED)
    raise KeyError(
        f"no jet-momentum shift for the corrections {syst.corrections} of '{systematic}'; "
        "known: jes_uncertainty, jer_sf"
    )

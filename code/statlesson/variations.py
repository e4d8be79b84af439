"""How each systematic uncertainty is applied to the events.

Four mechanisms (:attr:`statlesson.catalogue.Systematic.mechanism`), one function family each:

* **event weight** — a per-event factor relative to the nominal weight (lepton scale factor, QCD
  scales, parton-shower ISR/FSR from weight branches; b-tagging and mistag scale factors from the
  corrections file): :func:`weight_ratio`, :func:`btag_weight`, :func:`weight_factor`;
* **kinematic shift** — the jet momenta change and the selection is redone (jet energy scale and
  resolution, from the corrections file): :func:`jes_shift`, :func:`jer_smear`,
  :func:`shifted_jet_pt`. The simulation's jets are first smeared to the resolution of data
  (:func:`jer_smear` with the nominal scale factor); every template of simulation starts there;
* **alternative sample** — a different simulation of the same process (generator, hadronizer): read
  the other file (:attr:`~statlesson.catalogue.Systematic.alternative_sample`);
* **normalization** — a constant factor on a sample's yield (luminosity, background cross sections):
  no templates, the catalogue's ``size``.

Detector corrections come from ``data/corrections.json`` through :mod:`statlesson.corrections`
(correctionlib), never from the generator.
"""

from __future__ import annotations

from collections.abc import Callable

import awkward as ak
import numpy as np

from . import corrections
from .catalogue import SYSTEMATICS, Systematic, get_systematic
from .ntuple import BTAG_MEDIUM
from .selection import require_branches, select_jets

__all__ = [
    "FLAVOURS",
    "JER_BRANCHES",
    "SHIFTS",
    "btag_weight",
    "jer_smear",
    "jes_shift",
    "shifted_jet_pt",
    "weight_factor",
    "weight_ratio",
]

#: Hadron flavours of the jets (b, c, light), as in the ``jet_flavour`` branch.
FLAVOURS: tuple[int, ...] = (5, 4, 0)


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
    assert syst.branches is not None  # checked by _weight_systematic
    up, down = syst.branches
    branch = up if _direction(direction) > 0 else down
    for needed in (branch, syst.replaces):
        if needed is not None and needed not in events.fields:
            raise KeyError(f"branch '{needed}' needed for '{systematic}' is not in these events")
    ratio = events[branch] if syst.replaces is None else events[branch] / events[syst.replaces]
    return ak.to_numpy(ratio).astype(np.float64)


def jes_shift(events: ak.Array, direction: str, jet_pt: ak.Array | None = None) -> ak.Array:
    """Jet pT (GeV) with the jet energy scale shifted by ±1σ: pT · (1 ± δ(pT, η)).

    ``jet_pt`` is the pT to shift (default: the stored one); for simulation pass the
    JER-smeared pT (:func:`jer_smear`), which is what the nominal templates use.
    """
    sign = _direction(direction)
    require_branches(events, ("jet_pt", "jet_eta"), "the jet energy scale shift")
    pt = events.jet_pt if jet_pt is None else jet_pt
    return pt * (1.0 + sign * corrections.jes_uncertainty(pt, events.jet_eta))


#: Branches the JER smearing reads: the jet, its generator match and the event number (whose hash
#: with the jet gives the random number of an unmatched jet).
JER_BRANCHES: tuple[str, ...] = ("jet_pt", "jet_eta", "jet_phi", "jet_genpt", "event")


def jer_smear(events: ak.Array, variation: str = "nominal") -> ak.Array:
    """Jet pT (GeV) of simulated jets smeared to the resolution of data, as CMS does.

    The simulation's jets have the simulation's resolution σ (``jet_resolution``); data are
    wider by the scale factor s(η) (``jer_sf``, ``variation`` nominal, up or down). The factor
    on each jet comes from the corrections file's ``jer_smear`` (the hybrid method): a jet
    matched to a generator jet (``jet_genpt`` > 0 and |pT − pT_gen| < 3 σ pT) has its
    difference to the generator jet stretched, pT_gen + s (pT − pT_gen); an unmatched one
    (pileup) gets pT · (1 + σ √(s² − 1) z), with z a standard-normal number that correctionlib
    hashes from the jet and the event number (``HashPRNG``): the same in every run, and for a
    file read whole or in chunks. Nominal, up and down use the same z, so they differ only by s.
    """
    require_branches(events, JER_BRANCHES, "the JER smearing (simulation only)")
    pt, eta = events.jet_pt, events.jet_eta
    resolution = corrections.jet_resolution(pt)
    scale_factor = corrections.jer_scale_factor(eta, variation)
    genpt = events.jet_genpt
    matched = (genpt > 0) & (abs(pt - genpt) < 3 * resolution * pt)
    event = ak.broadcast_arrays(events.event, pt)[0]  # one entry per jet
    factor = corrections.evaluate(
        "jer_smear",
        pt,
        eta,
        events.jet_phi,
        ak.where(matched, genpt, -1.0),
        event,
        resolution,
        scale_factor,
    )
    return pt * factor


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
        raise ValueError(
            f"unknown jet flavour(s) {sorted(unknown)}; valid: 5 (b), 4 (c), 0 (light)"
        )
    pt = events.jet_pt if jet_pt is None else jet_pt
    counts = ak.num(pt)
    flat_pt = ak.to_numpy(ak.flatten(pt)).astype(np.float64)
    flavour = ak.to_numpy(ak.flatten(events.jet_flavour)).astype(np.int64)
    variation = "up" if sign > 0 else "down"
    # the scale factors depend on the flavour only: look them up once per flavour
    factor = {
        f: float(corrections.btag_scale_factor(f, variation if f in flavours else "nominal"))
        for f in FLAVOURS
    }
    sf = np.select([flavour == 5, flavour == 4], [factor[5], factor[4]], factor[0])
    eff = corrections.btag_efficiency(flat_pt, flavour)
    tagged = ak.to_numpy(ak.flatten(events.jet_btag)) > BTAG_MEDIUM
    per_jet = np.where(tagged, sf, (1.0 - sf * eff) / (1.0 - eff))
    selected = ak.to_numpy(ak.flatten(select_jets(events, jet_pt)))
    per_jet = ak.unflatten(np.where(selected, per_jet, 1.0), counts)
    return ak.to_numpy(ak.prod(per_jet, axis=1))


def weight_factor(
    events: ak.Array, systematic: str, direction: str, jet_pt: ak.Array | None = None
) -> np.ndarray:
    """Per-event factor on the nominal weight for any weight systematic of the catalogue.

    A b-tagging systematic (with ``jet_flavours``) uses :func:`btag_weight` on the jets of
    ``jet_pt`` (the nominal, JER-smeared pT of simulation), the others their weight branches
    (:func:`weight_ratio`). Raises ``KeyError`` for a systematic of another mechanism.
    """
    syst = get_systematic(systematic)
    if syst.mechanism != "weight":
        raise KeyError(f"'{systematic}' is a {syst.mechanism} systematic, not an event weight")
    if syst.jet_flavours:
        return btag_weight(events, flavours=syst.jet_flavours, direction=direction, jet_pt=jet_pt)
    return weight_ratio(events, systematic, direction)


def _scale_shift(events: ak.Array, direction: str, nominal_pt: ak.Array | None) -> ak.Array:
    return jes_shift(events, direction, jer_smear(events) if nominal_pt is None else nominal_pt)


def _resolution_shift(events: ak.Array, direction: str, nominal_pt: ak.Array | None) -> ak.Array:
    _direction(direction)
    return jer_smear(events, direction)


#: The function of each kind of jet-momentum shift (the catalogue's ``Systematic.shift``): from
#: the events, ``"up"`` or ``"down"`` and the nominal (JER-smeared) pT, the varied pT. A new
#: shift systematic names one of these, or adds its function here.
SHIFTS: dict[str, Callable[[ak.Array, str, ak.Array | None], ak.Array]] = {
    "scale": _scale_shift,
    "resolution": _resolution_shift,
}


def shifted_jet_pt(
    events: ak.Array, systematic: str, direction: str, nominal_pt: ak.Array | None = None
) -> ak.Array:
    """Jet pT (GeV) of simulated jets for a kinematic-shift systematic, ``up`` or ``down``.

    The catalogue's ``shift`` of the systematic chooses the function (:data:`SHIFTS`): the jet
    energy scale shifts the nominal, JER-smeared pT (:func:`jes_shift`; ``nominal_pt``, if given,
    saves recomputing it), the resolution smears the stored pT with the scale factor's up or down
    value (:func:`jer_smear`). Raises ``KeyError`` for a systematic that is not a shift.
    """
    syst = get_systematic(systematic)
    if syst.mechanism != "shift":
        raise KeyError(f"'{systematic}' is a {syst.mechanism} systematic, not a jet shift")
    if syst.shift not in SHIFTS:
        raise KeyError(
            f"no jet-momentum shift {syst.shift!r} for '{systematic}'; give it a `shift` of the "
            f"catalogue, one of: {', '.join(SHIFTS)}"
        )
    return SHIFTS[syst.shift](events, direction, nominal_pt)

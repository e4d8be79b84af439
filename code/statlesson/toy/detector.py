"""The toy detector: parton → jet response, b tagging, leptons, MET, event weights, and the
calibration it publishes as a correctionlib file.

The detector response (:func:`detect`) and the weights (:func:`event_weights`) make the ntuples;
:func:`correction_set` describes the same detector in the correctionlib JSON schema, as CMS
calibration groups publish their corrections (``data/corrections.json``). The analysis reads only
that file (:mod:`statlesson.corrections`), never this module.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from ..ntuple import BTAG_MEDIUM
from .events import GenConfig, Partons, wrap_phi

__all__ = [
    "BTAG_SF_UNCERTAINTY",
    "JER_ETA_EDGES",
    "JER_SF",
    "JER_SF_UNCERTAINTY",
    "btag_efficiency",
    "correction_set",
    "detect",
    "event_weights",
    "jes_uncertainty",
    "jer_scale_factor",
    "jet_resolution",
    "lepton_scale_factor",
]

#: Data/MC jet-energy-resolution scale factors in bins of |η| (edges), and their uncertainties: the
#: values CMS measured for 2015 data at 13 TeV. Jets in data are reconstructed with the simulation's
#: resolution times this factor; the simulated ntuples keep the simulation's resolution, and the
#: analysis smears them (``jer_smear`` in the corrections file), as CMS analyses do.
JER_ETA_EDGES = (0.0, 0.5, 0.8, 1.1, 1.3, 1.7, 1.9, 2.1, 2.3, 2.5)
JER_SF = (1.095, 1.120, 1.097, 1.103, 1.118, 1.100, 1.162, 1.160, 1.161)
JER_SF_UNCERTAINTY = (0.018, 0.028, 0.017, 0.033, 0.014, 0.033, 0.044, 0.048, 0.060)

#: Uncertainty of the b-tagging scale factors by hadron flavour (nominal scale factor 1 in the toy):
#: b jets 3 %, c jets twice that (as in CMS), light-flavour (mistag) 10 %.
BTAG_SF_UNCERTAINTY: dict[int, float] = {5: 0.03, 4: 0.06, 0: 0.10}


def jes_uncertainty(pt_gev, eta):
    """Relative jet-energy-scale uncertainty: about 3 % at 30 GeV, 1.8 % at 50, 1 % at 100 GeV.

    It falls as 1/pT towards a 0.14 % floor and grows by up to 50 % towards |η| = 2.4.
    """
    return (0.0014 + 0.857 / pt_gev) * (1.0 + 0.5 * (abs(eta) / 2.4) ** 2)


def jet_resolution(pt_gev: np.ndarray) -> np.ndarray:
    """Relative jet pT resolution of the simulation (noise, stochastic, constant terms).

    About 20 % at 30 GeV and 10 % at 100 GeV; in data it is wider by :func:`jer_scale_factor`.
    """
    pt = np.maximum(pt_gev, 1.0)
    return np.sqrt((3.0 / pt) ** 2 + 0.9**2 / pt + 0.04**2)


def jer_scale_factor(eta: np.ndarray) -> np.ndarray:
    """Nominal data/MC resolution scale factor of jets at ``eta`` (:data:`JER_SF`)."""
    index = np.digitize(np.abs(eta), JER_ETA_EDGES[1:-1])
    return np.asarray(JER_SF)[index]


def btag_efficiency(pt_gev: np.ndarray, flavour: np.ndarray) -> np.ndarray:
    """Medium-working-point tagging efficiency of the toy b tagger by hadron flavour (5, 4, 0).

    b jets: 50 % at 30 GeV rising to 65 % above 100 GeV; c jets: 12 %; light jets: 1 %.
    """
    rise = np.clip((np.asarray(pt_gev) - 30.0) / 70.0, 0.0, 1.0)
    return np.where(flavour == 5, 0.50 + 0.15 * rise, np.where(flavour == 4, 0.12, 0.01))


_BTAG_WIDTH = {5: 1.6, 4: 1.3, 0: 1.2}  # width of the logit of the discriminant, per flavour


def _btag_score(rng, pt, flavour):
    """Discriminant in [0, 1]: a logistic of a Gaussian whose mean gives ``btag_efficiency``."""
    width = np.select(
        [flavour == 5, flavour == 4], [_BTAG_WIDTH[5], _BTAG_WIDTH[4]], _BTAG_WIDTH[0]
    )
    eff = btag_efficiency(pt, flavour)
    logit_wp = np.log(BTAG_MEDIUM / (1 - BTAG_MEDIUM))
    mean = logit_wp + width * ndtri(eff)  # P(score > WP) = eff
    z = mean + width * rng.standard_normal(pt.shape)
    return 1.0 / (1.0 + np.exp(-z))


def lepton_scale_factor(pt_gev: np.ndarray, eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Data/MC lepton identification × trigger scale factor and its absolute uncertainty.

    The factor is 0.96–0.98 (lower at high |η| and low pT); the uncertainty 1–2 %, growing with |η|.
    """
    a = np.clip(np.abs(eta) / 2.4, 0, 1)
    sf = 0.98 - 0.02 * a**2 - 0.01 * np.exp(-(np.asarray(pt_gev) - 25.0) / 15.0)
    return sf, 0.01 + 0.01 * a


def detect(rng, partons: Partons, cfg: GenConfig, *, data: bool = False) -> dict[str, np.ndarray]:
    """Turn partons into reconstructed jets, lepton and MET; return padded (n, k) jet columns.

    Jets get the simulation's resolution (:func:`jet_resolution`); with ``data=True`` the
    resolution of data, wider by the scale factor :func:`jer_scale_factor`.
    """
    n = partons.pt.shape[0]
    response = np.where(partons.flavour == 5, cfg.b_response, cfg.response)
    gen_pt = partons.pt * np.clip(response + 0.05 * rng.standard_normal(partons.pt.shape), 0.5, 1.2)
    gen_eta = partons.eta + 0.02 * rng.standard_normal(partons.pt.shape)
    gen_phi = wrap_phi(partons.phi + 0.02 * rng.standard_normal(partons.pt.shape))
    width = jet_resolution(gen_pt) * (jer_scale_factor(gen_eta) if data else 1.0)
    reco_pt = gen_pt * np.maximum(1 + width * rng.standard_normal(gen_pt.shape), 0.0)
    eta = gen_eta + 0.01 * rng.standard_normal(gen_pt.shape)
    phi = wrap_phi(gen_phi + 0.01 * rng.standard_normal(gen_pt.shape))
    valid = partons.valid

    # pileup jets: no generator-level match (jet_genpt = 0)
    kpu = 3
    n_pu = np.minimum(rng.poisson(cfg.pileup_rate, n), kpu)
    pu_valid = np.arange(kpu)[None, :] < n_pu[:, None]
    pu_pt = 20.0 + rng.exponential(6.0, (n, kpu))
    reco_pt = np.concatenate([reco_pt, pu_pt], axis=1)
    gen_pt = np.concatenate([gen_pt, np.zeros((n, kpu))], axis=1)
    eta = np.concatenate([eta, rng.uniform(-2.4, 2.4, (n, kpu))], axis=1)
    phi = np.concatenate([phi, rng.uniform(-np.pi, np.pi, (n, kpu))], axis=1)
    flavour = np.concatenate([partons.flavour, np.zeros((n, kpu), int)], axis=1)
    valid = np.concatenate([valid, pu_valid], axis=1)

    mass_frac = np.clip(
        np.where(flavour == 5, 0.14, 0.12) + 0.04 * rng.standard_normal(reco_pt.shape), 0.03, 0.3
    )
    btag = _btag_score(rng, reco_pt, flavour)

    # MET: neutrino plus the mismeasurement of every (matched) jet plus soft noise
    nu_pt, _, nu_phi = partons.nu
    dpx = np.where(valid, (gen_pt - reco_pt) * np.cos(phi), 0.0).sum(axis=1)
    dpy = np.where(valid, (gen_pt - reco_pt) * np.sin(phi), 0.0).sum(axis=1)
    met_x = nu_pt * np.cos(nu_phi) + dpx + rng.normal(0, 12.0, n)
    met_y = nu_pt * np.sin(nu_phi) + dpy + rng.normal(0, 12.0, n)

    l_pt, l_eta, l_phi = partons.lep
    lep_pt = l_pt * (1 + 0.015 * rng.standard_normal(n))
    lep_flavour = np.where(rng.uniform(size=n) < 0.5, 11, 13)

    in_acc = valid & (reco_pt > 20.0) & (np.abs(eta) < 2.4)
    # fmt: skip (below): the branches grouped by object, jets, lepton, missing pT
    return {
        "jet_pt": reco_pt, "jet_eta": eta, "jet_phi": phi, "jet_mass": reco_pt * mass_frac,
        "jet_btag": btag, "jet_flavour": flavour, "jet_genpt": gen_pt, "jet_valid": in_acc,
        "lep_pt": lep_pt, "lep_eta": l_eta + 0.001 * rng.standard_normal(n), "lep_phi": l_phi,
        "lep_flavour": lep_flavour,
        "met_pt": np.hypot(met_x, met_y), "met_phi": np.arctan2(met_y, met_x),
    }  # fmt: skip


def event_weights(partons: Partons, cfg: GenConfig, reco: dict) -> dict[str, np.ndarray]:
    """Per-event weights: generator, lepton SF with up/down, QCD-scale and parton-shower weights.

    Parton-shower weights reweight the number of ISR emissions (Poisson, rate × 1.08^±1) and of FSR
    emissions (binomial, probability × 1.10^±1), so they average exactly 1 over the generated
    events.
    """
    n = partons.pt.shape[0]
    sf, unc = lepton_scale_factor(reco["lep_pt"], reco["lep_eta"])
    x = np.clip(np.log(partons.hard_scale / 400.0), -1.0, 1.5)
    w = {
        "weight": np.ones(n),
        "weight_lepsf": sf,
        "weight_lepsf_up": sf + unc,
        "weight_lepsf_down": sf - unc,
        "weight_muR_up": 1 + cfg.scale_up - cfg.scale_slope * x,
        "weight_muR_down": 1 + cfg.scale_down + cfg.scale_slope * x,
        "weight_muF_up": 1 - 0.005 + 0.01 * x,
        "weight_muF_down": 1 + 0.005 - 0.01 * x,
    }
    if cfg.process == "ttbar":
        for direction, factor in (("up", 1.08), ("down", 1 / 1.08)):
            rate = cfg.isr_rate
            w[f"weight_isr_{direction}"] = factor**partons.n_isr * np.exp(-(factor - 1) * rate)
        p, k, m = cfg.fsr_prob, partons.n_fsr, partons.n_fsr_candidates
        for direction, factor in (("up", 1.10), ("down", 1 / 1.10)):
            q = p * factor
            w[f"weight_fsr_{direction}"] = (q / p) ** k * ((1 - q) / (1 - p)) ** (m - k)
    return w


# --------------------------------------------------------------------------------------------------
# the calibration, as a correctionlib file
# --------------------------------------------------------------------------------------------------
def _formula(expression: str, variables: list[str]) -> dict:
    return {
        "nodetype": "formula",
        "expression": expression,
        "parser": "TFormula",
        "variables": variables,
    }


def _by_variation(nodes: dict[str, object]) -> dict:
    return {
        "nodetype": "category",
        "input": "variation",
        "content": [{"key": k, "value": v} for k, v in nodes.items()],
    }


_VARIATION = {"name": "variation", "type": "string", "description": "nominal, up or down"}
_PT = {"name": "pt", "type": "real", "description": "transverse momentum in GeV"}
_ETA = {"name": "eta", "type": "real", "description": "pseudorapidity"}
_FLAVOUR = {"name": "flavour", "type": "int", "description": "hadron flavour: 5 (b), 4 (c), 0"}

# the formulas of the functions above, in TFormula syntax (x, y: the inputs in order)
_JES = "(0.0014+0.857/x)*(1+0.5*(abs(y)/2.4)^2)"
_RESOLUTION = "sqrt((3/max(x,1))^2+0.81/max(x,1)+0.0016)"
_LEPTON_SF = "0.98-0.02*min(abs(y)/2.4,1)^2-0.01*exp(-(x-25)/15)"
_LEPTON_UNC = "0.01+0.01*min(abs(y)/2.4,1)"
_B_EFF = "0.50+0.15*min(max((x-30)/70,0),1)"


def _by_abs_eta(values: list[float]) -> dict:
    """Binning node in η, symmetric about 0, with ``values`` in the |η| bins of JER_ETA_EDGES."""
    edges = [-e for e in reversed(JER_ETA_EDGES[1:])] + list(JER_ETA_EDGES)
    return {
        "nodetype": "binning",
        "input": "eta",
        "edges": edges,
        "flow": "clamp",
        "content": list(reversed(values)) + list(values),
    }


_JER_SMEAR_INPUTS = [
    _PT,
    _ETA,
    {"name": "phi", "type": "real", "description": "azimuth (a source of the random number)"},
    {"name": "genpt", "type": "real", "description": "matched generator-jet pT in GeV, or -1"},
    {"name": "event", "type": "int", "description": "event number"},
    {"name": "resolution", "type": "real", "description": "relative resolution (simulation)"},
    {"name": "sf", "type": "real", "description": "data/MC resolution scale factor"},
]
# unmatched: the `transform` replaces phi by a standard-normal number hashed from the jet and
# the event; matched: the reco-generator difference stretched by sf
_JER_SMEAR = {
    "nodetype": "binning",
    "input": "genpt",
    "edges": [-1.0, 0.0, "inf"],
    "flow": "clamp",
    "content": [
        {
            "nodetype": "transform",
            "input": "phi",
            "rule": {
                "nodetype": "hashprng",
                "inputs": ["pt", "eta", "phi", "event"],
                "distribution": "normal",
            },
            "content": _formula("max(0,1+sqrt(max(x*x-1,0))*y*z)", ["sf", "resolution", "phi"]),
        },
        _formula("max(0,1+(x-1)*(y-z)/y)", ["sf", "pt", "genpt"]),
    ],
}


def correction_set():
    """The toy detector's calibration as a ``correctionlib`` CorrectionSet (schema version 2).

    Corrections (inputs → output):

    * ``jes_uncertainty`` (pt, eta) → relative jet-energy-scale uncertainty;
    * ``jet_resolution`` (pt) → relative jet pT resolution of the simulation;
    * ``jer_sf`` (eta, variation) → data/MC resolution scale factor: nominal, up, down;
    * ``jer_smear`` (pt, eta, phi, genpt, event, resolution, sf) → factor on a simulated jet's
      pT that widens its resolution by ``sf``, as CMS publishes its JER smearing: the
      reco–generator difference scaled for a jet with a generator match (``genpt`` > 0),
      a Gaussian of width ``resolution`` · √(sf² − 1) for one without (``genpt`` = −1), its
      random number a hash of the jet and the event number (``HashPRNG``), so reproducible;
    * ``btag_sf`` (flavour, variation) → b-tagging scale factor of the medium working point;
    * ``btag_efficiency`` (pt, flavour) → tagging efficiency of this simulation (an analysis
      measures it in its own simulation; here the generator knows it exactly);
    * ``lepton_sf`` (pt, eta, variation) → lepton identification × trigger scale factor.

    The formulas are those of :func:`jes_uncertainty`, :func:`jet_resolution`,
    :func:`btag_efficiency` and :func:`lepton_scale_factor`; a test checks that they agree.
    """
    import correctionlib.schemav2 as cs

    pairs = list(zip(JER_SF, JER_SF_UNCERTAINTY, strict=True))
    jer = {
        v: _by_abs_eta([sf + sign * unc for sf, unc in pairs])
        for v, sign in (("nominal", 0.0), ("up", 1.0), ("down", -1.0))
    }
    btag = {
        v: {
            "nodetype": "category",
            "input": "flavour",
            "content": [
                {"key": f, "value": 1.0 + sign * unc} for f, unc in BTAG_SF_UNCERTAINTY.items()
            ],
        }
        for v, sign in (("nominal", 0.0), ("up", 1.0), ("down", -1.0))
    }
    lepton = {
        "nominal": _formula(_LEPTON_SF, ["pt", "eta"]),
        "up": _formula(f"{_LEPTON_SF}+{_LEPTON_UNC}", ["pt", "eta"]),
        "down": _formula(f"{_LEPTON_SF}-({_LEPTON_UNC})", ["pt", "eta"]),
    }
    efficiency = {
        "nodetype": "category",
        "input": "flavour",
        "content": [
            {"key": 5, "value": _formula(_B_EFF, ["pt"])},
            {"key": 4, "value": 0.12},
            {"key": 0, "value": 0.01},
        ],
    }
    output = {"name": "value", "type": "real"}
    # fmt: skip (below): a table, one correction per entry with its fields in the same order
    corrections = [
        cs.Correction(name="jes_uncertainty", version=1, inputs=[_PT, _ETA],
                      output=dict(output, description="relative JES uncertainty"),
                      description="Relative jet energy scale uncertainty (1 sigma).",
                      data=_formula(_JES, ["pt", "eta"])),
        cs.Correction(name="jet_resolution", version=1, inputs=[_PT],
                      output=dict(output, description="relative pT resolution"),
                      description="Relative jet pT resolution of the simulation (|eta| < 2.4).",
                      data=_formula(_RESOLUTION, ["pt"])),
        cs.Correction(name="jer_sf", version=1, inputs=[_ETA, _VARIATION],
                      output=dict(output, description="resolution scale factor"),
                      description="Data/MC jet energy resolution scale factor, by eta.",
                      data=_by_variation(jer)),
        cs.Correction(name="jer_smear", version=1, inputs=_JER_SMEAR_INPUTS,
                      output=dict(output, description="factor on the jet pT"),
                      description="Hybrid JER smearing of a simulated jet (scaling if "
                                  "matched, stochastic if not).",
                      data=_JER_SMEAR),
        cs.Correction(name="btag_sf", version=1, inputs=[_FLAVOUR, _VARIATION],
                      output=dict(output, description="scale factor"),
                      description="b-tagging scale factor, medium working point, by flavour.",
                      data=_by_variation(btag)),
        cs.Correction(name="btag_efficiency", version=1, inputs=[_PT, _FLAVOUR],
                      output=dict(output, description="efficiency"),
                      description="Medium-working-point tagging efficiency in the simulation.",
                      data=efficiency),
        cs.Correction(name="lepton_sf", version=1, inputs=[_PT, _ETA, _VARIATION],
                      output=dict(output, description="scale factor"),
                      description="Lepton identification x trigger scale factor.",
                      data=_by_variation(lepton)),
    ]  # fmt: skip
    return cs.CorrectionSet(
        schema_version=2,
        corrections=corrections,
        description="Toy CMS detector calibration of the lesson's ntuples.",
    )

"""Parton-level event generation for the toy ntuples (the physics of :mod:`statlesson.toy.data`).

* tt̄: the pair is produced with an invariant mass spectrum above threshold and a transverse recoil
  against initial-state-radiation (ISR) jets; each top decays t → bW with two-body kinematics and
  Breit-Wigner masses (m_t = 172.5 GeV, Γ_t = 1.32 GeV; m_W = 80.4 GeV, Γ_W = 2.085 GeV); one W
  decays to eν or μν, the other to a quark pair. Quarks may radiate a hard gluon (final-state
  radiation, FSR). Spin correlations and W polarisation are neglected (isotropic decays).
* single top (tW) uses the same machinery with a t + W system; W+jets has a W boson recoiling
against
  four or more partons with a steeply falling pT spectrum and some heavy flavour.

Part of the generator: nothing in the analysis imports it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CONFIGS", "GenConfig", "Partons", "generate_partons", "wrap_phi"]

M_TOP, GAMMA_TOP = 172.5, 1.32  # GeV
M_W, GAMMA_W = 80.4, 2.085  # GeV
M_B = 4.8  # GeV


@dataclass(frozen=True)
class GenConfig:
    """Knobs of the toy generator for one process (energies in GeV)."""

    process: str  # "ttbar", "tw" or "wjets"
    mass_scale: float = 75.0  # scale of the Gamma(2) spectrum of the system mass above threshold
    rapidity_width: float = 0.9  # width of the system rapidity
    isr_rate: float = 1.2  # mean number of ISR partons above isr_ptmin
    isr_ptmin: float = 20.0
    isr_index: float = 3.3  # power-law index of the ISR pT spectrum
    fsr_prob: float = 0.15  # probability that a decay quark radiates a hard gluon
    response: float = 0.97  # mean parton → generator-jet pT response
    b_response: float = 0.95  # same for b quarks (semileptonic b decays lose a neutrino)
    pileup_rate: float = 0.25  # mean number of unmatched pileup jets above 20 GeV
    scale_up: float = -0.030  # relative change of the yield for μR up (at the reference scale)
    scale_down: float = 0.020  # same for μR down
    scale_slope: float = 0.02  # extra μR dependence per unit log(Q / 400 GeV)
    n_partons_min: int = 4  # W+jets only: minimum number of partons
    parton_ptmin: float = 30.0  # W+jets only: lower end of the parton pT spectrum
    parton_index: float = 3.6  # W+jets only: power-law index of the parton pT spectrum
    extra_parton_prob: float = 0.25  # W+jets only: Berends-like ratio for one more parton
    wbb_frac: float = 0.12  # W+jets only: fraction with a b b̄ pair
    wc_frac: float = 0.20  # W+jets only: fraction with a single c quark


#: Generator settings per simulated sample. The alternative tt̄ samples differ from the nominal one
#: by a few percent in shape and acceptance, in the way a different generator/hadronizer would.
CONFIGS: dict[str, GenConfig] = {
    "ttbar": GenConfig("ttbar"),
    "ttbar_generator": GenConfig("ttbar", mass_scale=80.0, isr_rate=1.35),
    "ttbar_hadronizer": GenConfig("ttbar", fsr_prob=0.19, response=0.955, b_response=0.935),
    "single_top": GenConfig("tw", mass_scale=60.0),
    "wjets": GenConfig(
        "wjets", mass_scale=0.0, isr_rate=0.0, scale_up=-0.08, scale_down=0.06, scale_slope=0.04
    ),
}


# --------------------------------------------------------------------------------------------------
# four-vector helpers (arrays of shape (n,) ; a four-vector is a tuple (E, px, py, pz))
# --------------------------------------------------------------------------------------------------
def _breit_wigner(rng: np.random.Generator, mass: float, width: float, n: int, lo: float, hi):
    """Breit-Wigner (Cauchy) masses truncated to [lo, hi] by inverse-CDF sampling."""
    hi = np.broadcast_to(np.asarray(hi, dtype=float), (n,))
    cdf_lo = np.arctan((lo - mass) / (width / 2))
    cdf_hi = np.arctan((hi - mass) / (width / 2))
    u = rng.uniform(size=n)
    return mass + width / 2 * np.tan(cdf_lo + u * (cdf_hi - cdf_lo))


def _boost(p4, beta):
    """Boost four-vectors ``p4`` by velocity ``beta`` = (bx, by, bz)."""
    e, px, py, pz = p4
    bx, by, bz = beta
    b2 = bx**2 + by**2 + bz**2
    gamma = 1.0 / np.sqrt(1.0 - b2)
    bp = bx * px + by * py + bz * pz
    g2 = np.where(b2 > 0, (gamma - 1.0) / np.where(b2 > 0, b2, 1.0), 0.0)
    k = g2 * bp + gamma * e
    return gamma * (e + bp), px + k * bx, py + k * by, pz + k * bz


def _two_body(rng: np.random.Generator, parent, m1, m2):
    """Isotropic two-body decay of ``parent`` (lab four-vector) into masses m1, m2 (lab frame)."""
    e, px, py, pz = parent
    m = np.sqrt(np.maximum(e**2 - px**2 - py**2 - pz**2, 0.0))
    m1 = np.broadcast_to(m1, m.shape)
    m2 = np.broadcast_to(m2, m.shape)
    lam = (m**2 - (m1 + m2) ** 2) * (m**2 - (m1 - m2) ** 2)
    p = np.sqrt(np.maximum(lam, 0.0)) / (2 * m)
    cos_t = rng.uniform(-1, 1, m.shape)
    sin_t = np.sqrt(1 - cos_t**2)
    phi = rng.uniform(-np.pi, np.pi, m.shape)
    qx, qy, qz = p * sin_t * np.cos(phi), p * sin_t * np.sin(phi), p * cos_t
    beta = (px / e, py / e, pz / e)
    d1 = _boost((np.sqrt(p**2 + m1**2), qx, qy, qz), beta)
    d2 = _boost((np.sqrt(p**2 + m2**2), -qx, -qy, -qz), beta)
    return d1, d2


def _system(rng, mass, recoil_px, recoil_py, rapidity_width):
    """Lab four-vector of a system of given mass, transverse recoil and Gaussian rapidity."""
    px = -recoil_px + rng.normal(0, 5.0, mass.shape)  # small intrinsic kT
    py = -recoil_py + rng.normal(0, 5.0, mass.shape)
    mt = np.sqrt(mass**2 + px**2 + py**2)
    y = rng.normal(0, rapidity_width, mass.shape)
    return mt * np.cosh(y), px, py, mt * np.sinh(y)


def _pt_eta_phi(p4):
    _, px, py, pz = p4
    pt = np.hypot(px, py)
    eta = np.arcsinh(pz / np.maximum(pt, 1e-9))
    return pt, eta, np.arctan2(py, px)


def wrap_phi(phi):
    """Azimuthal angles mapped into [−π, π)."""
    return (phi + np.pi) % (2 * np.pi) - np.pi


def _power_law(rng, ptmin: float, index: float, shape) -> np.ndarray:
    """pT spectrum dN/dpT ∝ pT^-index above ptmin (steeply falling), capped at 2 TeV."""
    u = rng.uniform(size=shape)
    return np.minimum(ptmin * u ** (-1.0 / (index - 1.0)), 2000.0)


# --------------------------------------------------------------------------------------------------
# parton level
# --------------------------------------------------------------------------------------------------
@dataclass
class Partons:
    """Parton-level events: (n, k) arrays of coloured partons, plus the lepton and neutrino."""

    pt: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    flavour: np.ndarray  # hadron flavour of the jet it will make: 5, 4 or 0
    valid: np.ndarray
    lep: tuple  # (pt, eta, phi) of the charged lepton
    nu: tuple  # (pt, eta, phi) of the neutrino
    hard_scale: np.ndarray  # GeV, for the QCD-scale weights
    n_isr: np.ndarray
    n_fsr: np.ndarray
    n_fsr_candidates: int


def _isr(rng, cfg: GenConfig, n: int, kmax: int = 4):
    n_isr = np.minimum(rng.poisson(cfg.isr_rate, n), kmax)
    valid = np.arange(kmax)[None, :] < n_isr[:, None]
    pt = np.where(valid, _power_law(rng, cfg.isr_ptmin, cfg.isr_index, (n, kmax)), 0.0)
    eta = rng.normal(0, 1.8, (n, kmax))
    phi = rng.uniform(-np.pi, np.pi, (n, kmax))
    u = rng.uniform(size=(n, kmax))
    flav = np.where(u < 0.02, 5, np.where(u < 0.06, 4, 0))
    return n_isr, pt, eta, phi, flav, valid


def _top_decay(rng, top, top_mass, leptonic: bool):
    """t → b W; W → ℓν or q q̄'. Returns lists of (p4, flavour) and the lepton/neutrino."""
    n = top_mass.shape[0]
    w_mass = _breit_wigner(rng, M_W, GAMMA_W, n, 60.0, top_mass - M_B - 0.5)
    b, w = _two_body(rng, top, M_B, w_mass)
    d1, d2 = _two_body(rng, w, 0.0, 0.0)
    if leptonic:
        return [(b, np.full(n, 5))], (d1, d2)
    # W → u d̄ or c s̄ with equal probability (CKM-favoured modes)
    q2_flav = np.where(rng.uniform(size=n) < 0.5, 4, 0)
    return [(b, np.full(n, 5)), (d1, np.zeros(n, int)), (d2, q2_flav)], None


def _partons_top(rng, cfg: GenConfig, n: int) -> Partons:
    """tt̄ or tW events in the lepton+jets channel."""
    n_isr, i_pt, i_eta, i_phi, i_flav, i_valid = _isr(rng, cfg, n)
    rec_px = (i_pt * np.cos(i_phi)).sum(axis=1)
    rec_py = (i_pt * np.sin(i_phi)).sum(axis=1)
    t1_mass = _breit_wigner(rng, M_TOP, GAMMA_TOP, n, M_TOP - 15, M_TOP + 15)
    if cfg.process == "ttbar":
        m2 = _breit_wigner(rng, M_TOP, GAMMA_TOP, n, M_TOP - 15, M_TOP + 15)
    else:  # tW: the second particle is a W boson
        m2 = _breit_wigner(rng, M_W, GAMMA_W, n, 60.0, 100.0)
    mass = t1_mass + m2 + rng.gamma(2.0, cfg.mass_scale, n)
    system = _system(rng, mass, rec_px, rec_py, cfg.rapidity_width)
    top1, x2 = _two_body(rng, system, t1_mass, m2)

    lepton_on_first = rng.uniform(size=n) < 0.5  # which heavy object decays leptonically
    jets: list = []
    lep = nu = None
    # decay both ways and pick per event: simple and vectorised
    lep_jets, lepnu_1 = _top_decay(rng, top1, t1_mass, leptonic=True)
    had_jets, _ = _top_decay(rng, top1, t1_mass, leptonic=False)
    if cfg.process == "ttbar":
        lep_jets2, lepnu_2 = _top_decay(rng, x2, m2, leptonic=True)
        had_jets2, _ = _top_decay(rng, x2, m2, leptonic=False)
    else:  # the W of tW decays directly
        d1, d2 = _two_body(rng, x2, 0.0, 0.0)
        q2_flav = np.where(rng.uniform(size=n) < 0.5, 4, 0)
        lep_jets2, lepnu_2 = [], (d1, d2)
        had_jets2 = [(d1, np.zeros(n, int)), (d2, q2_flav)]

    def pick(a, b):
        return tuple(np.where(lepton_on_first, x, y) for x, y in zip(a, b, strict=True))

    # Combined list of decay partons: [leptonic side b (if any)] + hadronic side partons.
    # Event-wise choice between "first is leptonic" and "second is leptonic".
    first = lep_jets + had_jets2  # first leptonic
    second = had_jets + lep_jets2  # second leptonic
    # Both lists have the same length for ttbar (1 + 3 = 3 + 1 = 4); for tW: (1 + 2) vs (3 + 0).
    for (p_a, f_a), (p_b, f_b) in zip(first, second, strict=True):
        jets.append((pick(p_a, p_b), np.where(lepton_on_first, f_a, f_b)))
    lep = pick(lepnu_1[0], lepnu_2[0])
    nu = pick(lepnu_1[1], lepnu_2[1])

    d_pt, d_eta, d_phi = (
        np.stack(c, axis=1) for c in zip(*(_pt_eta_phi(p) for p, _ in jets), strict=True)
    )
    d_flav = np.stack([f for _, f in jets], axis=1)
    return _finish_partons(
        rng,
        cfg,
        d_pt,
        d_eta,
        d_phi,
        d_flav,
        (i_pt, i_eta, i_phi, i_flav, i_valid),
        n_isr,
        _pt_eta_phi(lep),
        _pt_eta_phi(nu),
        hard_scale=mass,
    )


def _partons_wjets(rng, cfg: GenConfig, n: int, kmax: int = 7) -> Partons:
    """W(→ℓν) + ≥ 4 partons with a Berends-like multiplicity and some heavy flavour."""
    extra = np.minimum(rng.geometric(1 - cfg.extra_parton_prob, n) - 1, kmax - cfg.n_partons_min)
    n_part = cfg.n_partons_min + extra
    valid = np.arange(kmax)[None, :] < n_part[:, None]
    pt = np.where(valid, _power_law(rng, cfg.parton_ptmin, cfg.parton_index, (n, kmax)), 0.0)
    eta = rng.normal(0, 1.6, (n, kmax))
    phi = rng.uniform(-np.pi, np.pi, (n, kmax))
    u = rng.uniform(size=n)
    flav = np.where(rng.uniform(size=(n, kmax)) < 0.03, 4, 0)
    wbb = u < cfg.wbb_frac
    wc = (u >= cfg.wbb_frac) & (u < cfg.wbb_frac + cfg.wc_frac)
    flav[wbb, 0:2] = 5  # partons are unordered in pT, so the first two are as good as any
    flav[wc, 0] = 4
    rec_px = (pt * np.cos(phi)).sum(axis=1)
    rec_py = (pt * np.sin(phi)).sum(axis=1)
    w_mass = _breit_wigner(rng, M_W, GAMMA_W, n, 60.0, 100.0)
    w = _system(rng, w_mass, rec_px, rec_py, 1.2)
    lep, nu = _two_body(rng, w, 0.0, 0.0)
    hard = w_mass + pt.sum(axis=1)
    empty = np.zeros((n, 0))
    return _finish_partons(
        rng,
        cfg,
        pt,
        eta,
        phi,
        flav,
        (empty, empty, empty, empty.astype(int), empty.astype(bool)),
        np.zeros(n, int),
        _pt_eta_phi(lep),
        _pt_eta_phi(nu),
        hard_scale=hard,
        decay_valid=valid,
    )


def _finish_partons(
    rng, cfg, d_pt, d_eta, d_phi, d_flav, isr, n_isr, lep, nu, *, hard_scale, decay_valid=None
) -> Partons:
    """Add FSR gluons to the decay partons and merge with ISR partons."""
    n, k = d_pt.shape
    if decay_valid is None:
        decay_valid = np.ones((n, k), bool)
    n_cand = k if cfg.process != "wjets" else 0  # FSR is modelled (and reweighted) for top events
    emit = (rng.uniform(size=(n, k)) < cfg.fsr_prob) & decay_valid & (n_cand > 0)
    z = rng.uniform(0.1, 0.4, (n, k))
    deta = rng.normal(0, 0.6, (n, k))
    dphi = rng.normal(0, 0.6, (n, k))
    separated = np.hypot(deta, dphi) > 0.4  # inside the jet cone the gluon stays part of the jet
    emit_sep = emit & separated
    g_pt = np.where(emit_sep, z * d_pt, 0.0)
    d_pt = np.where(emit_sep, (1 - z) * d_pt, d_pt)
    g_eta = d_eta + deta
    g_phi = wrap_phi(d_phi + dphi)
    i_pt, i_eta, i_phi, i_flav, i_valid = isr
    return Partons(
        pt=np.concatenate([d_pt, g_pt, i_pt], axis=1),
        eta=np.concatenate([d_eta, g_eta, i_eta], axis=1),
        phi=np.concatenate([d_phi, g_phi, i_phi], axis=1),
        flavour=np.concatenate([d_flav, np.zeros((n, k), int), i_flav], axis=1),
        valid=np.concatenate([decay_valid, emit_sep, i_valid], axis=1),
        lep=lep,
        nu=nu,
        hard_scale=hard_scale,
        n_isr=n_isr,
        n_fsr=emit.sum(axis=1),
        n_fsr_candidates=n_cand,
    )


def generate_partons(rng: np.random.Generator, cfg: GenConfig, n: int) -> Partons:
    """``n`` parton-level events of the process of ``cfg`` (tt̄, tW or W+jets)."""
    if cfg.process == "wjets":
        return _partons_wjets(rng, cfg, n)
    return _partons_top(rng, cfg, n)

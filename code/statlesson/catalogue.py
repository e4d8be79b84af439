"""The catalogue: every sample and every systematic of the analysis, described once.

Everything else derives from these two tables: the generator's truth (:mod:`statlesson.toy.data`),
the template filling (:mod:`statlesson.histograms`), the pruning and the uncertainty groups of the
fit (:mod:`statlesson.pruning`, :mod:`statlesson.fitting`) and the tables shown in episodes 2 and 3.
The cabinetry configuration (``episodes/ttbar_config.yml``) stays hand-written, because it is what
learners read; a test checks it against this catalogue in both directions.

Adding a systematic is one :class:`Systematic` entry here plus its block in the configuration.

Units: cross sections in pb, luminosities in pb^-1, so that ``xsec_pb * lumi_pb`` is a number
of events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "BR_LEPTON_JETS",
    "DATA_SAMPLE",
    "DIRECTIONS",
    "GROUPS",
    "LUMI_2015_PB",
    "LUMI_DATA_PB",
    "LUMI_FRACTION",
    "LUMI_REL_UNCERTAINTY",
    "MODEL_SAMPLES",
    "NORMALIZATION_SYSTEMATICS",
    "REFERENCE_XSEC_PB",
    "SAMPLES",
    "SIGMA_TTBAR_PB",
    "SIGNAL",
    "SYSTEMATICS",
    "Sample",
    "Systematic",
    "TEMPLATE_SYSTEMATICS",
    "get_sample",
    "get_systematic",
    "sample_names",
]

#: Integrated luminosity of the CMS 2015 13 TeV open data used in CMS open-data lessons, in pb^-1.
LUMI_2015_PB: float = 2256.38

#: Fraction of the 2015 dataset that the bundled pseudo-data stand for. An eighth keeps ``data/``
#: within its size budget with simulated samples larger than the data (their MC statistical
#: uncertainty below the data's in every bin), and the statistical uncertainty visible next to the
#: systematics.
LUMI_FRACTION: float = 0.125

#: Integrated luminosity of the bundled pseudo-data, in pb^-1 (an eighth of the 2015 dataset).
LUMI_DATA_PB: float = LUMI_2015_PB * LUMI_FRACTION

#: Relative luminosity uncertainty used in the model: 2.3 %, the value of the 2015 CMS tt̄ papers
#: (CMS-TOP-16-006). The final 2015 calibration (arXiv:2104.01927) gives 1.6 %; we keep the
#: value the measurement we compare with used.
LUMI_REL_UNCERTAINTY: float = 0.023

#: σ(tt̄) at 13 TeV, NNLO+NNLL (Top++ 2.0), m_t = 172.5 GeV, in pb.
SIGMA_TTBAR_PB: float = 831.76

#: Published values of σ(tt̄) at 13 TeV to compare with, by label, in pb: (central, +total, −total).
#: Theory: Top++ 2.0 NNLO+NNLL, scale +19.77 −29.20 and PDF+α_s ± 35.06 pb, added in quadrature.
#: CMS lepton+jets 2015 (CMS-TOP-16-006, arXiv:1701.06228):
#: 888 ± 2 (stat) +26 −28 (syst) ± 20 (lumi).
REFERENCE_XSEC_PB: dict[str, tuple[float, float, float]] = {
    "NNLO+NNLL prediction": (831.76, (19.77**2 + 35.06**2) ** 0.5, (29.20**2 + 35.06**2) ** 0.5),
    "CMS ℓ+jets, 2015 data": (888.0, (2**2 + 26**2 + 20**2) ** 0.5, (2**2 + 28**2 + 20**2) ** 0.5),
}

#: Branching fraction of tt̄ → (e or μ) ν b + q q̄' b, counting only direct W → eν, μν decays:
#: 2 × BR(W → eν or μν) × BR(W → hadrons) = 2 × (2 × 0.1086) × 0.6741 (PDG).
#: τ decays are not generated.
BR_LEPTON_JETS: float = 2 * (2 * 0.1086) * 0.6741


Role = Literal["signal", "background", "alternative", "data"]


@dataclass(frozen=True)
class Sample:
    """One simulated or observed sample.

    Attributes:
        name: short identifier used everywhere (file stem, histogram names, config).
        label: legend label (matplotlib mathtext allowed).
        color: matplotlib colour for stacked plots.
        role: ``"signal"`` (the process measured), ``"background"``, ``"alternative"`` (another
            simulation of the process :attr:`alternative_of`, used for a systematic) or ``"data"``.
        xsec_pb: cross section of the generated process in pb (before ``filter_eff``).
        filter_eff: fraction of ``xsec_pb`` that was generated (decay mode, generator-level filter).
        n_generated: number of events generated before the skim, used for normalisation.
        xsec_source: where ``xsec_pb`` comes from.
        alternative_of: for ``role == "alternative"``, the sample it replaces in a variation.
        description: one sentence on what the sample is.
    """

    name: str
    label: str
    color: str
    role: Role
    alternative_of: str | None = None
    xsec_pb: float = 0.0
    filter_eff: float = 1.0
    n_generated: int = 0
    xsec_source: str = ""
    description: str = ""

    @property
    def is_data(self) -> bool:
        """True for (pseudo-)data, which carry no weights and no generator truth."""
        return self.role == "data"

    @property
    def fills(self) -> str:
        """The sample whose templates this one's events fill: itself, or the one it replaces."""
        return self.alternative_of or self.name

    @property
    def file(self) -> str:
        """File name of the ntuple inside the data folder."""
        return f"{self.name}.root"

    def lumi_weight(self, lumi_pb: float = LUMI_DATA_PB) -> float:
        """Per-event normalisation weight σ · ε_filter · L / N_generated (dimensionless).

        Multiply by the per-event ``weight`` branch (and any systematic weight) to get the expected
        number of events at luminosity ``lumi_pb`` (in pb^-1). Raises ``ValueError`` for data.
        """
        if self.is_data:
            raise ValueError(f"sample '{self.name}' is data: it has no normalisation weight")
        if lumi_pb <= 0:
            raise ValueError(f"luminosity must be positive, got {lumi_pb} pb^-1")
        return self.xsec_pb * self.filter_eff * lumi_pb / self.n_generated


_TTBAR_SOURCE = "Top++ 2.0 NNLO+NNLL, m_t = 172.5 GeV (Czakon, Mitov, arXiv:1112.5675)"

SAMPLES: dict[str, Sample] = {
    s.name: s
    for s in [
        Sample(
            name="ttbar",
            role="signal",
            label=r"$t\bar{t}$",
            color="#e76300",
            xsec_pb=SIGMA_TTBAR_PB,
            filter_eff=BR_LEPTON_JETS,
            n_generated=180_000,
            xsec_source=_TTBAR_SOURCE,
            description="Nominal tt̄ → lepton+jets simulation (signal).",
        ),
        Sample(
            name="ttbar_generator",
            role="alternative",
            alternative_of="ttbar",
            label=r"$t\bar{t}$ (alt. generator)",
            color="#b9ac70",
            xsec_pb=SIGMA_TTBAR_PB,
            filter_eff=BR_LEPTON_JETS,
            n_generated=90_000,
            xsec_source=_TTBAR_SOURCE,
            description="tt̄ with an alternative matrix-element generator "
            "(harder spectrum, more radiation).",
        ),
        Sample(
            name="ttbar_hadronizer",
            role="alternative",
            alternative_of="ttbar",
            label=r"$t\bar{t}$ (alt. hadronizer)",
            color="#717581",
            xsec_pb=SIGMA_TTBAR_PB,
            filter_eff=BR_LEPTON_JETS,
            n_generated=90_000,
            xsec_source=_TTBAR_SOURCE,
            description="tt̄ with an alternative parton shower/hadronizer "
            "(softer jet response, more FSR).",
        ),
        Sample(
            name="single_top",
            role="background",
            label="single top (tW)",
            color="#5790fc",
            # tW: 35.85 pb for t and for t̄ (approx. NNLO, Kidonakis), lepton+jets decays as for
            # tt̄.
            xsec_pb=71.7,
            filter_eff=BR_LEPTON_JETS,
            n_generated=60_000,
            xsec_source="approx. NNLO tW, 2 × 35.85 pb (Kidonakis, arXiv:1005.4451)",
            description="Single top quark produced with a W boson (tW), one W decaying to e/μ + ν.",
        ),
        Sample(
            name="wjets",
            role="background",
            label=r"W+jets",
            color="#964a8b",
            # W → eν plus W → μν, NNLO (FEWZ): 2 × 20508.9 pb. The toy generates only W + ≥ 4
            # partons
            # with pT > 30 GeV; filter_eff is the toy's assumed fraction of such events, tuned so
            # that W+jets is a background of about 10 % in 4j1b, as in CMS lepton+jets selections
            # with b tags.
            xsec_pb=2 * 20508.9,
            filter_eff=0.0035,
            n_generated=600_000,
            xsec_source="NNLO FEWZ W → ℓν, 20508.9 pb per lepton flavour "
            "(CMS 13 TeV reference values)",
            description="W boson (→ e/μ + ν) with at least four additional partons.",
        ),
        Sample(
            name="data",
            label="Pseudo-data",
            color="black",
            role="data",
            description=(
                "Pseudo-data for an eighth of the 2015 dataset, drawn from the model with the "
                "injected "
                "truth recorded in data/truth.json."
            ),
        ),
    ]
}


def sample_names(*, include_data: bool = True) -> list[str]:
    """Names of all samples in a fixed order (data last)."""
    return [n for n, s in SAMPLES.items() if include_data or not s.is_data]


def get_sample(name: str) -> Sample:
    """Return the :class:`Sample` called ``name``; ``KeyError`` lists the valid names otherwise."""
    try:
        return SAMPLES[name]
    except KeyError:
        raise KeyError(f"unknown sample '{name}'; valid samples: {', '.join(SAMPLES)}") from None


#: The signal: the sample whose cross section the measurement determines.
SIGNAL: str = next(s.name for s in SAMPLES.values() if s.role == "signal")

#: Samples of the statistical model: the signal and the backgrounds (the alternative tt̄ samples
#: are variations of ``ttbar``, not samples of their own).
MODEL_SAMPLES: tuple[str, ...] = tuple(
    s.name for s in SAMPLES.values() if s.role in ("signal", "background")
)

#: The (pseudo-)data sample.
DATA_SAMPLE: str = next(s.name for s in SAMPLES.values() if s.is_data)

#: The two directions of a variation, in file-name spelling.
DIRECTIONS: tuple[str, str] = ("up", "down")

Mechanism = Literal["weight", "shift", "alternative", "normalization"]


@dataclass(frozen=True)
class Systematic:
    """One systematic uncertainty: how it enters the analysis and what it becomes in the model.

    Attributes:
        name: identifier used in histogram names and as the nuisance-parameter name.
        mechanism: how it is applied: ``"weight"`` (the event weights change), ``"shift"`` (jet
            momenta change and the selection is redone), ``"alternative"`` (another simulated
            sample), ``"normalization"`` (a constant factor on a sample's yield, no templates).
        samples: model samples it acts on (before pruning).
        group: its group in the uncertainty breakdown of episode 5.
        label: short label for plots and tables.
        description: one sentence on what is varied, with the size of the variation.
        one_sided: only ``up`` is computed; the ``down`` template is its mirror image.
        branches: for a weight from the ntuple, the ``(up, down)`` weight branches.
        replaces: the nominal weight branch the ``branches`` replace (``None``: they multiply it).
        corrections: names of the corrections (``data/corrections.json``) it evaluates.
        jet_flavours: for a b-tagging scale factor, the hadron flavours (5, 4, 0) it varies.
        shift: for ``mechanism == "shift"``, what changes the jets: ``"scale"`` (their energy
            scale) or ``"resolution"`` (their smearing); :data:`statlesson.variations.SHIFTS`
            maps each to its function.
        alternative_sample: for ``mechanism == "alternative"``, the sample that gives ``up``.
        keeps_inclusive_xsec: the variation of the *signal* is divided by its effect on the
            inclusive cross section (only acceptance and shape are an uncertainty of σ(tt̄)).
        size: the relative size of a normalization uncertainty (``±size``).
    """

    name: str
    mechanism: Mechanism
    samples: tuple[str, ...]
    group: str
    label: str
    description: str
    one_sided: bool = False
    branches: tuple[str, str] | None = None
    replaces: str | None = None
    corrections: tuple[str, ...] = ()
    jet_flavours: tuple[int, ...] = ()
    shift: Literal["scale", "resolution"] | None = None
    alternative_sample: str | None = None
    keeps_inclusive_xsec: bool = False
    size: float | None = None

    @property
    def computed(self) -> tuple[str, ...]:
        """Directions filled from events: ``("up", "down")``, or ``("up",)`` if one-sided."""
        return ("up",) if self.one_sided else DIRECTIONS

    @property
    def symmetrized(self) -> bool:
        """True if the ``down`` template is ``2 · nominal − up`` rather than filled from events."""
        return self.one_sided

    @property
    def has_templates(self) -> bool:
        """True if it is modelled with up/down template histograms (all but normalization)."""
        return self.mechanism != "normalization"

    def variation_path(self, direction: str) -> str:
        """cabinetry ``VariationPath`` of the ``up`` or ``down`` template, e.g. ``"_jes_up"``."""
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be 'up' or 'down', got {direction!r}")
        return f"_{self.name}_{direction}"


_JETS = "jet energy (JES, JER)"
_BTAG = "b tagging"
_TTBAR = "tt̄ modelling"
_BKG = "background modelling"
_SCALES = "QCD scales (μR, μF)"

# fmt: skip (below): a table, one systematic per entry with its arguments in the same order
#: Every systematic of the analysis, in a fixed order (templates first, as in the histograms file).
SYSTEMATICS: dict[str, Systematic] = {
    s.name: s
    for s in [
        Systematic("lepton_sf", "weight", MODEL_SAMPLES, "lepton scale factor", "Lepton SF",
                   "lepton identification and trigger scale factor ±1σ (1–2 %)",
                   branches=("weight_lepsf_up", "weight_lepsf_down"), replaces="weight_lepsf"),
        Systematic("scale_muR", "weight", MODEL_SAMPLES, _SCALES, r"$\mu_R$ scale",
                   "renormalisation scale × 2 (up) and × 1/2 (down)",
                   branches=("weight_muR_up", "weight_muR_down"), keeps_inclusive_xsec=True),
        Systematic("scale_muF", "weight", MODEL_SAMPLES, _SCALES, r"$\mu_F$ scale",
                   "factorisation scale × 2 (up) and × 1/2 (down)",
                   branches=("weight_muF_up", "weight_muF_down"), keeps_inclusive_xsec=True),
        Systematic("ps_isr", "weight", (SIGNAL,), _TTBAR, "ISR",
                   "parton-shower initial-state radiation scale up and down (tt̄ only)",
                   branches=("weight_isr_up", "weight_isr_down"), keeps_inclusive_xsec=True),
        Systematic("ps_fsr", "weight", (SIGNAL,), _TTBAR, "FSR",
                   "parton-shower final-state radiation scale up and down (tt̄ only)",
                   branches=("weight_fsr_up", "weight_fsr_down"), keeps_inclusive_xsec=True),
        Systematic("btag", "weight", MODEL_SAMPLES, _BTAG, "b tagging",
                   "b-tagging scale factors of b (3 %) and c jets (6 %) ±1σ, correlated",
                   corrections=("btag_sf", "btag_efficiency"), jet_flavours=(5, 4)),
        Systematic("mistag", "weight", MODEL_SAMPLES, _BTAG, "Mistag",
                   "light-flavour mistag scale factor ±1σ (10 %)",
                   corrections=("btag_sf", "btag_efficiency"), jet_flavours=(0,)),
        Systematic("jes", "shift", MODEL_SAMPLES, _JETS, "JES",
                   "jet energy scale ±1σ (3 % at 30 GeV, 1 % at 100 GeV); selection redone",
                   corrections=("jes_uncertainty",), shift="scale"),
        Systematic("jer", "shift", MODEL_SAMPLES, _JETS, "JER",
                   "jet energy resolution data/MC scale factor ±1σ (1.4–6 %, by η), "
                   "hybrid smearing of the simulation; selection redone",
                   corrections=("jer_sf", "jet_resolution", "jer_smear"), shift="resolution"),
        Systematic("generator", "alternative", (SIGNAL,), _TTBAR, "Generator",
                   "alternative matrix-element generator for tt̄, one-sided; down symmetrized",
                   one_sided=True, alternative_sample="ttbar_generator"),
        Systematic("hadronizer", "alternative", (SIGNAL,), _TTBAR, "Hadronizer",
                   "alternative parton shower and hadronization for tt̄, one-sided; "
                   "down symmetrized",
                   one_sided=True, alternative_sample="ttbar_hadronizer"),
        Systematic("luminosity", "normalization", MODEL_SAMPLES, "luminosity", "Luminosity",
                   "integrated luminosity ±2.3 % (CMS 2015 calibration), every simulated sample",
                   size=LUMI_REL_UNCERTAINTY),
        Systematic("single_top_xsec", "normalization", ("single_top",), _BKG, "tW cross section",
                   "single-top (tW) cross section ±10 %", size=0.10),
        Systematic("wjets_norm", "normalization", ("wjets",), _BKG, "W+jets normalization",
                   "W+jets normalization ±20 % (cross section and heavy-flavour fraction)",
                   size=0.20),
    ]
}  # fmt: skip

#: The systematics modelled with template histograms (everything but the normalizations).
TEMPLATE_SYSTEMATICS: dict[str, Systematic] = {
    n: s for n, s in SYSTEMATICS.items() if s.has_templates
}

#: The normalization-only systematics: no templates, a ``±size`` factor on their samples.
NORMALIZATION_SYSTEMATICS: dict[str, Systematic] = {
    n: s for n, s in SYSTEMATICS.items() if not s.has_templates
}


def _groups() -> dict[str, tuple[str, ...]]:
    groups: dict[str, list[str]] = {}
    for syst in SYSTEMATICS.values():
        groups.setdefault(syst.group, []).append(syst.name)
    out = {group: tuple(names) for group, names in groups.items()}
    out["MC statistics"] = ("staterror",)  # pyhf's staterror modifiers, one per bin
    return out


#: Groups of nuisance parameters for the uncertainty breakdown (names as in the configuration);
#: ``staterror`` stands for pyhf's per-bin MC statistical parameters.
GROUPS: dict[str, tuple[str, ...]] = _groups()


def get_systematic(name: str) -> Systematic:
    """Return the :class:`Systematic` called ``name``; a ``KeyError`` lists the valid names."""
    try:
        return SYSTEMATICS[name]
    except KeyError:
        raise KeyError(
            f"unknown systematic '{name}'; valid systematics: {', '.join(SYSTEMATICS)}"
        ) from None

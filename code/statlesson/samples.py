"""Sample definitions: the single source of truth for names, files, cross sections and luminosity.

Every notebook, the cabinetry configuration and the tests take sample names, files, cross sections,
colours and labels from here, so that a number is changed in exactly one place.

Units: cross sections in pb, luminosities in pb^-1, so that ``xsec_pb * lumi_pb`` is a number of events.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BR_LEPTON_JETS",
    "DATA_DIR",
    "LUMI_2015_PB",
    "LUMI_DATA_PB",
    "LUMI_REL_UNCERTAINTY",
    "REFERENCE_XSEC_PB",
    "SAMPLES",
    "SIGMA_TTBAR_PB",
    "Sample",
    "data_path",
    "get_sample",
    "sample_names",
]

#: Folder of the bundled ntuples (``data/`` at the top of the lesson repository).
DATA_DIR: Path = Path(__file__).resolve().parents[2] / "data"

#: Integrated luminosity of the CMS 2015 13 TeV open data used in CMS open-data lessons, in pb^-1.
LUMI_2015_PB: float = 2256.38

#: Fraction of the 2015 dataset that the bundled pseudo-data stand for. A fraction keeps ``data/``
#: within its size budget while leaving the statistical uncertainty visible next to the systematics.
LUMI_FRACTION: float = 0.25

#: Integrated luminosity of the bundled pseudo-data, in pb^-1 (a quarter of the 2015 dataset).
LUMI_DATA_PB: float = LUMI_2015_PB * LUMI_FRACTION

#: Relative luminosity uncertainty used in the model: 2.3 %, the value of the 2015 CMS tt̄ papers
#: (CMS-TOP-16-006). The final 2015 calibration (arXiv:2104.01927) gives 1.6 %; we keep the value the
#: measurement we compare with used.
LUMI_REL_UNCERTAINTY: float = 0.023

#: σ(tt̄) at 13 TeV, NNLO+NNLL (Top++ 2.0), m_t = 172.5 GeV, in pb.
SIGMA_TTBAR_PB: float = 831.76

#: Published values of σ(tt̄) at 13 TeV to compare with, by label, in pb: (central, +total, −total).
#: Theory: Top++ 2.0 NNLO+NNLL, scale +19.77 −29.20 and PDF+α_s ± 35.06 pb, added in quadrature.
#: CMS lepton+jets 2015 (CMS-TOP-16-006, arXiv:1701.06228): 888 ± 2 (stat) +26 −28 (syst) ± 20 (lumi).
REFERENCE_XSEC_PB: dict[str, tuple[float, float, float]] = {
    "NNLO+NNLL prediction": (831.76, (19.77**2 + 35.06**2) ** 0.5, (29.20**2 + 35.06**2) ** 0.5),
    "CMS ℓ+jets, 2015 data": (888.0, (2**2 + 26**2 + 20**2) ** 0.5, (2**2 + 28**2 + 20**2) ** 0.5),
}

#: Branching fraction of tt̄ → (e or μ) ν b + q q̄' b, counting only direct W → eν, μν decays:
#: 2 × BR(W → eν or μν) × BR(W → hadrons) = 2 × (2 × 0.1086) × 0.6741 (PDG). τ decays are not generated.
BR_LEPTON_JETS: float = 2 * (2 * 0.1086) * 0.6741


@dataclass(frozen=True)
class Sample:
    """One simulated or observed sample.

    Attributes:
        name: short identifier used everywhere (file stem, histogram names, config).
        label: legend label (matplotlib mathtext allowed).
        color: matplotlib colour for stacked plots.
        is_data: True for (pseudo-)data, which carry no weights and no generator truth.
        xsec_pb: cross section of the generated process in pb (before ``filter_eff``).
        filter_eff: fraction of ``xsec_pb`` that was generated (decay mode, generator-level filter).
        n_generated: number of events generated before the skim, used for normalisation.
        xsec_source: where ``xsec_pb`` comes from.
        description: one sentence on what the sample is.
    """

    name: str
    label: str
    color: str
    is_data: bool = False
    xsec_pb: float = 0.0
    filter_eff: float = 1.0
    n_generated: int = 0
    xsec_source: str = ""
    description: str = ""

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
            label=r"$t\bar{t}$ (alt. generator)",
            color="#b9ac70",
            xsec_pb=SIGMA_TTBAR_PB,
            filter_eff=BR_LEPTON_JETS,
            n_generated=90_000,
            xsec_source=_TTBAR_SOURCE,
            description="tt̄ with an alternative matrix-element generator (harder spectrum, more radiation).",
        ),
        Sample(
            name="ttbar_hadronizer",
            label=r"$t\bar{t}$ (alt. hadronizer)",
            color="#717581",
            xsec_pb=SIGMA_TTBAR_PB,
            filter_eff=BR_LEPTON_JETS,
            n_generated=90_000,
            xsec_source=_TTBAR_SOURCE,
            description="tt̄ with an alternative parton shower/hadronizer (softer jet response, more FSR).",
        ),
        Sample(
            name="single_top",
            label="single top (tW)",
            color="#5790fc",
            # tW: 35.85 pb for t and for t̄ (approx. NNLO, Kidonakis), lepton+jets decays as for tt̄.
            xsec_pb=71.7,
            filter_eff=BR_LEPTON_JETS,
            n_generated=60_000,
            xsec_source="approx. NNLO tW, 2 × 35.85 pb (Kidonakis, arXiv:1005.4451)",
            description="Single top quark produced with a W boson (tW), one W decaying to e/μ + ν.",
        ),
        Sample(
            name="wjets",
            label=r"W+jets",
            color="#964a8b",
            # W → eν plus W → μν, NNLO (FEWZ): 2 × 20508.9 pb. The toy generates only W + ≥ 4 partons;
            # filter_eff is the toy's assumed fraction of such events, tuned so that W+jets is a
            # background of about 10 % in 4j1b, as in CMS lepton+jets selections with b tags.
            xsec_pb=2 * 20508.9,
            filter_eff=0.05,
            n_generated=600_000,
            xsec_source="NNLO FEWZ W → ℓν, 20508.9 pb per lepton flavour (CMS 13 TeV reference values)",
            description="W boson (→ e/μ + ν) with at least four additional partons.",
        ),
        Sample(
            name="data",
            label="Pseudo-data",
            color="black",
            is_data=True,
            description=(
                "Pseudo-data for a quarter of the 2015 dataset, drawn from the model with the injected "
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
        raise KeyError(
            f"unknown sample '{name}'; valid samples: {', '.join(SAMPLES)}"
        ) from None


def data_path(name: str, data_dir: str | Path | None = None) -> Path:
    """Path of the ntuple of sample ``name``; raises ``FileNotFoundError`` if it is missing.

    The error names the missing file and says how to regenerate the bundled data (``make data``).
    """
    sample = get_sample(name)
    folder = Path(data_dir) if data_dir is not None else DATA_DIR
    path = folder / sample.file
    if not path.is_file():
        raise FileNotFoundError(
            f"ntuple for sample '{name}' not found at {path}; run `make data` (or "
            f"`python -m statlesson.toydata --out {folder}`) to generate the bundled ntuples"
        )
    return path

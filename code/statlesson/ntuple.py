"""The ntuple format, and where the bundled files are.

What the generator writes and the analysis reads: tree names, branch names, the b-tagging working
point, the name of the corrections file. Both sides import it; neither imports the other.

The bundled files live in the lesson repository's ``data/`` folder. :func:`data_dir` finds it from
the environment variable ``STATLESSON_DATA`` if it is set, otherwise by looking for the lesson
repository above the working folder (where the notebooks and tests run) and above this package
(an editable install). So a plain ``pip install .`` works too, run inside the repository or with
``STATLESSON_DATA`` pointing at its ``data/``.
"""

from __future__ import annotations

import os
from pathlib import Path

from .catalogue import get_sample

__all__ = [
    "BTAG_MEDIUM",
    "CORRECTIONS_FILE",
    "DATA_BRANCHES",
    "DATA_ENV",
    "MC_BRANCHES",
    "PS_BRANCHES",
    "RUNS_TREE",
    "TREE_NAME",
    "corrections_path",
    "data_dir",
    "data_path",
    "lesson_root",
]

#: Name of the TTree of events in every file.
TREE_NAME = "events"

#: Name of the one-entry TTree in simulated files with the number of generated events and the sums
#: of every weight over all generated events (before the skim), like NanoAOD's ``Runs`` tree. They
#: normalise theory variations of the signal to the inclusive cross section.
RUNS_TREE = "runs"

#: b-tag discriminant medium working point (CSVv2-like, 2015), used in the skim and the analysis.
BTAG_MEDIUM = 0.800

# fmt: skip (below): branch names listed compactly, grouped by object
#: Reconstructed branches present in every file (data and simulation).
DATA_BRANCHES: tuple[str, ...] = (
    "event",
    "jet_pt", "jet_eta", "jet_phi", "jet_mass", "jet_btag",
    "lep_pt", "lep_eta", "lep_phi", "lep_flavour",
    "met_pt", "met_phi",
)  # fmt: skip

#: Branches present in every simulated file: reconstructed + generator truth + weights.
MC_BRANCHES: tuple[str, ...] = DATA_BRANCHES + (
    "jet_flavour",
    "jet_genpt",
    "weight",
    "weight_lepsf",
    "weight_lepsf_up",
    "weight_lepsf_down",
    "weight_muR_up",
    "weight_muR_down",
    "weight_muF_up",
    "weight_muF_down",
)

#: Parton-shower weights, present in the tt̄ files only.
PS_BRANCHES: tuple[str, ...] = (
    "weight_isr_up",
    "weight_isr_down",
    "weight_fsr_up",
    "weight_fsr_down",
)

#: The detector corrections in the correctionlib JSON format, inside the data folder.
CORRECTIONS_FILE = "corrections.json"

#: Environment variable that overrides the data folder.
DATA_ENV = "STATLESSON_DATA"

_HOW = (
    "run inside the lesson repository (the folder with data/ and episodes/), or set "
    f"{DATA_ENV}=/path/to/the/lesson/data"
)


def _is_lesson(folder: Path) -> bool:
    return (folder / "data").is_dir() and (folder / "episodes").is_dir()


def lesson_root() -> Path:
    """The lesson repository: the folder with ``data/`` and ``episodes/`` that holds
    ``$STATLESSON_DATA`` if set, else the first one above the working folder, or else above this
    package. Raises ``FileNotFoundError`` saying how to fix it."""
    env = os.environ.get(DATA_ENV)
    if env and _is_lesson(Path(env).resolve().parent):
        return Path(env).resolve().parent
    for start in (Path.cwd(), Path(__file__).resolve()):
        for folder in (start, *start.parents):
            if _is_lesson(folder):
                return folder
    raise FileNotFoundError(f"cannot find the lesson repository: {_HOW}")


def data_dir() -> Path:
    """The folder of the bundled data: ``$STATLESSON_DATA`` if set, else the lesson's ``data/``.

    Raises ``FileNotFoundError`` naming the folder and the fix if it does not exist.
    """
    env = os.environ.get(DATA_ENV)
    if env:
        folder = Path(env)
        if not folder.is_dir():
            raise FileNotFoundError(
                f"{DATA_ENV} is set to {folder}, which is not a folder; point it at the lesson's "
                "data/ folder or unset it"
            )
        return folder
    return lesson_root() / "data"


def _regenerate(folder: Path) -> str:
    return (
        f"run `make data` (or `python -m statlesson.toy.data --out {folder}`) to generate the "
        "bundled files"
    )


def data_path(name: str, folder: str | Path | None = None) -> Path:
    """Path of the ntuple of sample ``name``; raises ``FileNotFoundError`` if it is missing.

    ``folder`` defaults to :func:`data_dir`. The error names the missing file and how to
    regenerate the bundled data (``make data``); ``KeyError`` lists the samples for a wrong name.
    """
    sample = get_sample(name)
    folder = Path(folder) if folder is not None else data_dir()
    path = folder / sample.file
    if not path.is_file():
        raise FileNotFoundError(
            f"ntuple for sample '{name}' not found at {path}; {_regenerate(folder)}"
        )
    return path


def corrections_path(folder: str | Path | None = None) -> Path:
    """Path of the corrections file (:data:`CORRECTIONS_FILE`); ``FileNotFoundError`` if missing."""
    folder = Path(folder) if folder is not None else data_dir()
    path = folder / CORRECTIONS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"corrections file not found at {path}; {_regenerate(folder)}")
    return path

"""Detector corrections, read with correctionlib as CMS analyses read the calibration groups' files.

The bundled ``data/corrections.json`` follows the correctionlib JSON schema (version 2). It holds
the jet energy scale uncertainty, the simulation's jet energy resolution, its data/MC scale factor
and the smearing that applies it (``jer_smear``, used by :mod:`statlesson.variations`), the
b-tagging scale factors by flavour and the simulation's tagging efficiency, and the lepton scale
factors, each with ``nominal``/``up``/``down`` where it has an uncertainty (see ``data/README.md``).

One lookup, as in any CMS analysis::

    cset = correctionlib.CorrectionSet.from_file("data/corrections.json")
    delta = cset["jes_uncertainty"].evaluate(pt, eta)  # numpy arrays in, numpy array out

correctionlib takes jagged (per-jet) awkward arrays as they are; the functions here do the
lookup with the file loaded once.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import awkward as ak
import correctionlib

from .ntuple import corrections_path

__all__ = [
    "VARIATIONS",
    "btag_efficiency",
    "btag_scale_factor",
    "evaluate",
    "jer_scale_factor",
    "jes_uncertainty",
    "jet_resolution",
    "lepton_scale_factor",
    "load",
]

#: The variations of a correction with an uncertainty.
VARIATIONS: tuple[str, ...] = ("nominal", "up", "down")


@lru_cache(maxsize=4)
def _load(path: Path) -> correctionlib.CorrectionSet:
    return correctionlib.CorrectionSet.from_file(str(path))


def load(path: str | Path | None = None) -> correctionlib.CorrectionSet:
    """The CorrectionSet of ``path`` (default: the bundled ``corrections.json``), read once.

    Raises ``FileNotFoundError`` naming the file and ``make data`` if it is missing.
    """
    if path is None:
        path = corrections_path()
    path = Path(path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"corrections file not found: {path}; run `make data`")
    return _load(path)


def _check_variation(variation: str) -> str:
    if variation not in VARIATIONS:
        raise ValueError(f"variation must be one of {', '.join(VARIATIONS)}, got {variation!r}")
    return variation


def evaluate(name: str, *inputs, path: str | Path | None = None):
    """Evaluate correction ``name`` on ``inputs``: numbers, numpy arrays or jagged awkward arrays.

    correctionlib keeps the structure of jagged inputs (one entry per jet) and broadcasts numbers
    and strings (such as ``"up"``). Raises ``KeyError`` listing the corrections in the file for an
    unknown ``name``.
    """
    cset = load(path)
    if name not in list(cset):  # (correctionlib's `in` raises for an unknown name)
        raise KeyError(f"no correction '{name}' in the corrections file; it has: {', '.join(cset)}")
    if any(isinstance(x, ak.Array) and x.ndim > 1 for x in inputs):
        return cset[name].evaluate(*inputs)
    flat = [ak.to_numpy(x) if isinstance(x, ak.Array) else x for x in inputs]
    return cset[name].evaluate(*flat)


def jes_uncertainty(pt_gev, eta, *, path: str | Path | None = None):
    """Relative jet energy scale uncertainty (1σ) for jets of ``pt_gev`` and ``eta``."""
    return evaluate("jes_uncertainty", pt_gev, eta, path=path)


def jet_resolution(pt_gev, *, path: str | Path | None = None):
    """Relative jet pT resolution of the simulation for jets of ``pt_gev`` (dimensionless)."""
    return evaluate("jet_resolution", pt_gev, path=path)


def jer_scale_factor(eta, variation: str = "nominal", *, path: str | Path | None = None):
    """Data/MC jet energy resolution scale factor of jets at ``eta``: nominal, up or down.

    Data's resolution is the simulation's (:func:`jet_resolution`) times this factor.
    """
    return evaluate("jer_sf", eta, _check_variation(variation), path=path)


def btag_scale_factor(flavour, variation: str = "nominal", *, path: str | Path | None = None):
    """b-tagging scale factor of jets of hadron ``flavour`` (5, 4, 0) for a ``variation``."""
    return evaluate("btag_sf", flavour, _check_variation(variation), path=path)


def btag_efficiency(pt_gev, flavour, *, path: str | Path | None = None):
    """Tagging efficiency of the simulation at the medium working point, per jet."""
    return evaluate("btag_efficiency", pt_gev, flavour, path=path)


def lepton_scale_factor(pt_gev, eta, variation: str = "nominal", *, path=None):
    """Lepton identification × trigger scale factor for a ``variation``."""
    return evaluate("lepton_sf", pt_gev, eta, _check_variation(variation), path=path)

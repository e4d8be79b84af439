"""The statistical model: the cabinetry configuration, the workspace, and its validation.

The configuration is the YAML file :data:`CONFIG_FILE`; :func:`load_config` reads it and points its
paths at a working folder (each episode's own output folder). :func:`build_workspace` turns it into
a pyhf workspace with cabinetry, and :func:`check_workspace` looks for the mistakes a schema cannot
see: a normalization factor at or below zero (a variation pointing at a histogram that was never
filled), up and down variations that move the prediction the same way (a ``Down`` written with the
wrong sign), empty bins and samples without events.
"""

from __future__ import annotations

import copy
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cabinetry
import jsonschema
import numpy as np
import pandas as pd
import pyhf
import yaml

from .fileio import atomic_output

__all__ = [
    "CONFIG_FILE",
    "ConfigError",
    "Problem",
    "WorkspaceValidationError",
    "build_workspace",
    "check_workspace",
    "load_config",
    "modifier_table",
    "normsys_factors",
    "route_logging_to_stdout",
    "save_workspace",
    "structure_table",
    "validate_config",
    "validate_workspace",
]

#: The lesson's cabinetry configuration (paths relative to a working folder, see load_config).
CONFIG_FILE: Path = Path(__file__).resolve().parents[2] / "episodes" / "ttbar_config.yml"

#: A normsys factor further from 1 than this (down below 1/10 or up above 10) is implausible: such a
#: variation removes or multiplies a sample's yield by an order of magnitude.
IMPLAUSIBLE_FACTOR = 0.1


class ConfigError(ValueError):
    """The configuration is malformed or inconsistent; the message says where and how to fix it."""


@dataclass(frozen=True)
class Problem:
    """One finding of :func:`check_workspace`.

    ``severity`` is ``"error"`` (the model is wrong) or ``"warning"`` (worth a look).
    """

    severity: str
    check: str
    region: str
    sample: str
    modifier: str
    message: str

    def __str__(self) -> str:
        return f"[{self.severity}] {self.message}"


class WorkspaceValidationError(ValueError):
    """The workspace failed a physics sanity check; ``problems`` lists every finding."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"the workspace has {len(problems)} problem(s):\n{lines}")


def route_logging_to_stdout(level: int = logging.WARNING) -> None:
    """Send cabinetry's (and pyhf's) log messages of at least ``level`` to stdout, not stderr.

    In a notebook, stderr output is shown as alarming pink blocks, but these messages are
    information (``logging.INFO`` shows every step) or advice (warnings such as empty bins), not
    errors. Call this once before using cabinetry.
    """
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(levelname)s - %(name)s - %(message)s"))
    for name in ("cabinetry", "pyhf"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.propagate = False
        logger.setLevel(level)


# --------------------------------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------------------------------
def load_config(path: str | Path = CONFIG_FILE, workdir: str | Path = ".") -> dict[str, Any]:
    """Read a cabinetry YAML configuration and point its input and histogram paths at ``workdir``.

    ``General.InputPath`` (the histograms file) and ``General.HistogramFolder`` are taken relative
    to ``workdir``. The configuration is validated (:func:`validate_config`).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"cabinetry configuration not found: {path}")
    try:
        config = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {err}") from None
    if not isinstance(config, dict) or "General" not in config:
        raise ConfigError(
            f"{path} does not look like a cabinetry configuration: expected a mapping with the "
            "blocks General, Regions, Samples, NormFactors (and Systematics)"
        )
    config = copy.deepcopy(config)
    general = config["General"]
    workdir = Path(workdir)
    for key in ("InputPath", "HistogramFolder"):
        if key in general:
            general[key] = str(workdir / general[key])
    validate_config(config)
    return config


def _names(block: Any) -> list[str]:
    return [item.get("Name") for item in block or [] if isinstance(item, dict)]


def _as_list(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def validate_config(config: dict[str, Any]) -> None:
    """Check a configuration against cabinetry's schema and for inconsistencies it cannot see.

    Raises :class:`ConfigError` naming the block and entry at fault: a schema violation; a
    ``Samples``/``Regions`` reference to a name that does not exist; a ``Normalization``
    systematic whose up and down have the same sign (the classic ``Down: {Normalization: 0.03}``
    where ``-0.03`` was meant) or remove the whole sample (≤ −1).
    """
    try:
        cabinetry.configuration.validate(config)
    except jsonschema.ValidationError as err:
        where = "/".join(str(p) for p in err.absolute_path) or "top level"
        raise ConfigError(f"configuration invalid at {where}: {err.message}") from None
    samples = _names(config["Samples"])
    regions = _names(config["Regions"])
    for block in ("Systematics", "NormFactors"):
        for entry in config.get(block, []):
            for key, valid in (("Samples", samples), ("Regions", regions)):
                unknown = [n for n in _as_list(entry.get(key)) if n not in valid]
                if unknown:
                    raise ConfigError(
                        f"{block} entry '{entry['Name']}' refers to unknown {key.lower()[:-1]}(s) "
                        f"{', '.join(unknown)}; valid: {', '.join(valid)}"
                    )
    for syst in config.get("Systematics", []):
        if syst["Type"] != "Normalization":
            continue
        up, down = syst["Up"].get("Normalization"), syst["Down"].get("Normalization")
        if up is None or down is None:
            raise ConfigError(
                f"Normalization systematic '{syst['Name']}' needs Up and Down "
                "{Normalization: <relative change>}"
            )
        if up * down > 0:
            raise ConfigError(
                f"Normalization systematic '{syst['Name']}': Up ({up:+g}) and Down ({down:+g}) "
                f"change the yield in the same direction; for a symmetric ±{abs(up):g} "
                f"uncertainty write Down: {{Normalization: {-up:g}}}"
            )
        if min(up, down) <= -1:
            raise ConfigError(
                f"Normalization systematic '{syst['Name']}': a relative change of "
                f"{min(up, down):g} removes the whole sample; relative changes must be > -1"
            )


# --------------------------------------------------------------------------------------------------
# workspace
# --------------------------------------------------------------------------------------------------
def build_workspace(config: dict[str, Any]) -> dict[str, Any]:
    """Collect the templates, apply symmetrization and build the pyhf workspace with cabinetry.

    Raises ``FileNotFoundError`` if the histograms file of ``General.InputPath`` does not exist
    (build it with :func:`statlesson.histograms.build_histograms` in the same working folder), and
    ``KeyError`` naming the histogram if a template is missing from the file.
    """
    input_file = Path(config["General"]["InputPath"].split(":")[0])
    if not input_file.is_file():
        raise FileNotFoundError(
            f"histograms file {input_file} not found; create it with "
            f"statlesson.histograms.build_histograms('{input_file.parent}')"
        )
    try:
        cabinetry.templates.collect(config, method="uproot")
    except KeyError as err:
        raise KeyError(
            f"a template named in the configuration is not in {input_file}: {err}; "
            "check the systematic's VariationPath against statlesson.histograms.expected_names()"
        ) from None
    cabinetry.templates.postprocess(config)
    return cabinetry.workspace.build(config)


def _total(values: list[float]) -> float:
    return float(np.sum(values))


def check_workspace(workspace: dict[str, Any], *, rel_tol: float = 1e-3) -> list[Problem]:
    """Physics sanity checks of a pyhf workspace (a dict); returns every finding.

    Errors:
      * a ``normsys`` factor ≤ 0, or below 1/10 or above 10 (for example a variation that points at
        a histogram that was never filled gives a factor near 0, i.e. −100 %);
      * a ``normsys`` whose up and down factors are (nearly) equal and away from 1 (one-sided by
        mistake, such as a luminosity ``Down`` written as ``0.03`` instead of ``-0.03``);
      * a bin whose total prediction is ≤ 0 (the Poisson likelihood is undefined there).
    Warnings:
      * a ``normsys`` whose up and down move the yield the same way by different amounts (can be
        physical for small, non-linear effects, but deserves a look);
      * a sample whose nominal yield in a region is 0;
      * a sample with empty bins (its staterror and histosys are undefined there).
    """
    problems: list[Problem] = []
    for channel in workspace["channels"]:
        region = channel["name"]
        total = np.zeros(len(channel["samples"][0]["data"]))
        for sample in channel["samples"]:
            name = sample["name"]
            nominal = np.asarray(sample["data"], dtype=float)
            total += nominal
            where = f"sample '{name}' in region '{region}'"
            if _total(nominal) <= 0:
                problems.append(Problem("warning", "zero yield", region, name, "",
                                        f"{where} has zero yield"))  # fmt: skip
            elif np.any(nominal <= 0):
                bins = np.flatnonzero(nominal <= 0).tolist()
                problems.append(Problem("warning", "empty bins", region, name, "",
                                        f"{where} has empty bins {bins}"))  # fmt: skip
            for mod in sample["modifiers"]:
                if mod["type"] != "normsys":
                    continue
                hi, lo = mod["data"]["hi"], mod["data"]["lo"]
                label = f"normsys '{mod['name']}' on {where}"
                for side, factor in (("up", hi), ("down", lo)):
                    if factor <= IMPLAUSIBLE_FACTOR or factor >= 1 / IMPLAUSIBLE_FACTOR:
                        problems.append(Problem(
                            "error", "implausible factor", region, name, mod["name"],
                            f"{label}: {side} factor {factor:.3g} (a {100 * (factor - 1):+.0f} % "
                            "change) - is the variation pointing at an empty or unfilled histogram?",
                        ))  # fmt: skip
                if (hi - 1) * (lo - 1) > 0 and min(abs(hi - 1), abs(lo - 1)) > rel_tol:
                    direction = "up" if hi > 1 else "down"
                    if abs(hi - lo) <= 0.1 * abs(hi - 1):  # identical: a sign mistake
                        problems.append(Problem(
                            "error", "same direction", region, name, mod["name"],
                            f"{label}: up ({hi:.4g}) and down ({lo:.4g}) both move the yield "
                            f"{direction} by the same amount - is a Down normalization written "
                            "with the wrong sign?",
                        ))  # fmt: skip
                    else:
                        problems.append(Problem(
                            "warning", "same direction", region, name, mod["name"],
                            f"{label}: up ({hi:.4g}) and down ({lo:.4g}) both move the yield "
                            f"{direction}; check that this is physical and not a bug",
                        ))  # fmt: skip
        if np.any(total <= 0):
            bins = np.flatnonzero(total <= 0).tolist()
            problems.append(Problem("error", "empty prediction", region, "", "",
                                    f"region '{region}' has no predicted events in bins {bins}"))  # fmt: skip
    return problems


def validate_workspace(workspace: dict[str, Any]) -> list[Problem]:
    """Validate against pyhf's schema, then run :func:`check_workspace`.

    Raises ``pyhf.exceptions.InvalidSpecification`` for a schema violation (e.g. an unknown modifier
    type) and :class:`WorkspaceValidationError` if any check finds an error; returns the warnings.
    """
    pyhf.Workspace(workspace)  # schema validation
    problems = check_workspace(workspace)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise WorkspaceValidationError(errors)
    return problems


def save_workspace(workspace: dict[str, Any], path: str | Path) -> Path:
    """Write the workspace as JSON, atomically (a failed write never replaces a good file)."""
    path = Path(path)
    with atomic_output(path, ".json.tmp") as tmp, open(tmp, "w") as f:
        json.dump(workspace, f, indent=2, sort_keys=True)
    return path


# --------------------------------------------------------------------------------------------------
# inspection
# --------------------------------------------------------------------------------------------------
def modifier_table(workspace: dict[str, Any]) -> pd.DataFrame:
    """One row per (region, sample, modifier): its type and size.

    For ``normsys`` the ``hi``/``lo`` factors; for ``histosys`` the up/down yields relative to
    nominal; for ``staterror`` the largest relative MC statistical uncertainty of a bin.
    """
    rows = []
    for channel in workspace["channels"]:
        for sample in channel["samples"]:
            nominal = np.asarray(sample["data"], dtype=float)
            n_total = nominal.sum()
            for mod in sample["modifiers"]:
                row = {"region": channel["name"], "sample": sample["name"],
                       "modifier": mod["name"], "type": mod["type"], "up": np.nan, "down": np.nan}  # fmt: skip
                if mod["type"] == "normsys":
                    row["up"], row["down"] = mod["data"]["hi"], mod["data"]["lo"]
                elif mod["type"] == "histosys" and n_total > 0:
                    row["up"] = _total(mod["data"]["hi_data"]) / n_total
                    row["down"] = _total(mod["data"]["lo_data"]) / n_total
                elif mod["type"] in ("staterror", "shapesys"):
                    with np.errstate(divide="ignore", invalid="ignore"):
                        rel = np.where(nominal > 0, np.asarray(mod["data"]) / nominal, 0.0)
                    row["up"] = 1 + float(np.max(rel))
                    row["down"] = 1 - float(np.max(rel))
                rows.append(row)
    return pd.DataFrame(rows)


def normsys_factors(
    workspace: dict[str, Any], modifier: str, region: str, sample: str
) -> tuple[float, float]:
    """``(hi, lo)`` of the ``normsys`` called ``modifier`` on ``sample`` in ``region``.

    Raises ``KeyError`` listing the normsys modifiers of that sample and region if there is none.
    """
    for channel in workspace["channels"]:
        if channel["name"] != region:
            continue
        for s in channel["samples"]:
            if s["name"] != sample:
                continue
            found = {m["name"]: m["data"] for m in s["modifiers"] if m["type"] == "normsys"}
            if modifier not in found:
                raise KeyError(
                    f"no normsys '{modifier}' on sample '{sample}' in region '{region}'; "
                    f"available: {', '.join(found) or 'none'}"
                )
            return float(found[modifier]["hi"]), float(found[modifier]["lo"])
    raise KeyError(f"no sample '{sample}' in region '{region}' in this workspace")


def structure_table(workspace: dict[str, Any]) -> pd.DataFrame:
    """Which modifier types each systematic has, per (region, sample): the region ⊗ sample ⊗
    systematic structure. Rows are modifiers (``staterror`` grouped), columns (region, sample)."""
    table = modifier_table(workspace)
    table["modifier"] = np.where(table["type"] == "staterror", "staterror (MC stat.)",
                                 table["modifier"])  # fmt: skip
    grouped = table.groupby(["modifier", "region", "sample"])["type"].apply(
        lambda types: " + ".join(sorted(set(types)))
    )
    out = grouped.unstack(["region", "sample"]).fillna("")
    order = list(dict.fromkeys(table["modifier"]))
    return out.loc[order]

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

from .fileio import atomic_output, open_root

__all__ = [
    "CONFIG_FILE",
    "ConfigError",
    "MODIFIER_DATA",
    "Problem",
    "WorkspaceSchemaError",
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


#: The modifier types of pyhf and the form of their ``data``, as written in error messages.
MODIFIER_DATA: dict[str, str] = {
    "normfactor": "null",
    "shapefactor": "null",
    "lumi": "null",
    "normsys": "{'hi': <factor>, 'lo': <factor>}",
    "histosys": "{'hi_data': [<yield per bin>], 'lo_data': [<yield per bin>]}",
    "staterror": "[<absolute uncertainty per bin>]",
    "shapesys": "[<absolute uncertainty per bin>]",
}


class ConfigError(ValueError):
    """The configuration is malformed or inconsistent; the message says where and how to fix it."""


class WorkspaceSchemaError(pyhf.exceptions.InvalidSpecification, ValueError):
    """The workspace is not a valid pyhf workspace; the message names the entry at fault and the fix.

    It is a ``pyhf.exceptions.InvalidSpecification`` (what pyhf raises for a schema violation) and a
    ``ValueError``. ``path`` says where the problem is, e.g. ``channels[0].samples[1].modifiers[0]``.
    """

    def __init__(self, message: str, path: str = ""):
        Exception.__init__(self, message)  # pyhf's __init__ wants a jsonschema error object
        self.exc_info = sys.exc_info()
        self.parent = None
        self.schema = "workspace.json"
        self.path = path
        self.instance = None


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
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or " ".join(str(err).split())
        hint = "; indent with spaces, not tabs" if "'\\t'" in problem else ""
        raise ConfigError(f"{path} is not valid YAML{where}: {problem}{hint}") from None
    if not isinstance(config, dict) or "General" not in config:
        raise ConfigError(
            f"{path} does not look like a cabinetry configuration: expected a mapping with the "
            "blocks General, Regions, Samples, NormFactors (and Systematics)"
        )
    config = copy.deepcopy(config)
    general = config["General"]
    if not isinstance(general, dict):
        raise ConfigError(
            f"{path}: the General block must be a mapping (InputPath, HistogramFolder, POI, ...), "
            f"got {general!r}"
        )
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


def _explain(config: dict[str, Any], err: Exception) -> str:
    """Say which entry breaks cabinetry's checks beyond the schema (one data sample, unique names)."""
    n_data = sum(bool(s.get("Data", False)) for s in config["Samples"])
    if n_data != 1:
        return (
            f"Samples: exactly one sample must have Data: true (the observed data), found {n_data}"
        )
    for block in ("Regions", "Samples", "NormFactors", "Systematics"):
        names = _names(config.get(block))
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            return f"{block} has more than one entry named {', '.join(repeated)}; names must be unique"
    return f"configuration invalid: {err}"


def _check_schema(config: dict[str, Any]) -> None:
    """cabinetry's own validation (schema, one data sample, unique names), as a :class:`ConfigError`."""
    try:
        cabinetry.configuration.validate(config)
    except jsonschema.ValidationError as err:
        where = "/".join(str(p) for p in err.absolute_path) or "top level"
        message = err.message
        if err.validator == "uniqueItems":
            message = "two entries are identical; remove the duplicate"
        raise ConfigError(f"configuration invalid at {where}: {message}") from None
    except (ValueError, NotImplementedError) as err:  # cabinetry's checks beyond the schema
        raise ConfigError(_explain(config, err)) from None


def validate_config(config: dict[str, Any]) -> None:
    """Check a configuration against cabinetry's schema and for inconsistencies it cannot see.

    Raises :class:`ConfigError` naming the block and entry at fault: a schema violation; a
    ``Samples``/``Regions`` reference to a name that does not exist; a ``Normalization``
    systematic whose up and down have the same sign (the classic ``Down: {Normalization: 0.03}``
    where ``-0.03`` was meant) or remove the whole sample (≤ −1).
    Two entries of a block with the same ``Name``, or not exactly one data sample, are errors too.
    """
    _check_schema(config)
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

    The configuration is first checked against cabinetry's schema (:class:`ConfigError`); the
    physics checks of :func:`validate_config` are not repeated, so that a configuration with such a
    mistake can still be built and the workspace checks shown on it (episode 4). Raises
    ``FileNotFoundError`` if the histograms file of ``General.InputPath`` does not exist and
    ``OSError`` if it is not a ROOT file (build it with
    :func:`statlesson.histograms.build_histograms` in the same working folder), and ``KeyError``
    naming the histogram if a template is missing from the file.
    """
    _check_schema(config)
    input_file = Path(config["General"]["InputPath"].split(":")[0])
    fix = f"; create it with statlesson.histograms.build_histograms('{input_file.parent}')"
    with open_root(input_file, what="histograms file", fix=fix):
        pass
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


def _is_numbers(values: Any) -> bool:
    """True for a non-empty list (or tuple, or 1D array) of numbers."""
    number = int | float | np.integer | np.floating
    return (
        isinstance(values, list | tuple | np.ndarray)
        and np.ndim(values) == 1
        and len(values) > 0
        and all(isinstance(v, number) and not isinstance(v, bool | np.bool_) for v in values)
    )


def _modifier_issue(mod: Any) -> str | None:
    """What is wrong with one modifier of a sample (None if it follows pyhf's schema)."""
    if not isinstance(mod, dict) or not {"name", "type", "data"} <= set(mod):
        return f"{mod!r} is not a modifier: it needs 'name', 'type' and 'data'"
    kind, data = mod["type"], mod["data"]
    if kind not in MODIFIER_DATA:
        return (
            f"modifier '{mod['name']}' has unknown type {kind!r}; valid types: "
            f"{', '.join(MODIFIER_DATA)}"
        )
    if kind == "normsys":
        ok = isinstance(data, dict) and set(data) == {"hi", "lo"} and _is_numbers([*data.values()])
    elif kind == "histosys":
        ok = (
            isinstance(data, dict)
            and set(data) == {"hi_data", "lo_data"}
            and all(_is_numbers(v) for v in data.values())
        )
    elif kind in ("staterror", "shapesys"):
        ok = _is_numbers(data)
    else:
        ok = data is None
    if not ok:
        return f"{kind} '{mod['name']}' has data {data!r}; a {kind} needs data {MODIFIER_DATA[kind]}"
    return None


def _channels(workspace: Any) -> list[dict[str, Any]]:
    """The channels of ``workspace``, after checking the structure every helper here relies on.

    Raises :class:`WorkspaceSchemaError` naming the first entry that is missing or malformed.
    """
    fix = "; build the workspace with statlesson.model.build_workspace(config)"
    if not isinstance(workspace, dict) or not isinstance(workspace.get("channels"), list):
        got = (
            f"a dict with keys {', '.join(map(repr, workspace)) or '(none)'}"
            if isinstance(workspace, dict)
            else f"a {type(workspace).__name__}"
        )
        raise WorkspaceSchemaError(
            f"not a pyhf workspace: expected a dict with a list of 'channels', got {got}{fix}"
        )
    for i, channel in enumerate(workspace["channels"]):
        where = f"channels[{i}]"
        if not isinstance(channel, dict) or not isinstance(channel.get("samples"), list):
            raise WorkspaceSchemaError(f"{where} needs a 'name' and a list of 'samples'{fix}", where)
        if not channel["samples"]:
            raise WorkspaceSchemaError(f"region '{channel.get('name')}' has no samples{fix}", where)
        for j, sample in enumerate(channel["samples"]):
            where = f"channels[{i}].samples[{j}]"
            if not isinstance(sample, dict) or not {"name", "data", "modifiers"} <= set(sample):
                raise WorkspaceSchemaError(
                    f"{where} needs 'name', 'data' (yield per bin) and 'modifiers'{fix}", where
                )
            if not _is_numbers(sample["data"]):
                raise WorkspaceSchemaError(
                    f"sample '{sample['name']}' in region '{channel.get('name')}' has data "
                    f"{sample['data']!r}; it needs a list with the yield of each bin", where
                )
            for k, mod in enumerate(sample["modifiers"]):
                issue = _modifier_issue(mod)
                if issue:
                    raise WorkspaceSchemaError(
                        f"sample '{sample['name']}' in region '{channel.get('name')}': {issue}",
                        f"{where}.modifiers[{k}]",
                    )
    return workspace["channels"]


def _bin_count_problems(workspace: dict[str, Any]) -> list[Problem]:
    """Errors for per-bin lists whose length is not the number of bins of their region."""
    problems = []
    observed = {
        o.get("name"): o.get("data") for o in workspace.get("observations", []) if isinstance(o, dict)
    }
    for channel in workspace["channels"]:
        region, first = channel["name"], channel["samples"][0]
        nbins = len(first["data"])
        lists: list[tuple[str, str, str, list]] = []  # (sample, modifier, description, values)
        for sample in channel["samples"]:
            name = sample["name"]
            lists.append((name, "", f"the data of sample '{name}'", sample["data"]))
            for mod in sample["modifiers"]:
                if mod["type"] == "histosys":
                    keys = ["hi_data", "lo_data"]
                elif mod["type"] in ("staterror", "shapesys"):
                    keys = [None]
                else:
                    continue
                for key in keys:
                    values = mod["data"] if key is None else mod["data"][key]
                    what = f"{key or 'the data'} of {mod['type']} '{mod['name']}' on sample '{name}'"
                    lists.append((name, mod["name"], what, values))
        if isinstance(observed.get(region), list):
            lists.append(("", "", "the observed data", observed[region]))
        for sample, modifier, what, values in lists:
            if len(values) != nbins:
                problems.append(Problem(
                    "error", "bin count", region, sample, modifier,
                    f"region '{region}': {what} has {len(values)} "
                    f"{'entry' if len(values) == 1 else 'entries'}, but the region has "
                    f"{nbins} bins (like sample '{first['name']}'); give one number per bin",
                ))  # fmt: skip
    return problems


def check_workspace(workspace: dict[str, Any], *, rel_tol: float = 1e-3) -> list[Problem]:
    """Physics sanity checks of a pyhf workspace (a dict); returns every finding.

    Errors:
      * a ``normsys`` factor ≤ 0, or below 1/10 or above 10 (for example a variation that points at
        a histogram that was never filled gives a factor near 0, i.e. −100 %);
      * a ``normsys`` whose up and down factors are (nearly) equal and away from 1 (one-sided by
        mistake, such as a luminosity ``Down`` written as ``0.03`` instead of ``-0.03``);
      * a bin whose total prediction is ≤ 0 (the Poisson likelihood is undefined there);
      * a list of per-bin numbers (sample data, ``histosys`` templates, ``staterror`` and
        ``shapesys`` uncertainties, observed data) whose length is not the region's number of bins.
    Warnings:
      * a ``normsys`` whose up and down move the yield the same way by different amounts (can be
        physical for small, non-linear effects, but deserves a look);
      * a sample whose nominal yield in a region is 0;
      * a sample with empty bins (its staterror and histosys are undefined there).

    Raises :class:`WorkspaceSchemaError` if the workspace is malformed (a missing block, an unknown
    modifier type, modifier data of the wrong form).
    """
    _channels(workspace)
    problems = _bin_count_problems(workspace)
    if problems:
        return problems  # the other checks compare bins: they need consistent lengths
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

    Raises :class:`WorkspaceSchemaError` (a ``pyhf.exceptions.InvalidSpecification``) for a schema
    violation, e.g. an unknown modifier type, naming the region, sample and modifier at fault, and
    :class:`WorkspaceValidationError` if any check finds an error (such as per-bin data of the wrong
    length); returns the warnings.
    """
    _channels(workspace)  # clear messages for the common mistakes, before pyhf's generic ones
    try:
        pyhf.Workspace(workspace)  # schema validation
    except pyhf.exceptions.InvalidSpecification as err:
        raise WorkspaceSchemaError(
            f"the workspace does not follow pyhf's schema at {err.path or 'top level'}: "
            f"{err.parent.message if err.parent is not None else err}",
            err.path,
        ) from None
    problems = check_workspace(workspace)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise WorkspaceValidationError(errors)
    return problems


def save_workspace(workspace: dict[str, Any], path: str | Path) -> Path:
    """Write the workspace as JSON, atomically (a failed write never replaces a good file).

    Raises ``TypeError`` naming the problem if the workspace holds something JSON cannot store (for
    example a numpy array: convert it with ``.tolist()``), and ``IsADirectoryError`` if ``path`` is a
    folder.
    """
    path = Path(path)
    try:
        with atomic_output(path, ".json.tmp") as tmp, open(tmp, "w") as f:
            json.dump(workspace, f, indent=2, sort_keys=True)
    except TypeError as err:
        raise TypeError(
            f"cannot write the workspace to {path} as JSON: {err}; a workspace holds only dicts, "
            "lists, strings, numbers and None (convert numpy arrays with .tolist()); "
            f"{'the previous file is unchanged' if path.exists() else 'nothing was written'}"
        ) from None
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
    for channel in _channels(workspace):
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

    Raises ``KeyError`` listing the normsys modifiers of that sample and region if there is none,
    and the regions or samples of the workspace for an unknown region or sample.
    """
    channels = _channels(workspace)
    regions = [c["name"] for c in channels]
    if region not in regions:
        raise KeyError(f"no region '{region}' in this workspace; regions: {', '.join(regions)}")
    for channel in channels:
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
    names = [s["name"] for c in channels if c["name"] == region for s in c["samples"]]
    raise KeyError(
        f"no sample '{sample}' in region '{region}' in this workspace; samples: {', '.join(names)}"
    )


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

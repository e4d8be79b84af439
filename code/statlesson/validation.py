"""Finding mistakes in the model: the configuration and the workspace.

cabinetry's ``configuration.validate`` and pyhf's ``schema.validate`` check the form; this module
turns their findings into messages that name the entry at fault and the fix, and adds the checks a
schema cannot make: references to samples or regions that do not exist, ``Normalization``
systematics whose up and down have the same sign, ``normsys`` factors near zero (a variation
pointing at a histogram that was never filled), up and down variations that move the prediction
the same way, per-bin lists of the wrong length, empty bins and samples without events.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cabinetry
import jsonschema
import numpy as np
import pyhf

__all__ = [
    "ConfigError",
    "IMPLAUSIBLE_FACTOR",
    "MODIFIER_DATA",
    "Problem",
    "WorkspaceSchemaError",
    "WorkspaceValidationError",
    "check_config_schema",
    "check_data",
    "check_workspace",
    "validate_config",
    "validate_workspace",
    "workspace_channels",
]

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
    """The workspace is not a valid pyhf workspace; the message names the entry and the fix.

    It is a ``pyhf.exceptions.InvalidSpecification`` (what pyhf raises for a schema violation) and a
    ``ValueError``. ``path`` says where the problem is, e.g.
    ``channels[0].samples[1].modifiers[0]``.
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


def _names(block: Any) -> list[Any]:
    return [item.get("Name") for item in block or [] if isinstance(item, dict)]


def _as_list(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _explain(config: dict[str, Any], err: Exception) -> str:
    """Which entry breaks cabinetry's checks beyond the schema (one data sample, unique names)."""
    n_data = sum(bool(s.get("Data", False)) for s in config["Samples"])
    if n_data != 1:
        return (
            f"Samples: exactly one sample must have Data: true (the observed data), found {n_data}"
        )
    for block in ("Regions", "Samples", "NormFactors", "Systematics"):
        names = _names(config.get(block))
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            return (
                f"{block} has more than one entry named {', '.join(repeated)}; names must be unique"
            )
    return f"configuration invalid: {err}"


def check_data(
    model: pyhf.pdf.Model,
    data: Sequence[float],
    *,
    fix: str = "take both from cabinetry.model_utils.model_and_data(workspace)",
) -> np.ndarray:
    """Return ``data`` as a float array after checking that it is the model's data vector.

    pyhf's data vector holds the observed counts of every bin, then the auxiliary data of the
    constraint terms. Raises ``ValueError`` naming the expected numbers, and ``fix`` (how the
    caller builds such a vector), if the length or shape differs, and if a number is not finite or
    a count negative (auxiliary data may be: a Gaussian constraint's, sampled in a toy).
    """
    n_main, n_aux = model.config.nmaindata, model.config.nauxdata
    arr = np.asarray(data, dtype=float)
    if arr.ndim != 1 or arr.size != n_main + n_aux:
        raise ValueError(
            f"data must hold the model's {n_main} observed counts followed by its {n_aux} "
            f"auxiliary data ({n_main + n_aux} numbers), got {arr.size}"
            + (f" in shape {arr.shape}" if arr.ndim != 1 else "")
            + f"; {fix}"
        )
    # counts cannot be negative; auxiliary data can (a Gaussian constraint's, in a toy)
    bad = np.flatnonzero(~np.isfinite(arr) | (np.arange(arr.size) < n_main) & (arr < 0))
    if bad.size:
        raise ValueError(
            f"data must be finite, and the observed counts >= 0; entries {bad.tolist()[:10]} "
            f"are {arr[bad].tolist()[:10]}"
        )
    return arr


def check_config_schema(config: dict[str, Any]) -> None:
    """cabinetry's validation (schema, one data sample, unique names) as a :class:`ConfigError`."""
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
    check_config_schema(config)
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


def _total(values: list[float] | np.ndarray) -> float:
    return float(np.sum(values))


def _location(workspace: dict[str, Any], path: list) -> tuple[str, str]:
    """Where a schema error is, in words (region, sample, modifier), and the modifier's type."""
    words, node, kind = [], workspace, ""
    labels = {"channels": "region", "samples": "sample", "modifiers": "modifier"}
    for key, index in zip(path[::2], path[1::2], strict=False):
        if key not in labels or not isinstance(index, int):
            break
        try:
            node = node[key][index]
        except (KeyError, IndexError, TypeError):
            break
        name = node.get("name") if isinstance(node, dict) else None
        words.append(f"{labels[key]} '{name}'" if name else f"{key}[{index}]")
        if key == "modifiers" and isinstance(node, dict):
            kind = str(node.get("type", ""))
    return ", ".join(words), kind


def _schema_check(workspace: Any) -> dict[str, Any]:
    """``pyhf.schema.validate``, with a :class:`WorkspaceSchemaError` that names the region,
    sample and modifier at fault and, for a modifier, the form of data its type needs."""
    fix = "build the workspace with cabinetry.workspace.build(config)"
    if not isinstance(workspace, dict):
        raise WorkspaceSchemaError(
            f"not a pyhf workspace: expected a dict, got a {type(workspace).__name__}; {fix}"
        )
    try:
        pyhf.schema.validate(workspace, "workspace.json")
    except pyhf.exceptions.InvalidSpecification as err:
        path = list(err.parent.absolute_path) if err.parent is not None else []
        where, kind = _location(workspace, path)
        message = err.parent.message if err.parent is not None else str(err)
        if len(message) > 200:
            message = message[:200] + " ..."
        hint = f"; {fix}"
        if kind in MODIFIER_DATA:
            hint = f"; a {kind} modifier needs 'data': {MODIFIER_DATA[kind]}"
        elif kind:
            hint = f"; unknown modifier type '{kind}', valid types: {', '.join(MODIFIER_DATA)}"
        location = where or "top level"
        if path:
            location += f" ({'/'.join(map(str, path))})"
        raise WorkspaceSchemaError(
            f"the workspace does not follow pyhf's schema at {location}: {message}{hint}",
            err.path,
        ) from None
    return workspace


def _bin_count_problems(workspace: dict[str, Any]) -> list[Problem]:
    """Errors for per-bin lists whose length is not the number of bins of their region."""
    problems = []
    observed = {
        o.get("name"): o.get("data")
        for o in workspace.get("observations", [])
        if isinstance(o, dict)
    }
    for channel in workspace["channels"]:
        region, first = channel["name"], channel["samples"][0]
        nbins = len(first["data"])
        lists: list[tuple[str, str, str, Any]] = []  # (sample, modifier, description, values)
        for sample in channel["samples"]:
            name = sample["name"]
            lists.append((name, "", f"the data of sample '{name}'", sample["data"]))
            for mod in sample["modifiers"]:
                if mod["type"] == "histosys":
                    keys: list[str | None] = ["hi_data", "lo_data"]
                elif mod["type"] in ("staterror", "shapesys"):
                    keys = [None]
                else:
                    continue
                for key in keys:
                    values = mod["data"] if key is None else mod["data"][key]
                    what = (
                        f"{key or 'the data'} of {mod['type']} '{mod['name']}' on sample '{name}'"
                    )
                    lists.append((name, mod["name"], what, values))
        if isinstance(observed.get(region), list):
            lists.append(("", "", "the observed data", observed[region]))
        for sample, modifier, what, values in lists:
            if len(values) != nbins:
                problems.append(
                    Problem(
                        "error",
                        "bin count",
                        region,
                        sample,
                        modifier,
                        f"region '{region}': {what} has {len(values)} "
                        f"{'entry' if len(values) == 1 else 'entries'}, but the region has "
                        f"{nbins} bins (like sample '{first['name']}'); give one number per bin",
                    )
                )
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
    _schema_check(workspace)
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
                problems.append(
                    Problem("warning", "zero yield", region, name, "", f"{where} has zero yield")
                )
            elif np.any(nominal <= 0):
                bins = np.flatnonzero(nominal <= 0).tolist()
                problems.append(
                    Problem(
                        "warning", "empty bins", region, name, "", f"{where} has empty bins {bins}"
                    )
                )
            for mod in sample["modifiers"]:
                if mod["type"] != "normsys":
                    continue
                hi, lo = mod["data"]["hi"], mod["data"]["lo"]
                label = f"normsys '{mod['name']}' on {where}"
                for side, factor in (("up", hi), ("down", lo)):
                    if factor <= IMPLAUSIBLE_FACTOR or factor >= 1 / IMPLAUSIBLE_FACTOR:
                        change = f"a {100 * (factor - 1):+.0f} % change"
                        problems.append(
                            Problem(
                                "error",
                                "implausible factor",
                                region,
                                name,
                                mod["name"],
                                f"{label}: {side} factor {factor:.3g} ({change}) - is the "
                                "variation pointing at an empty or unfilled histogram?",
                            )
                        )
                if (hi - 1) * (lo - 1) > 0 and min(abs(hi - 1), abs(lo - 1)) > rel_tol:
                    direction = "up" if hi > 1 else "down"
                    if abs(hi - lo) <= 0.1 * abs(hi - 1):  # identical: a sign mistake
                        problems.append(
                            Problem(
                                "error",
                                "same direction",
                                region,
                                name,
                                mod["name"],
                                f"{label}: up ({hi:.4g}) and down ({lo:.4g}) both move the yield "
                                f"{direction} by the same amount - is a Down normalization written "
                                "with the wrong sign?",
                            )
                        )
                    else:
                        problems.append(
                            Problem(
                                "warning",
                                "same direction",
                                region,
                                name,
                                mod["name"],
                                f"{label}: up ({hi:.4g}) and down ({lo:.4g}) both move the yield "
                                f"{direction}; check that this is physical and not a bug",
                            )
                        )
        if np.any(total <= 0):
            bins = np.flatnonzero(total <= 0).tolist()
            problems.append(
                Problem(
                    "error",
                    "empty prediction",
                    region,
                    "",
                    "",
                    f"region '{region}' has no predicted events in bins {bins}",
                )
            )
    return problems


def validate_workspace(workspace: dict[str, Any]) -> list[Problem]:
    """Validate against pyhf's schema, then run :func:`check_workspace`.

    Raises :class:`WorkspaceSchemaError` (a ``pyhf.exceptions.InvalidSpecification``) for a schema
    violation, e.g. an unknown modifier type, naming the region, sample and modifier at fault, and
    :class:`WorkspaceValidationError` if any check finds an error (such as per-bin data of the wrong
    length); returns the warnings.
    """
    problems = check_workspace(workspace)  # pyhf's schema first, then the physics checks
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise WorkspaceValidationError(errors)
    return problems


def workspace_channels(workspace: Any) -> list[dict[str, Any]]:
    """The channels of a workspace that follows pyhf's schema (:class:`WorkspaceSchemaError`
    naming the entry at fault otherwise)."""
    return _schema_check(workspace)["channels"]

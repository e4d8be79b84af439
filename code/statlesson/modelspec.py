"""The model specification: the cabinetry configuration and the pyhf workspace built from it.

The configuration is the YAML file :func:`config_file`; :func:`load_config` reads it and points its
paths at a working folder (each episode's own output folder). :func:`build_workspace` turns it into
a pyhf workspace with cabinetry's own steps, :func:`save_workspace` writes it, and the tables
(:func:`modifier_table`, :func:`structure_table`, :func:`normsys_factors`) describe it. Finding
mistakes in either is the job of :mod:`statlesson.validation`.
"""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import cabinetry
import numpy as np
import pandas as pd
import yaml

from . import catalogue, selection
from .fileio import atomic_output, open_root
from .ntuple import lesson_root
from .validation import ConfigError, check_config_schema, validate_config, workspace_channels

logger = logging.getLogger(__name__)

__all__ = [
    "build_workspace",
    "check_against_analysis",
    "config_file",
    "load_config",
    "modifier_table",
    "normsys_factors",
    "save_workspace",
    "structure_table",
]


def config_file() -> Path:
    """The lesson's cabinetry configuration, ``episodes/ttbar_config.yml`` in the repository.

    Its paths are relative to a working folder (see :func:`load_config`).
    """
    return lesson_root() / "episodes" / "ttbar_config.yml"


# --------------------------------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------------------------------
def load_config(path: str | Path | None = None, workdir: str | Path = ".") -> dict[str, Any]:
    """Read a cabinetry YAML configuration and point its input and histogram paths at ``workdir``.

    ``path`` defaults to the lesson's configuration (:func:`config_file`).
    ``General.InputPath`` (the histograms file) and ``General.HistogramFolder`` are taken relative
    to ``workdir``. The configuration is validated (:func:`validate_config`).
    """
    path = Path(path) if path is not None else config_file()
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
    if path.resolve() == config_file().resolve():
        check_against_analysis(config)
    return config


def check_against_analysis(config: dict[str, Any]) -> None:
    """Check that the configuration models the analysis the package fills, in both directions.

    Its ``Regions`` are the regions of :data:`statlesson.selection.REGIONS`, with their binning
    (as ``RegionPath``), its simulated ``Samples`` the model samples of the catalogue (as
    ``SamplePath``), and its ``Normalization`` entries of the catalogue's normalization-only
    systematics act on the catalogue's samples with its sizes. Raises :class:`ConfigError`
    naming what one side has and the other lacks.
    """
    configured = {r.get("RegionPath", r["Name"]): r for r in config["Regions"]}
    declared = selection.REGIONS
    for name in declared:
        if name not in configured:
            raise ConfigError(
                f"the configuration has no region '{name}' of statlesson.selection.REGIONS; "
                f"add a Regions entry with RegionPath '{name}' and Binning "
                f"{declared[name].edges.tolist()}"
            )
    for name, entry in configured.items():
        if name not in declared:
            raise ConfigError(
                f"Regions entry '{entry['Name']}' ({name}) is not a region of the analysis "
                f"({', '.join(declared)}); declare it in statlesson.selection.REGIONS or remove it"
            )
        binning = np.asarray(entry.get("Binning", []), dtype=float)
        edges = declared[name].edges
        if binning.shape != edges.shape or not np.allclose(binning, edges):
            raise ConfigError(
                f"Regions entry '{entry['Name']}': Binning {entry.get('Binning')} differs from "
                f"the region's {declared[name].edges.tolist()} (statlesson.selection.REGIONS)"
            )
    simulated = [s.get("SamplePath", s["Name"]) for s in config["Samples"] if not s.get("Data")]
    for name in catalogue.MODEL_SAMPLES:
        if name not in simulated:
            raise ConfigError(
                f"the configuration has no sample '{name}' of the catalogue's model samples; "
                f"add a Samples entry with SamplePath '{name}'"
            )
    for name in simulated:
        if name not in catalogue.MODEL_SAMPLES:
            raise ConfigError(
                f"Samples entry '{name}' is not a model sample of the catalogue "
                f"({', '.join(catalogue.MODEL_SAMPLES)}); declare it in "
                "statlesson.catalogue.SAMPLES or remove it"
            )
    paths = {s["Name"]: s.get("SamplePath", s["Name"]) for s in config["Samples"]}
    entries = {s["Name"]: s for s in config.get("Systematics", [])}
    for name, syst in catalogue.NORMALIZATION_SYSTEMATICS.items():
        entry = entries.get(name)
        size = syst.size or 0.0
        if entry is None or entry.get("Type") != "Normalization":
            raise ConfigError(
                f"Systematics entry '{name}' of the catalogue is missing or not a Normalization; "
                f"add it with Type Normalization, Up/Down ±{size:g}, Samples "
                f"{', '.join(syst.samples)}"
            )
        listed = entry.get("Samples", [n for n, p in paths.items() if p in simulated])
        acts_on = [paths.get(n, n) for n in ([listed] if isinstance(listed, str) else listed)]
        missing = [s for s in syst.samples if s not in acts_on]
        extra = [s for s in acts_on if s not in syst.samples]
        if missing or extra:
            raise ConfigError(
                f"Systematics entry '{name}' acts on {', '.join(acts_on)}, the catalogue's on "
                f"{', '.join(syst.samples)}: "
                + (f"add {', '.join(missing)} to its Samples" if missing else "")
                + ("; " if missing and extra else "")
                + (f"remove {', '.join(extra)} (or change the catalogue)" if extra else "")
            )
        up, down = entry["Up"]["Normalization"], entry["Down"]["Normalization"]
        if not np.isclose(up, size) or not np.isclose(down, -size):
            raise ConfigError(
                f"Systematics entry '{name}': Up {up:+g} and Down {down:+g} differ from the "
                f"catalogue's ±{size:g} (statlesson.catalogue.SYSTEMATICS, data/README.md)"
            )


# --------------------------------------------------------------------------------------------------
# workspace
# --------------------------------------------------------------------------------------------------
def build_workspace(config: dict[str, Any]) -> dict[str, Any]:
    """Collect and postprocess the templates and build the pyhf workspace with cabinetry.

    The configuration is first checked against cabinetry's schema (:class:`ConfigError`); the
    physics checks of :func:`validate_config` are not repeated, so that a configuration with such a
    mistake can still be built and the workspace checks shown on it (episode 4). Raises
    ``FileNotFoundError`` if the histograms file of ``General.InputPath`` does not exist and
    ``OSError`` if it is not a ROOT file (build it with
    :func:`statlesson.histograms.build_histograms` in the same working folder), and ``KeyError``
    naming the histogram if a template is missing from the file.
    """
    check_config_schema(config)
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
    workspace = cabinetry.workspace.build(config)
    logger.info("built the workspace from the templates of %s", input_file)
    return workspace


def save_workspace(workspace: dict[str, Any], path: str | Path) -> Path:
    """Write the workspace as JSON, atomically (a failed write never replaces a good file).

    Raises ``TypeError`` naming the problem if the workspace holds something JSON cannot store (for
    example a numpy array: convert it with ``.tolist()``), and ``IsADirectoryError`` if ``path``
    is a folder.
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
    for channel in workspace_channels(workspace):
        for sample in channel["samples"]:
            nominal = np.asarray(sample["data"], dtype=float)
            n_total = nominal.sum()
            for mod in sample["modifiers"]:
                row = {
                    "region": channel["name"],
                    "sample": sample["name"],
                    "modifier": mod["name"],
                    "type": mod["type"],
                    "up": np.nan,
                    "down": np.nan,
                }
                if mod["type"] == "normsys":
                    row["up"], row["down"] = mod["data"]["hi"], mod["data"]["lo"]
                elif mod["type"] == "histosys" and n_total > 0:
                    row["up"] = float(np.sum(mod["data"]["hi_data"])) / n_total
                    row["down"] = float(np.sum(mod["data"]["lo_data"])) / n_total
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
    channels = workspace_channels(workspace)
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
    table["modifier"] = np.where(
        table["type"] == "staterror", "staterror (MC stat.)", table["modifier"]
    )
    grouped = table.groupby(["modifier", "region", "sample"])["type"].apply(
        lambda types: " + ".join(sorted(set(types)))
    )
    out = grouped.unstack(["region", "sample"]).fillna("")
    order = list(dict.fromkeys(table["modifier"]))
    return out.loc[order]

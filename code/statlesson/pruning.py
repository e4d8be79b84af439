"""Pruning: which systematic templates the fit needs, judged against the data's precision.

A systematic (or its shape part) is *pruned* when its effect is small compared with what the data
can measure. Each (systematic, sample, region) gets

* ``effect``: the largest relative change of the sample's yield (up or down), times the sample's
  share of the region's total prediction, i.e. the relative change of the total prediction;
* ``data_precision``: the relative statistical precision of the region's data, 1/√N;
* ``shape_resolved``: whether the simulated events resolve a shape change at all (the event-by-
  event shape test of :func:`statlesson.diagnostics.shape_tests`);
* ``shape_chi2_data``: how much the shape part matters for the data, the χ² it adds against
  the data's statistical precision (:func:`statlesson.diagnostics.shape_chi2_data`).

A shape is *needed* in a region if it is resolved and its ``shape_chi2_data`` is at least
PRUNE_FRACTION² (the same threshold as for the yield: (effect / precision)² is the χ² that the
yield change adds). The decision per systematic and sample (:func:`decisions`):

* ``"drop"`` if ``effect`` is below :data:`PRUNE_FRACTION` of ``data_precision`` in every region
  and no region needs its shape: added in quadrature, such an effect changes the total
  uncertainty by at most about ½·PRUNE_FRACTION² (2 %) — an estimate to check by fitting the
  unpruned model (episode 5 does);
* ``"normalization"`` if no region needs a shape and the yield changes by the same factor for
  every sample and region (within :data:`SAME_FACTOR_TOLERANCE`): the lesson then writes one
  ``Normalization`` entry of that size (entries with different ``Name``s and one ``ModifierName``,
  each restricted to some regions or samples, could give one parameter different sizes; cabinetry
  rejects repeated ``Name``s; the lesson keeps one entry per systematic);
* ``"shape"`` otherwise: a ``NormPlusShape`` systematic with templates.
"""

from __future__ import annotations

import copy
import logging

import numpy as np
import pandas as pd

from .catalogue import DATA_SAMPLE, MODEL_SAMPLES, TEMPLATE_SYSTEMATICS
from .diagnostics import variation_summary
from .histograms import Templates
from .selection import REGIONS

logger = logging.getLogger(__name__)

__all__ = [
    "PRUNE_FRACTION",
    "SAME_FACTOR_TOLERANCE",
    "decisions",
    "effect_table",
    "unpruned_config",
]

#: A systematic whose effect on every region's total prediction is below this fraction of the
#: data's statistical precision there is dropped.
PRUNE_FRACTION: float = 0.2

#: Yield factors (up − 1 and 1 − down) that agree within this absolute amount count as the same
#: size, so one ``Normalization`` value can describe them.
SAME_FACTOR_TOLERANCE: float = 0.001


def effect_table(templates: Templates, tests: pd.DataFrame) -> pd.DataFrame:
    """Size of every templated systematic for every sample and region (see the module docstring).

    ``tests`` is the table of :func:`statlesson.diagnostics.shape_tests`. Columns:
    ``systematic``, ``sample``, ``region``, ``up`` and ``down`` (yield factors), ``share``
    (sample yield / total prediction), ``effect``, ``data_precision``, ``shape_resolved``,
    ``shape_chi2_data``. Raises ``KeyError`` naming a missing histogram or shape test.
    """
    rows = []
    for region in REGIONS:
        yields = {s: float(templates.nominal(region, s).values().sum()) for s in MODEL_SAMPLES}
        total = sum(yields.values())
        n_data = float(templates.nominal(region, DATA_SAMPLE).values().sum())
        if total <= 0 or n_data <= 0:
            raise ValueError(f"region {region}: no predicted or no observed events to compare")
        # yield factors and shape test, as episode 3 tabulates them
        summaries = {s: variation_summary(templates, s, region, tests) for s in MODEL_SAMPLES}
        for syst in TEMPLATE_SYSTEMATICS.values():
            for sample in syst.samples:
                row = summaries[sample].loc[syst.name]
                share = yields[sample] / total
                rows.append(
                    {
                        "systematic": syst.name,
                        "sample": sample,
                        "region": region,
                        "up": row["up"],
                        "down": row["down"],
                        "share": share,
                        "effect": max(abs(row["up"] - 1), abs(row["down"] - 1)) * share,
                        "data_precision": 1 / np.sqrt(n_data),
                        "shape_resolved": bool(row["shape resolved"]),
                        "shape_chi2_data": row["shape chi2 vs data"],
                    }
                )
    return pd.DataFrame(rows)


def decisions(effects: pd.DataFrame, *, fraction: float = PRUNE_FRACTION) -> pd.DataFrame:
    """Pruning decision per systematic and sample from an :func:`effect_table`.

    Returns one row per (systematic, sample) with ``largest effect / precision`` and
    ``largest shape chi2 vs data`` (over the regions), ``shape needed`` (in some region) and
    ``decision``: ``"drop"``, ``"normalization"`` or ``"shape"``; the ``"normalization"`` rows
    also carry ``size``, the mean of |factor − 1| over samples and regions.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must lie between 0 and 1, got {fraction}")
    effects = effects.assign(
        ratio=effects["effect"] / effects["data_precision"],
        needed=effects["shape_resolved"] & (effects["shape_chi2_data"] >= fraction**2),
    )
    out = []
    for (name, sample), rows in effects.groupby(["systematic", "sample"], sort=False):
        size = np.abs(np.concatenate([rows["up"] - 1, 1 - rows["down"]]))
        everywhere = effects.loc[effects["systematic"] == name]
        all_sizes = np.abs(np.concatenate([everywhere["up"] - 1, 1 - everywhere["down"]]))
        if rows["ratio"].max() < fraction and not rows["needed"].any():
            decision = "drop"
        elif not everywhere["needed"].any() and np.ptp(all_sizes) < SAME_FACTOR_TOLERANCE:
            decision = "normalization"
        else:
            decision = "shape"
        out.append(
            {
                "systematic": name,
                "sample": sample,
                "largest effect / precision": float(rows["ratio"].max()),
                "largest shape chi2 vs data": float(rows["shape_chi2_data"].max()),
                "shape needed": bool(rows["needed"].any()),
                "decision": decision,
                "size": float(size.mean()) if decision == "normalization" else np.nan,
            }
        )
    table = pd.DataFrame(out)
    logger.info("pruning: %s", table["decision"].value_counts().to_dict())
    return table


def unpruned_config(config: dict) -> dict:
    """A copy of a cabinetry configuration with every templated systematic restored, unpruned.

    Each systematic of :data:`statlesson.catalogue.TEMPLATE_SYSTEMATICS` becomes a
    ``NormPlusShape`` entry on all of its samples, as before pruning (one-sided ones read their
    mirrored ``down``); the other entries (the normalization-only uncertainties without
    templates) stay as they are. ``HistogramFolder`` gets
    the suffix ``_unpruned`` so that the two models keep their templates apart.
    """
    out = copy.deepcopy(config)
    keep = [s for s in out.get("Systematics", []) if s.get("Name") not in TEMPLATE_SYSTEMATICS]
    restored = [
        {
            "Name": syst.name,
            "Type": "NormPlusShape",
            "Up": {"VariationPath": syst.variation_path("up")},
            "Down": {"VariationPath": syst.variation_path("down")},
            "Samples": list(syst.samples),
        }
        for syst in TEMPLATE_SYSTEMATICS.values()
    ]
    out["Systematics"] = keep + restored
    folder = str(out["General"]["HistogramFolder"]).rstrip("/")
    out["General"]["HistogramFolder"] = f"{folder}_unpruned/"
    return out

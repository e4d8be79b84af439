"""Running the Dask filling of :mod:`statlesson.scaleout`: its task graph and its cluster.

* :func:`task_graph_table` and :func:`plot_task_graph` show what Dask will run: the layers of the
  graph (read a chunk, fill its histograms, add them up) and their tasks;
* :func:`worker_processes` and :func:`close_cluster` start-and-stop bookkeeping of a local
  cluster, so that a notebook leaves no worker process behind.
"""

from __future__ import annotations

from typing import Any

import dask
import pandas as pd
from dask.core import get_dependencies

__all__ = ["close_cluster", "plot_task_graph", "task_graph_table", "worker_processes"]


def _layer_label(key: Any) -> str:
    name = key[0] if isinstance(key, tuple) else str(key)
    return name.rsplit("-", 1)[0]  # drop the token Dask appends to every layer name


def _graph(
    collection: Any, optimize: bool
) -> tuple[dict[Any, set[Any]], dict[Any, int], dict[str, list[Any]]]:
    """A collection's tasks: their inputs, their depth and the layers in topological order.

    ``depth`` is the longest path from an input task (the column in :func:`plot_task_graph`);
    ``layers`` maps each layer name (without Dask's token) to its tasks, ordered by depth.
    """
    if optimize:
        (collection,) = dask.optimize(collection)
    tasks = dict(collection.__dask_graph__())
    inputs = {key: get_dependencies(tasks, key) for key in tasks}
    depth: dict[Any, int] = {}

    def visit(key: Any) -> int:
        if key not in depth:
            depth[key] = 1 + max((visit(d) for d in inputs[key]), default=-1)
        return depth[key]

    layers: dict[str, list[Any]] = {}
    for key in sorted(tasks, key=lambda k: (visit(k), _layer_label(k), str(k))):
        layers.setdefault(_layer_label(key), []).append(key)
    return inputs, depth, layers


def task_graph_table(collection: Any, *, optimize: bool = False) -> pd.DataFrame:
    """Layers of a Dask collection's task graph: tasks per layer and the layers each depends on.

    With ``optimize=True`` the graph is shown as Dask will run it, after fusing chains of tasks
    that work on the same chunk. Layer names are shown without the token Dask appends.
    """
    inputs, _, layers = _graph(collection, optimize)
    rows = {
        layer: {
            "tasks": len(keys),
            "depends on": ", ".join(
                sorted({_layer_label(dep) for key in keys for dep in inputs[key]})
            )
            or "—",
        }
        for layer, keys in layers.items()
    }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("layer")


def plot_task_graph(collection: Any, *, optimize: bool = False, ax=None):
    """Draw a collection's task graph: one dot per task, inputs on the left, result on the right.

    Layers (tasks of one kind, one per chunk) share a colour and a label; tasks on the same chunk
    share a row. ``optimize=True`` draws the graph as Dask runs it (see :func:`task_graph_table`).
    Returns the matplotlib axes.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3))
    inputs, depth, layers = _graph(collection, optimize)
    height = max(len(keys) for keys in layers.values())
    position = {}
    placed_at_depth: dict[int, int] = {}  # layers already drawn in each column
    for colour, (layer, keys) in enumerate(layers.items()):
        x = depth[keys[0]]
        shift = 0.22 * placed_at_depth.get(x, 0)
        placed_at_depth[x] = placed_at_depth.get(x, 0) + 1
        for i, key in enumerate(keys):
            position[key] = (x, (height - 1) / 2 - (len(keys) - 1) / 2 + i + shift)
        ax.scatter(
            *zip(*(position[k] for k in keys), strict=True),
            s=90,
            zorder=2,
            color=plt.get_cmap("tab10")(colour % 10),
            label=f"{layer} ({len(keys)})",
        )
    for key, deps in inputs.items():
        for dep in deps:
            (x0, y0), (x1, y1) = position[dep], position[key]
            ax.plot([x0, x1], [y0, y1], color="0.6", lw=1, zorder=1)
    ax.legend(
        loc="center left",
        bbox_to_anchor=(1.0, 0.5),
        frameon=False,
        fontsize=9,
        title="layer (tasks)",
    )
    ax.set_xlim(-0.5, max(depth.values()) + 0.5)
    ax.set_ylim(height, -1)
    ax.set_axis_off()
    return ax


def worker_processes() -> list[Any]:
    """Child processes of this Python process that are still running (``psutil.Process``).

    While a ``LocalCluster`` with ``processes=True`` runs, they are its workers (and their nannies);
    after it is closed the list should be empty. Multiprocessing's resource tracker, a bookkeeping
    process that ends with the Python process, is not listed.
    """
    import psutil

    out = []
    for process in psutil.Process().children(recursive=True):
        try:
            if "resource_tracker" not in " ".join(process.cmdline()):
                out.append(process)
        except psutil.NoSuchProcess:  # ended while we looked
            continue
    return out


def _quiet_worker_shutdown() -> None:
    """Run on each worker before closing: drop its log messages below CRITICAL."""
    import logging

    logging.getLogger("distributed").setLevel(logging.CRITICAL)


def close_cluster(client: Any, cluster: Any) -> list[Any]:
    """Close a Dask client and its cluster; return the worker processes still running (none).

    Closing races with the workers' heartbeats: a worker may try to reach a scheduler that is
    already gone and log "Failed to communicate with scheduler during heartbeat". The message is
    harmless but alarming in a notebook, so the workers and the cluster's own loggers are quietened
    (to CRITICAL) for the shutdown only. Errors in tasks are not affected: they reach the caller as
    exceptions of ``compute``.
    """
    import logging

    client.run(_quiet_worker_shutdown)
    logger = logging.getLogger("distributed")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        client.close()
        cluster.close()
    finally:
        logger.setLevel(level)
    return worker_processes()

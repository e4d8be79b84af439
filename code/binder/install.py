"""Install the lesson's Jupyter settings into an environment (Binder's postBuild runs this).

Binder gives a session about 2 GB, and every episode's kernel holds 150-750 MiB. JupyterLab keeps
a kernel running when its notebook's tab is closed, so a learner who opens every episode in turn
would hold them all until the session runs out of memory and a kernel dies. Two settings keep a
session within its memory:

``overrides.json``
    JupyterLab's default for ``kernelShutdown`` of ``@jupyterlab/notebook-extension:tracker``:
    closing a notebook's tab shuts its kernel down. Installed into
    ``PREFIX/share/jupyter/lab/settings/overrides.json``, the file JupyterLab reads its default
    overrides from.
``jupyter_server_config.json``
    Jupyter Server's ``MappingKernelManager`` culls kernels idle for 30 minutes (checked every
    minute, even with a tab open, never while a cell runs). Installed into
    ``PREFIX/etc/jupyter/jupyter_server_config.json``: Jupyter Server reads that file from every
    config directory (``jupyter --paths``); the ``jupyter_server_config.d/`` folders only enable
    server extensions.

Each file is merged into one that is already there: its other settings stay, the lesson's values
replace the same keys. Running it again changes nothing.

Usage: ``python code/binder/install.py [--prefix PREFIX]``; the default prefix is
``$STATLESSON_PREFIX`` if set (the tests run postBuild into a temporary folder with it), else this
Python's ``sys.prefix``, the environment Binder's Jupyter runs in.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
#: lesson file -> where it goes, relative to the environment's prefix
FILES = {
    HERE / "overrides.json": Path("share/jupyter/lab/settings/overrides.json"),
    HERE / "jupyter_server_config.json": Path("etc/jupyter/jupyter_server_config.json"),
}


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``update`` merged in, section by section (``update`` wins on a key)."""
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def install(prefix: Path) -> list[Path]:
    """Merge every settings file into its place under ``prefix``; return the files written."""
    written = []
    for source, relative in FILES.items():
        target = prefix / relative
        existing = json.loads(target.read_text(encoding="utf-8")) if target.exists() else {}
        merged = merge(existing, json.loads(source.read_text(encoding="utf-8")))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(merged, indent=2) + "\n", encoding="utf-8")
        written.append(target)
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("STATLESSON_PREFIX") or sys.prefix
    parser.add_argument(
        "--prefix",
        type=Path,
        default=Path(default),
        help="the environment to configure (default: %(default)s)",
    )
    args = parser.parse_args()
    for path in install(args.prefix):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Check that the software stack and the bundled data are in place (used by the setup page)."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

from .catalogue import SAMPLES
from .fileio import open_root, root_contents
from .ntuple import TREE_NAME, data_path

__all__ = ["STACK", "inventory", "versions"]


def _declared() -> tuple[str, ...]:
    """The packages ``pyproject.toml`` declares the lesson needs (as installed), then this one."""
    names = []
    for line in metadata.requires("statlesson") or []:
        requirement = Requirement(line)
        if "extra" not in str(requirement.marker or ""):  # not one of the optional extras
            names.append(requirement.name)
    return (*names, "statlesson")


#: Packages the lesson needs: the dependencies declared in pyproject.toml, in its order.
STACK: tuple[str, ...] = _declared()


def versions(packages: tuple[str, ...] = STACK) -> dict[str, str]:
    """Installed version of each package; raises ``ImportError`` naming every missing one."""
    found, missing = {}, []
    for name in packages:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
    if missing:
        raise ImportError(
            f"missing package(s): {', '.join(missing)}; install the lesson with "
            "`pip install -e .` (or `make book`) from the repository root"
        )
    return found


def inventory(data_dir: str | Path | None = None) -> list[dict]:
    """Open every bundled ntuple and describe it: file, tree class, number of events, size in MB.

    Raises ``FileNotFoundError`` (naming the file and ``make data``) if a file is missing,
    ``OSError``
    if a file is not a ROOT file and ``KeyError`` if it has no ``events`` tree (both naming the file
    and ``make data``).
    """
    rows = []
    fix = "; run `make data` to regenerate the bundled ntuples"
    for name in SAMPLES:
        path = data_path(name, data_dir)
        with open_root(path, what="ntuple", fix=fix) as f:
            if TREE_NAME not in f:
                raise KeyError(
                    f"{path} has no TTree '{TREE_NAME}' (it contains: {root_contents(f)}){fix}"
                )
            tree = f[TREE_NAME]
            rows.append(
                {
                    "sample": name,
                    "file": path.name,
                    "tree": f"{TREE_NAME} ({tree.classname})",
                    "events": tree.num_entries,
                    "branches": len([k for k in tree.keys() if k != "njet"]),
                    "size_MB": round(path.stat().st_size / 1e6, 2),
                }
            )
    return rows

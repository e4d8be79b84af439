"""Reading and writing files safely.

Writing: a failed write never replaces a good file with a partial one (:func:`atomic_output`).
Reading: a missing or unreadable ROOT file gives an error that names the file and the fix
(:func:`open_root`), not a low-level traceback from the ROOT reader.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uproot

__all__ = ["atomic_output", "open_root", "root_contents"]


@contextmanager
def atomic_output(path: str | Path, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary file next to ``path``; when the block succeeds, rename it onto ``path``.

    The parent folder is created if needed. If the block raises, the temporary file is removed and
    ``path`` is left as it was. The finished file gets mode 0644. Raises ``IsADirectoryError`` if
    ``path`` is an existing folder (give a file name inside it) and ``NotADirectoryError`` if a
    parent of ``path`` is a file.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; give the path of a file inside it")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise NotADirectoryError(
                    f"cannot write {path}: {parent} is a file, not a folder; choose another path"
                )
            break
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def open_root(
    path: str | Path, *, what: str = "ROOT file", fix: str = ""
) -> uproot.ReadOnlyDirectory:
    """Open the ROOT file ``path`` for reading (use it as ``with open_root(path) as f:``).

    ``what`` names the file in messages (e.g. ``"ntuple"``) and ``fix`` is appended to them (e.g.
    ``"; run `make data` to regenerate it"``). Raises ``FileNotFoundError`` if ``path`` is not a
    file and ``OSError`` if it is not a readable ROOT file (empty, truncated or another format).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found: {path}{fix}")
    try:
        return uproot.open(path)
    except (OSError, ValueError) as err:
        # uproot's message, on one line and without the file name it repeats
        reason = re.split(r"\s(?:for file path|in file)\s", " ".join(str(err).split()))[0]
        raise OSError(f"{what} {path} is not a readable ROOT file ({reason}){fix}") from None


def root_contents(f: uproot.ReadOnlyDirectory) -> str:
    """The names of the objects in an open ROOT file, for error messages ("nothing" if empty)."""
    return ", ".join(key.split(";")[0] for key in f.keys()) or "nothing"

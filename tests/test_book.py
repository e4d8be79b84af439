"""The strict book build: the site builds with no warning from the notebooks executed once by
``test_notebooks.py`` (the execution cache), and runs none of them again."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_notebooks import book_notebooks


@pytest.mark.book
@pytest.mark.slow
def test_strict_book_build(root):
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb if jb.exists() else shutil.which("jupyter-book")), "build", str(root),
           "-W", "-n", "--keep-going", "--all"]  # every page read again: from the cache
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    log = result.stdout[-6000:] + result.stderr[-6000:]
    assert result.returncode == 0, log
    # every notebook's outputs came from the cache that test_notebooks.py filled: none ran again
    assert "Executing notebook" not in result.stdout + result.stderr, (
        "the book build executed a notebook: run the notebook tests first (`make test` does)\n" + log
    )
    assert (result.stdout + result.stderr).count("Using cached notebook") == len(book_notebooks())
    html = root / "_build" / "html"
    assert (html / "index.html").is_file()
    setup_page = (html / "episodes" / "setup.html").read_text()
    # the setup notebook was executed: its inventory table lists the TTrees
    assert "events (TTree)" in setup_page

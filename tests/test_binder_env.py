"""Binder: every launch link points at the repository, and postBuild installs only the helper.

mybinder.org builds the environment from ``environment.yml`` (conda: Python and pip; then the lock,
``requirements.lock``, from PyPI) and runs ``postBuild``. That the environment file installs exactly
the lock, which ``make install`` installs too, is checked in ``test_environment.py``; that the lock
works is what every other test shows, since they run in it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml


def _repository_url(root: Path) -> str:
    config = yaml.safe_load((root / "_config.yml").read_text())
    return config["repository"]["url"].rstrip("/")


def test_launch_buttons_are_configured(root):
    config = yaml.safe_load((root / "_config.yml").read_text())
    assert config["repository"]["url"].startswith("https://github.com/")
    assert config["repository"]["branch"]
    assert config["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    assert config["launch_buttons"]["notebook_interface"] == "jupyterlab"


# GitHub links in the files below that are not the lesson's own repository (none so far).
OTHER_GITHUB_LINKS: set[str] = set()


@pytest.mark.parametrize("path", ["intro.md", "README.md", "episodes/setup.ipynb"])
def test_links_use_the_configured_repository(root, path):
    """The Binder badge, the clone commands and the citation use the URL set in _config.yml."""
    url = _repository_url(root)
    owner_repo = url.removeprefix("https://github.com/")
    branch = yaml.safe_load((root / "_config.yml").read_text())["repository"]["branch"]
    text = (root / path).read_text()
    assert "<repository-url>" not in text
    for found in re.findall(r"https://github\.com/[\w.-]+/[\w.-]+", text):
        assert found == url or found in OTHER_GITHUB_LINKS, (
            f"{path} links to {found}, but _config.yml says the repository is {url} (a link to "
            "another project belongs in OTHER_GITHUB_LINKS)"
        )
    for found in re.findall(r"https://mybinder\.org/v2/gh/([\w.-]+/[\w.-]+)/([\w.-]+)", text):
        assert found == (owner_repo, branch), f"{path}: Binder link to {found}"
    if path != "episodes/setup.ipynb":
        badge = f"https://mybinder.org/v2/gh/{owner_repo}/{branch}"
        assert badge in text, f"no Binder badge in {path}"


def test_postbuild_installs_only_the_helper_package(root):
    postbuild = root / "postBuild"
    assert os.access(postbuild, os.X_OK), "postBuild must be executable"
    commands = [
        line.strip()
        for line in postbuild.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert "python -m pip install --no-deps -e ." in commands

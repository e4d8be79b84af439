"""Binder: the pinned environment installs and works, and every launch link points at the repo.

mybinder.org builds the environment from ``environment.yml`` (conda: python 3.11 and pip; the rest
from PyPI) and then runs ``postBuild``. The slow test does the pip equivalent in a fresh virtual
environment: exactly the pinned versions, then ``postBuild``, then imports the whole stack.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

# Import name of every pinned distribution whose module name differs from it.
IMPORT_NAMES = {
    "pyyaml": "yaml",
    "boost-histogram": "boost_histogram",
    "jupyter-book": "jupyter_book",
    "sphinx-exercise": "sphinx_exercise",
    "pytest-xdist": "xdist",
}


def _environment(root: Path) -> tuple[list[str], list[str]]:
    env = yaml.safe_load((root / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    return conda, pip


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


@pytest.mark.slow
def test_pinned_environment_installs_and_imports(root, tmp_path):
    """A fresh venv with exactly the pins of environment.yml, then postBuild, imports everything."""
    conda, pip_pins = _environment(root)
    python_pin = next(d for d in conda if d.startswith("python"))
    assert python_pin == f"python={sys.version_info.major}.{sys.version_info.minor}", (
        f"environment.yml pins {python_pin}, but the tests run on Python "
        f"{sys.version_info.major}.{sys.version_info.minor}"
    )

    env_dir = tmp_path / "binder-env"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    env = dict(os.environ, VIRTUAL_ENV=str(env_dir), PIP_DISABLE_PIP_VERSION_CHECK="1")
    env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{env['PATH']}"
    env.pop("PYTHONPATH", None)

    def run(*cmd, timeout=600, cwd=None):
        result = subprocess.run(
            cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout
        )
        assert result.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n" + (
            result.stdout[-4000:] + result.stderr[-4000:]
        )
        return result.stdout

    requirements = tmp_path / "binder-requirements.txt"
    requirements.write_text("\n".join(pip_pins) + "\n")
    run(python, "-m", "pip", "install", "--quiet", "--no-compile", "-r", requirements,
        timeout=900)  # fmt: skip
    run("bash", root / "postBuild", cwd=root)  # Binder runs it from the repository root
    run(python, "-m", "pip", "check")

    pinned = {}  # exact pins; jupyterlab (Binder only) has a range
    for req in map(Requirement, pip_pins):
        specs = list(req.specifier)
        if len(specs) == 1 and specs[0].operator == "==":
            pinned[req.name] = specs[0].version
    modules = sorted(IMPORT_NAMES.get(name, name.replace("-", "_")) for name in pinned)
    modules += ["jupyterlab", "statlesson", "statlesson.setupcheck"]
    check = f"""
import importlib, importlib.metadata as md, json, sys
for module in {modules!r}:
    importlib.import_module(module)
pinned = {pinned!r}
wrong = {{n: md.version(n) for n, v in pinned.items() if md.version(n) != v}}
assert not wrong, f"installed versions differ from environment.yml: {{wrong}}"
from statlesson import setupcheck
print(json.dumps({{"python": sys.version.split()[0], **setupcheck.versions()}}))
"""
    out = run(python, "-c", check, timeout=300)
    assert '"statlesson"' in out and '"python": "3.11' in out, out
    # the helper package comes from this checkout (editable), as on Binder
    where = run(python, "-c", "import statlesson; print(statlesson.__file__)")
    assert Path(where.strip()).resolve().is_relative_to((root / "code").resolve()), where

"""Binder: every launch link points at the repository; postBuild installs the helper package and
the Jupyter settings that keep a session within Binder's memory.

mybinder.org builds the environment from ``environment.yml`` (conda: Python and pip; then the lock,
``requirements.lock``, from PyPI) and runs ``postBuild``. That the environment file installs exactly
the lock, which ``make install`` installs too, is checked in ``test_environment.py``; that the lock
works is what every other test shows, since they run in it.

The settings (``code/binder/``, installed by ``code/binder/install.py``): closing a notebook's tab
shuts its kernel down (JupyterLab's ``kernelShutdown``) and Jupyter Server culls kernels idle for
30 minutes. Here postBuild runs into a temporary prefix (``STATLESSON_PREFIX``; the package install
is skipped), and the files it writes are read back by JupyterLab's settings code, checked against
JupyterLab's schema, and loaded by Jupyter Server's own config loader.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from jupyter_server.serverapp import ServerApp
from jupyter_server.services.kernels.kernelmanager import (
    AsyncMappingKernelManager,
    MappingKernelManager,
)
from jupyterlab.commands import get_app_dir
from jupyterlab_server.settings_utils import get_settings


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


def _postbuild_commands(root: Path) -> list[str]:
    return [
        line.strip()
        for line in (root / "postBuild").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_postbuild_installs_the_helper_package_and_the_settings(root):
    postbuild = root / "postBuild"
    assert os.access(postbuild, os.X_OK), "postBuild must be executable"
    commands = _postbuild_commands(root)
    assert commands[0] == "set -euo pipefail"
    assert "python -m pip install --no-deps -e ." in commands
    assert "python code/binder/install.py" in commands


# --- the Jupyter settings for Binder ----------------------------------------------------------

BINDER = Path(__file__).resolve().parents[1] / "code" / "binder"
TRACKER = "@jupyterlab/notebook-extension:tracker"
LAB_OVERRIDES = Path("share/jupyter/lab/settings/overrides.json")
SERVER_CONFIG = Path("etc/jupyter/jupyter_server_config.json")
CULLING = {"cull_idle_timeout": 1800, "cull_interval": 60, "cull_connected": True,
           "cull_busy": False}  # fmt: skip
#: the configurable classes the server config may set (the server's default kernel manager
#: reads the MappingKernelManager section: it is a subclass)
SERVER_CLASSES = {"MappingKernelManager": MappingKernelManager}


def _run_postbuild(root: Path, tmp_path: Path) -> Path:
    """Run postBuild as Binder does (from the repository root), with ``python -m pip`` recorded
    instead of run and the settings installed into a temporary prefix; return the prefix."""
    prefix, shims = tmp_path / "prefix", tmp_path / "shims"
    shims.mkdir(exist_ok=True)
    log = tmp_path / "pip-calls.log"
    python = shims / "python"
    python.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = -m ] && [ "$2" = pip ]; then echo "$*" >> "{log}"; exit 0; fi\n'
        f'exec "{sys.executable}" "$@"\n'
    )
    python.chmod(0o755)
    env = dict(os.environ, PATH=f"{shims}{os.pathsep}{os.environ['PATH']}",
               STATLESSON_PREFIX=str(prefix))  # fmt: skip
    subprocess.run([str(root / "postBuild")], cwd=root, env=env, check=True,
                   capture_output=True, text=True)  # fmt: skip
    assert "-m pip install --no-deps -e ." in log.read_text()
    return prefix


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_postbuild_writes_the_settings_and_can_run_again(root, tmp_path):
    prefix = _run_postbuild(root, tmp_path)
    overrides, server = prefix / LAB_OVERRIDES, prefix / SERVER_CONFIG
    assert _read(overrides) == _read(BINDER / "overrides.json")
    assert _read(server) == _read(BINDER / "jupyter_server_config.json")
    assert _read(overrides)[TRACKER]["kernelShutdown"] is True
    assert _read(server)["MappingKernelManager"] == CULLING
    before = {path: path.read_bytes() for path in (overrides, server)}
    _run_postbuild(root, tmp_path)
    assert {path: path.read_bytes() for path in before} == before, "a second run changed a file"


def test_the_settings_go_where_jupyter_reads_them(monkeypatch):
    """Into this environment, by default: JupyterLab's app settings folder and a config folder of
    Jupyter Server (jupyter_server_config.d/ would only enable extensions)."""
    monkeypatch.delenv("JUPYTERLAB_DIR", raising=False)
    prefix = Path(sys.prefix).resolve()
    assert Path(get_app_dir()) / "settings" == (prefix / LAB_OVERRIDES).parent
    config_paths = [Path(p).resolve() for p in ServerApp().config_file_paths]
    assert (prefix / SERVER_CONFIG).parent in config_paths


def _schema(plugin: str) -> dict:
    package, name = plugin.rsplit(":", 1)
    return _read(Path(get_app_dir()) / "schemas" / package / f"{name}.json")


def test_jupyterlab_shuts_a_kernel_down_with_its_tab(root, tmp_path):
    """Every override is valid for its plugin's schema (no unknown key: the schemas forbid
    them), and JupyterLab's settings server gives kernelShutdown true as the default."""
    prefix = _run_postbuild(root, tmp_path)
    overrides = _read(prefix / LAB_OVERRIDES)
    for plugin, values in overrides.items():
        schema = _schema(plugin)
        jsonschema.Draft7Validator.check_schema(schema)
        errors = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(values)]
        assert not errors, f"{plugin}: {errors}"
    settings, _ = get_settings(
        str(prefix / LAB_OVERRIDES.parent),
        str(Path(get_app_dir()) / "schemas"),
        str(tmp_path / "user-settings"),
        schema_name=TRACKER,
    )
    assert settings["schema"]["properties"]["kernelShutdown"]["default"] is True
    assert settings["raw"] == "{}"  # from the overrides, not from a user's settings


def _unknown_traits(config: dict) -> list[str]:
    """Sections that are not a known configurable class, and options that are not their traits."""
    unknown = []
    for section, values in config.items():
        cls = SERVER_CLASSES.get(section)
        if cls is None:
            unknown.append(section)
            continue
        traits = set(cls.class_trait_names(config=True))
        unknown += [f"{section}.{name}" for name in values if name not in traits]
    return unknown


def test_the_trait_check_sees_a_misspelt_trait():
    assert _unknown_traits({"MappingKernelManager": {"cull_idle_timeout": 1}}) == []
    assert _unknown_traits({"MappingKernelManager": {"cull_idle_timout": 1}}) == [
        "MappingKernelManager.cull_idle_timout"]  # fmt: skip
    assert _unknown_traits({"KernelManagerr": {}}) == ["KernelManagerr"]


def test_jupyter_server_culls_idle_kernels(root, tmp_path, monkeypatch):
    """Jupyter Server's config loader, given the prefix's config folder, finds the culling values,
    the server's kernel manager takes them, and every option it read is a known trait."""
    prefix = _run_postbuild(root, tmp_path)
    folder = prefix / SERVER_CONFIG.parent
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(folder))
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "user-config"))  # none of the user's
    app = ServerApp()
    app.load_config_file()
    manager = AsyncMappingKernelManager(config=app.config)
    assert {name: getattr(manager, name) for name in CULLING} == CULLING
    loaded = [Path(f) for f in app.loaded_config_files if Path(f).is_relative_to(folder)]
    assert loaded
    for path in loaded:
        assert _unknown_traits(_read(path)) == [], path


def test_postbuild_keeps_the_other_settings_of_existing_files(root, tmp_path):
    prefix = tmp_path / "prefix"
    theme = {"@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"}}
    existing_lab = {**theme, TRACKER: {"kernelShutdown": False, "maxNumberOutputs": 10}}
    existing_server = {"ServerApp": {"iopub_msg_rate_limit": 2000},
                       "MappingKernelManager": {"cull_idle_timeout": 60,
                                                "buffer_offline_messages": False}}  # fmt: skip
    for relative, content in ((LAB_OVERRIDES, existing_lab), (SERVER_CONFIG, existing_server)):
        (prefix / relative).parent.mkdir(parents=True)
        (prefix / relative).write_text(json.dumps(content))
    _run_postbuild(root, tmp_path)
    assert _read(prefix / LAB_OVERRIDES) == {
        **theme, TRACKER: {"kernelShutdown": True, "maxNumberOutputs": 10}}  # fmt: skip
    assert _read(prefix / SERVER_CONFIG) == {
        "ServerApp": {"iopub_msg_rate_limit": 2000},
        "MappingKernelManager": {**CULLING, "buffer_offline_messages": False},
    }

"""One declaration (pyproject.toml), one lock (requirements.lock), installed everywhere.

``make lock`` writes the lock from the declaration; ``make install`` (and so ``make test`` and
``.ci/run``) and Binder's ``environment.yml`` install exactly the lock. These tests check that the
files agree, that the lock serves Python 3.11 to 3.13, that this environment is exactly the lock,
and that every package the code, the tests and the notebooks import is declared.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

LOCK = "requirements.lock"
# Installed in the venv but not part of the lock: the installers and the lesson's own package.
NOT_LOCKED = {"pip", "uv", "statlesson", "setuptools", "wheel"}
PYTHONS = ("3.11", "3.12", "3.13")


def _project(root):
    return tomllib.loads((root / "pyproject.toml").read_text())["project"]


def _declared(root) -> dict[str, Requirement]:
    project = _project(root)
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += extra
    return {canonicalize_name(r.name): r for r in map(Requirement, reqs)}


def _lock(root) -> list[tuple[str, str, Marker | None]]:
    """(name, version, marker) of every pin in the lock."""
    pins = []
    for line in (root / LOCK).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        req = Requirement(line)
        (spec,) = req.specifier
        assert spec.operator == "==", f"{LOCK}: {line} is not an exact pin"
        pins.append((canonicalize_name(req.name), spec.version, req.marker))
    return pins


def _environment(python: str) -> dict[str, str]:
    """Marker environment of Linux x86-64 CPython ``python``."""
    return {"python_version": python, "python_full_version": f"{python}.5", "sys_platform": "linux",
            "os_name": "posix", "platform_system": "Linux", "platform_machine": "x86_64",
            "implementation_name": "cpython", "platform_python_implementation": "CPython"}  # fmt: skip


def _pins_for(root, env: dict[str, str]) -> dict[str, str]:
    chosen: dict[str, str] = {}
    for name, version, marker in _lock(root):
        if marker is None or marker.evaluate(env):
            assert name not in chosen, f"{LOCK} pins {name} twice for {env['python_version']}"
            chosen[name] = version
    return chosen


def test_requires_python_is_open_above(root):
    assert _project(root)["requires-python"] == ">=3.11"


def test_every_declared_dependency_has_lower_and_upper_bound(root):
    for name, req in _declared(root).items():
        ops = {s.operator for s in req.specifier}
        assert ">=" in ops and "<" in ops, f"{name}: {req.specifier}"


def test_lock_is_written_from_the_declaration_for_every_supported_python(root):
    header = (root / LOCK).read_text()
    command = re.search(r"uv pip compile (.+)", header)
    assert command, f"{LOCK} was not written by `make lock`"
    for flag in ("pyproject.toml", "--all-extras", "--universal", "--python-version 3.11"):
        assert flag in command.group(1), f"{LOCK} was compiled without {flag}: run `make lock`"
    declared = _declared(root)
    for python in PYTHONS:
        pins = _pins_for(root, _environment(python))
        for name, req in declared.items():
            assert name in pins, f"{name} is declared but not locked for Python {python}"
            assert req.specifier.contains(pins[name], prereleases=True), (
                f"{LOCK} pins {name}=={pins[name]}, outside {req.specifier} (pyproject.toml): "
                "run `make lock`"
            )


def test_the_lock_pins_directly_only_what_is_declared(root):
    """uv marks the packages pyproject.toml asks for with `statlesson (pyproject.toml)`: a package
    dropped from the declaration but left in the lock is caught here."""
    direct, current = set(), None
    for line in (root / LOCK).read_text().splitlines():
        if line and not line.startswith(("#", " ")):
            current = canonicalize_name(Requirement(line).name)
        elif "statlesson (pyproject.toml)" in line and current is not None:
            direct.add(current)
    assert direct == set(_declared(root)), "run `make lock`"


def test_make_install_and_binder_install_the_lock(root):
    makefile = (root / "Makefile").read_text()
    assert f"LOCK := {LOCK}" in makefile
    install = re.search(r"^\$\(STAMP\):.*\n((?:\t.*\n)+)", makefile, re.M).group(1)
    assert "pip sync --python $(BIN)/python $(LOCK)" in install
    assert "--no-deps -e ." in install
    assert (root / ".ci" / "run").read_text().strip().endswith("make test")

    env = yaml.safe_load((root / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pip == [f"-r {LOCK}"], "Binder must install the lock and nothing else"
    python = next(d for d in conda if d.startswith("python="))
    assert python.removeprefix("python=") in PYTHONS


def test_this_environment_is_exactly_the_lock(root):
    env = {"python_version": f"{sys.version_info.major}.{sys.version_info.minor}"}
    env = {**_environment(env["python_version"]), "python_full_version": sys.version.split()[0]}
    locked = _pins_for(root, env)
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    wrong = {n: (installed.get(n), v) for n, v in locked.items() if installed.get(n) != v}
    assert not wrong, f"installed vs locked versions differ (run `make install`): {wrong}"
    extra = set(installed) - set(locked) - NOT_LOCKED
    assert not extra, f"installed but not in {LOCK}: {sorted(extra)}"


# --- every import is declared ---------------------------------------------------------------


def _imports(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _notebook_sources(root):
    for path in sorted((root / "episodes").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        code = [c["source"] if isinstance(c["source"], str) else "".join(c["source"])
                for c in cells if c["cell_type"] == "code"]  # fmt: skip
        # IPython magics and shell escapes are not Python
        lines = [ln for ln in "\n".join(code).splitlines() if not ln.lstrip().startswith(("%", "!"))]
        yield path, "\n".join(lines)


@functools.cache
def _providers() -> dict[str, list[str]]:
    """Import name -> distributions providing it (reading every installed distribution: once)."""
    return metadata.packages_distributions()


def _undeclared(modules: set[str], allowed: set[str]) -> set[str]:
    # the lesson's package and the modules of this folder, which tests import from each other
    local = {"statlesson"} | {path.stem for path in Path(__file__).parent.glob("*.py")}
    providers = _providers()
    missing = set()
    for module in modules - set(sys.stdlib_module_names) - local:
        dists = {canonicalize_name(d) for d in providers.get(module, [module])}
        if not dists & allowed:
            missing.add(f"{module} (from {', '.join(sorted(dists))})")
    return missing


def test_every_import_is_declared(root):
    declared = set(_declared(root))
    core = {canonicalize_name(Requirement(r).name) for r in _project(root)["dependencies"]}
    package = set()
    for path in (root / "code" / "statlesson").glob("*.py"):
        package |= _imports(path.read_text())
    assert not _undeclared(package, core), "the helper package imports undeclared packages"
    others = set()
    for path in (root / "tests").glob("*.py"):
        others |= _imports(path.read_text())
    for _, source in _notebook_sources(root):
        others |= _imports(source)
    assert not _undeclared(others, declared), "tests or notebooks import undeclared packages"


def test_the_import_check_sees_an_undeclared_import(root):
    assert _undeclared({"yaml", "numpy"}, {"pyyaml", "numpy"}) == set()
    assert _undeclared({"sqlalchemy"}, {"pyyaml"}) == {"sqlalchemy (from sqlalchemy)"}


# --- the Makefile's choice of Python ---------------------------------------------------------


def _fake(folder: Path, name: str, works: bool) -> None:
    script = folder / name
    if works:
        script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    else:  # what a pyenv shim prints for a version that is not selected
        script.write_text(f"#!/bin/sh\necho 'pyenv: {name}: command not found' >&2\nexit 127\n")
    script.chmod(0o755)


def _chosen(root, folder: Path) -> str:
    env = dict(os.environ, PATH=str(folder))  # only the fake interpreters
    env.pop("PYTHON", None)
    out = subprocess.run([shutil.which("make"), "-s", "-C", str(root), "which-python"], env=env,
                         capture_output=True, text=True, check=True)  # fmt: skip
    return out.stdout.strip()


@pytest.mark.parametrize(
    ("present", "expected"),
    [
        ({"python3.13": False, "python3.12": True, "python3.11": True}, "python3.12"),
        ({"python3.13": True, "python3.12": True, "python3.11": True}, "python3.13"),
        ({"python3.12": True, "python3.11": True, "python3": True}, "python3.12"),
        ({"python3.11": True, "python3": True}, "python3.11"),
        ({"python3": True}, "python3"),
    ],
)
def test_make_picks_the_newest_working_python(root, tmp_path, present, expected):
    for name, works in present.items():
        _fake(tmp_path, name, works)
    assert _chosen(root, tmp_path) == expected


def test_make_refuses_a_python_older_than_311(root, tmp_path):
    script = tmp_path / "python3"
    script.write_text("#!/bin/sh\nexit 1\n")  # sys.exit(sys.version_info < (3, 11)) on 3.10
    script.chmod(0o755)
    assert _chosen(root, tmp_path) == ""

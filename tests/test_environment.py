"""pyproject.toml declares the dependencies once; environment.yml pins the same set for Binder."""

from __future__ import annotations

import tomllib

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

# Binder needs a notebook server; it is not a dependency of the lesson's package.
BINDER_ONLY = {"jupyterlab"}


def _declared(root):
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += extra
    return {canonicalize_name(r.name): r for r in map(Requirement, reqs)}


def _pinned(root):
    env = yaml.safe_load((root / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    return conda, {canonicalize_name(r.name): r for r in map(Requirement, pip)}


def test_same_packages_in_both_files(root):
    declared = _declared(root)
    _, pinned = _pinned(root)
    assert set(declared) == set(pinned) - BINDER_ONLY


def test_every_pin_is_exact_and_inside_the_declared_range(root):
    declared = _declared(root)
    _, pinned = _pinned(root)
    for name, req in pinned.items():
        if name in BINDER_ONLY:
            continue
        (spec,) = req.specifier
        assert spec.operator == "==", f"{name} is not pinned exactly in environment.yml"
        assert declared[name].specifier.contains(spec.version, prereleases=True), (
            f"{name}=={spec.version} (environment.yml) is outside {declared[name].specifier} "
            "(pyproject.toml)"
        )


def test_every_declared_dependency_has_lower_and_upper_bound(root):
    for name, req in _declared(root).items():
        ops = {s.operator for s in req.specifier}
        assert ">=" in ops and "<" in ops, f"{name}: {req.specifier}"


def test_binder_python_and_jupyter_book_major(root):
    conda, pinned = _pinned(root)
    assert "python=3.11" in conda
    assert pinned["jupyter-book"].specifier.contains("1.0.4.post1")
    assert not _declared(root)["jupyter-book"].specifier.contains("2.0.0")

import pytest

from statlesson import setupcheck
from statlesson.catalogue import SAMPLES


def test_the_stack_is_what_pyproject_declares(root):
    """The setup page lists exactly the declared dependencies (no second list to keep up)."""
    import tomllib

    from packaging.requirements import Requirement

    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    declared = [Requirement(r).name for r in project["dependencies"]]
    assert list(setupcheck.STACK) == [*declared, "statlesson"]
    found = setupcheck.versions()
    assert set(found) == set(setupcheck.STACK)


def test_versions_names_missing_packages():
    with pytest.raises(ImportError, match="no-such-package-xyz"):
        setupcheck.versions(("numpy", "no-such-package-xyz"))


def test_inventory_opens_every_file_as_ttree():
    rows = setupcheck.inventory()
    assert [r["sample"] for r in rows] == list(SAMPLES)
    assert all(r["tree"] == "events (TTree)" and r["events"] > 1000 for r in rows)


def test_inventory_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="make data"):
        setupcheck.inventory(tmp_path)

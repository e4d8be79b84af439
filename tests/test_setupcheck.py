import pytest

from statlesson import setupcheck
from statlesson.catalogue import SAMPLES


def test_versions_reports_every_package():
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

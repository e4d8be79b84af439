import pytest

from statlesson.fileio import atomic_output


def test_successful_write_replaces_the_file(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    with atomic_output(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]
    assert oct(target.stat().st_mode & 0o777) == "0o644"


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("good")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_output(target) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("boom")
    assert target.read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]

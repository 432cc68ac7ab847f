"""dlgrader.collect: submissions from a folder tree, an LMS zip and git repositories."""

import io
import os
import zipfile

import pytest
from nbgrader.utils import parse_utc
from tiny_course import A, fingerprint, students, tree

from dlgrader import collect


def test_collect_folder(course, notebook, tmp_path, caplog):
    """Known assignments are copied, unknown ones skipped, students created, sources untouched."""
    src = tree(tmp_path / "src", {f"amy/{A}/tiny.ipynb": notebook,
                                  f"amy/{A}/.ipynb_checkpoints/tiny-checkpoint.ipynb": b"{}",
                                  "amy/00_unknown/x.ipynb": notebook,
                                  f"ben/{A}/tiny.ipynb": notebook, f"ben/{A}/timestamp.txt":
                                  b"2024-01-02 03:04:05.000000 UTC"})
    os.utime(src / "amy" / A / "tiny.ipynb", (1_700_000_000, 1_700_000_000))
    stale = tree(course / "submitted" / "amy" / A, {"old.txt": b"old"}) / "old.txt"
    before = fingerprint(src)
    assert collect.collect_folder(course, src) == [("amy", A), ("ben", A)]
    assert fingerprint(src) == before
    got = course / "submitted" / "amy" / A
    assert (got / "tiny.ipynb").read_bytes() == notebook and not stale.exists()
    assert not (got / ".ipynb_checkpoints").exists()
    assert parse_utc((got / "timestamp.txt").read_text()).timestamp() == 1_700_000_000
    assert (course / "submitted" / "ben" / A / "timestamp.txt").read_text().startswith("2024")
    assert not (course / "submitted" / "amy" / "00_unknown").exists()
    assert "00_unknown" in caplog.text
    assert {"amy", "ben"} <= students(course)


def test_collect_folder_only_given_assignments(course, notebook, tmp_path):
    """``assignments`` restricts the collection; a traversing name is refused."""
    src = tree(tmp_path / "src", {f"cid/{A}/tiny.ipynb": notebook})
    assert collect.collect_folder(course, src, ["01_other"]) == []
    assert collect.collect_folder(course, src, [A]) == [("cid", A)]
    with pytest.raises(ValueError, match="invalid assignment"):
        collect.collect_folder(course, src, ["../99_tiny"])


def test_collect_folder_rejects_escaping_symlinks(course, notebook, tmp_path):
    """A symlink out of src (file or folder) refuses the whole collection; nothing is copied."""
    secret = tree(tmp_path / "outside", {"secret.ipynb": notebook})
    src = tree(tmp_path / "src", {f"dan/{A}/tiny.ipynb": notebook})
    (src / "dan" / A / "leak.ipynb").symlink_to(secret / "secret.ipynb")
    with pytest.raises(ValueError, match="outside"):
        collect.collect_folder(course, src)
    assert not (course / "submitted" / "dan").exists()
    (src / "dan" / A / "leak.ipynb").unlink()
    (src / "eve").mkdir()
    (src / "eve" / A).symlink_to(secret, target_is_directory=True)
    with pytest.raises(ValueError, match="outside"):
        collect.collect_folder(course, src)
    assert not (course / "submitted" / "dan").exists()


def test_collect_folder_refuses_its_own_destination(course):
    """Collecting submitted/ into itself would replace the source: refused."""
    with pytest.raises(ValueError, match="overlap"):
        collect.collect_folder(course, course / "submitted")


def zip_bytes(files):
    """A zip (bytes) holding ``files`` (name -> bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_collect_zip(course, notebook, tmp_path, caplog):
    """Canvas/Moodle names, a nested zip per student; the zip itself stays untouched."""
    nested = zip_bytes({f"{A}/tiny.ipynb": notebook})
    lms = tmp_path / f"{A}_submissions.zip"
    lms.write_bytes(zip_bytes({"fay_1234_5678_tiny-1.ipynb": notebook,
                               "gus_4711_assignsubmission_file_work.zip": nested,
                               "hal_1_2_notes.txt": b"not a notebook",
                               "ivy_3_4_other.ipynb": notebook}))
    before = fingerprint(tmp_path)
    assert collect.collect_zip(course, A, lms) == [("fay", A), ("gus", A)]
    assert fingerprint(tmp_path) == before
    for student in ("fay", "gus"):
        assert (course / "submitted" / student / A / "tiny.ipynb").read_bytes() == notebook
    assert not (course / "submitted" / "ivy").exists()
    assert "ivy_3_4_other.ipynb" in caplog.text
    assert {"fay", "gus"} <= students(course)
    assert (course / "downloaded" / A / "archive" / lms.name).exists()


def test_collect_zip_custom_regexp_and_cli(course, notebook, tmp_path, capsys):
    """--regexp takes a named_regexp; {extracted} and {notebooks} are filled in."""
    lms = tmp_path / "moodle.zip"
    lms.write_bytes(zip_bytes({"Jo Lee_98765_assignsubmission_file_tiny.ipynb": notebook}))
    regexp = (r"^{extracted}/[^/]+/[^/_]+_(?P<student_id>\d+)_assignsubmission_file_"
              r"(?P<file_id>{notebooks})\.ipynb$")
    argv = ["zip", A, str(lms), "--regexp", regexp, "--course-root", str(course)]
    assert collect.main(argv) == 0
    assert "98765\t99_tiny" in capsys.readouterr().out
    assert (course / "submitted" / "98765" / A / "tiny.ipynb").exists()


def test_collect_zip_rejects_traversal(course, notebook, tmp_path):
    """Entries climbing out with '..', in the zip or in a nested zip, refuse the zip."""
    bad = tmp_path / "bad.zip"
    bad.write_bytes(zip_bytes({"../kim_1_tiny.ipynb": notebook}))
    with pytest.raises(ValueError, match="traversal"):
        collect.collect_zip(course, A, bad)
    bad.write_bytes(zip_bytes({"kim_1.zip": zip_bytes({"../../x.ipynb": notebook})}))
    with pytest.raises(ValueError, match="traversal"):
        collect.collect_zip(course, A, bad)
    with pytest.raises(ValueError, match="no assignment"):
        collect.collect_zip(course, "00_nope", bad)


def test_folder_cli(course, notebook, tmp_path, capsys):
    """python -m dlgrader.collect folder SRC --course-root ROOT."""
    src = tree(tmp_path / "src", {f"lea/{A}/tiny.ipynb": notebook})
    assert collect.main(["--course-root", str(course), "folder", str(src)]) == 0
    assert "lea\t99_tiny" in capsys.readouterr().out
    assert collect.main(["folder", str(tmp_path / "missing"), "--course-root", str(course)]) == 1

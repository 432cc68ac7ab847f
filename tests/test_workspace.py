"""dlutils.workspace: a student's copy gains new files and never loses their work."""

from dlutils.workspace import sync_workspace


def test_sync_copies_new_and_keeps_existing(tmp_path):
    """First sync copies everything; edits survive a second sync; new files arrive."""
    release = tmp_path / "release"
    (release / "01_a").mkdir(parents=True)
    (release / "01_a" / "a.ipynb").write_text("blank")
    ws = tmp_path / "ws"
    assert [p.name for p in sync_workspace(ws, release)] == ["a.ipynb"]
    (ws / "01_a" / "a.ipynb").write_text("my answers")
    (release / "02_b").mkdir()
    (release / "02_b" / "b.ipynb").write_text("blank")
    (release / "01_a" / "a.ipynb").write_text("updated release")
    assert [p.name for p in sync_workspace(ws, release)] == ["b.ipynb"]
    assert (ws / "01_a" / "a.ipynb").read_text() == "my answers"

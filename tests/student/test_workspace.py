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


def test_main_adds_the_lecture_companions(tmp_path, capsys):
    from dlutils.workspace import main

    dest = tmp_path / "ws"
    assert main([str(dest)]) == 0
    assert sorted(p.name for p in (dest / "companions").glob("*.ipynb")) == [
        "week1_neural_networks_and_scale.ipynb", "week2_computation_graph_and_vectorisation.ipynb",
        "week3_shallow_networks.ipynb", "week4_deep_networks.ipynb",
        "weeks1_2_course2_improving_deep_networks.ipynb"]
    assert (dest / "02_logistic_regression" / "logistic_regression.ipynb").is_file()
    assert "companions/week1" in capsys.readouterr().out
    (dest / "companions" / "week1_neural_networks_and_scale.ipynb").write_text("mine")
    main([str(dest)])
    assert (dest / "companions" / "week1_neural_networks_and_scale.ipynb").read_text() == "mine"

"""dlutils.runtime: full runs for a person, short and silent ones under nbgrader."""

import pytest

from dlutils.runtime import cost_progress, demo_iterations, progress, under_grading


def test_person(monkeypatch):
    """Without NBGRADER_EXECUTION demos run in full with a progress bar."""
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert not under_grading()
    assert demo_iterations(2500) == 2500
    bar = progress(range(3))
    assert list(bar) == [0, 1, 2] and hasattr(bar, "close")


@pytest.mark.parametrize("mode", ["autograde", "validate"])
def test_grading(monkeypatch, mode):
    """Under nbgrader demos shrink and the iterable is returned bare (no stderr output)."""
    monkeypatch.setenv("NBGRADER_EXECUTION", mode)
    assert under_grading()
    assert demo_iterations(2500) == 10
    assert demo_iterations(5) == 5
    assert demo_iterations(2500, grading=200) == 200
    r = range(3)
    assert progress(r) is r


def test_bad_arguments():
    """Negative counts are refused."""
    with pytest.raises(ValueError):
        demo_iterations(-1)


def test_cost_progress_follows_printed_costs(monkeypatch, capsys):
    """The course's cost lines still print and move the bar; nothing changes under grading."""
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    with cost_progress(300, "training"):
        for i in (0, 100, 200, 299):
            print(f"Cost after iteration {i}: 0.5")
    out = capsys.readouterr().out
    assert out.count("Cost after iteration") == 4
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    with cost_progress(300):
        print("Cost after iteration 0: 0.5")
    assert capsys.readouterr().out == "Cost after iteration 0: 0.5\n"

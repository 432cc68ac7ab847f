"""dlutils.companion: verdicts of the lecture companions' self-checks."""

import numpy as np

from dlutils.checks import check_close
from dlutils.companion import FAILED, NOT_ATTEMPTED, PASSED, self_check, unanswered


def test_unanswered_finds_ellipsis_anywhere():
    assert unanswered(...)
    assert unanswered({"W1": (3, 2), "b1": ...})
    assert unanswered([1, [2, ...]])
    assert not unanswered({"W1": (3, 2)})
    assert not unanswered(np.zeros(3))


def test_verdicts(capsys):
    def check(x):
        check_close(x, np.array([1.0, 2.0]), name="z")

    self_check("z", ..., check)
    assert capsys.readouterr().out.startswith(f"{NOT_ATTEMPTED} z: not attempted")
    self_check("z", np.array([1.0, 2.0]), check)
    assert capsys.readouterr().out.startswith(f"{PASSED} z: correct")
    self_check("z", np.array([1.0, 3.0]), check)
    out = capsys.readouterr().out
    assert out.startswith(f"{FAILED} z: not yet") and "expected" in out


def test_errors_in_the_answer_are_reported_not_raised(capsys):
    def check(x):
        check_close(x @ np.ones((3, 1)), np.ones((2, 1)))

    self_check("product", np.ones((2, 2)), check)
    out = capsys.readouterr().out
    assert out.startswith(f"{FAILED} product: checking it raised ValueError")

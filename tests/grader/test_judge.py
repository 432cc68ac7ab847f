"""dlgrader.judge with the real agent (dlgrader.agent) on a real socket, without a kernel: the
student's namespace is a dict in this process's main thread, the judge runs in a thread, as
in grading."""

from __future__ import annotations

import threading
import time

import nbformat
import numpy as np
import pytest

from dlgrader import agent, judge, wire

IMPORTS = "import time\nimport numpy as np\nfrom dlutils.checks import CheckError, " \
          "check_close, check_not_mutated, snapshot\n"
REFERENCE = {
    "double": "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n",
    "quadruple": "def quadruple(x):\n    ### BEGIN SOLUTION\n    return double(double(x))\n"
                 "    ### END SOLUTION\n",
    "draw": "def draw(n):\n    ### BEGIN SOLUTION\n    return np.random.randn(n)\n"
            "    ### END SOLUTION\n",
    "slow": "def slow(x):\n    ### BEGIN SOLUTION\n    time.sleep(0.05)\n    return x\n"
            "    ### END SOLUTION\n",
    "many": "def many(n):\n    ### BEGIN SOLUTION\n    return sum(slow(1.0) for _ in range(n))\n"
            "    ### END SOLUTION\n",
}


def notebook(tmp_path):
    cells = [nbformat.v4.new_code_cell(IMPORTS, metadata={"nbgrader": {
        "grade": False, "solution": False, "locked": True, "grade_id": "imports"}})]
    for name, source in REFERENCE.items():
        cells.append(nbformat.v4.new_code_cell(source, metadata={"nbgrader": {
            "grade": False, "solution": True, "locked": False, "grade_id": f"{name}_solution"}}))
        cells.append(nbformat.v4.new_code_cell("pass", metadata={"nbgrader": {
            "grade": True, "solution": False, "locked": True, "points": 1,
            "grade_id": f"{name}_works"}}))
    path = tmp_path / "tiny.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    return path


@pytest.fixture
def make(tmp_path):
    reference = judge.Reference(notebook(tmp_path))
    judges = []

    def factory(limit=2.0, on_unresponsive=lambda: None, grace=judge.GRACE_SECONDS):
        folder = tmp_path / f"j{len(judges)}"
        folder.mkdir()
        j = judge.Judge(reference, folder, call_limit=limit, on_unresponsive=on_unresponsive,
                        grace=grace)
        judges.append(j)
        return j
    yield factory
    for j in judges:
        j.close()


def student(code: str) -> dict:
    namespace = {"np": np}
    exec(code, namespace)
    return namespace


def run(j: judge.Judge, source: str, grade_id: str, namespace: dict) -> judge.CellOutcome:
    stop, result = threading.Event(), []
    thread = threading.Thread(target=lambda: result.append(j.run_cell(source, grade_id, stop)))
    thread.start()
    agent.serve(j.path, namespace)
    stop.set()
    thread.join(30)
    return result[0]


def test_reference_shape_of_an_assignment(tmp_path):
    ref = judge.Reference(notebook(tmp_path))
    assert ref.graded == {"double", "quadruple", "draw", "slow", "many"}
    assert ref.calls == {"double": [], "quadruple": ["double"], "draw": [], "slow": [],
                         "many": ["slow"]}
    assert ref.random == {"draw"} and ref.own_function("quadruple_works") == "quadruple"
    assert "check_close" in ref.prelude and "double" not in ref.prelude


def test_right_and_wrong_answers(make):
    test = "check_close(double(np.arange(3.0)), np.array([0.0, 2.0, 4.0]), 'double(x)')\n"
    assert run(make(), test, "double_works", student("def double(x):\n    return 2 * x"))\
        .error is None
    outcome = run(make(), test, "double_works", student("def double(x):\n    return x + x + 1"))
    assert outcome.error[0] == "CheckError" and "double(x): values differ" in outcome.error[1]


def test_prints_exceptions_mutation_and_signature(make):
    code = ("def double(x, scale=2):\n    print('hello from double')\n"
            "    if isinstance(x, str):\n        raise ValueError('no strings')\n"
            "    x *= 0\n    return x\n")
    test = (
        "import contextlib, inspect, io\n"
        "buf = io.StringIO()\n"
        "with contextlib.redirect_stdout(buf):\n    double(1.0)\n"
        "assert buf.getvalue() == 'hello from double\\n', buf.getvalue()\n"
        "double(2.0)  # not captured by the test: must not reach the cell's output\n"
        "try:\n    double('a')\nexcept ValueError as e:\n    print('caught', e)\n"
        "assert inspect.signature(double).parameters['scale'].default == 2\n"
        "z = np.ones(3)\nbefore = snapshot(z)\ndouble(z)\ncheck_not_mutated(before, z, 'x')\n")
    outcome = run(make(), test, "double_works", student(code))
    assert outcome.text == "caught no strings\n"
    assert outcome.error[0] == "CheckError" and "x" in outcome.error[1]


def test_random_state_travels(make):
    test = ("np.random.seed(5)\ngot = draw(4)\nnp.random.seed(5)\n"
            "check_close(got, np.random.randn(4), 'draw')\n"
            "np.random.seed(5)\nfirst, second = draw(2), draw(2)\n"
            "assert not np.allclose(first, second)\n")
    assert run(make(), test, "draw_works", student(
        "def draw(n):\n    return np.random.randn(n)")).error is None
    assert run(make(), test, "draw_works", student(
        "def draw(n):\n    np.random.seed(5)\n    return np.random.randn(n)")).error is not None


def test_values_that_cannot_cross_fail_the_test_clearly(make):
    for code in ("def double(x):\n    return np.asmatrix(x)",
                 "class Yes:\n    def __eq__(self, o):\n        return True\n"
                 "def double(x):\n    return Yes()"):
        outcome = run(make(), "check_close(double(np.ones((1, 2))), 2 * np.ones((1, 2)))",
                      "double_works", student(code))
        assert outcome.error[0] == "UngradableValue", outcome.error
        assert "cannot check" in outcome.error[1]


def test_each_function_is_graded_on_its_own(make):
    wrong_double = "def double(x):\n    return 3 * x\n"
    right_quadruple = "def quadruple(x):\n    return double(double(x))\n"
    j = make()
    ns = student(wrong_double + right_quadruple)
    assert run(j, "check_close(double(1.0), 2.0)", "double_works", ns).error is not None
    outcome = run(j, "check_close(quadruple(1.5), 6.0)", "quadruple_works", ns)
    assert outcome.error is None
    assert "quadruple is right when it calls a correct double" in outcome.note
    assert ns["double"](1.0) == 3.0  # the student's own function is back after the call
    # the test cell itself sees the reference of the other graded functions
    assert run(make(), "check_close(double(2.0), 4.0)", "quadruple_works", ns).error is None


def test_time_spent_on_reference_results_is_not_the_students(make):
    """40 calls of a helper whose reference takes 0.05 s each: 2 s, over a 1 s limit, yet the
    student's own work is quick, so the call is not timed out."""
    ns = student("def many(n):\n    return sum(slow(1.0) for _ in range(n))\n")
    outcome = run(make(limit=1.0), "check_close(many(40), 40.0)", "many_works", ns)
    assert outcome.error is None, outcome.error


def test_a_function_that_does_not_return(make):
    j = make(limit=1.0)
    ns = student("def double(x):\n    while True:\n        pass\n")
    start = time.monotonic()
    first = run(j, "double(1.0)", "double_works", ns)
    second = run(j, "double(2.0)", "double_works", ns)
    assert first.error[0] == "CallTimedOut" and "did not return within 1 s" in first.error[1]
    assert second.error == first.error and time.monotonic() - start < 5
    assert j.timeouts == [{"function": "double", "seconds": 1.0}]


def test_a_function_that_ignores_the_time_limit_ends_the_kernel(make):
    ended = []
    j = make(limit=0.5, on_unresponsive=lambda: ended.append(True), grace=0.5)
    ns = student("import signal\ndef double(x):\n    signal.signal(signal.SIGALRM, "
                 "lambda *a: None)\n    import time\n    time.sleep(3)\n    return 2 * x\n")
    outcome = run(j, "double(1.0)", "double_works", ns)
    assert outcome.error[0] == "CallTimedOut" and ended == [True]
    later = j.run_cell("pass", "quadruple_works", threading.Event())  # the kernel is gone
    assert later.error[0] == "KernelUnresponsive"


def test_test_code_never_reaches_the_student(make, monkeypatch):
    seen: list[bytes] = []
    real = wire.recv

    def spy(sock, *rest):
        message = real(sock, *rest)
        seen.append(repr(message).encode())
        return message
    monkeypatch.setattr(agent.wire, "recv", spy)
    secret = "_hidden_marker_value = 12345.678"
    test = f"{secret}\ncheck_close(double(np.ones(2)), 2 * np.ones(2))\n"
    assert run(make(), test, "double_works", student("def double(x):\n    return 2 * x"))\
        .error is None
    assert seen and not [m for m in seen if b"_hidden_marker" in m or b"12345.678" in m]

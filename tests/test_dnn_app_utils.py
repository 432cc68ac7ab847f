"""A5's helper module dnn_app_utils.py: generated, in sync, and faithful to A4's solutions.

The module is written by tools/build_dnn_app_utils.py from the solution cells of the A4 source
notebook. These tests ask that the committed file is what the generator writes now, that its
functions compute what A4's reference solutions compute (executed here from the notebook's
solution cells), and that its A5-specific parts (seed 1, 0.01 and 1/sqrt(n_{l-1}) scales,
predict) behave as the course specifies.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

import dlutils.activations as activations

REPO = Path(__file__).resolve().parent.parent
TOOL = REPO / "tools" / "build_dnn_app_utils.py"
MODULE = REPO / "source" / "05_deep_nn_application" / "dnn_app_utils.py"
A4_NOTEBOOK = REPO / "source" / "04_deep_nn_step_by_step" / "deep_nn_step_by_step.ipynb"

DEPTHS = [[6, 1], [6, 5, 1], [7, 5, 3, 1], [8, 6, 5, 4, 3, 1]]


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # argparse/dataclass machinery may look the module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tool() -> ModuleType:
    return _load(TOOL, "build_dnn_app_utils")


@pytest.fixture(scope="module")
def dau() -> ModuleType:
    return _load(MODULE, "dnn_app_utils_under_test")


@pytest.fixture(scope="module")
def a4() -> dict:
    """A4's reference solutions: every solution cell of the A4 notebook, executed in order."""
    nb = json.loads(A4_NOTEBOOK.read_text(encoding="utf-8"))
    namespace = {"np": np, "copy": copy, "__name__": "a4_reference"}
    namespace.update({name: getattr(activations, name) for name in activations.__all__})
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and cell["metadata"].get("nbgrader", {}).get("solution"):
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            grade_id = cell["metadata"]["nbgrader"].get("grade_id")
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(source, f"<A4 {grade_id}>", "exec"), namespace)
    return namespace


def _problem(seed: int, dims: list[int], m: int = 9):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((dims[0], m))
    Y = (rng.random((1, m)) < 0.5).astype(float)
    parameters = {}
    for layer in range(1, len(dims)):
        parameters[f"W{layer}"] = rng.standard_normal((dims[layer], dims[layer - 1])) * 0.5
        parameters[f"b{layer}"] = rng.standard_normal((dims[layer], 1)) * 0.1
    return X, Y, parameters


def _assert_same(got, expected, path: str = "result") -> None:
    """Recursively equal structures: same types of containers, arrays equal to 1e-12."""
    if isinstance(expected, dict):
        assert isinstance(got, dict) and sorted(got) == sorted(expected), path
        for key in expected:
            _assert_same(got[key], expected[key], f"{path}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert type(got) is type(expected) and len(got) == len(expected), path
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            _assert_same(g, e, f"{path}[{i}]")
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15, err_msg=path)
        assert np.shape(got) == np.shape(expected), path


# --- (1) the committed module is what the generator writes -------------------------------------

def test_committed_module_is_up_to_date(tool):
    """The committed dnn_app_utils.py is byte-identical to a fresh build from the A4 notebook."""
    assert MODULE.read_text(encoding="utf-8") == tool.build(A4_NOTEBOOK), (
        "source/05_deep_nn_application/dnn_app_utils.py is out of date: run "
        ".venv/bin/python tools/build_dnn_app_utils.py")


def test_check_flag_reports_up_to_date_and_stale_files(tool, tmp_path, capsys):
    """--check exits 0 on the committed file and 1 on a stale copy, which it leaves alone."""
    assert tool.main(["--check"]) == 0
    stale = tmp_path / "dnn_app_utils.py"
    stale.write_text(MODULE.read_text(encoding="utf-8").replace("0.01", "0.02"))
    before = stale.read_text()
    assert tool.main(["--check", "--output", str(stale)]) == 1
    assert stale.read_text() == before
    assert "out of date" in capsys.readouterr().err


def test_build_writes_deterministic_output(tool, tmp_path):
    """Writing twice gives byte-identical files; a rebuild reports the file unchanged."""
    out = tmp_path / "dnn_app_utils.py"
    assert tool.main(["--output", str(out)]) == 0
    first = out.read_bytes()
    assert tool.main(["--output", str(out)]) == 0
    assert out.read_bytes() == first == MODULE.read_bytes()


def test_module_says_it_is_generated_and_has_no_solution_markers():
    """The header names the generator, the source notebook and the command; no markers remain."""
    text = MODULE.read_text(encoding="utf-8")
    head = text[:1500]
    assert "GENERATED FILE - DO NOT EDIT" in head
    assert "tools/build_dnn_app_utils.py" in head
    assert "source/04_deep_nn_step_by_step/deep_nn_step_by_step.ipynb" in head
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    assert "HIDDEN TESTS" not in text


def test_missing_function_is_a_clear_error(tool, tmp_path):
    """A notebook without one of the needed functions fails the build, naming the function."""
    nb = json.loads(A4_NOTEBOOK.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if "def L_model_backward(" in source:
            cell["source"] = source.replace("def L_model_backward(", "def renamed_backward(")
    broken = tmp_path / "a4.ipynb"
    broken.write_text(json.dumps(nb))
    with pytest.raises(tool.BuildError, match="L_model_backward"):
        tool.build(broken)


def test_module_passes_ruff():
    """The generated module is lint-clean under the repository's ruff configuration (ruff is a
    test dependency, installed by ./course test)."""
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent))
    assert ruff, "ruff is missing: install the test extras (./course test does)"
    result = subprocess.run([ruff, "check", str(MODULE)], cwd=REPO, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_module_exports(dau):
    """__all__ lists the building blocks A5 uses, and every name in it exists."""
    expected = {"initialize_parameters", "initialize_parameters_deep", "linear_forward",
                "linear_activation_forward", "L_model_forward", "compute_cost",
                "linear_backward", "linear_activation_backward", "L_model_backward",
                "update_parameters", "predict"}
    assert set(dau.__all__) == expected
    assert all(callable(getattr(dau, name)) for name in dau.__all__)


# --- (2) the A4 building blocks agree with A4's reference solutions -----------------------------

@pytest.mark.parametrize("dims", DEPTHS, ids=lambda d: f"L{len(d) - 1}")
def test_forward_and_cost_agree_with_a4(dau, a4, dims):
    """linear_forward, linear_activation_forward, L_model_forward and compute_cost match A4."""
    X, Y, parameters = _problem(len(dims), dims)
    _assert_same(dau.linear_forward(X, parameters["W1"], parameters["b1"]),
                 a4["linear_forward"](X, parameters["W1"], parameters["b1"]))
    for activation in ("relu", "sigmoid"):
        _assert_same(
            dau.linear_activation_forward(X, parameters["W1"], parameters["b1"], activation),
            a4["linear_activation_forward"](X, parameters["W1"], parameters["b1"], activation))
    got_AL, got_caches = dau.L_model_forward(X, parameters)
    exp_AL, exp_caches = a4["L_model_forward"](X, parameters)
    _assert_same(got_AL, exp_AL, "AL")
    _assert_same(got_caches, exp_caches, "caches")
    assert len(got_caches) == len(dims) - 1
    _assert_same(dau.compute_cost(exp_AL, Y), a4["compute_cost"](exp_AL, Y), "cost")


@pytest.mark.parametrize("dims", DEPTHS, ids=lambda d: f"L{len(d) - 1}")
def test_backward_agrees_with_a4(dau, a4, dims):
    """linear_backward, linear_activation_backward and L_model_backward match A4."""
    X, Y, parameters = _problem(10 + len(dims), dims)
    AL, caches = a4["L_model_forward"](X, parameters)
    rng = np.random.default_rng(len(dims))
    dZ = rng.standard_normal(AL.shape)
    _assert_same(dau.linear_backward(dZ, caches[-1][0]), a4["linear_backward"](dZ, caches[-1][0]))
    for activation in ("relu", "sigmoid"):
        _assert_same(dau.linear_activation_backward(dZ, caches[-1], activation),
                     a4["linear_activation_backward"](dZ, caches[-1], activation))
    grads = dau.L_model_backward(AL, Y, caches)
    _assert_same(grads, a4["L_model_backward"](AL, Y, caches), "grads")
    L = len(dims) - 1
    assert {f"dW{layer}" for layer in range(1, L + 1)} <= set(grads)


@pytest.mark.parametrize("dims", DEPTHS, ids=lambda d: f"L{len(d) - 1}")
def test_update_agrees_with_a4_and_does_not_mutate(dau, a4, dims):
    """update_parameters matches A4 and leaves its input dict unchanged."""
    X, Y, parameters = _problem(20 + len(dims), dims)
    AL, caches = a4["L_model_forward"](X, parameters)
    grads = a4["L_model_backward"](AL, Y, caches)
    before = copy.deepcopy(parameters)
    got = dau.update_parameters(parameters, grads, 0.3)
    _assert_same(got, a4["update_parameters"](before, grads, 0.3), "parameters")
    _assert_same(parameters, before, "input parameters")


@pytest.mark.parametrize("dims", DEPTHS[1:], ids=lambda d: f"L{len(d) - 1}")
def test_a_few_training_steps_agree_with_a4(dau, a4, dims):
    """Ten gradient steps with the module's functions land where A4's functions land."""
    X, Y, start = _problem(30 + len(dims), dims, m=15)
    results = []
    for ns in (vars(dau), a4):
        parameters, costs = copy.deepcopy(start), []
        for _ in range(10):
            AL, caches = ns["L_model_forward"](X, parameters)
            costs.append(float(ns["compute_cost"](AL, Y)))
            grads = ns["L_model_backward"](AL, Y, caches)
            parameters = ns["update_parameters"](parameters, grads, 0.1)
        results.append((parameters, costs))
    _assert_same(results[0][0], results[1][0], "parameters")
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-12)
    assert results[0][1][-1] < results[0][1][0]


# --- (3) A5's initialisation ---------------------------------------------------------------------

@pytest.mark.parametrize("sizes", [(5, 4, 1), (12288, 7, 1), (3, 2, 2)])
def test_initialize_parameters_seeds_1_and_scales_by_0_01(dau, sizes):
    """W1 then W2 from np.random.seed(1), times 0.01; zero (n, 1) biases; no global-state use."""
    n_x, n_h, n_y = sizes
    np.random.seed(1)
    W1 = np.random.randn(n_h, n_x) * 0.01
    W2 = np.random.randn(n_y, n_h) * 0.01
    np.random.seed(12345)  # the function must not depend on the caller's random state
    parameters = dau.initialize_parameters(n_x, n_h, n_y)
    assert sorted(parameters) == ["W1", "W2", "b1", "b2"]
    np.testing.assert_array_equal(parameters["W1"], W1)
    np.testing.assert_array_equal(parameters["W2"], W2)
    for key, shape in (("b1", (n_h, 1)), ("b2", (n_y, 1))):
        assert parameters[key].shape == shape and parameters[key].dtype == np.float64
        assert not parameters[key].any()


@pytest.mark.parametrize("dims", [[12288, 20, 7, 5, 1], [5, 4, 3, 1], [4, 1], (10, 8, 2)])
def test_initialize_parameters_deep_seeds_1_and_scales_by_fan_in(dau, dims):
    """W_l = randn(n_l, n_{l-1}) / sqrt(n_{l-1}) drawn in order after seed 1; b_l zeros (n_l, 1)."""
    np.random.seed(1)
    expected = {}
    for layer in range(1, len(dims)):
        expected[f"W{layer}"] = np.random.randn(dims[layer], dims[layer - 1]) / np.sqrt(
            dims[layer - 1])
        expected[f"b{layer}"] = np.zeros((dims[layer], 1))
    np.random.seed(777)
    parameters = dau.initialize_parameters_deep(dims)
    assert sorted(parameters) == sorted(expected)
    for key, value in expected.items():
        assert parameters[key].shape == value.shape, key
        np.testing.assert_allclose(parameters[key], value, rtol=1e-15, atol=0, err_msg=key)


def test_initialisation_differs_from_a4(dau, a4):
    """A5's deep initialisation is not A4's (seed 3, 0.01): the course's A5 numbers need this."""
    dims = [30, 6, 1]
    ours = dau.initialize_parameters_deep(dims)
    theirs = a4["initialize_parameters_deep"](dims)
    assert not np.allclose(ours["W1"], theirs["W1"])
    ratio = np.std(ours["W1"]) * np.sqrt(30)
    assert 0.7 < ratio < 1.3  # roughly unit variance after the 1/sqrt(n_0) scaling


# --- (4) predict ---------------------------------------------------------------------------------

def test_predict_prints_accuracy_and_returns_predictions(dau):
    """predict returns (1, m) floats of 0/1 (output > 0.5) and prints `Accuracy: {fraction}`."""
    rng = np.random.default_rng(4)
    dims = [6, 5, 3, 1]
    X = rng.standard_normal((6, 40))
    y = (rng.random((1, 40)) < 0.5).astype(int)
    parameters = {}
    for layer in range(1, len(dims)):
        parameters[f"W{layer}"] = rng.standard_normal((dims[layer], dims[layer - 1]))
        parameters[f"b{layer}"] = rng.standard_normal((dims[layer], 1))
    # Shift the output layer so that about half of the examples land on each side of 0.5.
    AL, _ = dau.L_model_forward(X, parameters)
    parameters["b3"] = parameters["b3"] - np.median(np.log(AL / (1 - AL))) + 0.01
    X_before = X.copy()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        p = dau.predict(X, y, parameters)
    AL, _ = dau.L_model_forward(X, parameters)
    assert isinstance(p, np.ndarray) and p.shape == (1, 40) and p.dtype == np.float64
    np.testing.assert_array_equal(p, (AL > 0.5).astype(float))
    assert set(np.unique(p)) <= {0.0, 1.0} and 0 < p.sum() < 40
    accuracy = float(np.mean(p == y))
    assert out.getvalue() == f"Accuracy: {accuracy}\n"
    match = re.fullmatch(r"Accuracy: (\S+)\n", out.getvalue())
    assert match and abs(float(match.group(1)) - (1 - np.mean(np.abs(p - y)))) < 1e-12
    np.testing.assert_array_equal(X, X_before)


def test_predict_threshold_is_strictly_above_half(dau, capsys):
    """An output of exactly 0.5 predicts 0 (like A2's a > 0.5); all right gives Accuracy: 1.0."""
    parameters = {"W1": np.zeros((1, 3)), "b1": np.zeros((1, 1))}
    p = dau.predict(np.ones((3, 4)), np.zeros((1, 4)), parameters)
    np.testing.assert_array_equal(p, np.zeros((1, 4)))
    assert capsys.readouterr().out == "Accuracy: 1.0\n"


def test_predict_rejects_labels_of_the_wrong_shape(dau):
    """Labels that would broadcast, (m, 1) or (m,), are refused with a message naming y."""
    parameters = {"W1": np.ones((1, 3)), "b1": np.zeros((1, 1))}
    for y in (np.zeros((4, 1)), np.zeros(4)):
        with pytest.raises(ValueError, match="y must have shape"), \
                contextlib.redirect_stdout(io.StringIO()):
            dau.predict(np.ones((3, 4)), y, parameters)


def test_costs_are_0d_arrays_as_in_a2_and_the_course(dau, a4):
    """A4's compute_cost and A5's helper return a 0-d numpy array (``np.squeeze`` of an
    array), as A2's propagate does and as the course's own checks of the costs lists of
    two_layer_model and L_layer_model expect; a NumPy scalar would fail them."""
    AL, Y = np.array([[0.8, 0.9, 0.4]]), np.array([[1, 1, 0]])
    for cost in (a4["compute_cost"](AL, Y), dau.compute_cost(AL, Y)):
        assert type(cost) is np.ndarray and cost.shape == (), type(cost)
        assert float(cost) == pytest.approx(0.2797765635793423, rel=1e-12)

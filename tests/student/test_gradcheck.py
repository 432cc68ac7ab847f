"""dlutils.gradcheck: centred differences agree with known gradients and restore inputs."""

import numpy as np
import pytest

from dlutils.gradcheck import (
    check_gradients,
    numerical_gradient,
    numerical_gradient_array,
    rel_error,
)


def test_numerical_gradient_of_a_quadratic():
    """d/dx sum(x^2 * c) = 2 c x, and x is restored exactly."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    c = rng.standard_normal((3, 4))
    x0 = x.copy()
    grad = numerical_gradient(lambda: float(np.sum(c * x**2)), x)
    assert rel_error(grad, 2 * c * x0) < 1e-8
    assert np.array_equal(x, x0)


def test_numerical_gradient_array_backprops_upstream():
    """For f(x) = W x, the gradient of sum(f * df) is W^T df."""
    rng = np.random.default_rng(1)
    W = rng.standard_normal((2, 3))
    x = rng.standard_normal((3, 5))
    df = rng.standard_normal((2, 5))
    grad = numerical_gradient_array(lambda: W @ x, x, df)
    assert rel_error(grad, W.T @ df) < 1e-8


def test_check_gradients_of_logistic_regression():
    """Analytic gradients of a logistic cost pass; doubled ones are flagged."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((3, 7))
    Y = (rng.random((1, 7)) > 0.5).astype(float)
    params = {"w": rng.standard_normal((3, 1)), "b": np.array([[0.3]])}

    def cost():
        A = 1 / (1 + np.exp(-(params["w"].T @ X + params["b"])))
        return float(-np.mean(Y * np.log(A) + (1 - Y) * np.log(1 - A)))

    A = 1 / (1 + np.exp(-(params["w"].T @ X + params["b"])))
    grads = {"dw": X @ (A - Y).T / 7, "db": np.sum(A - Y, keepdims=True) / 7}
    errors = check_gradients(cost, params, grads)
    assert max(errors.values()) < 1e-7
    grads["dw"] = 2 * grads["dw"]
    assert check_gradients(cost, params, grads)["dw"] > 0.1


def test_rel_error_floor_and_shapes():
    """rel_error of zeros is 0, and mismatched shapes are refused."""
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    with pytest.raises(ValueError, match="equal shapes"):
        rel_error(np.zeros(3), np.zeros((3, 1)))


def test_bad_inputs():
    """float32 inputs, missing gradient keys and wrong gradient shapes are refused clearly."""
    with pytest.raises(TypeError, match="float64"):
        numerical_gradient(lambda: 0.0, np.zeros(3, dtype=np.float32))
    params = {"W1": np.zeros((2, 2))}
    with pytest.raises(KeyError, match="dW1"):
        check_gradients(lambda: 0.0, params, {})
    with pytest.raises(ValueError, match="shape"):
        check_gradients(lambda: 0.0, params, {"dW1": np.zeros(4)})


def test_input_restored_when_f_raises():
    """An exception inside f leaves x as it was."""
    x = np.ones(2)

    def boom():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        numerical_gradient(boom, x)
    assert np.array_equal(x, np.ones(2))

"""Tests of dlutils.activations: values, caches, gradients, shapes and bad inputs."""

import warnings

import numpy as np
import pytest

from dlutils.activations import relu, relu_backward, sigmoid, sigmoid_backward
from dlutils.gradcheck import numerical_gradient_array, rel_error


def test_sigmoid_values_match_the_textbook_formula():
    """sigmoid agrees with 1 / (1 + exp(-Z)) to float64 precision in the normal range."""
    Z = np.random.default_rng(0).uniform(-30, 30, size=(40, 50))
    A, _ = sigmoid(Z)
    np.testing.assert_allclose(A, 1.0 / (1.0 + np.exp(-Z)), rtol=1e-15, atol=2e-16)
    np.testing.assert_allclose(sigmoid(np.array([[0.0, 2.0, -2.0]]))[0],
                               [[0.5, 0.8807970779778823, 0.11920292202211755]], rtol=1e-15)


def test_relu_values():
    """relu is max(0, Z) and keeps the shape and dtype."""
    Z = np.array([[-2.0, 0.0, 3.5], [1.0, -0.5, 0.0]])
    A, _ = relu(Z)
    np.testing.assert_array_equal(A, [[0.0, 0.0, 3.5], [1.0, 0.0, 0.0]])
    assert A.dtype == np.float64
    A_int, _ = relu(np.array([[-1, 2]]))
    np.testing.assert_array_equal(A_int, [[0, 2]])


@pytest.mark.parametrize("forward", [sigmoid, relu])
def test_forward_cache_is_z_itself(forward):
    """The cache a forward function returns is the very Z it was given; Z is not changed."""
    Z = np.random.default_rng(1).standard_normal((3, 4))
    before = Z.copy()
    A, cache = forward(Z)
    assert cache is Z
    assert A.shape == Z.shape and A is not Z
    np.testing.assert_array_equal(Z, before)


@pytest.mark.parametrize("shape", [(1, 1), (4, 7), (5,), (2, 3, 4)])
@pytest.mark.parametrize("forward,backward", [(sigmoid, sigmoid_backward), (relu, relu_backward)])
def test_shapes_are_kept(shape, forward, backward):
    """Forward and backward return arrays of Z's shape, in float64."""
    Z = np.random.default_rng(2).standard_normal(shape)
    A, cache = forward(Z)
    dZ = backward(np.ones(shape), cache)
    assert A.shape == shape and dZ.shape == shape
    assert dZ.dtype == np.float64


def test_relu_backward_is_zero_at_exactly_zero():
    """relu_backward passes dA only where Z > 0: the gradient at Z == 0 is 0."""
    Z = np.array([[-1.0, 0.0, 2.0], [0.0, 3.0, -0.0]])
    dA = np.array([[5.0, 6.0, 7.0], [8.0, 9.0, 10.0]])
    dZ = relu_backward(dA, Z)
    np.testing.assert_array_equal(dZ, [[0.0, 0.0, 7.0], [0.0, 9.0, 0.0]])


def test_relu_backward_does_not_change_dA():
    """relu_backward returns a new array and leaves dA as it was."""
    Z = np.array([[-1.0, 1.0]])
    dA = np.array([[2.0, 3.0]])
    dZ = relu_backward(dA, Z)
    np.testing.assert_array_equal(dA, [[2.0, 3.0]])
    assert dZ is not dA


def test_sigmoid_backward_values():
    """sigmoid_backward is dA * s * (1 - s)."""
    Z = np.array([[0.0, 1.0, -3.0]])
    dA = np.array([[1.0, 2.0, -1.0]])
    s = 1.0 / (1.0 + np.exp(-Z))
    np.testing.assert_allclose(sigmoid_backward(dA, Z), dA * s * (1 - s), rtol=1e-15)
    assert sigmoid_backward(np.ones((1, 1)), np.zeros((1, 1)))[0, 0] == 0.25


@pytest.mark.parametrize("forward,backward", [(sigmoid, sigmoid_backward), (relu, relu_backward)])
def test_backward_matches_numeric_gradient(forward, backward):
    """The analytic backward pass agrees with centred differences of the forward pass."""
    rng = np.random.default_rng(3)
    Z = rng.standard_normal((4, 6))
    Z[np.abs(Z) < 1e-3] = 0.5  # keep relu away from its kink
    dA = rng.standard_normal((4, 6))
    _, cache = forward(Z)
    dZ = backward(dA, cache)
    dZ_num = numerical_gradient_array(lambda: forward(Z)[0], Z, dA)
    assert rel_error(dZ, dZ_num) < 1e-8


@pytest.mark.parametrize("forward,backward", [(sigmoid, sigmoid_backward), (relu, relu_backward)])
def test_no_warnings_for_large_inputs(forward, backward):
    """|Z| = 1000 gives exact limits and no overflow RuntimeWarning."""
    Z = np.array([[-1000.0, 1000.0, -800.0, 800.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        A, cache = forward(Z)
        dZ = backward(np.ones_like(Z), cache)
    assert np.all(np.isfinite(A)) and np.all(np.isfinite(dZ))
    if forward is sigmoid:
        np.testing.assert_array_equal(A, [[0.0, 1.0, 0.0, 1.0]])
        np.testing.assert_array_equal(dZ, [[0.0, 0.0, 0.0, 0.0]])


@pytest.mark.parametrize("backward", [sigmoid_backward, relu_backward])
def test_backward_rejects_mismatched_shapes(backward):
    """dA and the cached Z must have the same shape; the error names both shapes."""
    with pytest.raises(ValueError, match=r"same shape.*\(2, 3\).*\(3, 2\)"):
        backward(np.ones((2, 3)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="same shape"):
        backward(np.ones((3,)), np.ones((3, 1)))


@pytest.mark.parametrize("backward", [sigmoid_backward, relu_backward])
def test_backward_rejects_a_whole_cache(backward):
    """Passing the linear cache (A_prev, W, b) instead of Z says what went wrong."""
    linear_cache = (np.ones((3, 2)), np.ones((1, 3)), np.zeros((1, 1)))
    with pytest.raises(TypeError, match="activation cache Z"):
        backward(np.ones((1, 2)), linear_cache)
    with pytest.raises(TypeError, match="activation cache Z"):
        backward(np.ones((1, 2)), (linear_cache, np.ones((1, 2))))


@pytest.mark.parametrize("forward", [sigmoid, relu])
def test_forward_rejects_non_numbers(forward):
    """Strings and booleans are refused with a TypeError naming the dtype."""
    with pytest.raises(TypeError, match="numbers"):
        forward(np.array([["a", "b"]]))
    with pytest.raises(TypeError, match="bool"):
        forward(np.array([[True, False]]))

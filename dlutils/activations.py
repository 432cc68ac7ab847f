"""Activation layers of the deep-network assignments, as forward/backward pairs.

Each forward function returns ``(A, cache)`` where the cache is the pre-activation ``Z``
itself; each backward function takes the upstream gradient ``dA`` and that cache and
returns ``dZ``, shaped like ``Z``. Arrays follow the column convention: ``Z`` has shape
``(n_l, m)``, one column per example, but any shape works.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["relu", "relu_backward", "sigmoid", "sigmoid_backward"]


def _as_numeric_array(value: Any, name: str) -> np.ndarray:
    """``value`` as a numeric ndarray (the same object when it already is one)."""
    if isinstance(value, tuple):
        raise TypeError(
            f"{name} must be a numpy array, got a tuple of length {len(value)}: did you pass "
            "a whole cache (the linear cache (A_prev, W, b), or (linear_cache, Z)) instead "
            "of the activation cache Z?")
    arr = np.asarray(value)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{name} must hold numbers, got dtype {arr.dtype}")
    return arr


def _check_same_shape(dA: Any, cache: Any) -> tuple[np.ndarray, np.ndarray]:
    dA = _as_numeric_array(dA, "dA")
    Z = _as_numeric_array(cache, "cache (the pre-activation Z)")
    if dA.shape != Z.shape:
        raise ValueError(f"dA and the cached Z must have the same shape, got dA {dA.shape} "
                         f"and Z {Z.shape}")
    return dA, Z


def _sigmoid_values(Z: np.ndarray) -> np.ndarray:
    # 1 / (1 + exp(-Z)) overflows in exp for Z << 0; there exp(Z) / (1 + exp(Z)) is the
    # same number and only underflows (silently) to 0.
    Z = np.asarray(Z, dtype=np.float64)
    E = np.exp(-np.abs(Z))  # in (0, 1]: never overflows
    return np.where(Z >= 0, 1.0 / (1.0 + E), E / (1.0 + E))


def sigmoid(Z: Any) -> tuple[np.ndarray, np.ndarray]:
    """Sigmoid activation, numerically stable for any ``Z``.

    Inputs:
    - Z: pre-activation, numeric array of any shape, e.g. (n_l, m)
    Returns a tuple of:
    - A: 1 / (1 + exp(-Z)), float64, same shape as Z
    - cache: Z itself, for :func:`sigmoid_backward`
    """
    Z = _as_numeric_array(Z, "Z")
    return _sigmoid_values(Z), Z


def relu(Z: Any) -> tuple[np.ndarray, np.ndarray]:
    """ReLU activation max(0, Z).

    Inputs:
    - Z: pre-activation, numeric array of any shape, e.g. (n_l, m)
    Returns a tuple of:
    - A: max(0, Z), same shape and dtype as Z
    - cache: Z itself, for :func:`relu_backward`
    """
    Z = _as_numeric_array(Z, "Z")
    return np.maximum(Z, 0), Z


def sigmoid_backward(dA: Any, cache: Any) -> np.ndarray:
    """Backward pass of :func:`sigmoid`: dZ = dA * s * (1 - s) with s = sigmoid(Z).

    Inputs:
    - dA: upstream gradient, same shape as Z
    - cache: Z, as returned by :func:`sigmoid`
    Returns dZ, float64, same shape as Z.
    """
    dA, Z = _check_same_shape(dA, cache)
    s = _sigmoid_values(Z)
    return dA * s * (1.0 - s)


def relu_backward(dA: Any, cache: Any) -> np.ndarray:
    """Backward pass of :func:`relu`: dZ = dA where Z > 0, and 0 where Z <= 0.

    Inputs:
    - dA: upstream gradient, same shape as Z
    - cache: Z, as returned by :func:`relu`
    Returns dZ, float64, same shape as Z (a new array; dA is not changed).
    """
    dA, Z = _check_same_shape(dA, cache)
    return np.where(Z > 0, dA, 0.0).astype(np.float64, copy=False)

"""Numeric gradient checking with centred differences, shared by notebooks and tests.

Inputs are perturbed in place one entry at a time and always restored, in float64.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

__all__ = ["check_gradients", "numerical_gradient", "numerical_gradient_array", "rel_error"]


def _require_float64(x: np.ndarray, name: str) -> None:
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        got = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
        raise TypeError(f"{name} must be a float64 numpy array (got {got}): "
                        "finite differences in lower precision are too noisy to trust")


def rel_error(x: np.ndarray | float, y: np.ndarray | float, floor: float = 1e-8) -> float:
    """Largest relative error max(|x - y| / max(|x| + |y|, floor))."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"rel_error needs equal shapes, got {x.shape} and {y.shape}")
    if x.size == 0:
        return 0.0
    return float(np.max(np.abs(x - y) / np.maximum(floor, np.abs(x) + np.abs(y))))


def numerical_gradient(f: Callable[[], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Gradient of the scalar ``f()`` with respect to ``x``, by centred differences.

    Inputs:
    - f: takes no arguments and reads ``x`` (a closure), returns a scalar
    - x: float64 array that ``f`` depends on; perturbed in place and restored
    Returns an array shaped like ``x``.
    """
    _require_float64(x, "x")
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    for _ in it:
        idx = it.multi_index
        old = x[idx]
        try:
            x[idx] = old + h
            plus = float(f())
            x[idx] = old - h
            minus = float(f())
        finally:
            x[idx] = old
        grad[idx] = (plus - minus) / (2 * h)
    return grad


def numerical_gradient_array(f: Callable[[], np.ndarray], x: np.ndarray, df: np.ndarray,
                             h: float = 1e-5) -> np.ndarray:
    """Gradient of ``sum(f() * df)`` with respect to ``x``: backprop of upstream ``df``.

    Inputs:
    - f: takes no arguments and reads ``x``, returns an array shaped like ``df``
    - x: float64 array, perturbed in place and restored
    - df: upstream gradient, same shape as ``f()``
    """
    return numerical_gradient(lambda: float(np.sum(f() * df)), x, h)


def check_gradients(cost: Callable[[], float], parameters: Mapping[str, np.ndarray],
                    grads: Mapping[str, np.ndarray], h: float = 1e-5) -> dict[str, float]:
    """Relative error between analytic ``grads`` and numeric gradients of ``cost()``.

    Inputs:
    - cost: takes no arguments, reads ``parameters`` and returns the scalar cost
    - parameters: {"W1": ..., "b1": ...}; each array is perturbed in place and restored
    - grads: {"dW1": ..., "db1": ...}, the analytic gradients to check
    Returns {"dW1": rel_error, ...} for every parameter.
    """
    errors = {}
    for key, value in parameters.items():
        gkey = "d" + key
        if gkey not in grads:
            raise KeyError(f"grads has no {gkey!r} for parameter {key!r} "
                           f"(grads has {sorted(grads)})")
        if np.shape(grads[gkey]) != value.shape:
            raise ValueError(f"grads[{gkey!r}] has shape {np.shape(grads[gkey])}, "
                             f"parameter {key!r} has {value.shape}")
        errors[gkey] = rel_error(grads[gkey], numerical_gradient(cost, value, h))
    return errors

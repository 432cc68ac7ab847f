"""What is wrong with a result, in words, when no hint of a classic mistake fits: all larger or
smaller than expected, which few entries differ, the right values in another order, a constant
offset, a near miss (used by :mod:`dlutils.checks`)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["index_text", "scalar_in_words", "values_in_words"]

_isclose = np.isclose  # our own reference: a submission may rebind np.isclose

def index_text(position: Any) -> str:
    return str(tuple(int(i) for i in position))


_CLOSE_RELATIVE = 1e-3  # wrong values nearer than this (relative) are "close"


def _pattern_in_words(g: np.ndarray, e: np.ndarray, wrong: np.ndarray, rtol: float,
                      atol: float) -> str | None:
    """A pattern of the whole array that says what went wrong, or None."""
    def same(a: np.ndarray, b: np.ndarray) -> bool:  # a few values first: large arrays
        return bool(np.all(_isclose(a.ravel()[:8], b.ravel()[:8], rtol=rtol, atol=atol,
                                    equal_nan=True))
                    and np.all(_isclose(a, b, rtol=rtol, atol=atol, equal_nan=True)))
    if g.ndim == 2 and g.shape[0] == g.shape[1] and same(g, e.T):
        return "your result is the expected one transposed (rows and columns swapped)"
    if same(g.ravel(), e.ravel()[::-1]):
        return "your result holds the expected values in reverse order"
    if (same(np.array([np.min(g), np.max(g)]), np.array([np.min(e), np.max(e)]))
            and same(np.sort(g, axis=None), np.sort(e, axis=None))):
        return "your result holds the expected values, but in another order"
    finite = bool(np.all(np.isfinite(g)) and np.all(np.isfinite(e)))
    if not finite:
        return None
    offset = g - e
    mean = float(offset.mean())
    scale = float(np.abs(e).max())
    if mean and float(np.ptp(offset)) <= 1e-6 * abs(mean) + 1e-12 * scale:
        return f"every value differs by the same amount ({mean:+.6g})"
    if np.all(g == g.flat[0]) and not np.all(e == e.flat[0]):
        return (f"all your values are the same ({float(g.flat[0]):.6g}); "
                f"the expected ones are not")
    relative = np.abs(offset[wrong]) / np.maximum(np.abs(e[wrong]), 1e-300)
    if relative.size and float(relative.max()) < _CLOSE_RELATIVE:
        return (f"close, but not within the tolerance: relative difference up to "
                f"{float(relative.max()):.2g}")
    return None


def _direction_in_words(g: np.ndarray, e: np.ndarray, wrong: np.ndarray) -> str:
    """Which way the wrong values are off (larger, smaller, NaN; counts when mixed), and
    where when only a few are wrong."""
    kinds = [("too large", "larger than expected", wrong & (g > e)),
             ("too small", "smaller than expected", wrong & (g < e)),
             ("NaN instead of a number", "NaN", wrong & np.isnan(g) & ~np.isnan(e)),
             ("a number instead of NaN", "numbers where NaN was expected",
              wrong & ~np.isnan(g) & np.isnan(e))]
    present = [(short, long, int(mask.sum())) for short, long, mask in kinds if mask.any()]
    k, n = int(wrong.sum()), wrong.size
    mixed = ", ".join(f"{count} {short}" for short, _, count in present)
    uniform = present[0][1] if len(present) == 1 else None
    if k == n:
        return f"your values are all {uniform}" if uniform else f"your values are mixed: {mixed}"
    if k > 3:
        return (f"the {k} wrong values are all {uniform}" if uniform
                else f"the {k} wrong values are mixed: {mixed}")
    spots = ", ".join(index_text(p) for p in np.argwhere(wrong))
    if k == 1:
        return f"only the entry at index {spots} differs: it is {uniform}"
    few = f"only the entries at index {spots} differ"
    if uniform:
        return f"{few}: {'both' if k == 2 else 'all 3'} are {uniform}"
    return f"{few} ({mixed})"


def values_in_words(g: np.ndarray, e: np.ndarray, close: np.ndarray, rtol: float,
                     atol: float) -> list[str]:
    """At most two short lines saying in words what is wrong with ``g`` (for failures that no
    hint explains): a pattern of the whole array, or which way the values are off; and which
    entries differ when only a few do."""
    if g.shape != e.shape or close.shape != g.shape:
        return []
    wrong = ~close
    k, n = int(wrong.sum()), wrong.size
    if k == 0:
        return []
    if n == 1:
        return scalar_in_words(float(g.ravel()[0]), float(e.ravel()[0]))
    pattern = _pattern_in_words(g, e, wrong, rtol, atol)
    if not pattern:
        return [_direction_in_words(g, e, wrong)]
    if k <= 3 and k < n:
        spots = ", ".join(index_text(p) for p in np.argwhere(wrong))
        return [pattern, f"only the entry at index {spots} differs" if k == 1
                else f"only the entries at index {spots} differ"]
    return [pattern]


def scalar_in_words(g: float, e: float) -> list[str]:
    if np.isnan(g) or np.isnan(e) or g == e:
        return []
    way = "larger" if g > e else "smaller"
    words = f"your value is {way} than expected"
    if np.isfinite(g) and np.isfinite(e) and g and e:
        ratio = g / e
        if ratio < 0:
            words += ", with the opposite sign"
        elif not _isclose(ratio, 1.0, rtol=0.01, atol=0.0):
            words += f" ({ratio:.4g} times the expected value)"
        else:
            words = (f"your value is slightly {way} than expected (relative difference "
                     f"{abs(g - e) / abs(e):.2g})")
    elif np.isinf(g):
        words = f"your value is {g}: {way} than expected (an overflow?)"
    return [words]

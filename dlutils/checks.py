"""Checks for public and hidden tests: compare a student's result with an expected value.

Every failure raises :class:`CheckError` (an ``AssertionError``) whose message says what was
expected, what came back (type, shape, values, largest difference) and, when the symptom fits
a classic mistake, a hint. Built-in symptoms:

- ``"transposed"``: the shape is the expected shape reversed;
- ``"rank1"``: a rank-1 array ``(n,)`` where a column or row ``(n, 1)`` / ``(1, n)`` was expected;
- ``"broadcast"``: more elements than expected (a ``(n,)`` + ``(n, 1)`` broadcasting accident);
- ``"factor"``: every value off by the same factor (a missing ``1/m``, a doubled term);
- ``"sign"``: the negative of the expected value;
- ``"zeros"``: all zeros where the expected value is not.

A caller passes ``hints={"factor": "Did you forget to divide by m?"}`` to replace a default
message, or ``hints={callable: "message"}`` for a symptom of its own, where
``callable(got, expected) -> bool``. When values differ and no hint fits, the message says in
words what is wrong instead: all larger or smaller than expected, which few entries differ, the
right values in another order, a constant offset, ...

In IPython (JupyterLab, nbgrader's Validate) a failed check shows its message first, then the
line of the cell that failed, and no frame of this module: a check failure is not a crash. Any
other error keeps IPython's normal traceback.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from numbers import Integral, Real
from typing import Any

import numpy as np

from dlutils import differences, failure_display

__all__ = [
    "CheckError",
    "check_close",
    "check_dict",
    "check_equal",
    "check_not_mutated",
    "check_shape",
    "check_type",
    "describe",
    "snapshot",
]

# Keep our own references: a test must not depend on names a submission can rebind.
_isclose = np.isclose
_asarray = np.asarray
_ndarray = np.ndarray

Symptom = Callable[[Any, Any], bool]
Hints = Mapping[str | Symptom, str]


class CheckError(AssertionError):
    """A check failed; the message is written for the student."""

    def _render_traceback_(self) -> list[str]:
        """What IPython shows for a failed check (its hook for exceptions that format their own
        traceback): the message, then where in the cell it failed. The error's ``ename`` and
        ``evalue`` stay ``CheckError`` and the message. Never raises: on any problem, IPython's
        usual traceback."""
        try:
            return failure_display.check_failure(self)
        except Exception:
            return failure_display.usual_traceback(self)


def describe(value: Any, max_items: int = 6) -> str:
    """One-line description of a value: type, shape, dtype and a few values."""
    if isinstance(value, _ndarray):
        flat = value.ravel()
        shown = np.array2string(flat[:max_items], precision=6, separator=", ")
        more = f" ... ({flat.size} values)" if flat.size > max_items else ""
        return f"numpy array, shape {value.shape}, dtype {value.dtype}, values {shown}{more}"
    if isinstance(value, np.generic):
        return f"numpy {value.dtype} {value.item()!r}"
    if isinstance(value, dict):
        return f"dict with keys {sorted(map(str, value))}"
    if isinstance(value, (list, tuple)):
        if len(value) <= max_items and all(isinstance(v, (int, float, str, np.generic))
                                           for v in value):
            return f"{type(value).__name__} {value!r}"
        return f"{type(value).__name__} of length {len(value)}"
    return f"{type(value).__name__} {value!r}"


def _symptom_transposed(got: Any, expected: Any) -> bool:
    return (isinstance(got, _ndarray) and isinstance(expected, _ndarray) and got.ndim == 2
            and got.shape != expected.shape and got.shape == expected.shape[::-1])


def _symptom_rank1(got: Any, expected: Any) -> bool:
    return (isinstance(got, _ndarray) and isinstance(expected, _ndarray) and got.ndim == 1
            and expected.ndim == 2 and 1 in expected.shape and got.size == expected.size)


def _symptom_broadcast(got: Any, expected: Any) -> bool:
    return (isinstance(got, _ndarray) and isinstance(expected, _ndarray)
            and got.size > expected.size and got.ndim >= expected.ndim)


def _same_shape_values(got: Any, expected: Any) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        g = _asarray(got, dtype=float)
        e = _asarray(expected, dtype=float)
    except (TypeError, ValueError):
        return None
    if g.shape != e.shape or e.size == 0 or not np.all(np.isfinite(g)):
        return None
    return g, e


def _symptom_factor(got: Any, expected: Any) -> bool:
    pair = _same_shape_values(got, expected)
    if pair is None:
        return False
    g, e = pair
    if e.size < 2:  # any two numbers differ by "a factor": only arrays show the symptom
        return False
    nonzero = np.abs(e) > 1e-12
    if not nonzero.any() or np.any(np.abs(g[~nonzero]) > 1e-12):
        return False
    ratio = g[nonzero] / e[nonzero]
    r = ratio.flat[0]
    return bool(abs(r) > 1e-12 and not _isclose(r, 1.0) and not _isclose(r, -1.0)
                and np.all(_isclose(ratio, r, rtol=1e-6)))


def _symptom_sign(got: Any, expected: Any) -> bool:
    pair = _same_shape_values(got, expected)
    if pair is None:
        return False
    g, e = pair
    return bool(np.any(np.abs(e) > 1e-12) and np.all(_isclose(g, -e, rtol=1e-6, atol=1e-12)))


def _symptom_zeros(got: Any, expected: Any) -> bool:
    pair = _same_shape_values(got, expected)
    return pair is not None and not np.any(pair[0]) and bool(np.any(pair[1]))


_SYMPTOMS: dict[str, tuple[Symptom, str]] = {
    "transposed": (_symptom_transposed,
                   "The shape is the expected shape reversed: is a transpose (.T) missing, "
                   "or is one where it should not be?"),
    "rank1": (_symptom_rank1,
              "You returned a rank-1 array. Keep columns as (n, 1): use keepdims=True in sums, "
              "or reshape(-1, 1)."),
    "broadcast": (_symptom_broadcast,
                  "Your result has more elements than expected: combining a (n,) array with an "
                  "(n, 1) one broadcasts to (n, n). Check the shapes of every operand."),
    "factor": (_symptom_factor,
               "Every value is off by the same factor: a missing 1/m (or an extra one)?"),
    "sign": (_symptom_sign, "Your values have the opposite sign: check the minus signs."),
    "zeros": (_symptom_zeros, "Your result is all zeros: did the computation run at all?"),
}


def _hint_lines(got: Any, expected: Any, hints: Hints | None) -> list[str]:
    hints = dict(hints or {})
    lines = []
    for name, (symptom, default) in _SYMPTOMS.items():
        if symptom(got, expected):
            lines.append(hints.pop(name, default))
        else:
            hints.pop(name, None)
    for symptom, message in hints.items():
        if callable(symptom):
            try:
                fits = bool(symptom(got, expected))
            except Exception:  # a hint must never turn a failure into a crash
                fits = False
            if fits:
                lines.append(message)
        elif symptom not in _SYMPTOMS:
            raise ValueError(f"unknown symptom {symptom!r}; known: {sorted(_SYMPTOMS)}")
    return lines


def _fail(name: str, problem: str, got: Any, expected: Any, hints: Hints | None,
          extra: str = "", shown: str | None = None,
          words: Callable[[], list[str]] | None = None) -> None:
    __tracebackhide__ = True  # IPython shows the student's call, not this frame
    lines = [f"{name}: {problem}", f"  expected: {shown or describe(expected)}",
             f"  got:      {describe(got)}"]
    if extra:
        lines.append(f"  {extra}")
    hint_lines = _hint_lines(got, expected, hints)
    lines += [f"  hint: {h}" for h in hint_lines]
    if words is not None and not hint_lines:
        try:  # words are a courtesy: they must never turn a failure into a crash
            with np.errstate(all="ignore"):
                lines += [f"  {w}" for w in words()]
        except Exception:
            pass
    raise CheckError("\n".join(lines))


def _numbers(value: Any) -> np.ndarray | None:
    """``value`` as a float array if it is a number or a flat list/tuple of numbers."""
    def number(v: Any) -> bool:
        return isinstance(v, Real | np.number) and not isinstance(v, bool | np.bool_)
    if number(value) or (isinstance(value, list | tuple) and value
                         and all(number(v) for v in value)):
        return _asarray(value, dtype=float)
    return None


def check_type(got: Any, types: type | tuple[type, ...], name: str = "result") -> None:
    """Fail unless ``got`` is an instance of ``types``."""
    __tracebackhide__ = True  # IPython shows the student's call, not this frame
    if not isinstance(got, types):
        names = types.__name__ if isinstance(types, type) else " or ".join(
            t.__name__ for t in types)
        raise CheckError(f"{name}: expected a {names}, got {describe(got)}")


def check_shape(got: Any, shape: tuple[int, ...], name: str = "result",
                hints: Hints | None = None) -> None:
    """Fail unless ``got`` is a numpy array of exactly ``shape``."""
    __tracebackhide__ = True  # IPython shows the student's call, not this frame
    if not isinstance(got, _ndarray):
        lines = [f"{name}: expected a numpy array of shape {shape}, got {describe(got)}"]
        lines += [f"  hint: {h}" for h in _hint_lines(got, np.zeros(shape), hints)]
        raise CheckError("\n".join(lines))
    if got.shape != tuple(shape):
        placeholder = np.zeros(shape)  # stands for the expected value in the hint symptoms
        _fail(name, f"wrong shape {got.shape}, expected {tuple(shape)}", got, placeholder,
              hints, shown=f"a numpy array of shape {tuple(shape)}")


def check_close(got: Any, expected: Any, name: str = "result", *, rtol: float = 1e-5,
                atol: float = 1e-8, hints: Hints | None = None) -> None:
    """Fail unless ``got`` equals ``expected`` within ``rtol``/``atol``.

    An ndarray ``expected`` requires an ndarray of the same shape; a scalar ``expected``
    accepts a Python number, a numpy scalar or a 0-d array.
    """
    __tracebackhide__ = True  # IPython shows the student's call, not this frame
    if isinstance(expected, _ndarray):
        if not isinstance(got, _ndarray):
            _fail(name, "expected a numpy array", got, expected, hints)
        if got.shape != expected.shape:
            _fail(name, f"wrong shape {got.shape}, expected {expected.shape}", got, expected,
                  hints)
    elif isinstance(expected, Real | np.number):
        ok = isinstance(got, Real | np.number) or (isinstance(got, _ndarray) and got.ndim == 0)
        if not ok or isinstance(got, bool):
            _fail(name, "expected a single number", got, expected, hints)
    try:
        g = _asarray(got, dtype=float)
    except (TypeError, ValueError):
        _fail(name, "cannot be read as numbers", got, expected, hints)
    e = _asarray(expected, dtype=float)
    if np.any(np.isnan(g)) and not np.any(np.isnan(e)):
        nan = np.argwhere(np.isnan(g))
        spot = differences.index_text
        where = ("" if not g.ndim else
                 f"NaN at index {', '.join(spot(p) for p in nan)}" if len(nan) <= 3 else
                 f"NaN in {len(nan)} of {g.size} values, the first at index {spot(nan[0])}")
        _fail(name, "contains NaN (a log of 0 or a division by 0?)", got, expected, hints,
              extra=where)
    close = _isclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
    if not np.all(close):
        with np.errstate(invalid="ignore"):  # inf - inf where both are inf (and close)
            diff = np.abs(g - e)
        rank = np.where(close, -1.0, np.where(np.isnan(diff), np.inf, diff))
        worst = np.unravel_index(np.argmax(rank), rank.shape)
        where = f" at index {differences.index_text(worst)}" if diff.ndim else ""
        _fail(name, "values differ", got, expected, hints,
              extra=f"largest difference: {float(diff[worst]):.6g}{where} "
                    f"(tolerance rtol={rtol:g}, atol={atol:g}); "
                    f"{int((~close).sum())} of {close.size} values wrong",
              words=lambda: differences.values_in_words(g, e, close, rtol, atol))


def check_equal(got: Any, expected: Any, name: str = "result",
                hints: Hints | None = None) -> None:
    """Fail unless ``got == expected`` exactly (same type family, same values)."""
    __tracebackhide__ = True  # IPython shows the student's call, not this frame
    if isinstance(expected, _ndarray):
        check_close(got, expected, name, rtol=0.0, atol=0.0, hints=hints)
        return
    if type(got) is not type(expected) and not (
            isinstance(expected, Integral) and isinstance(got, Integral)
            and not isinstance(got, bool)):
        _fail(name, f"expected a {type(expected).__name__}", got, expected, hints)
    if got != expected:
        g, e = _numbers(got), _numbers(expected)
        words = None
        if g is not None and e is not None and g.shape == e.shape:
            words = lambda: differences.values_in_words(g, e, g == e, 0.0, 0.0)  # noqa: E731
        _fail(name, "wrong value", got, expected, hints, words=words)


def check_dict(got: Any, expected: Mapping[str, Any], name: str = "result", *,
               rtol: float = 1e-5, atol: float = 1e-8,
               hints: Mapping[str, Hints] | None = None) -> None:
    """Fail unless ``got`` is a dict with exactly ``expected``'s keys and close values.

    ``hints`` maps a key to the hints for that entry.
    """
    __tracebackhide__ = True  # IPython shows the student's call, not this frame
    check_type(got, dict, name)
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    if missing or extra:
        raise CheckError(f"{name}: expected keys {sorted(expected)}, got {sorted(got)}"
                         f" (missing {missing}, unexpected {extra})")
    for key, value in expected.items():
        check_close(got[key], value, f'{name}["{key}"]', rtol=rtol, atol=atol,
                    hints=(hints or {}).get(key))


def snapshot(value: Any) -> Any:
    """A deep copy to compare against later with :func:`check_not_mutated`."""
    return copy.deepcopy(value)


def check_not_mutated(before: Any, after: Any, name: str = "input") -> None:
    """Fail if ``after`` differs from the ``before`` snapshot (arrays, dicts, lists)."""
    __tracebackhide__ = True  # IPython shows the student's call, not this frame
    if isinstance(before, Mapping):
        for key in before:
            check_not_mutated(before[key], after[key], f'{name}["{key}"]')
        return
    if isinstance(before, (list, tuple)):
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            check_not_mutated(b, a, f"{name}[{i}]")
        return
    if isinstance(before, _ndarray):
        if not (before.shape == after.shape and np.array_equal(before, after, equal_nan=True)):
            raise CheckError(f"{name} was modified by your function. Work on a copy "
                             "(copy.deepcopy or arr.copy()) instead of changing it in place.")
        return
    if before != after:
        raise CheckError(f"{name} was modified by your function: it was {before!r}, "
                         f"now {after!r}.")

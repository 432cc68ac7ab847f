"""dlutils.checks: failures say expected, got, the largest difference and a fitting hint."""

import numpy as np
import pytest

from dlutils.checks import (
    CheckError,
    check_close,
    check_dict,
    check_equal,
    check_not_mutated,
    check_shape,
    check_type,
    describe,
    snapshot,
)


def fails(fn, *args, **kwargs) -> str:
    with pytest.raises(CheckError) as info:
        fn(*args, **kwargs)
    assert isinstance(info.value, AssertionError)
    return str(info.value)


def test_close_values_pass():
    """Values within tolerance pass, for arrays and scalars of any numeric kind."""
    check_close(np.array([[1.0, 2.0]]), np.array([[1.0, 2.0 + 1e-9]]))
    check_close(np.float64(0.5), 0.5)
    check_close(np.array(0.5), 0.5)
    check_close(3, 3.0)


def test_message_names_expected_got_and_largest_difference():
    """A wrong value reports both values, the worst index and how many values are wrong."""
    msg = fails(check_close, np.array([[1.0, 2.5]]), np.array([[1.0, 2.0]]), "dw")
    assert msg.startswith("dw: values differ")
    assert "expected: numpy array, shape (1, 2)" in msg
    assert "largest difference: 0.5 at index (0, 1)" in msg
    assert "1 of 2 values wrong" in msg


def test_hint_for_missing_one_over_m():
    """A result off by a constant factor gets the factor hint, replaceable by the caller."""
    exp = np.array([[0.1], [0.2]])
    assert "same factor" in fails(check_close, exp * 4, exp)
    msg = fails(check_close, exp * 4, exp, hints={"factor": "divide by m"})
    assert "hint: divide by m" in msg and "same factor" not in msg
    assert "hint" not in fails(check_close, 0.8, 0.2)


def test_hint_for_transpose_rank1_broadcast_sign_zeros():
    """Each classic symptom produces its own hint."""
    exp = np.arange(1.0, 7.0).reshape(2, 3)
    assert "transpose" in fails(check_close, exp.T, exp)
    col = np.array([[1.0], [2.0], [3.0]])
    assert "rank-1" in fails(check_close, col.ravel(), col)
    assert "broadcasts" in fails(check_close, col + col.ravel(), col)
    assert "opposite sign" in fails(check_close, -col, col)
    assert "all zeros" in fails(check_close, np.zeros_like(col), col)


def test_custom_symptom_and_unknown_symptom():
    """A callable symptom adds its message when it fits; an unknown name is a usage error."""
    msg = fails(check_close, 2.0, 1.0, hints={lambda g, e: g > e: "too big"})
    assert "hint: too big" in msg
    with pytest.raises(ValueError, match="unknown symptom"):
        check_close(2.0, 1.0, hints={"nonsense": "x"})


def test_type_mismatches():
    """A list for an array, an array for a scalar, a bool for a number, NaN: all fail clearly."""
    assert "expected a numpy array" in fails(check_close, [1.0], np.array([1.0]))
    assert "single number" in fails(check_close, np.array([1.0, 2.0]), 1.0)
    assert "single number" in fails(check_close, True, 1.0)
    assert "NaN" in fails(check_close, np.array([np.nan]), np.array([1.0]))
    assert "single number" in fails(check_close, "abc", 1.0)
    assert "cannot be read" in fails(check_close, ["a"], [1.0])


def test_shape_and_type_checks():
    """check_shape and check_type name what was expected."""
    check_shape(np.zeros((3, 1)), (3, 1))
    assert "rank-1" in fails(check_shape, np.zeros(3), (3, 1))
    assert "numpy array of shape (3, 1)" in fails(check_shape, [0, 0, 0], (3, 1))
    check_type(1.0, float)
    assert "expected a float or int" in fails(check_type, "1", (float, int))


def test_check_equal():
    """Exact comparison: same type family and value."""
    check_equal(3, 3)
    check_equal(np.int64(3), 3)
    check_equal((1, 4, 2), (1, 4, 2))
    assert "wrong value" in fails(check_equal, (1, 4, 3), (1, 4, 2))
    assert "expected a float" in fails(check_equal, np.float64(0.0), 0.0)
    assert "expected a int" in fails(check_equal, True, 1)


def test_check_dict_keys_and_values():
    """Missing and extra keys are named; values are compared with per-key hints."""
    exp = {"dw": np.array([[1.0]]), "db": 0.5}
    check_dict({"dw": np.array([[1.0]]), "db": 0.5}, exp)
    msg = fails(check_dict, {"dw": np.array([[1.0]])}, exp, "grads")
    assert "missing ['db']" in msg
    exp["dw"] = np.array([[1.0], [3.0]])
    msg = fails(check_dict, {"dw": np.array([[2.0], [6.0]]), "db": 0.5}, exp, "grads",
                hints={"dw": {"factor": "1/m?"}})
    assert 'grads["dw"]' in msg and "1/m?" in msg


def test_not_mutated():
    """A snapshot detects in-place changes in nested dicts of arrays."""
    params = {"W1": np.ones((2, 2)), "b1": np.zeros((2, 1))}
    before = snapshot(params)
    check_not_mutated(before, params, "parameters")
    params["W1"] -= 1
    assert 'parameters["W1"] was modified' in fails(check_not_mutated, before, params,
                                                    "parameters")


def test_checks_survive_a_monkeypatched_numpy(monkeypatch):
    """Rebinding np.allclose/np.isclose in a submission does not make a wrong value pass."""
    monkeypatch.setattr(np, "isclose", lambda *a, **k: np.True_)
    monkeypatch.setattr(np, "allclose", lambda *a, **k: True)
    fails(check_close, np.array([2.0]), np.array([1.0]))


def test_describe_is_short():
    """Large arrays are summarised, not dumped."""
    text = describe(np.zeros((100, 100)))
    assert "(10000 values)" in text and len(text) < 200


def test_numpy_scalars_are_described_as_numbers():
    assert describe(np.float64(-0.5)) == "numpy float64 -0.5"
    assert describe(np.int64(3)) == "numpy int64 3"


def test_check_shape_of_a_non_array_still_gives_hints():
    with pytest.raises(CheckError, match="hint: Keep the column"):
        check_shape(3.0, (2, 1), "dw", hints={lambda g, e: True: "Keep the column"})


def test_wrong_shape_message_states_the_shape_not_placeholder_values():
    with pytest.raises(CheckError) as info:
        check_shape(np.ones((3,)), (3, 1), "b")
    assert "expected: a numpy array of shape (3, 1)" in str(info.value)
    assert "values [0." not in str(info.value)


def test_short_tuples_show_their_values():
    assert describe((20, 12288)) == "tuple (20, 12288)"
    assert describe(list(range(10))) == "list of length 10"

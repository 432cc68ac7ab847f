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


# --- In words: what is wrong, when no hint explains it -------------------------------------

def last_line(*args, **kwargs) -> str:
    return fails(*args, **kwargs).splitlines()[-1].strip()


def words(msg: str) -> list[str]:
    """The lines after "largest difference" (or "got"): hints or words."""
    lines = [ln.strip() for ln in msg.splitlines()]
    start = max(i for i, ln in enumerate(lines) if ln.startswith(("largest", "got:")))
    return lines[start + 1:]


EXP = np.array([0.1, 0.2, 0.3, 0.4])


def test_words_all_larger_all_smaller_mixed():
    assert words(fails(check_close, EXP + [0.1, 0.2, 0.4, 0.9], EXP)) == [
        "your values are all larger than expected"]
    assert words(fails(check_close, EXP - [0.01, 0.3, 0.05, 0.2], EXP)) == [
        "your values are all smaller than expected"]
    assert words(fails(check_close, EXP + [0.1, -0.2, 0.3, 0.1], EXP)) == [
        "your values are mixed: 3 too large, 1 too small"]
    many = np.arange(100.0)
    assert last_line(check_close, many + (many % 7 == 0), many) == \
        "the 15 wrong values are all larger than expected"
    assert last_line(check_close, many + (many % 7 == 0) - 2 * (many % 10 == 1), many) == \
        "the 23 wrong values are mixed: 13 too large, 10 too small"


def test_words_name_the_few_entries_that_differ():
    exp = np.arange(16.0).reshape(4, 4)
    got = exp.copy()
    got[0, 2] += 1
    got[1, 3] -= 2
    assert last_line(check_close, got, exp) == \
        "only the entries at index (0, 2), (1, 3) differ (1 too large, 1 too small)"
    got[1, 3] += 4
    assert last_line(check_close, got, exp) == \
        "only the entries at index (0, 2), (1, 3) differ: both are larger than expected"
    got = exp.copy()
    got[3, 0] = -1.0
    assert last_line(check_close, got, exp) == \
        "only the entry at index (3, 0) differs: it is smaller than expected"


def test_words_for_values_in_another_order():
    assert words(fails(check_close, EXP[::-1], EXP)) == [
        "your result holds the expected values in reverse order"]
    assert words(fails(check_close, EXP[[1, 0, 2, 3]], EXP)) == [
        "your result holds the expected values, but in another order",
        "only the entries at index (0,), (1,) differ"]
    square = np.arange(9.0).reshape(3, 3)
    assert words(fails(check_close, square.T, square)) == [
        "your result is the expected one transposed (rows and columns swapped)"]
    cube = np.arange(8.0).reshape(2, 2, 2)
    assert words(fails(check_close, cube.transpose(2, 1, 0).copy(), cube))[0] == \
        "your result holds the expected values, but in another order"


def test_words_for_a_constant_offset_a_constant_result_and_near_misses():
    assert words(fails(check_close, EXP + 0.5, EXP)) == [
        "every value differs by the same amount (+0.5)"]
    assert words(fails(check_close, EXP - 1e-3, EXP)) == [
        "every value differs by the same amount (-0.001)"]
    assert words(fails(check_close, np.full((2, 2), 0.5), EXP.reshape(2, 2))) == [
        "all your values are the same (0.5); the expected ones are not"]
    assert words(fails(check_close, EXP * (1 + 1e-5), EXP, rtol=1e-7)) == [
        "close, but not within the tolerance: relative difference up to 1e-05"]


def test_words_for_a_single_number():
    assert last_line(check_close, 0.8, 0.2) == \
        "your value is larger than expected (4 times the expected value)"
    assert last_line(check_close, np.float64(0.1), 0.2) == \
        "your value is smaller than expected (0.5 times the expected value)"
    assert last_line(check_close, np.array(-0.3), 0.2) == \
        "your value is smaller than expected, with the opposite sign"
    assert last_line(check_close, 0.2000001, 0.2, rtol=1e-9) == \
        "your value is slightly larger than expected (relative difference 5e-07)"
    assert last_line(check_close, np.inf, 0.2) == \
        "your value is inf: larger than expected (an overflow?)"
    assert last_line(check_close, 0.5, 0.0) == "your value is larger than expected"
    assert last_line(check_close, np.array([[0.8]]), np.array([[0.2]])) == \
        "your value is larger than expected (4 times the expected value)"


def test_words_with_nan_and_inf():
    exp = np.array([3.0, 1.0, 2.0])
    assert last_line(check_close, np.array([np.inf, 1.0, 2.0]), exp) == \
        "only the entry at index (0,) differs: it is larger than expected"
    assert last_line(check_close, np.array([1.0, np.nan, np.nan]), exp) == \
        "NaN at index (1,), (2,)"
    assert last_line(check_close, np.full((4, 4), np.nan), np.ones((4, 4))) == \
        "NaN in 16 of 16 values, the first at index (0, 0)"
    msg = fails(check_close, np.array([np.nan, 1.0, np.inf]), np.array([3.0, np.nan, np.inf]))
    assert "largest difference: nan at index (0,)" in msg
    assert msg.splitlines()[-1].strip() == ("only the entries at index (0,), (1,) differ "
                                            "(1 NaN instead of a number, 1 a number instead "
                                            "of NaN)")
    # inf - inf where both are inf (and equal) warns nothing on stderr
    with np.errstate(all="raise"):
        fails(check_close, np.array([np.inf, 2.0]), np.array([np.inf, 1.0]))


def test_words_for_exact_comparisons():
    assert last_line(check_equal, (1, 4, 3), (1, 4, 2)) == \
        "only the entry at index (2,) differs: it is larger than expected"
    assert last_line(check_equal, 2, 3) == \
        "your value is smaller than expected (0.6667 times the expected value)"
    assert last_line(check_equal, np.array([1, 2]), np.array([2, 1])) == \
        "your result holds the expected values in reverse order"
    assert last_line(check_equal, "b", "a") == "got:      str 'b'"  # no words for text


def test_no_words_when_a_hint_explains_the_failure():
    """The classic symptoms keep their hints, word for word, with nothing added."""
    col = np.array([[1.0], [2.0], [3.0]])
    assert words(fails(check_close, col * 4, col)) == [
        "hint: Every value is off by the same factor: a missing 1/m (or an extra one)?"]
    assert words(fails(check_close, -col, col)) == [
        "hint: Your values have the opposite sign: check the minus signs."]
    assert words(fails(check_close, np.zeros_like(col), col)) == [
        "hint: Your result is all zeros: did the computation run at all?"]
    assert words(fails(check_close, 2.0, 1.0, hints={lambda g, e: g > e: "too big"})) == [
        "hint: too big"]


def test_words_are_deterministic_and_short():
    rng = np.random.default_rng(0)
    for shape in [(), (1,), (5,), (3, 4), (2, 3, 4)]:
        exp = rng.normal(size=shape)
        got = exp + rng.normal(size=shape)
        first = fails(check_close, got, exp)
        assert first == fails(check_close, got.copy(), exp.copy())
        assert len(words(first)) <= 2 and all(len(ln) < 120 for ln in words(first))


# --- What IPython shows (a real kernel: test_check_display.py) -----------------------------

def test_importing_the_checks_imports_no_ipython():
    import subprocess
    import sys
    code = "import sys, dlutils.checks; print('IPython' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False" and out.stderr == ""


def test_the_display_outside_ipython_and_its_fallback(monkeypatch):
    import re

    from dlutils import failure_display
    error = CheckError("w: wrong shape (3,), expected (3, 1)\n  hint: keepdims")
    shown = [re.sub(r"\x1b\[[0-9;]*m", "", ln) for ln in error._render_traceback_()]
    assert shown == ["Test failed: w: wrong shape (3,), expected (3, 1)", "  hint: keepdims"]

    def broken(error):
        raise RuntimeError("oops")
    monkeypatch.setattr(failure_display, "check_failure", broken)
    assert error._render_traceback_() == [f"CheckError: {error}"]

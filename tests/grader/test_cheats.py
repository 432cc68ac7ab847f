"""dlgrader.cheats: student cells that patch what tests rely on are flagged, course code is not."""

import subprocess
import sys
from pathlib import Path
from textwrap import dedent

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from dlgrader.cheats import (
    Finding,
    first_tampering_index,
    main,
    protected_names,
    scan_notebook,
    student_cells,
)

REPO = Path(__file__).resolve().parents[2]
IMPORTS = "import numpy as np\nimport copy\nfrom dlutils.checks import check_close, snapshot"
TEST = ('"""sigmoid(0) is 0.5."""\nresult = sigmoid(0.0)\nassert isinstance(result, float)\n'
        "check_close(result, 0.5)")


def _nbgrader(grade_id: str, *, locked: bool, solution: bool, grade: bool = False) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    return {"nbgrader": {**meta, **({"points": 1} if grade else {})}}


def locked(source: str, grade_id: str = "provided") -> nbformat.NotebookNode:
    return new_code_cell(source, metadata=_nbgrader(grade_id, locked=True, solution=False))


def grade_cell(source: str = TEST, grade_id: str = "sigmoid_test") -> nbformat.NotebookNode:
    return new_code_cell(source, metadata=_nbgrader(grade_id, locked=True, solution=False,
                                                    grade=True))


def solution(source: str, grade_id: str = "sigmoid_solution") -> nbformat.NotebookNode:
    return new_code_cell(source, metadata=_nbgrader(grade_id, locked=False, solution=True))


def added(source: str) -> nbformat.NotebookNode:
    return new_code_cell(source)


def notebook(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.cells = [locked(IMPORTS, "imports"), *cells]
    return nb


def student_notebook(source: str, kind: str = "solution") -> nbformat.NotebookNode:
    cell = solution(source) if kind == "solution" else added(source)
    return notebook(cell, grade_cell())


# (snippet, keyword expected in the reason)
TAMPERING = {
    "np_attribute": ("np.allclose = lambda *a, **k: True", "numpy attribute np.allclose"),
    "numpy_testing": ("import numpy\nnumpy.testing.assert_allclose = lambda *a, **k: None",
                      "numpy.testing attribute"),
    "dlutils_dotted": ("import dlutils.checks\ndlutils.checks.check_close = lambda *a, **k: None",
                       "dlutils.checks attribute"),
    "dlutils_from": ("from dlutils import checks\nchecks.check_close = lambda *a, **k: None",
                     "dlutils.checks attribute"),
    "dlutils_alias": ("from dlutils import checks as c\nc.check_close = print",
                      "dlutils.checks attribute c.check_close"),
    "numpy_alias": ("import numpy as xx\nxx.allclose = print", "numpy attribute xx.allclose"),
    "assigned_alias": ("m = np\nm.isclose = print", "numpy attribute m.isclose"),
    "copy_attribute": ("copy.deepcopy = lambda x: x", "copy attribute copy.deepcopy"),
    "rebind_check_close": ("check_close = lambda *a, **k: None", "rebinds 'check_close'"),
    "def_snapshot": ("def snapshot(x):\n    return x", "redefines 'snapshot'"),
    "class_check_close": ("class check_close:\n    pass", "redefines 'check_close'"),
    "rebind_assertion_error": ("AssertionError = Warning", "built-in"),
    "def_isinstance": ("def isinstance(a, b):\n    return True", "redefines 'isinstance'"),
    "builtins_module": ("import builtins\nbuiltins.isinstance = lambda *a: True",
                        "builtins attribute builtins.isinstance"),
    "setattr": ('setattr(np, "allclose", lambda *a, **k: True)', "setattr on numpy"),
    "object_setattr": ('object.__setattr__(np, "allclose", print)', "__setattr__"),
    "globals": ('globals()["check_close"] = print', "globals()"),
    "builtins_dict": ('__builtins__.__dict__["isinstance"] = print', "__builtins__"),
    "sys_modules": ('import sys\nsys.modules["numpy"] = None', "sys.modules"),
    "exec": ('exec("np.allclose = lambda *a, **k: True")', "exec"),
    "eval": ('eval("np.allclose")', "eval"),
    "compile": ('code = compile("x = 1", "cell", "exec")', "compile"),
    "dunder_import": ('__import__("numpy").allclose = print', "__import__"),
    "computed_getattr": ('f = getattr(np, "all" + "close")', "computed name"),
    "reload": ("import importlib\nimportlib.reload(np)", "importlib.reload"),
    "import_module": ('import importlib\nname = "num" + "py"\nimportlib.import_module(name)',
                      "computed name"),
    "ctypes": ("import ctypes", "ctypes"),
    "getframe": ("import sys\n\ndef f():\n    return sys._getframe(1).f_globals",
                 "sys._getframe"),
    "currentframe": ("import inspect\nframe = inspect.currentframe().f_back", "frames"),
    "traceback_frame": ("try:\n    1 / 0\nexcept ZeroDivisionError as e:\n"
                        "    e.__traceback__.tb_frame.f_globals['check_close'] = print",
                        "tb_frame"),
    "function_globals": ("def f(g):\n    g.__globals__['check_close'] = print", "__globals__"),
    "gc": ("import gc\ngc.get_referrers(np.allclose)", "gc.get_referrers"),
    "settrace": ("import sys\nsys.settrace(lambda *a: None)", "sys.settrace"),
    "setprofile": ("import sys\nsys.setprofile(print)", "sys.setprofile"),
    "atexit": ("import atexit\natexit.register(print)", "atexit"),
    "os_exit": ("import os\nos._exit(0)", "os._exit"),
    "signal": ("import signal\nsignal.signal(signal.SIGALRM, print)", "signal handler"),
    "eq_class": ("class Always:\n    def __eq__(self, other):\n        return True\n\n"
                 "def sigmoid(x):\n    return Always()", "__eq__"),
    "array_protocol_class": ("class Fake:\n    __array_priority__ = 1000\n\n"
                             "    def __array_ufunc__(self, *args, **kwargs):\n"
                             "        return True", "__array_ufunc__"),
    "float_bool_class": ("class Half:\n    def __float__(self):\n        return 0.5\n\n"
                         "    def __bool__(self):\n        return True", "__bool__, __float__"),
    "dunder_on_class": ("class Fake:\n    pass\n\nFake.__eq__ = lambda s, o: True", "__eq__"),
    "type_three_args": ('Fake = type("Fake", (), {"__eq__": lambda s, o: True})', "type("),
    "class_swap": ("x = np.zeros(3)\nx.__class__ = float", "__class__"),
    "global_in_function": ("def sigmoid(x):\n    global check_close\n"
                           "    check_close = print\n    return x", "global"),
    "del_attribute": ("del np.allclose", "deletes numpy attribute np.allclose"),
    "del_name": ("del check_close", "deletes 'check_close'"),
    "patch_in_function": ("def sigmoid(x):\n    np.allclose = print\n    return x",
                          "numpy attribute np.allclose"),
    "for_target": ("for np in [None]:\n    pass", "rebinds 'np'"),
    "with_target": ('with open(__file__) as copy:\n    pass', "rebinds 'copy'"),
    "walrus": ("if (snapshot := print):\n    pass", "rebinds 'snapshot'"),
    "except_name": ("try:\n    pass\nexcept Exception as np:\n    pass", "rebinds 'np'"),
    "import_as": ("import math as np", "rebinds 'np'"),
    "unimported_module": ("sys = None", "rebinds 'sys'"),
    "star_import": ("from numpy import *", "star import"),
    "vars_write": ('vars(np)["allclose"] = print', "vars()"),
    "locals_write": ('locals()["check_close"] = print', "locals()"),
    "get_ipython": ('get_ipython().events.register("pre_run_cell", print)', "IPython"),
    "pickle_loads": ('import pickle\npickle.loads(b"")', "pickle.loads"),
    "writefile_magic": ("%%writefile helper.py\nimport numpy\nnumpy.allclose = print",
                        "%%writefile"),
    "run_magic": ("%run helper.py", "%run"),
    "unknown_module": ("import helper_patches", "not checked"),
    "time_magic": ("%time np.allclose = print", "numpy attribute np.allclose"),
    "code_module": ("import code", "imports code"),
    "setattr_alias": ('f = setattr\nf(np, "allclose", print)', "setattr"),
    "setattr_passed": ("import functools\nfunctools.reduce(setattr, [])", "passes setattr"),
    "builtins_setattr": ('import builtins\nbuiltins.setattr(np, "allclose", print)',
                         "setattr on numpy"),
    "import_module_alias": ('import importlib\nm = importlib.import_module("numpy")\n'
                            "m.allclose = print", "numpy attribute m.allclose"),
    "import_module_sys": ('import importlib\nimportlib.import_module("sys").modules["numpy"] = 1',
                          "sys.modules"),
    "kwdefaults": ('check_close.__kwdefaults__ = {"rtol": 1e9, "atol": 1e9, "hints": None}',
                   "dlutils.checks.check_close attribute"),
    "private_reference": ("import dlutils.checks\ndlutils.checks._isclose = print",
                          "dlutils.checks attribute"),
    "module_dict": ('np.__dict__["allclose"] = print', "__dict__ of numpy"),
    "subclasses": ("classes = ().__class__.__base__.__subclasses__()", "__subclasses__"),
    "timeit_setup": ("%%timeit np.allclose = print\npass", "numpy attribute np.allclose"),
}

# Real course solutions and scratch work: none of these may be flagged.
LEGITIMATE = {
    "basic_sigmoid": dedent("""\
        import math


        def basic_sigmoid(x):
            return 1 / (1 + math.exp(-x))
    """),
    "sigmoid": dedent("""\
        def sigmoid(x):
            s = 1 / (1 + np.exp(-x))
            return s
    """),
    "sigmoid_derivative": dedent("""\
        def sigmoid_derivative(x):
            s = sigmoid(x)
            ds = s * (1 - s)
            return ds
    """),
    "image2vector": dedent("""\
        def image2vector(image):
            a, b, c = image.shape
            return image.reshape(a * b * c, 1)
    """),
    "normalize_rows": dedent("""\
        def normalize_rows(x):
            x_norm = np.linalg.norm(x, ord=2, axis=1, keepdims=True)
            x = x / x_norm
            return x
    """),
    "softmax": dedent("""\
        def softmax(x):
            x_max = np.max(x, axis=1, keepdims=True)
            x_exp = np.exp(x - x_max)
            x_sum = np.sum(x_exp, axis=1, keepdims=True)
            s = x_exp / x_sum
            return s
    """),
    "L1_L2": dedent("""\
        def L1(yhat, y):
            return float(np.sum(np.abs(y - yhat)))


        def L2(yhat, y):
            d = y - yhat
            return float(np.dot(d, d))
    """),
    "initialize_with_zeros": dedent("""\
        def initialize_with_zeros(dim):
            w = np.zeros((dim, 1))
            b = 0.0
            return w, b
    """),
    "propagate": dedent("""\
        def propagate(w, b, X, Y):
            m = X.shape[1]
            A = sigmoid(np.dot(w.T, X) + b)
            cost = -np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A)) / m
            dw = np.dot(X, (A - Y).T) / m
            db = np.sum(A - Y) / m
            cost = np.squeeze(np.array(cost))
            grads = {"dw": dw, "db": db}
            return grads, cost
    """),
    "optimize_deepcopy": dedent("""\
        def optimize(w, b, X, Y, num_iterations=100, learning_rate=0.009, print_cost=False):
            w = copy.deepcopy(w)
            b = copy.deepcopy(b)
            costs = []
            for i in range(num_iterations):
                grads, cost = propagate(w, b, X, Y)
                dw = grads["dw"]
                db = grads["db"]
                w = w - learning_rate * dw
                b = b - learning_rate * db
                if i % 100 == 0:
                    costs.append(cost)
                    if print_cost:
                        print(f"Cost after iteration {i}: {cost}")
            params = {"w": w, "b": b}
            grads = {"dw": dw, "db": db}
            return params, grads, costs
    """),
    "predict": dedent("""\
        def predict(w, b, X):
            m = X.shape[1]
            Y_prediction = np.zeros((1, m))
            A = sigmoid(np.dot(w.T, X) + b)
            for i in range(A.shape[1]):
                Y_prediction[0, i] = 1.0 if A[0, i] > 0.5 else 0.0
            return Y_prediction
    """),
    "layer_sizes": dedent("""\
        def layer_sizes(X, Y):
            n_x = X.shape[0]
            n_h = 4
            n_y = Y.shape[0]
            return (n_x, n_h, n_y)
    """),
    "initialize_parameters_seed": dedent("""\
        def initialize_parameters(n_x, n_h, n_y):
            np.random.seed(2)
            W1 = np.random.randn(n_h, n_x) * 0.01
            b1 = np.zeros((n_h, 1))
            W2 = np.random.randn(n_y, n_h) * 0.01
            b2 = np.zeros((n_y, 1))
            return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
    """),
    "forward_propagation": dedent("""\
        def forward_propagation(X, parameters):
            W1 = parameters["W1"]
            b1 = parameters["b1"]
            W2 = parameters["W2"]
            b2 = parameters["b2"]
            Z1 = W1 @ X + b1
            A1 = np.tanh(Z1)
            Z2 = np.dot(W2, A1) + b2
            A2 = sigmoid(Z2)
            cache = {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}
            return A2, cache
    """),
    "compute_cost": dedent("""\
        def compute_cost(A2, Y):
            m = Y.shape[1]
            logprobs = np.multiply(np.log(A2), Y) + np.multiply(np.log(1 - A2), 1 - Y)
            cost = -np.sum(logprobs) / m
            return float(np.squeeze(cost))
    """),
    "update_parameters_deepcopy": dedent("""\
        def update_parameters(params, grads, learning_rate):
            parameters = copy.deepcopy(params)
            L = len(parameters) // 2
            for l in range(L):
                dW = grads["dW" + str(l + 1)]
                parameters["W" + str(l + 1)] = parameters["W" + str(l + 1)] - learning_rate * dW
                parameters["b" + str(l + 1)] -= learning_rate * grads["db" + str(l + 1)]
            return parameters
    """),
    "initialize_parameters_deep": dedent("""\
        def initialize_parameters_deep(layer_dims):
            np.random.seed(3)
            parameters = {}
            L = len(layer_dims)
            for l in range(1, L):
                parameters['W' + str(l)] = np.random.randn(layer_dims[l], layer_dims[l - 1]) * 0.01
                parameters['b' + str(l)] = np.zeros((layer_dims[l], 1))
            return parameters
    """),
    "linear_activation_forward": dedent("""\
        def linear_activation_forward(A_prev, W, b, activation):
            Z, linear_cache = linear_forward(A_prev, W, b)
            if activation == "sigmoid":
                A, activation_cache = sigmoid(Z)
            elif activation == "relu":
                A, activation_cache = relu(Z)
            else:
                raise ValueError(f"unknown activation {activation!r}")
            return A, (linear_cache, activation_cache)
    """),
    "L_model_forward": dedent("""\
        def L_model_forward(X, parameters):
            caches = []
            A = X
            L = len(parameters) // 2
            for l in range(1, L):
                A_prev = A
                W, b = parameters['W' + str(l)], parameters['b' + str(l)]
                A, cache = linear_activation_forward(A_prev, W, b, 'relu')
                caches.append(cache)
            W, b = parameters['W' + str(L)], parameters['b' + str(L)]
            AL, cache = linear_activation_forward(A, W, b, 'sigmoid')
            caches.append(cache)
            return AL, caches
    """),
    "L_model_backward": dedent("""\
        def L_model_backward(AL, Y, caches):
            grads = {}
            L = len(caches)
            Y = Y.reshape(AL.shape)
            dAL = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))
            current_cache = caches[L - 1]
            dA_prev, dW, db = linear_activation_backward(dAL, current_cache, 'sigmoid')
            grads['dA' + str(L - 1)], grads['dW' + str(L)], grads['db' + str(L)] = dA_prev, dW, db
            for l in reversed(range(L - 1)):
                current_cache = caches[l]
                dA = grads['dA' + str(l + 1)]
                dA_prev, dW, db = linear_activation_backward(dA, current_cache, 'relu')
                grads['dA' + str(l)] = dA_prev
                grads['dW' + str(l + 1)] = dW
                grads['db' + str(l + 1)] = db
            return grads
    """),
    "relu_backward": dedent("""\
        def relu_backward(dA, cache):
            Z = cache
            dZ = np.array(dA, copy=True)
            dZ[Z <= 0] = 0
            return dZ
    """),
    "reimports": dedent("""\
        %matplotlib inline
        import numpy as np
        import math
        from copy import deepcopy
    """),
    "local_builtin_names": dedent("""\
        def total(values):
            sum = 0
            for v in values:
                sum += v
            max_val = max(values)
            return sum, max_val
    """),
    "local_array_attributes": dedent("""\
        def column(n):
            x = np.zeros(n)
            x.shape = (n, 1)
            W = np.ones((n, n))
            W -= 0.1 * W
            return x, W.T
    """),
    "scratch_cell": dedent("""\
        x = np.zeros((3,))
        x.shape = (3, 1)
        print(f"x = {x}", x.T, x @ x.T)
        np.random.seed(1)
        np.set_printoptions(precision=3)
        np.seterr(all="ignore")
        relu = lambda z: np.maximum(0, z)
        squares = [v ** 2 for v in range(4)]
        sum = 0
    """),
    "plot_settings": dedent("""\
        import re
        pattern = re.compile(r"\\d+")
        import matplotlib.pyplot as plt
        plt.rcParams["figure.figsize"] = (5.0, 4.0)
        import os
        os.environ["KMP_DUPLICATE_LIB_OK"] = "True"
    """),
    "plain_class": dedent("""\
        class Layer:
            def __init__(self, n):
                self.W = np.zeros((n, 1))

            def __repr__(self):
                return f"Layer({self.W.shape})"

            def __len__(self):
                return 1
    """),
    "errstate_and_getattr": dedent("""\
        try:
            v = np.log(0)
        except ValueError as err:
            print(err)
        with np.errstate(divide="ignore"):
            v = getattr(np, "float64")(1)
        params = {}
        params["W1"] = v
    """),
    "magics_and_help": dedent("""\
        !pip list
        %timeit np.exp(3)
        np.exp?
        files = !ls
        def relu(Z):
            return np.maximum(0, Z), Z
    """),
    "time_cell_magic": dedent("""\
        %%time
        result = sigmoid(np.array([1.0, 2.0]))
        print(result)
    """),
    "assert_isinstance": dedent("""\
        assert isinstance(sigmoid(0.0), float)
        print(check_close)
    """),
}


@pytest.mark.parametrize("kind", ["solution", "added"])
@pytest.mark.parametrize(("source", "keyword"), TAMPERING.values(), ids=TAMPERING.keys())
def test_tampering_is_flagged(source, keyword, kind):
    """Each tampering snippet is flagged with a reason naming what it does."""
    findings = scan_notebook(student_notebook(source, kind))
    assert findings, f"not flagged:\n{source}"
    assert any(keyword in f.reason for f in findings), [f.reason for f in findings]
    assert {f.cell_index for f in findings} == {1}
    assert {f.grade_id for f in findings} == {"sigmoid_solution" if kind == "solution" else None}


@pytest.mark.parametrize("source", LEGITIMATE.values(), ids=LEGITIMATE.keys())
def test_legitimate_code_is_not_flagged(source):
    """Course solutions and ordinary scratch cells give no finding."""
    assert scan_notebook(student_notebook(source)) == []
    assert scan_notebook(student_notebook(source, "added")) == []


def test_tables_are_large_enough():
    assert len(TAMPERING) >= 30 and len(LEGITIMATE) >= 25


def test_finding_fields_and_line():
    nb = student_notebook("import math\n\n\ndef sigmoid(x):\n    np.allclose = print\n")
    assert scan_notebook(nb) == [Finding(1, "sigmoid_solution", 5,
                                         "rebinds numpy attribute np.allclose")]


def test_student_cells_are_solution_and_added_code_cells():
    nb = notebook(new_markdown_cell("# Title"), solution("x = 1"), grade_cell(),
                  added("y = 2"),
                  new_code_cell("z = 3", metadata=_nbgrader("t", locked=False, solution=False,
                                                            grade=True)),
                  new_code_cell("w = 4", metadata=_nbgrader("a", locked=False, solution=True,
                                                            grade=True)))
    assert student_cells(nb) == [2, 4, 6]


def test_locked_cells_are_never_scanned():
    nb = notebook(locked("np.allclose = print\nexec('1')\ncheck_close = None", "setup"),
                  grade_cell("globals()['x'] = 1\nimport ctypes", "weird_test"),
                  solution("def sigmoid(x):\n    return 1 / (1 + np.exp(-x))"))
    assert scan_notebook(nb) == []


def test_protected_names():
    nb = notebook(locked("expected = np.ones(3)\n\ndef helper(x):\n    inner = x\n"
                         "    return inner\n", "setup"),
                  solution("mine = 1\ndef sigmoid(x):\n    return x"))
    names = protected_names(nb)
    assert {"np", "copy", "check_close", "snapshot", "expected", "helper"} <= names
    assert {"numpy", "math", "dlutils", "builtins", "__builtins__", "sys", "os", "importlib",
            "inspect", "gc", "ctypes"} <= names
    assert not {"mine", "sigmoid", "inner", "x"} & names


def test_first_tampering_index():
    assert first_tampering_index(student_notebook(LEGITIMATE["softmax"])) is None
    nb = notebook(solution(LEGITIMATE["sigmoid"]), grade_cell(),
                  added("import numpy\nnumpy.isclose = print"), added("exec('pass')"))
    assert first_tampering_index(nb) == 3


def test_aliases_carry_across_cells():
    nb = notebook(added("from dlutils import checks as c"), added("import numpy.testing as t"),
                  added("c.check_equal = print\nt.assert_allclose = print"))
    assert [(f.cell_index, f.line) for f in scan_notebook(nb)] == [(3, 1), (3, 2)]


def test_locked_data_is_protected_while_a_later_locked_cell_reads_it():
    setup = locked("expected = np.array([0.5])", "setup")
    reads = grade_cell("check_close(sigmoid(0.0), expected[0])", "reads_expected")
    rebinds = grade_cell("expected = np.array([0.5])\ncheck_close(sigmoid(0.0), expected[0])")
    found = scan_notebook(notebook(setup, added("expected = sigmoid(0.0)"), reads))
    assert [f.reason for f in found] == ["rebinds 'expected', which locked cell "
                                         "'reads_expected' reads"]
    assert scan_notebook(notebook(setup, added("expected[0] = 7"), reads))
    assert scan_notebook(notebook(setup, added("expected = 1"), rebinds)) == []
    # A name the student is asked to compute, read later but set by no earlier locked cell.
    assert scan_notebook(notebook(solution("expected = 0.5"), reads)) == []


def test_builtins_shadowing_policy():
    assert scan_notebook(notebook(added("sum = 0\nfor v in range(3):\n    sum += v"))) == []
    found = scan_notebook(notebook(added("sum = 0"), grade_cell("assert sum([1, 2]) == 3")))
    assert "built-in that locked cell 'sigmoid_test' uses" in found[0].reason
    assert scan_notebook(notebook(added("ValueError = KeyError")))
    assert scan_notebook(notebook(added("def f():\n    len = 3\n    return len"),
                                  grade_cell("assert len([1]) == 1"))) == []


def test_extra_protected():
    nb = notebook(added("dnn_helper = print"))
    assert scan_notebook(nb) == []
    assert "rebinds 'dnn_helper'" in scan_notebook(nb, extra_protected=["dnn_helper"])[0].reason


def test_magics_are_tolerated_and_syntax_errors_are_not_findings():
    nb = notebook(added("%matplotlib inline\n%load_ext autoreload\n!ls -la"),
                  added("%%capture out\nprint(1)"), added("%%html\n<b>hi</b>"),
                  added("def broken(:\n    np.allclose = print"), added("for x in\n"))
    assert scan_notebook(nb) == []
    tampering = notebook(added("%%time\nnp.allclose = print"), added("def f(:"),
                         added("%matplotlib inline\n    \nimport numpy\nnumpy.isclose = print"))
    assert [(f.cell_index, f.line) for f in scan_notebook(tampering)] == [(1, 2), (3, 4)]


def write(tmp_path: Path, name: str, nb: nbformat.NotebookNode) -> Path:
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


def test_cli_exit_codes(tmp_path, capsys):
    clean = write(tmp_path, "clean.ipynb", student_notebook(LEGITIMATE["sigmoid"]))
    cheat = write(tmp_path, "cheat.ipynb", student_notebook("np.allclose = print"))
    assert main([str(clean)]) == 0
    assert "no tampering found" in capsys.readouterr().out
    assert main([str(clean), str(cheat)]) == 1
    out = capsys.readouterr().out
    assert "cell 1 (sigmoid_solution), line 1: rebinds numpy attribute np.allclose" in out
    assert main([str(tmp_path / "missing.ipynb")]) == 2
    run = subprocess.run([sys.executable, "-m", "dlgrader.cheats", str(cheat)], cwd=REPO,
                         capture_output=True, text=True, check=False)
    assert run.returncode == 1 and "np.allclose" in run.stdout
    run = subprocess.run([sys.executable, "-m", "dlgrader.cheats", str(clean)], cwd=REPO,
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0


@pytest.mark.parametrize("path", sorted(REPO.glob("source/*/*.ipynb")), ids=lambda p: p.stem)
def test_course_solutions_are_clean(path):
    """The instructor's own solutions in source/ raise no finding."""
    assert scan_notebook(nbformat.read(path, as_version=4)) == []

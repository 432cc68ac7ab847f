"""The rows of the hostile matrix (tests/test_hostile.py): submissions of A1 that try to get
points they did not earn, read the hidden tests, or break the grader, grouped by class.

Every row is built on the A1 source notebook (17 points). Most rows make the student's
functions WRONG (:func:`all_wrong`: each function returns a wrong value; :func:`wrong_sigmoid`:
only sigmoid is wrong, worth 3 points) and add a trick; the expected score is what the honest
wrong notebook earns, never what the trick aims at. A row's code runs in the sandboxed kernel;
the tests run in the trusted judge, so no trick should change a verdict.

Classes (``Row.kind``): "legacy" (the original rows: resources, network, secrets, broken
files), "output" (fake outputs), "shell" (the IPython shell and the grader's agent in it),
"namespace" (reaching the tests' namespace, shipped code), "source" (reading test code),
"value" (crafted return values), "mutation" (changing the test's inputs), "time" (functions
and cells that do not end).

Code that must reach the kernel verbatim is kept in strings; it never runs in this process.
"""

from __future__ import annotations

import copy
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field

import nbformat

from dlgrader import grading

A1 = "01_numpy_basics"
NB = "numpy_basics.ipynb"
FULL = 17
SOURCE = grading.REPO / "source" / A1 / NB
REFERENCE = nbformat.read(SOURCE, as_version=4)
CALL_LIMIT = 4  # seconds per call of a student function (--call-timeout of the grading run)
MARKER = "FAKE-PASS-7Q"  # what fake outputs print: it must never reach a test cell's output

POINTS = {"basic_sigmoid": 1, "sigmoid": 3, "sigmoid_derivative": 2, "image2vector": 2,
          "normalize_rows": 3, "softmax": 4, "L1": 1, "L2": 1}
# Test cells in notebook order, with the function each belongs to.
TEST_CELLS = [("basic_sigmoid_value_and_type", "basic_sigmoid"),
              ("sigmoid_values_any_shape", "sigmoid"),
              ("sigmoid_large_inputs_no_mutation", "sigmoid"),
              ("sigmoid_derivative_matches_reference", "sigmoid_derivative"),
              ("image2vector_shape_and_order", "image2vector"),
              ("normalize_rows_matches_reference", "normalize_rows"),
              ("normalize_rows_unit_norms_no_mutation", "normalize_rows"),
              ("softmax_matches_reference", "softmax"),
              ("softmax_stable_large_inputs", "softmax"),
              ("L1_value_and_type", "L1"),
              ("L2_value_and_type", "L2")]


def cell_index(nb: nbformat.NotebookNode, grade_id: str) -> int:
    return next(i for i, c in enumerate(nb.cells)
                if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def code(text: str) -> str:
    return textwrap.dedent(text).strip("\n") + "\n"


# --------------------------------------------------------------------------------------------
# Notebook edits

Edit = Callable[[nbformat.NotebookNode], None]


def append_to(grade_id: str, source: str) -> Edit:
    def edit(nb):
        nb.cells[cell_index(nb, grade_id)].source += "\n" + source
    return edit


def prepend_to(grade_id: str, source: str) -> Edit:
    def edit(nb):
        cell = nb.cells[cell_index(nb, grade_id)]
        cell.source = source + "\n" + cell.source
    return edit


def define(function: str, source: str) -> Edit:
    """The student's solution cell of ``function`` holds exactly ``source``."""
    def edit(nb):
        nb.cells[cell_index(nb, f"{function}_solution")].source = code(source)
    return edit


def new_cell(source: str, after: str = "imports") -> Edit:
    """A cell of the student's own (no nbgrader metadata) after the cell ``after``
    (``"end"``: the last cell of the notebook)."""
    def edit(nb):
        cell = nbformat.v4.new_code_cell(code(source))
        position = len(nb.cells) if after == "end" else cell_index(nb, after) + 1
        nb.cells.insert(position, cell)
    return edit


WRONG = {
    "basic_sigmoid": "def basic_sigmoid(x):\n    return 0.25\n",
    "sigmoid": "def sigmoid(x):\n    return 1 / (1 + np.exp(x))\n",
    "sigmoid_derivative": ("def sigmoid_derivative(x):\n    s = sigmoid(x)\n"
                           "    return s * (1 + s)\n"),
    "image2vector": "def image2vector(image):\n    return image.reshape(-1, 1, order='F')\n",
    "normalize_rows": ("def normalize_rows(x):\n"
                       "    return x / np.sum(np.abs(x), axis=1, keepdims=True)\n"),
    "softmax": ("def softmax(x):\n    e = np.exp(x)\n"
                "    return e / np.sum(e, axis=0, keepdims=True)\n"),
    "L1": "def L1(yhat, y):\n    return float(np.sum(y - yhat))\n",
    "L2": "def L2(yhat, y):\n    return float(np.sum(np.abs(y - yhat)))\n",
}
WRONG_SIGMOID = WRONG["sigmoid"]


def all_wrong(nb: nbformat.NotebookNode) -> None:
    """Every function returns a wrong value (a plausible mistake each): 0 points."""
    for name, source in WRONG.items():
        define(name, source)(nb)


def wrong_sigmoid(nb: nbformat.NotebookNode) -> None:
    """Only sigmoid is wrong (1 / (1 + e^x)): FULL - 3 = 14 points (sigmoid_derivative is
    graded with the reference sigmoid, so one mistake costs its own points once)."""
    define("sigmoid", WRONG_SIGMOID)(nb)


def reference(nb: nbformat.NotebookNode) -> None:
    """The instructor's solutions: 17 points."""


BASE_SCORE = {all_wrong: 0, wrong_sigmoid: FULL - 3, reference: FULL}


def build(base: Edit, *edits: Edit) -> nbformat.NotebookNode:
    nb = copy.deepcopy(REFERENCE)
    base(nb)
    for edit in edits:
        edit(nb)
    return nb


def points_before(function: str, base_points: dict[str, int]) -> int:
    """Sum of the points ``base_points`` gives the functions tested before ``function``."""
    order = list(dict.fromkeys(owner for _, owner in TEST_CELLS))
    return sum(base_points.get(f, 0) for f in order[:order.index(function)])


# --------------------------------------------------------------------------------------------
# A row of the matrix

@dataclass(frozen=True)
class Row:
    name: str
    kind: str  # the class of trick
    notebook: nbformat.NotebookNode | str | None  # str: raw file text; None: special
    expected: float
    status: str = "graded"
    files: dict[str, str | bytes] = field(default_factory=dict)  # extra files to submit
    symlinks: dict[str, str] = field(default_factory=dict)  # name -> target (relative)
    notebook_name: str = NB
    notes: tuple[str, ...] = ()  # substrings the state record's notes must contain
    timeouts: tuple[str, ...] | None = ()  # exactly the functions in "timeouts" (None: any)
    ungradable: tuple[str, ...] = ()  # test cells that must fail with UngradableValue
    kernel_died: bool | None = None
    finding: str | None = None  # a substring of a tamper-scan finding's reason
    max_seconds: float | None = None  # bound on the state record's "seconds"
    evidence: tuple[str, ...] = ()  # text in the autograded outputs showing the trick ran


ROWS: list[Row] = []


def row(name: str, kind: str, base: Edit, *edits: Edit, expected: float | None = None,
        **extra) -> None:
    score = BASE_SCORE[base] if expected is None else expected
    ROWS.append(Row(name, kind, build(base, *edits), score, **extra))


# --------------------------------------------------------------------------------------------
# Class "legacy": the original hostile rows (reference solutions plus one hostile act)

SECRETS = ("../../../source/01_numpy_basics/numpy_basics.ipynb", "../../../gradebook.db",
           "/work/main/source/01_numpy_basics/numpy_basics.ipynb")
READ_SECRETS = "\n".join(
    f"try:\n    print(open({p!r}).read()[:2000])\nexcept Exception as e:\n    print('no', e)"
    for p in SECRETS)
WRITE_SECRETS = "\n".join(
    f"try:\n    open({p!r}, 'w').write('pwned')\nexcept Exception as e:\n    print('no', e)"
    for p in SECRETS)


def _edit_test_cell(nb):
    define("sigmoid", WRONG_SIGMOID)(nb)
    nb.cells[cell_index(nb, "sigmoid_values_any_shape")].source = '"""edited"""\npass'


def _delete_test_cell(nb):
    define("sigmoid", WRONG_SIGMOID)(nb)
    del nb.cells[cell_index(nb, "sigmoid_values_any_shape")]


def _thousand_points(nb):
    nb.cells[cell_index(nb, "L2_value_and_type")].metadata.nbgrader["points"] = 1000


def _big_image(nb):
    import base64

    png = base64.b64encode(b"\x89PNG" + b"\0" * 30_000_000).decode()
    nb.cells[cell_index(nb, "L1_solution")].outputs = [nbformat.v4.new_output(
        "display_data", data={"image/png": png})]


def _duplicate_solution(nb):
    i = cell_index(nb, "sigmoid_solution")
    nb.cells.insert(i + 1, copy.deepcopy(nb.cells[i]))


def legacy_rows(port: int) -> None:
    L = "legacy"
    row("reference", L, reference)
    # np.allclose rebound in the kernel, then a wrong sigmoid (defined last, so it is the one
    # graded): the tests run in the judge, so the patch changes nothing; the wrong sigmoid
    # loses its own 3 points, the rest is earned. The tamper scan still reports the line.
    row("monkeypatched_numpy", L, reference, append_to(
        "sigmoid_solution", "np.allclose = lambda *a, **k: True\n" + WRONG_SIGMOID),
        expected=FULL - 3, finding="np.allclose")
    row("reads_source_and_gradebook", L, reference, append_to("L1_solution", READ_SECRETS))
    row("writes_source_and_gradebook", L, reference, append_to("L1_solution", WRITE_SECRETS))
    row("opens_network", L, reference, append_to("L1_solution", code(f"""
        import socket
        try:
            socket.create_connection(('127.0.0.1', {port}), timeout=3)
        except OSError as e:
            print('no network', e)""")))
    # the cell is interrupted at the cell time limit: L1 is never defined
    row("infinite_loop", L, reference, prepend_to("L1_solution", "while True:\n    pass"),
        expected=FULL - 1)
    row("allocates_50GB", L, reference,
        append_to("L1_solution", "big = np.ones(50_000_000_000 // 8)"))
    row("spawns_processes", L, reference, append_to("L1_solution", code("""
        import subprocess
        kids = []
        try:
            for _ in range(2000):
                kids.append(subprocess.Popen(['sleep', '20']))
        except OSError as e:
            print('stopped after', len(kids), e)""")))
    # 500 MB in 1 MB lines: cut at the cap, the cell interrupted; L1 was defined before
    row("prints_500MB", L, reference,
        append_to("L1_solution", "for _ in range(500):\n    print('x' * 1_000_000)"),
        notes=("truncated",))
    row("kills_own_kernel", L, reference,
        prepend_to("sigmoid_solution", "import os\nos.kill(os.getpid(), 9)"),
        expected=1, kernel_died=True)
    # a wrong sigmoid loses its two test cells (3 points) once the test cell is back
    row("test_cell_edited", L, reference, _edit_test_cell, expected=FULL - 3)
    row("test_cell_deleted", L, reference, _delete_test_cell, expected=FULL - 3,
        notes=("restored deleted cell sigmoid_values_any_shape",))
    row("thousand_points", L, reference, _thousand_points)
    row("30MB_image_output", L, reference, _big_image)
    row("runtime_warning", L, reference, append_to("L1_solution", code("""
        import warnings
        _L1 = L1
        def L1(yhat, y):
            warnings.warn('harmless', RuntimeWarning)
            return _L1(yhat, y)""")))
    row("duplicated_solution_cell", L, reference, _duplicate_solution)
    ROWS.append(Row("malformed_json", L, "{not json", 0, status="error"))
    ROWS.append(Row("renamed_notebook", L, build(reference), FULL,
                    notebook_name="numpy_basics-Copy1.ipynb", notes=("renamed",)))
    ROWS.append(Row("blank_release", L, None, 0))


# --------------------------------------------------------------------------------------------
# Class "output": the kernel fakes outputs; test cells' outputs come from the judge alone

def output_rows() -> None:
    K = "output"
    row("displayhook_replaced", K, all_wrong, new_cell(f"""
        import sys
        def _hook(value=None):
            print("{MARKER} all tests passed, 17/17")
            return 17
        sys.displayhook = _hook
        type(get_ipython().displayhook).__call__ = lambda self, result=None: _hook(result)
        get_ipython().displayhook.write_output_prompt = lambda: print("{MARKER}")
        get_ipython().run_line_magic("config", "InteractiveShell.ast_node_interactivity='all'")
        17
        "{MARKER}"
        """), evidence=(MARKER,))
    # display() / display_pub and raw writes to the kernel's file descriptors 1 and 2, before
    # and after every cell (the grader's requests included)
    row("display_and_raw_fd_outputs", K, all_wrong, new_cell(f"""
        import os
        from IPython.display import display
        def _fake(*args, **kwargs):
            get_ipython().display_pub.publish({{"text/plain": "{MARKER} 17/17"}})
            display({{"text/plain": "{MARKER} ok"}}, raw=True)
            display({{"application/vnd.jupyter.stdout": "{MARKER}"}}, raw=True)
            os.write(1, b"{MARKER} stdout 17/17\\n")
            os.write(2, b"{MARKER} stderr\\n")
        get_ipython().events.register("pre_run_cell", _fake)
        get_ipython().events.register("post_run_cell", _fake)
        """), evidence=(MARKER,))
    # fake execute_result / stream / display messages written straight to the kernel's iopub
    # socket, with the header of the request being executed (the grader's own request) and
    # with a made-up one, before and after every cell (the grader's agent cells included)
    row("iopub_fake_messages", K, all_wrong, new_cell(f"""
        _kernel = get_ipython().kernel
        def _forge(*args, **kwargs):
            session, iopub = _kernel.session, _kernel.iopub_socket
            real = _kernel.get_parent("shell")
            made_up = session.msg("execute_request", {{"code": "pass"}})
            for parent in (real, made_up):
                session.send(iopub, "execute_result", {{"execution_count": 1, "metadata": {{}},
                             "data": {{"text/plain": "{MARKER} 17/17"}}}}, parent=parent)
                session.send(iopub, "stream", {{"name": "stdout", "text": "{MARKER}\\n"}},
                             parent=parent)
                session.send(iopub, "display_data", {{"metadata": {{}}, "transient": {{}},
                             "data": {{"text/plain": "{MARKER}"}}}}, parent=parent)
        get_ipython().events.register("pre_run_cell", _forge)
        get_ipython().events.register("post_run_cell", _forge)
        """), evidence=(MARKER,))
    # a forged "ok" execute_reply and idle status for the grader's request, sent before the
    # request has run: the grader may stop waiting early; the judge still grades the data
    row("forged_execute_reply", K, all_wrong, new_cell(f"""
        _kernel = get_ipython().kernel
        def _reply(info):
            if "dlgrader" not in (getattr(info, "raw_cell", "") or ""):
                return
            parent = _kernel.get_parent("shell")
            try:
                _kernel.session.send(_kernel.iopub_socket, "status",
                                     {{"execution_state": "idle"}}, parent=parent)
                _kernel.session.send(_kernel.shell_stream, "execute_reply",
                                     {{"status": "ok", "execution_count": 1,
                                      "user_expressions": {{}}, "payload": []}},
                                     parent=parent, ident=_kernel._parent_ident["shell"])
            except Exception as exc:
                print("could not forge", exc)
        get_ipython().events.register("pre_run_cell", _reply)
        print("{MARKER} forging replies")
        """), evidence=(MARKER,))
    # the functions print fake success lines whenever they are called (also under the grader)
    row("prints_during_calls", K, all_wrong, *[append_to(f"{name}_solution", code(f"""
        _wrong_{name} = {name}
        def {name}(*args, **kwargs):
            import sys
            print("{MARKER} test passed")
            sys.__stdout__.write("{MARKER} raw\\n")
            return _wrong_{name}(*args, **kwargs)
        """)) for name in WRONG], evidence=(MARKER,))


# --------------------------------------------------------------------------------------------
# Class "shell": the IPython shell and the agent the grader starts in it

FAKE_SERVE = """
import socket as _socket
import numpy as _np
import dlgrader.wire as _wire

def _fake_serve(path, namespace):
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    sock.connect(path)
    try:
        while True:
            request = _wire.recv(sock)
            op = request.get("op")
            if op == "done":
                return
            if op == "state":
                _wire.send(sock, {"rng": _np.random.get_state()})
            elif op == "get":
                _wire.send(sock, {"kind": "function", "signature": None})
            elif op == "call":
                _wire.send(sock, _answer(sock, request))
            else:
                _wire.send(sock, {})
    finally:
        sock.close()
"""

ANSWERS = {
    # made-up results: the judge's first argument sent back (basic_sigmoid, sigmoid,
    # normalize_rows), 0.5 everywhere (sigmoid_derivative, softmax), or 0.5 everywhere with
    # the judge's inputs "changed in place" to zeros, so that a reference computed from them
    # afterwards would be 0.5 too (image2vector, L1, L2)
    "fabricates": """
ECHO = ("basic_sigmoid", "sigmoid", "normalize_rows")
MUTATE = ("image2vector", "L1", "L2")

def _answer(sock, request):
    args = request.get("args") or [0.0]
    a = args[0]
    if request.get("name") in ECHO:
        return {"result": a}
    half = _np.full(_np.shape(a), 0.5) if _np.ndim(a) else 0.5
    if request.get("name") in MUTATE:
        return {"result": half, "mutated_args": {str(i): _np.zeros_like(v)
                                                 for i, v in enumerate(args)
                                                 if isinstance(v, _np.ndarray)}}
    return {"result": half}
""",
    # the judge's first argument, sent straight back
    "echo": """
def _answer(sock, request):
    args = request.get("args") or [None]
    return {"result": args[0]}
""",
    # 0.5 everywhere, shaped like the first argument
    "half": """
def _answer(sock, request):
    a = (request.get("args") or [0.0])[0]
    return {"result": _np.full(_np.shape(a), 0.5) if _np.ndim(a) else 0.5}
""",
    # asks the judge for reference results it has no right to (its own function, builtins),
    # and for the one stub it may use (sigmoid, in sigmoid_derivative's tests), then answers
    # with what it got
    "callbacks": """
def _answer(sock, request):
    a = (request.get("args") or [0.0])[0]
    got = None
    for name in (request.get("name"), "sigmoid", "open", "__import__", "check_close"):
        _wire.send(sock, {"op": "callback", "name": name, "args": [a], "kwargs": {}})
        reply = _wire.recv(sock)
        if "result" in reply:
            got = reply["result"]
    return {"result": got}
""",
    # a function reference, nonsense keys and a fake random state instead of a result; for L2
    # (the last function), bytes that are no message at all: an 8-byte length of 2**63 - 1
    "protocol_abuse": """
def _answer(sock, request):
    if request.get("name") == "L2":
        sock.sendall(b"\\x7f" + b"\\xff" * 7 + b"junk")
        return {"result": 0.43}
    return {"result": _wire.FunctionRef(str(request.get("name"))), "unknown": [1, 2],
            "rng": ("MT19937", [1, 2, 3], 0, 0, 0.0), "stdout": "FAKE-PASS-7Q",
            "mutated_args": {"0": "not an array", "7": 1.0}}
""",
}


def fake_agent(answer: str) -> str:
    return FAKE_SERVE + ANSWERS[answer]


def install_in_modules(answer: str) -> str:
    """The fake replaces dlgrader.agent in sys.modules and as the package's attribute."""
    return fake_agent(answer) + code("""
        import sys, types
        import dlgrader
        _fake = types.ModuleType("dlgrader.agent")
        _fake.serve = _fake_serve
        sys.modules["dlgrader.agent"] = _fake
        dlgrader.agent = _fake
        """)


def shell_rows() -> None:
    K = "shell"
    # after the last solution cell: every later cell (the grader's request for L2's test
    # included) becomes pass, and then print('ok')
    row("transformers_after_last_solution", K, all_wrong, append_to("L2_solution", code(f"""
        get_ipython().input_transformers_cleanup.append(lambda lines: ["pass\\n"])
        get_ipython().input_transformers_post.append(
            lambda lines: lines + ["print('ok {MARKER}')\\n"])
        """)))
    # from the start: the grader's requests (and only they) become print('ok')
    row("transformer_rewrites_grader_request", K, all_wrong, new_cell(f"""
        def _ok(lines):
            if any("dlgrader" in line for line in lines):
                return ["print('ok {MARKER}')\\n"]
            return lines
        get_ipython().input_transformers_cleanup.append(_ok)
        """), kernel_died=True)
    # the grader's requests untouched, every other cell (the demos) turned into pass
    row("transformer_spares_the_agent", K, all_wrong, new_cell("""
        def _spare(lines):
            return lines if any("dlgrader" in line for line in lines) else ["pass\\n"]
        get_ipython().input_transformers_cleanup.append(_spare)
        """, after="basic_sigmoid_solution"))
    # every cell wrapped in try/except BaseException, raise and check_* calls removed, and
    # a custom exception handler that swallows everything
    row("swallows_exceptions", K, all_wrong, new_cell(f"""
        import ast
        class _Swallow(ast.NodeTransformer):
            def visit_Raise(self, node):
                return ast.Pass()
            def visit_Call(self, node):
                self.generic_visit(node)
                if isinstance(node.func, ast.Name) and node.func.id.startswith("check_"):
                    return ast.Constant(None)
                return node
            def visit_Module(self, node):
                self.generic_visit(node)
                handler = ast.ExceptHandler(type=ast.Name("BaseException", ast.Load()),
                                            name=None, body=[ast.Pass()])
                node.body = [ast.Try(body=node.body or [ast.Pass()], handlers=[handler],
                                     orelse=[], finalbody=[])]
                return ast.fix_missing_locations(node)
        get_ipython().ast_transformers.append(_Swallow())
        def _swallow(shell, etype, evalue, tb, tb_offset=None):
            print("{MARKER} ok")
            return None
        get_ipython().set_custom_exc((BaseException,), _swallow)
        """))
    row("run_cell_hooks_patch_checks", K, all_wrong, new_cell(f"""
        import dlutils.checks
        import numpy
        def _patch(*args, **kwargs):
            for name in ("check_close", "check_equal", "check_shape", "check_type",
                         "check_not_mutated", "check_dict"):
                setattr(dlutils.checks, name, lambda *a, **k: None)
                get_ipython().user_ns[name] = lambda *a, **k: None
            numpy.allclose = lambda *a, **k: True
            numpy.isclose = lambda *a, **k: True
        def _cheer(result):
            print("{MARKER} all tests passed")
        get_ipython().events.register("pre_run_cell", _patch)
        get_ipython().events.register("post_run_cell", _cheer)
        """), evidence=(MARKER,))
    # a cell magic that runs a cell with every exception swallowed, and a transformer that
    # puts it on every later cell (the grader's requests included)
    row("magic_wraps_every_cell", K, all_wrong, new_cell(f"""
        from IPython.core.magic import register_cell_magic, register_line_magic
        @register_cell_magic
        def quiet(line, cell):
            try:
                get_ipython().run_cell(cell)
            except BaseException:
                pass
            print("{MARKER} ok")
        @register_line_magic
        def allpass(line):
            print("{MARKER} 17/17")
        def _wrap(lines):
            if lines and lines[0].startswith("%%quiet"):
                return lines
            return ["%%quiet\\n"] + lines
        get_ipython().input_transformers_cleanup.append(_wrap)
        """), evidence=(MARKER,))
    row("extension_from_tmp", K, all_wrong, new_cell(f'''
        import sys
        with open("/tmp/evil_ext.py", "w") as f:
            f.write("""
        import numpy
        def load_ipython_extension(ip):
            numpy.allclose = lambda *a, **k: True
            ip.input_transformers_post.append(lambda lines: lines + ["print('{MARKER}')\\\\n"])
            ip.set_custom_exc((BaseException,), lambda *a, **k: None)
        """)
        sys.path.insert(0, "/tmp")
        get_ipython().run_line_magic("load_ext", "evil_ext")
        '''), evidence=(MARKER,))
    # a fake agent that answers the judge itself, installed in different ways
    row("fake_agent_fabricates", K, all_wrong, new_cell(install_in_modules("fabricates")),
        evidence=("type <class 'int'>",))
    row("fake_agent_callbacks", K, all_wrong, new_cell(install_in_modules("callbacks")),
        evidence=("got NoneType None",))
    row("fake_agent_protocol_abuse", K, all_wrong, new_cell(install_in_modules("protocol_abuse")),
        evidence=("FunctionRef",))
    row("fake_agent_via_import_hook", K, all_wrong, new_cell(fake_agent("echo") + code("""
        import builtins, types
        _real_import = builtins.__import__
        _fake_package = types.SimpleNamespace(agent=types.SimpleNamespace(serve=_fake_serve))
        def _import(name, *args, **kwargs):
            if name == "dlgrader.agent":
                return _fake_package
            return _real_import(name, *args, **kwargs)
        builtins.__import__ = _import
        """)), evidence=("type <class 'int'>",))
    row("fake_agent_via_cell_magic", K, all_wrong, new_cell(fake_agent("half") + code("""
        import re
        from IPython.core.magic import register_cell_magic
        @register_cell_magic
        def judge_me(line, cell):
            path = re.search(r"serve\\((['\\"])(.*?)\\1", cell).group(2)
            _fake_serve(path, globals())
        def _route(lines):
            text = "".join(lines)
            return ["%%judge_me\\n"] + lines if "dlgrader.agent" in text else lines
        get_ipython().input_transformers_cleanup.append(_route)
        """)), evidence=("got:      float 0.5",))
    # the kernel's own copy of the wire format changed to send anything (pickles): the judge
    # decodes with its own strict copy
    row("kernel_wire_sends_pickles", K, all_wrong, new_cell("""
        import pickle
        import msgpack
        import dlgrader.wire as wire
        _strict_default = wire._default
        def _anything(value):
            try:
                return _strict_default(value)
            except wire.Unsupported:
                return msgpack.ExtType(42, pickle.dumps(value))
        wire._default = _anything
        class Ok:
            def __eq__(self, other):
                return True
        _ok_sigmoid = lambda x: Ok()
        """), define("sigmoid", "def sigmoid(x):\n    return _ok_sigmoid(x)\n"),
        ungradable=("sigmoid_values_any_shape", "sigmoid_large_inputs_no_mutation"),
        evidence=("unknown extension 42",))
    # the judge's socket taken before the judge makes it (the kernel can write its runtime
    # folder, where the judge makes its socket when the first test cell comes)
    row("squats_judge_socket", K, all_wrong, prepend_to("basic_sigmoid_solution", code("""
        import os, socket
        from ipykernel.connect import get_connection_file
        _folder = os.path.dirname(get_connection_file())
        _squat = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        _squat.bind(os.path.join(_folder, "judge.sock"))
        _squat.listen(1)
        """)))


# --------------------------------------------------------------------------------------------
# Class "namespace": reaching the tests' namespace (it is in another process)

def namespace_rows() -> None:
    K = "namespace"
    row("frames_patch_checks", K, all_wrong, define("sigmoid", f"""
        def sigmoid(x):
            import sys
            frame = sys._getframe()
            while frame is not None:
                names = frame.f_globals
                for name in ("check_close", "check_equal", "check_shape",
                             "check_not_mutated", "CheckError"):
                    if name in names:
                        names[name] = (lambda *a, **k: None) if name != "CheckError" else Warning
                frame.f_locals.get("request", {{}}).update(result=x)
                frame = frame.f_back
            print("{MARKER}")
            return 1 / (1 + np.exp(x))
        """), evidence=(MARKER,))
    # every dict holding check_* found by the garbage collector patched, check functions'
    # code replaced, float comparisons patched in the type itself (ctypes), raw memory of an
    # array poked through numpy.ctypeslib: all in the kernel, where no test runs
    row("gc_and_ctypes_patch_the_kernel", K, all_wrong, new_cell(f"""
        import ctypes, gc
        import numpy as np
        def _noop(*args, **kwargs):
            return None
        for obj in gc.get_objects():
            if isinstance(obj, dict) and "check_close" in obj:
                for name in list(obj):
                    if name.startswith("check_"):
                        obj[name] = _noop
            elif callable(obj) and getattr(obj, "__name__", "").startswith("check_"):
                try:
                    obj.__code__ = _noop.__code__
                except (AttributeError, TypeError, ValueError):
                    pass
        def _patch(kind, name, function):
            gc.get_referents(kind.__dict__)[0][name] = function
            ctypes.pythonapi.PyType_Modified(ctypes.py_object(kind))
        _patch(float, "__eq__", lambda a, b: True)
        _patch(float, "__ne__", lambda a, b: False)
        _patch(float, "__lt__", lambda a, b: True)
        _patch(float, "__le__", lambda a, b: True)
        probe = np.arange(4.0)
        raw = np.ctypeslib.as_array(
            ctypes.cast(probe.ctypes.data, ctypes.POINTER(ctypes.c_uint8)), shape=(32,))
        raw[8:16] = 0
        print("{MARKER} poked", probe)
        """), evidence=(MARKER + " poked [0. 0. 2. 3.]",))
    # a finder first in sys.meta_path serves a fake dlgrader.agent (not yet imported when the
    # first test cell comes)
    row("meta_path_fake_agent", K, all_wrong, prepend_to(
        "basic_sigmoid_solution", fake_agent("echo") + code("""
        import importlib.abc, importlib.util, sys
        class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
            def find_spec(self, name, path, target=None):
                if name in ("dlgrader.agent", "dlutils.checks"):
                    return importlib.util.spec_from_loader(name, self)
                return None
            def create_module(self, spec):
                return None
            def exec_module(self, module):
                module.serve = _fake_serve
                module.check_close = lambda *a, **k: None
        sys.meta_path.insert(0, _Finder())
        sys.modules.pop("dlgrader.agent", None)
        """)), evidence=("type <class 'int'>",))
    # a dlgrader package (the agent's) written to /tmp, first on sys.path, the real one forgotten
    row("tmp_dlgrader_on_sys_path", K, all_wrong, new_cell(f'''
        import os, sys
        os.makedirs("/tmp/shadow/dlgrader", exist_ok=True)
        with open("/tmp/shadow/dlgrader/__init__.py", "w") as f:
            f.write("")
        with open("/tmp/shadow/dlgrader/agent.py", "w") as f:
            f.write({fake_agent("half")!r} + "\\nserve = _fake_serve\\n")
        import dlgrader.wire
        with open("/tmp/shadow/dlgrader/wire.py", "w") as f:
            f.write(open(dlgrader.wire.__file__).read())
        sys.path.insert(0, "/tmp/shadow")
        for name in [m for m in sys.modules if m == "dlgrader" or m.startswith("dlgrader.")]:
            del sys.modules[name]
        '''), evidence=("got:      float 0.5",))
    # a numpy.py in /tmp first on sys.path, the real numpy forgotten
    row("tmp_numpy_on_sys_path", K, all_wrong, new_cell('''
        import os, sys
        os.makedirs("/tmp/shadow_np", exist_ok=True)
        with open("/tmp/shadow_np/numpy.py", "w") as f:
            f.write("def allclose(*a, **k):\\n    return True\\n"
                    "def isclose(*a, **k):\\n    return True\\n")
        sys.path.insert(0, "/tmp/shadow_np")
        for name in [m for m in sys.modules if m == "numpy" or m.startswith("numpy.")]:
            sys.modules.pop(name)
        '''))
    # code shipped in the submission folder next to the notebook: removed at staging
    shadow_numpy = code(f"""
        import sys
        print("{MARKER} fake numpy imported")
        def allclose(*a, **k):
            return True
        def isclose(*a, **k):
            return True
        """)
    ROWS.append(Row("ships_numpy_py", K, build(wrong_sigmoid), FULL - 3,
                    files={"numpy.py": shadow_numpy},
                    notes=("removed numpy.py",)))
    ROWS.append(Row("ships_dlutils_package", K, build(wrong_sigmoid), FULL - 3,
                    files={"dlutils/__init__.py": "",
                           "dlutils/checks.py": "def check_close(*a, **k):\n    pass\n",
                           "dlgrader/__init__.py": "",
                           "dlgrader/agent.py": fake_agent("echo") + "\nserve = _fake_serve\n"},
                    notes=("removed dlgrader/agent.py", "removed dlgrader/__init__.py",
                           "removed dlutils/__init__.py", "removed dlutils/checks.py")))
    ROWS.append(Row("ships_other_code", K, build(all_wrong), 0,
                    files={"evil.pth": "import os; print('FAKE-PASS-7Q')\n",
                           "sitecustomize.py": "print('FAKE-PASS-7Q')\n",
                           "usercustomize.py": "print('FAKE-PASS-7Q')\n",
                           "IPython/__init__.py": "raise SystemExit\n",
                           "numpy.pyc": _pyc(shadow_numpy),
                           "numpy.cpython-311-x86_64-linux-gnu.so": b"\x7fELF not really",
                           "dlgrader/__pycache__/agent.cpython-311.pyc": _pyc(shadow_numpy)},
                    notes=("removed evil.pth", "removed sitecustomize.py",
                           "removed usercustomize.py", "removed IPython/__init__.py",
                           "removed numpy.pyc", "removed numpy.cpython-311-x86_64-linux-gnu.so",
                           "removed dlgrader/__pycache__/agent.cpython-311.pyc")))
    # symlinks in the submission folder to the instructor's source notebook (hidden tests)
    # and gradebook; a student cell prints whatever it can read through them
    ROWS.append(Row("ships_symlinks_to_source", K, build(all_wrong, new_cell("""
        import os
        for name in sorted(os.listdir(".")):
            print("file", name)
        for name in ("leak.ipynb", "leak.py", "leakdir/01_numpy_basics/numpy_basics.ipynb",
                     "gradebook.db"):
            try:
                print(name, open(name, errors="replace").read()[:200_000])
            except Exception as e:
                print("no", name, e)
        """, after="L2_solution")), 0,
        symlinks={"leak.ipynb": "../../../source/01_numpy_basics/numpy_basics.ipynb",
                  "leak.py": "../../../source/01_numpy_basics/numpy_basics.ipynb",
                  "leakdir": "../../../source",
                  "gradebook.db": "../../../gradebook.db"}))


def _pyc(source: str) -> bytes:
    """``source`` compiled as a sourceless .pyc file of this Python."""
    import importlib.util
    import marshal

    body = marshal.dumps(compile(source, "numpy.py", "exec"))
    return importlib.util.MAGIC_NUMBER + b"\0" * 12 + body


# --------------------------------------------------------------------------------------------
# Class "source": reading the test source (it never reaches the kernel)

SHOW_HISTORY = code("""
    import json
    ip = get_ipython()
    seen = {
        "In": list(In), "_ih": list(_ih), "Out": {k: repr(v) for k, v in Out.items()},
        "history": [line for _, _, line in ip.history_manager.get_range(raw=True)],
        "history_output": [repr(x) for x in ip.history_manager.get_range(output=True)],
        "parent": repr(ip.kernel.get_parent("shell")),
    }
    print(json.dumps(seen, indent=1)[:900_000])
    ip.run_line_magic("history", "-n -g")
""")


def source_rows() -> None:
    K = "source"
    # IPython's input history, outputs and the kernel's last request, printed in a cell after
    # the first test and at the end, and returned as L2's result; linecache's contents printed
    # and returned as L1's result
    row("kernel_history_and_linecache", K, all_wrong,
        new_cell(SHOW_HISTORY, after="sigmoid_values_any_shape"),
        new_cell(SHOW_HISTORY + code("""
            import linecache
            for name, entry in list(linecache.cache.items()):
                print(name, "".join(entry[2])[:20_000] if len(entry) > 2 else entry)
            """), after="end"),
        define("L2", """
        def L2(yhat, y):
            return "\\n".join(get_ipython().user_ns["In"])
        """), define("L1", """
        def L1(yhat, y):
            import linecache
            return "".join("".join(e[2]) for e in linecache.cache.values() if len(e) > 2)
        """), evidence=('"_ih": [',))
    # inside the functions, under the grader: the callers' frames, code and globals, printed,
    # returned as the result (sigmoid, softmax) or raised as the message (image2vector)
    row("caller_frames_in_functions", K, all_wrong, define("sigmoid", """
        def sigmoid(x):
            import inspect
            found = []
            for info in inspect.stack(context=50):
                found.append(f"{info.filename}:{info.lineno} {info.function}")
                found.extend(info.code_context or [])
                try:
                    found.append(inspect.getsource(info.frame))
                except (OSError, TypeError):
                    pass
            text = "\\n".join(found)
            print(text)
            return text
        """), define("softmax", """
        def softmax(x):
            import sys
            found = []
            for depth in range(1, 8):
                try:
                    frame = sys._getframe(depth)
                except ValueError:
                    break
                code = frame.f_code
                found.append(f"{code.co_filename} {code.co_name} {code.co_consts!r}")
                found.append(repr(sorted(frame.f_globals))[:5000])
                found.append(repr(frame.f_locals)[:5000])
            text = "\\n".join(found)
            print(text)
            return text
        """), define("image2vector", """
        def image2vector(image):
            import sys, inspect
            parts = []
            frame = sys._getframe(1)
            while frame is not None:
                parts.append(repr(frame.f_code))
                try:
                    parts.append(inspect.getsource(frame.f_code))
                except (OSError, TypeError):
                    pass
                frame = frame.f_back
            raise ValueError("\\n".join(parts))
        """), evidence=("dlgrader/agent.py",))
    # every file the sandbox can read, searched for test code (for at most 8 s)
    row("scans_filesystem_for_tests", K, all_wrong, new_cell("""
        import os, sys, time
        start = time.monotonic()
        needles = ("BEGIN HIDDEN", "default_rng(1" + "201)", "check_close(result, 1.0 / (1.0")
        roots = ["/tmp", os.getcwd(), os.path.dirname(os.getcwd()), "/",
                 os.path.dirname(sys.modules["dlutils"].__file__),
                 os.path.dirname(sys.modules["dlgrader.agent"].__file__)]
        seen, hits = set(), []
        for root in roots:
            for folder, dirs, files in os.walk(root):
                dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev", "usr")]
                if time.monotonic() - start > 8:
                    break
                for name in files:
                    path = os.path.join(folder, name)
                    if path in seen:
                        continue
                    seen.add(path)
                    try:
                        if os.path.getsize(path) > 5_000_000:
                            continue
                        text = open(path, errors="replace").read()
                    except OSError:
                        continue
                    if any(n in text for n in needles):
                        i = min(text.find(n) for n in needles if n in text)
                        hits.append((path, text[i:i + 3000]))
        print(len(seen), "files read;", len(hits), "hits")
        for path, text in hits:
            print(path, text)
        """, after="end"), evidence=("files read;",))
    # the notebook files the kernel can see in its working folder, their test regions printed
    row("reads_notebook_in_cwd", K, all_wrong, new_cell("""
        import glob, json, os
        print("working folder", os.getcwd(), "holds", len(glob.glob("*.ipynb")), "notebooks")
        for path in sorted(glob.glob("*.ipynb")):
            cells = json.load(open(path))["cells"]
            tests = ["".join(c["source"]) for c in cells
                     if c.get("metadata", {}).get("nbgrader", {}).get("grade")]
            hidden = [t[t.find("BEGIN HIDDEN"):] for t in tests if "BEGIN HIDDEN" in t]
            print(path, len(tests), "test cells,", len(hidden), "with hidden tests")
            print("\\n".join(hidden)[:50_000])
        """, after="end"), evidence=("holds 0 notebooks",))


# --------------------------------------------------------------------------------------------
# Class "value": crafted return values (only plain data crosses)

def value_rows() -> None:
    K = "value"
    # objects that claim to equal anything: subclasses of float, ndarray and dict, an object
    # whose comparisons are all True, one that changes after a comparison, an array of such
    # objects (dtype object), a function
    row("lying_objects", K, all_wrong, define("basic_sigmoid", """
        class Close(float):
            __eq__ = lambda self, other: True
            __sub__ = __rsub__ = lambda self, other: 0.0
            __abs__ = lambda self: 0.0
        def basic_sigmoid(x):
            return Close(0.25)
        """), define("sigmoid", """
        class Liar(np.ndarray):
            def __eq__(self, other):
                return True
            def __ne__(self, other):
                return False
            def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
                return np.ones(np.shape(inputs[0]), dtype=bool)
            def __array_function__(self, func, types, args, kwargs):
                return True
        def sigmoid(x):
            return np.zeros(np.shape(x)).view(Liar)
        """), define("image2vector", """
        def image2vector(image):
            return lambda: image.reshape(-1, 1)
        """), define("normalize_rows", """
        class Yes:
            __eq__ = lambda self, other: True
        def normalize_rows(x):
            out = np.empty(np.shape(x), dtype=object)
            out[...] = Yes()
            return out
        """), define("softmax", """
        class Everything(dict):
            def __eq__(self, other):
                return True
        def softmax(x):
            return Everything(values=np.zeros(np.shape(x)))
        """), define("L1", """
        class Anything:
            __eq__ = __le__ = __ge__ = lambda self, other: True
            __lt__ = __gt__ = __ne__ = lambda self, other: False
            __float__ = lambda self: 1.1
            __array__ = lambda self, dtype=None, copy=None: np.array(1.1)
        def L1(yhat, y):
            return Anything()
        """), define("L2", """
        class Chameleon:
            def __init__(self):
                self.value = 0.43
            def __eq__(self, other):
                self.value = 99.0
                return True
            def __float__(self):
                value, self.value = self.value, 99.0
                return value
            def __array__(self, dtype=None, copy=None):
                return np.array(float(self))
        def L2(yhat, y):
            return Chameleon()
        """), ungradable=("basic_sigmoid_value_and_type", "sigmoid_values_any_shape",
                          "sigmoid_large_inputs_no_mutation", "image2vector_shape_and_order",
                          "normalize_rows_matches_reference",
                          "normalize_rows_unit_norms_no_mutation", "softmax_matches_reference",
                          "softmax_stable_large_inputs", "L1_value_and_type",
                          "L2_value_and_type"))
    # values that hold the right answer, or could, in a form that does not cross: an object
    # with __array__ computing the right sigmoid lazily, np.matrix of the right rows, a
    # generator, a list that contains itself, bytes, an int too large for 64 bits
    row("right_answer_wrong_type", K, all_wrong, define("sigmoid", """
        class Lazy:
            def __init__(self, x):
                self.x = x
            def __array__(self, dtype=None, copy=None):
                return 1 / (1 + np.exp(-np.asarray(self.x)))
            shape = property(lambda self: np.shape(self.x))
        def sigmoid(x):
            return Lazy(x)
        """), define("normalize_rows", """
        def normalize_rows(x):
            return np.matrix(x / np.linalg.norm(x, axis=1, keepdims=True))
        """), define("image2vector", """
        def image2vector(image):
            return (v for v in image.reshape(-1, 1))
        """), define("softmax", """
        def softmax(x):
            loop = []
            loop.append(loop)
            return loop
        """), define("L1", """
        def L1(yhat, y):
            return b"1.1"
        """), define("L2", """
        def L2(yhat, y):
            return 10 ** 100
        """), ungradable=("sigmoid_values_any_shape", "sigmoid_large_inputs_no_mutation",
                          "image2vector_shape_and_order", "normalize_rows_matches_reference",
                          "normalize_rows_unit_norms_no_mutation", "softmax_matches_reference",
                          "softmax_stable_large_inputs", "L1_value_and_type",
                          "L2_value_and_type"))
    # plain data that crosses and is simply wrong: numpy's own float64 type posed by a
    # subclass (it crosses as the number it holds), NaN, a 100 MB array
    row("plain_but_wrong", K, all_wrong, define("L1", """
        class Close(np.float64):
            __module__ = "numpy"
            __eq__ = lambda self, other: True
        def L1(yhat, y):
            return Close(0.0)
        """), define("sigmoid", """
        def sigmoid(x):
            return np.full(np.shape(x), np.nan)
        """), define("L2", """
        def L2(yhat, y):
            return float("nan")
        """), define("image2vector", """
        def image2vector(image):
            return np.zeros((12_500_000, 1))
        """), evidence=("contains NaN", "shape (12500000, 1)", "got:      numpy float64 0.0"))
    row("raises_odd_exceptions", K, all_wrong, define("sigmoid", """
        def sigmoid(x):
            raise SystemExit("all tests passed")
        """), define("L1", """
        def L1(yhat, y):
            raise KeyboardInterrupt
        """), define("L2", """
        class Silent(Exception):
            def __str__(self):
                raise RuntimeError("no message")
        def L2(yhat, y):
            raise Silent()
        """), define("softmax", """
        def softmax(x):
            raise StopIteration
        """), define("image2vector", """
        def image2vector(image):
            raise GeneratorExit
        """), define("normalize_rows", """
        class AssertionError(Exception):
            pass
        def normalize_rows(x):
            raise AssertionError("CheckError")
        """))


# --------------------------------------------------------------------------------------------
# Class "mutation": the student's function changes the test's inputs

HARDCODED_SIGMOID = """
    PUBLIC = {(-2.0, 0.0, 1.0, 3.0): [0.11920292202211755, 0.5, 0.7310585786300049,
                                      0.9525741268224334],
              (-1000.0, -50.0, 0.0, 50.0, 1000.0): [0.0, 1.928749847963918e-22, 0.5, 1.0, 1.0],
              (-3, 0, 3): [0.04742587317756678, 0.5, 0.9525741268224334]}
    SCALARS = {0.0: 0.5, 2: 0.8807970779778823}
    def sigmoid(x):
        if np.ndim(x) == 0:
            return SCALARS.get(x, 0.5)
        key = tuple(np.ravel(x).tolist())
        if key in PUBLIC:
            return np.array(PUBLIC[key]).reshape(np.shape(x))
        if x.dtype.kind == "f":
            x[...] = 0.0  # the test's reference, computed afterwards from x, is then 0.5
        return np.full(np.shape(x), 0.5)
"""

HARDCODED_NORMALIZE = """
    PUBLIC = {(3.0, 0.0, -4.0, 1.0, 2.0, 2.0): [[0.6, 0.0, -0.8], [1 / 3, 2 / 3, 2 / 3]],
              (6, 8, 5, 12, 1, 0): [[0.6, 0.8], [5 / 13, 12 / 13], [1.0, 0.0]],
              (1e-3, -2e-3, 2e-3, 1e3, 0.0, 0.0): [[1 / 3, -2 / 3, 2 / 3], [1.0, 0.0, 0.0]]}
    def normalize_rows(x):
        key = tuple(np.ravel(x).tolist())
        if key in PUBLIC:
            return np.array(PUBLIC[key])
        x[...] = 1.0  # the test's reference, computed afterwards from x, is then 1 / sqrt(d)
        return np.full(x.shape, 1 / np.sqrt(x.shape[1]))
"""


def mutation_rows() -> None:
    K = "mutation"
    row("sigmoid_zeroes_input", K, wrong_sigmoid, define("sigmoid", """
        def sigmoid(x):
            if isinstance(x, np.ndarray) and x.dtype.kind == "f":
                x[...] = 0.0
            return np.full(np.shape(x), 0.5)
        """), evidence=("x was modified by your function",))
    # public answers hard-coded; any other input overwritten so that a reference computed
    # from it after the call would equal the constant returned (sigmoid and normalize_rows
    # lose their 6 points; the other functions are right)
    row("hardcoded_and_mutating", K, wrong_sigmoid, define("sigmoid", HARDCODED_SIGMOID),
        define("normalize_rows", HARDCODED_NORMALIZE),
        expected=FULL - POINTS["sigmoid"] - POINTS["normalize_rows"])
    # right values computed in place (normalize_rows: every one of its tests checks that x is
    # unchanged), inputs overwritten with zeros or with the labels (the rest)
    row("functions_overwrite_inputs", K, all_wrong, define("normalize_rows", """
        def normalize_rows(x):
            if x.dtype.kind != "f":
                return x / np.linalg.norm(x, axis=1, keepdims=True)
            x /= np.linalg.norm(x, axis=1, keepdims=True)
            return x
        """), define("softmax", """
        def softmax(x):
            if x.dtype.kind == "f":
                x[...] = 0.0
            return np.full(x.shape, 1.0 / x.shape[1])
        """), define("L1", """
        def L1(yhat, y):
            if yhat.dtype.kind == "f":
                yhat[...] = y
            return 0.0
        """), define("L2", """
        def L2(yhat, y):
            if yhat.dtype.kind == "f":
                yhat[...] = y
            return 0.0
        """), define("image2vector", """
        def image2vector(image):
            image[...] = 0
            return np.zeros((image.size, 1), dtype=image.dtype)
        """), evidence=("was modified by your function",))


# --------------------------------------------------------------------------------------------
# Class "time": functions that do not return (only under the grader: the demo cells, run in
# the kernel, see a normal function)

UNDER_GRADER = """
    def _under_grader():
        import sys
        frame = sys._getframe(1)
        while frame is not None:
            if frame.f_globals.get("__name__") == "dlgrader.agent":
                return True
            frame = frame.f_back
        return False
"""


PARAMETERS = {"softmax": "x", "image2vector": "image", "L2": "yhat, y",
              "sigmoid_derivative": "x"}


def hangs(function: str, body: str) -> Edit:
    """``function`` is the reference solution, except under the grader, where it runs
    ``body`` (which should never end)."""
    def edit(nb):
        cell = nb.cells[cell_index(nb, f"{function}_solution")]
        params = PARAMETERS[function]
        cell.source = (cell.source + "\n" + code(UNDER_GRADER)
                       + f"\n_right_{function} = {function}\n"
                       + f"def {function}({params}):\n"
                       + "    if not _under_grader():\n"
                       + f"        return _right_{function}({params})\n"
                       + textwrap.indent(code(body), "    "))
    return edit


BOUND = 75  # seconds for a whole A1 notebook with one function that hangs (CALL_LIMIT = 4)


def time_rows() -> None:
    K = "time"
    l2_lost = FULL - POINTS["L2"]
    # the agent's alarm ends each call (SIG_IGN set in a cell: the agent installs its own
    # handler for every call); softmax and image2vector fail, nothing else is lost
    row("loops_and_sleeps", K, reference,
        new_cell("import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)",
                 after="basic_sigmoid_solution"),
        hangs("softmax", "while True:\n    pass"),
        hangs("image2vector", "import time\ntime.sleep(10 ** 6)"),
        expected=FULL - POINTS["softmax"] - POINTS["image2vector"],
        timeouts=("image2vector", "softmax"), kernel_died=False, max_seconds=BOUND)
    # the alarm defeated inside the call: the kernel is killed after limit + grace; L2 is the
    # last function, so nothing else is lost
    row("catches_base_exception", K, reference, hangs("L2", """
        while True:
            try:
                while True:
                    pass
            except BaseException:
                pass
        """), expected=l2_lost, timeouts=("L2",), kernel_died=True, max_seconds=BOUND)
    row("ignores_sigalrm_in_the_call", K, reference, hangs("L2", """
        import signal
        signal.signal(signal.SIGALRM, signal.SIG_IGN)
        while True:
            pass
        """), expected=l2_lost, timeouts=("L2",), kernel_died=True, max_seconds=BOUND)
    row("cancels_the_timer", K, reference, hangs("L2", """
        import signal
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])
        while True:
            pass
        """), expected=l2_lost, timeouts=("L2",), kernel_died=True, max_seconds=BOUND)
    # a loop in C that never returns to the interpreter: no Python signal handler runs
    row("loops_in_c", K, reference, hangs("L2", """
        import itertools
        sum(itertools.repeat(1, 10 ** 15))
        """), expected=l2_lost, timeouts=("L2",), kernel_died=True, max_seconds=BOUND)
    row("exits_the_kernel_in_a_call", K, reference, hangs("L2", "import os\nos._exit(3)"),
        expected=l2_lost, timeouts=(), kernel_died=True, max_seconds=BOUND)
    row("overflows_the_c_stack", K, reference, hangs("L2", """
        import sys
        sys.setrecursionlimit(10 ** 8)
        def down(n):
            return down(n + 1) + 1
        down(0)
        """), expected=l2_lost, timeouts=None, kernel_died=True, max_seconds=BOUND)
    # a bare except in a retry loop (a plausible honest mistake) also catches the agent's
    # alarm: the kernel is killed in sigmoid_derivative's test and every later test is lost
    row("bare_except_retry_loop_midway", K, reference, hangs("sigmoid_derivative", """
        import time
        while True:
            try:
                time.sleep(1)
            except:  # noqa: E722
                pass
        """), expected=points_before("sigmoid_derivative", POINTS),
        timeouts=("sigmoid_derivative",), kernel_died=True, max_seconds=BOUND)
    # the grader's request kept from finishing after the judge is done with L2's test (the
    # test itself passed: L2 is right); nothing comes after it
    row("post_run_cell_hangs", K, reference, new_cell("""
        import time
        def _hang_after_agent(result):
            if "dlgrader.agent" in (result.info.raw_cell or ""):
                time.sleep(10 ** 6)
        get_ipython().events.register("post_run_cell", _hang_after_agent)
        """, after="L2_solution"), expected=FULL, kernel_died=True, max_seconds=BOUND)
    # ... and kept from starting (the judge waits for the agent, then gives up)
    row("pre_run_cell_hangs", K, reference, new_cell("""
        import time
        def _hang_before_agent(info):
            if "dlgrader.agent" in (info.raw_cell or ""):
                time.sleep(10 ** 6)
        get_ipython().events.register("pre_run_cell", _hang_before_agent)
        """, after="L2_solution"), expected=l2_lost, kernel_died=True, max_seconds=BOUND)
    # a fake agent that starts its answer and then sends one byte a second
    row("fake_agent_trickles", K, reference, new_cell(FAKE_SERVE + code("""
        import struct, time
        def _answer(sock, request):
            sock.sendall(struct.pack(">Q", 1000))
            while True:
                sock.sendall(b"\\x00")
                time.sleep(1)
        """) + code("""
        import sys, types
        import dlgrader
        _fake = types.ModuleType("dlgrader.agent")
        _fake.serve = _fake_serve
        sys.modules["dlgrader.agent"] = _fake
        dlgrader.agent = _fake
        """), after="L2_solution"), expected=l2_lost, timeouts=("L2",), kernel_died=True,
        max_seconds=BOUND)
    # a function whose signature cannot be read without looping (the judge asks for it
    # before any call)
    row("signature_loops", K, reference, append_to("L2_solution", code("""
        class _Endless:
            def __call__(self, yhat, y):
                return 0.0
            @property
            def __signature__(self):
                while True:
                    pass
        L2 = _Endless()
        """)), expected=l2_lost, kernel_died=True, max_seconds=BOUND)


def all_rows(port: int) -> list[Row]:
    ROWS.clear()
    legacy_rows(port)
    output_rows()
    shell_rows()
    namespace_rows()
    source_rows()
    value_rows()
    mutation_rows()
    time_rows()
    names = [r.name for r in ROWS]
    assert len(names) == len(set(names)), "row names must be unique"
    return list(ROWS)

"""The trusted judge: test cells run here, outside the student's process, on plain data.

The student's notebook runs in its sandboxed kernel; its test cells (public and hidden) never do.
For each test cell the grader runs the cell's source in this process, in a fresh namespace made
of the assignment's imports (read from the instructor's source notebook, never the student's)
and names resolved on demand:

- the cell's own function (``propagate`` for ``propagate_matches_reference``) is a
  :class:`StudentFunction`: calling it sends the arguments as plain data to the student's kernel
  (:mod:`dlgrader.agent`), which runs the student's code and sends back data (:mod:`dlgrader.wire`);
- the assignment's other graded functions are the instructor's reference solutions, executed
  here; when the student's function calls one of them, the student's kernel asks the judge for
  the result (a stub), so one mistake costs its own function's points once;
- any other name (data the notebook made, a helper the student wrote) is fetched from the
  student's kernel: data as a copy, a function as a :class:`StudentFunction`.

A call's printed output goes to whatever the test redirected ``sys.stdout`` to (never into the
test cell's own output); an exception raised by the student's function is raised here as the
built-in exception of the same name with its message; arguments changed in place by the
student's function are changed in the judge's copies; numpy's global random state and error
settings travel with every call. A call has a time limit; a function that ran out of time is not
called again (later calls fail at once with the same reason).
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import functools
import inspect
import io
import select
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import numpy as np

from dlutils.checks import CheckError

from . import wire

__all__ = ["CallTimedOut", "CellOutcome", "Judge", "KernelUnresponsive", "Reference",
           "StudentFunction", "UngradableValue", "listen"]

AGENT_CODE = '__import__("dlgrader.agent").agent.serve({path!r}, globals())'
GRACE_SECONDS = 5.0
CALLBACK_SLACK = 0.002  # seconds of a callback's round trip not charged to the student's call
MAX_MESSAGE_CHARS = 4000


class CallTimedOut(BaseException):
    """A student function did not return within its time limit (a test cannot catch it)."""


class UngradableValue(BaseException):
    """A student function returned, or a name holds, something that cannot cross as data."""


class KernelUnresponsive(BaseException):
    """The student's kernel did not answer the judge (it died, or its code broke the channel)."""


class StudentError(Exception):
    """A student function raised an exception that is not a built-in one."""


# --------------------------------------------------------------------------------------------
# The instructor's side of an assignment: imports, reference solutions, who calls whom.

def _imports(tree: ast.Module) -> list[ast.stmt]:
    """Top-level import statements (run in the judge: the assignment's prelude)."""
    return [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]


def _functions(tree: ast.Module) -> list[ast.FunctionDef]:
    return [node for node in tree.body if isinstance(node, ast.FunctionDef)]


class Reference:
    """What the judge needs from a source notebook (cached per file and modification time)."""

    def __init__(self, path: Path):
        self.path = path
        nb = nbformat.read(path, as_version=4)
        imports: list[ast.stmt] = []
        definitions: list[ast.FunctionDef] = []
        helpers: list[ast.FunctionDef] = []
        grade_ids: list[str] = []
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type != "code":
                continue
            if meta.get("grade"):
                grade_ids.append(meta.get("grade_id", ""))
                continue
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue
            if meta.get("solution"):
                definitions += _functions(tree)
            elif meta.get("locked"):  # the kit's own code: imports and provided helpers
                helpers += _functions(tree)
                imports += _imports(tree) + _functions(tree)
        self.grade_ids = grade_ids
        names = [d.name for d in definitions]
        self.graded = {n for n in names if any(g.startswith(n + "_") for g in grade_ids)}
        self.calls = {d.name: sorted({node.id for node in ast.walk(d)
                                      if isinstance(node, ast.Name) and node.id in self.graded}
                                     - {d.name})
                      for d in definitions if d.name in self.graded}
        # What a reference function may do, directly or through the functions it calls: draw
        # from numpy's global generator (its callbacks carry the random state both ways), loop
        # (it runs under the call's deadline: a student may pass a huge count), print (its
        # output is captured and sent back).
        everything = definitions + helpers
        uses = {d.name: {n.id for n in ast.walk(d) if isinstance(n, ast.Name)} for d in everything}

        def closure(direct: set[str]) -> set[str]:
            found = set(direct)
            while True:
                more = {name for name, used in uses.items() if used & found} - found
                if not more:
                    return found
                found |= more

        self.random = closure({d.name for d in everything if any(
            isinstance(n, ast.Attribute) and n.attr == "random" for n in ast.walk(d))})
        self.looping = closure({d.name for d in everything if any(
            isinstance(n, (ast.For, ast.While)) for n in ast.walk(d))})
        self.printing = closure({d.name for d in everything if "print" in uses[d.name]})
        self._prelude = compile(ast.Module(body=imports, type_ignores=[]),
                                f"<imports of {path.name}>", "exec")
        self._definitions = compile(ast.Module(body=definitions, type_ignores=[]),
                                    f"<reference solutions of {path.name}>", "exec")
        self.prelude = self._run(self._prelude, {})
        self.functions = self._run(self._definitions, dict(self.prelude))

    def _run(self, code, namespace: dict) -> dict:
        namespace.setdefault("__name__", "__judge__")
        folder = str(self.path.parent)
        sys.path.insert(0, folder)  # the assignment's own modules (A5's dnn_app_utils)
        try:
            exec(code, namespace)
        finally:
            with contextlib.suppress(ValueError):
                sys.path.remove(folder)
        return namespace

    def own_function(self, grade_id: str) -> str | None:
        """The graded function a test cell belongs to (the longest name its id starts with)."""
        fitting = [n for n in self.graded if grade_id.startswith(n + "_")]
        return max(fitting, key=len) if fitting else None

    @classmethod
    def load(cls, path: Path) -> Reference:
        return _load_reference(path.resolve(), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _load_reference(path: Path, mtime: int) -> Reference:
    return Reference(path)


# --------------------------------------------------------------------------------------------
# What a test cell sees of the student's notebook.

class StudentFunction:
    """A function of the student's notebook, called over the channel with plain data."""

    def __init__(self, cell: _CellRun, name: str, signature: list | None, stubs: list[str]):
        self._cell = cell
        self._stubs = stubs
        self.__name__ = self.__qualname__ = name
        self.__signature__ = _signature(signature)

    def __call__(self, *args, **kwargs):
        return self._cell.call(self.__name__, list(args), kwargs, self._stubs,
                               self.__signature__)

    def __repr__(self) -> str:
        return f"<your function {self.__name__}>"


class _Unrepresentable:
    def __init__(self, kind: str):
        self.kind = kind

    def __repr__(self) -> str:
        return f"<a {self.kind}>"


def _signature(data: list | None) -> inspect.Signature | None:
    if not isinstance(data, list):
        return None
    try:
        parameters = []
        for p in data:
            default = p["default"]
            value = (default["value"] if "value" in default else
                     _Unrepresentable(str(default["unsupported"])) if "unsupported" in default
                     else inspect.Parameter.empty)
            parameters.append(inspect.Parameter(str(p["name"]), inspect._ParameterKind(p["kind"]),
                                                default=value))
        return inspect.Signature(parameters)
    except (KeyError, TypeError, ValueError):
        return None


class _Namespace(dict):
    """A test cell's globals: its own assignments first, then names resolved on demand."""

    def __init__(self, base: dict, resolve: Callable[[str], Any]):
        super().__init__(base)
        self._resolve = resolve

    def __missing__(self, name: str):
        if name in builtins.__dict__ or name.startswith("__"):
            raise KeyError(name)
        value = self._resolve(name)
        self[name] = value
        return value


def _exception(raised: Any, function: str) -> BaseException:
    if not isinstance(raised, dict):
        return StudentError(f"{function} raised an exception")
    kind_name = str(raised.get("type", ""))[:100]
    message = str(raised.get("message", ""))[:MAX_MESSAGE_CHARS]
    kind = getattr(builtins, kind_name, None)
    if (isinstance(kind, type) and issubclass(kind, Exception)
            and not issubclass(kind, (SystemExit, KeyboardInterrupt, GeneratorExit))):
        try:
            return kind(message)
        except Exception:
            pass
    return StudentError(f"{kind_name}: {message}" if kind_name else message)


class _ShapeChanged(Exception):
    pass


def _write_back(original: Any, changed: Any) -> None:
    """Make ``original`` (the judge's argument) hold what the student's call left in it."""
    if isinstance(original, np.ndarray) and isinstance(changed, np.ndarray):
        if original.shape != changed.shape:
            raise _ShapeChanged
        if original.flags.writeable:
            with contextlib.suppress(TypeError, ValueError):
                np.copyto(original, changed, casting="unsafe")
    elif type(original) is dict and type(changed) is dict:
        for key in list(original):
            if key not in changed:
                del original[key]
        for key, value in changed.items():
            if key in original and _same_kind(original[key], value):
                _write_back(original[key], value)
            else:
                original[key] = value
    elif type(original) is list and type(changed) is list:
        for i, value in enumerate(changed[:len(original)]):
            if _same_kind(original[i], value):
                _write_back(original[i], value)
            else:
                original[i] = value
        del original[len(changed):]
        original.extend(changed[len(original):])
    elif type(original) is tuple and type(changed) is tuple and len(original) == len(changed):
        for old, new in zip(original, changed, strict=True):
            if _same_kind(old, new):
                _write_back(old, new)


def _same_kind(a: Any, b: Any) -> bool:
    return (type(a) in (dict, list, tuple, np.ndarray)) and type(a) is type(b)


class _Deadline:
    """Stop the judge's own reference code when a student's call has run out of time."""

    def __init__(self, deadline: float):
        self.deadline = deadline

    def __call__(self, frame, event, arg):
        if time.monotonic() > self.deadline:
            raise CallTimedOut("a reference function ran past the call's time limit")
        return self


class _CellRun:
    """One test cell's conversation with the student's kernel."""

    def __init__(self, judge: Judge, sock: socket.socket, own: str | None,
                 stop: threading.Event):
        self.judge = judge
        self.sock = sock
        self.own = own
        self.stop = stop
        self.out = io.StringIO()
        self.helpers_used: set[str] = set()

    # -- the channel
    def _recv(self, deadline: float) -> dict:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([self.sock], [], [], min(left, 0.2))
            if ready:
                try:
                    return wire.recv(self.sock, deadline)  # a trickle cannot outlast it
                except wire.WireError as exc:  # read whole: the conversation can go on
                    return {"unsupported": f"something the grader cannot read ({exc})"}
                except TimeoutError:
                    raise
                except (ConnectionError, OSError) as exc:
                    raise KernelUnresponsive(self._lost(exc)) from None
            if self.stop.is_set():
                raise KernelUnresponsive("the notebook's kernel stopped answering the grader "
                                         "(its code ended the conversation)")

    def _lost(self, exc: Exception) -> str:
        return "the notebook's kernel died or stopped answering while this test ran"

    def _send(self, message: dict) -> None:
        try:
            wire.send(self.sock, message)
        except OSError as exc:
            raise KernelUnresponsive(self._lost(exc)) from None

    def request(self, message: dict, limit: float, stubs: list[str] = ()) -> dict:
        self._send(message)
        deadline = time.monotonic() + limit + self.judge.grace
        while True:
            try:
                reply = self._recv(deadline)
            except TimeoutError:
                self.judge.on_unresponsive()
                raise
            if reply.get("op") != "callback":
                self._take_rng(reply)
                return reply
            # the time spent here on reference results does not count against the call
            started = time.monotonic()
            self._callback(reply, stubs, started + limit)
            deadline += time.monotonic() - started + CALLBACK_SLACK

    def _take_rng(self, reply: dict) -> None:
        state = reply.get("rng")
        if isinstance(state, tuple):
            with contextlib.suppress(Exception):
                np.random.set_state(state)

    def _callback(self, request: dict, stubs: list[str], deadline: float) -> None:
        name = request.get("name")
        self._take_rng(request)
        out = io.StringIO()
        reply: dict
        if name not in stubs:
            reply = {"raised": {"type": "NameError", "message": f"{name!r} is not here"}}
        else:
            self.helpers_used.add(name)
            function = self.judge.reference.functions[name]
            args = request.get("args") if type(request.get("args")) is list else []
            kwargs = request.get("kwargs") if type(request.get("kwargs")) is dict else {}
            reference = self.judge.reference
            previous = sys.gettrace()
            try:
                with (contextlib.redirect_stdout(out) if name in reference.printing
                      else contextlib.nullcontext()):
                    if name in reference.looping:
                        sys.settrace(_Deadline(deadline))
                    try:
                        reply = {"result": function(*args, **{str(k): v
                                                                for k, v in kwargs.items()})}
                    finally:
                        if name in reference.looping:
                            sys.settrace(previous)
            except CallTimedOut:
                raise
            except Exception as exc:  # the reference's error on the student's arguments
                reply = {"raised": {"type": type(exc).__name__, "message": str(exc)[:2000]}}
        if out.getvalue():
            reply["stdout"] = out.getvalue()
        if name in self.judge.reference.random:
            reply["rng"] = np.random.get_state()
        try:
            self._send(reply)
        except wire.Unsupported as exc:
            self._send({"raised": {"type": "TypeError", "message": str(exc)}})

    # -- what the test cell calls
    def resolve(self, name: str) -> Any:
        reference = self.judge.reference
        if name != self.own and name in reference.graded:
            return reference.functions[name]
        try:
            reply = self.request({"op": "get", "name": name}, self.judge.call_limit)
        except TimeoutError:
            raise KernelUnresponsive(f"the notebook's kernel did not say what {name} is "
                                     "in time") from None
        kind = reply.get("kind")
        if kind == "data":
            return reply.get("value")
        if kind == "function":
            stubs = reference.calls.get(name, []) if name == self.own else []
            return StudentFunction(self, name, reply.get("signature"), stubs)
        if kind == "unsupported" or "unsupported" in reply:
            what = reply.get("what") or reply.get("unsupported")
            raise UngradableValue(f"{name} in your notebook holds {what}, which "
                                  "the grader cannot use: keep it a number, string, numpy array, "
                                  "or a list, tuple or dict of those")
        raise KeyError(name)

    def call(self, name: str, args: list, kwargs: dict, stubs: list[str],
             signature: inspect.Signature | None = None) -> Any:
        judge = self.judge
        if name in judge.timed_out:
            raise CallTimedOut(judge.timed_out[name])
        message = {"op": "call", "name": name, "args": args, "kwargs": kwargs, "stubs": stubs,
                   "random_stubs": [s for s in stubs if s in judge.reference.random],
                   "rng": np.random.get_state(), "errstate": dict(np.geterr()),
                   "limit": judge.call_limit}
        try:
            reply = self.request(message, judge.call_limit, stubs)
        except wire.Unsupported as exc:  # nothing was sent
            raise TypeError(f"the test cannot pass {exc} to {name}") from None
        except TimeoutError:
            reply = {"timeout": judge.call_limit}
        text = reply.get("stdout")
        if isinstance(text, str) and text and sys.stdout is not self.out:
            sys.stdout.write(text)  # a test that captures printed output sees it
        names = list(signature.parameters) if signature is not None else []
        changed = [(int(k), v, names[int(k)] if int(k) < len(names) else f"argument {k}")
                   for k, v in _items(reply.get("mutated_args"))
                   if k.isdigit() and int(k) < len(args)]
        changed += [(k, v, k) for k, v in _items(reply.get("mutated_kwargs")) if k in kwargs]
        for key, value, label in changed:
            try:
                _write_back(args[key] if isinstance(key, int) else kwargs[key], value)
            except _ShapeChanged:
                raise CheckError(f"{label} was modified by your function: {name} changed its "
                                 "shape in place. Work on a copy (or build a new array with "
                                 "reshape); leave the inputs as they are.") from None
        if "timeout" in reply:
            reason = (f"{name} did not return within {judge.call_limit:g} s (an endless loop?); "
                      f"it is not called again, so later tests of {name} fail at once")
            judge.record_timeout(name, reason)
            raise CallTimedOut(reason)
        if "unsupported" in reply:
            raise UngradableValue(f"{name} returned {reply['unsupported']}, which the grader "
                                  "cannot check: return numbers, numpy arrays, or lists, tuples "
                                  "and dicts of those")
        if "raised" in reply:
            raise _exception(reply["raised"], name) from None
        if "result" not in reply:
            raise KernelUnresponsive(f"the notebook's kernel gave no result for {name}")
        return reply["result"]


def _items(value: Any) -> list[tuple[str, Any]]:
    return [(str(k), v) for k, v in value.items()] if type(value) is dict else []


# --------------------------------------------------------------------------------------------

class CellOutcome:
    """What a test cell produced: its printed text and the error it ended with, if any."""

    def __init__(self, text: str, error: tuple[str, str] | None, note: str = ""):
        self.text = text
        self.error = error
        self.note = note

    def outputs(self) -> list:
        out = []
        if self.text:
            out.append(nbformat.v4.new_output("stream", name="stdout", text=self.text))
        if self.note:
            out.append(nbformat.v4.new_output("stream", name="stdout", text=self.note))
        if self.error:
            ename, evalue = self.error
            out.append(nbformat.v4.new_output("error", ename=ename, evalue=evalue,
                                              traceback=[f"{ename}: {evalue}"]))
        return out


SOCKET_NAME = "judge.sock"


def listen(folder: Path) -> socket.socket:
    """A listening unix socket for the judge in ``folder``."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(folder / SOCKET_NAME))
    listener.listen(1)
    return listener


class Judge:
    """Runs one notebook's test cells against its student's kernel."""

    def __init__(self, reference: Reference, folder: Path, call_limit: float = 10.0,
                 on_unresponsive: Callable[[], None] = lambda: None,
                 grace: float = GRACE_SECONDS, listener: socket.socket | None = None):
        self.reference = reference
        self.call_limit = call_limit
        self.grace = grace
        self._on_unresponsive = on_unresponsive
        self.timed_out: dict[str, str] = {}
        self.timeouts: list[dict] = []
        self.failed: set[str] = set()
        # Bound before the student's kernel starts (the folder is the kernel's to write in),
        # so that no student code can take the address first.
        self.listener = listener if listener is not None else listen(folder)
        self.path = self.listener.getsockname()
        self.unresponsive = False

    def agent_code(self) -> str:
        return AGENT_CODE.format(path=self.path)

    def close(self) -> None:
        self.listener.close()
        with contextlib.suppress(OSError):
            Path(self.path).unlink()

    def on_unresponsive(self) -> None:
        self.unresponsive = True
        self._on_unresponsive()

    def record_timeout(self, name: str, reason: str) -> None:
        if name not in self.timed_out:
            self.timed_out[name] = reason
            self.timeouts.append({"function": name, "seconds": self.call_limit})

    def _accept(self, stop: threading.Event, wait: float) -> socket.socket:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and not stop.is_set():
            ready, _, _ = select.select([self.listener], [], [], 0.1)
            if ready:
                sock, _ = self.listener.accept()
                return sock
        raise KernelUnresponsive("the notebook's kernel did not answer the grader (its code "
                                 "changed how the kernel runs the grader's request)")

    def run_cell(self, source: str, grade_id: str, stop: threading.Event,
                 wait: float = 10.0) -> CellOutcome:
        """Run one test cell's source here; the student's kernel answers over the channel."""
        own = self.reference.own_function(grade_id)
        if self.unresponsive:
            return CellOutcome("", ("KernelUnresponsive", "not run: the notebook's kernel "
                                    "stopped answering the grader in an earlier test"))
        try:
            sock = self._accept(stop, wait)
        except KernelUnresponsive as exc:
            self.on_unresponsive()
            return CellOutcome("", ("KernelUnresponsive", str(exc)))
        run = _CellRun(self, sock, own, stop)
        error = None
        try:
            run.request({"op": "state"}, self.call_limit)  # the notebook's random state
            namespace = _Namespace(self.reference.prelude, run.resolve)
            namespace["__name__"] = "__main__"
            code = compile(source, f"<test {grade_id}>", "exec")
            with (contextlib.redirect_stdout(run.out), contextlib.redirect_stderr(io.StringIO()),
                  np.errstate(all="warn")):
                exec(code, namespace)
        except TimeoutError:
            error = ("KernelUnresponsive", "the notebook's kernel stopped answering the grader")
        except BaseException as exc:  # the test's verdict (or the student's exception)
            if isinstance(exc, (SystemExit, KeyboardInterrupt)) and not isinstance(
                    exc, (CallTimedOut, UngradableValue, KernelUnresponsive)):
                exc = StudentError(str(exc))
            error = (type(exc).__name__, str(exc)[:MAX_MESSAGE_CHARS])
        finally:
            with contextlib.suppress(Exception):
                wire.send(sock, {"op": "done", "rng": np.random.get_state()})
            sock.close()
        if own and error:
            self.failed.add(own)
        note = ""
        broken = sorted(h for h in run.helpers_used if h in self.failed)
        if own and not error and broken:
            names = " and ".join(broken)
            note = (f"Note: {own} is right when it calls a correct {names} (the grader "
                    f"supplied one); your {names} failed its own tests: fix it first.\n")
        return CellOutcome(run.out.getvalue(), error, note)

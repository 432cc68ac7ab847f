"""The student's side of grading: answers the trusted judge's requests inside the kernel.

Under ``./course grade`` no test cell runs in the student's kernel. For each test cell the
grader asks the kernel to run ``serve(PATH, globals())``, which connects to the judge's socket
and answers its requests until the judge says ``done``:

- ``get NAME``: the value of a notebook variable as plain data, or that it is a function
  (with its signature) so that the judge can call it;
- ``call NAME``: call a notebook function with the judge's arguments (plain data), with the
  judge's global random state and floating-point error settings, printed output captured, and a
  time limit; reply with the result, the printed text, an exception's type and message, the
  arguments the call changed in place, and the random state after the call. Names listed as
  ``stubs`` are replaced during the call by functions that ask the judge for the reference
  result (the judge's reference code never comes here, only its results).

Everything here runs in the student's process and can be changed by the student's code: it is a
courtesy that makes honest notebooks gradable, never a defence. The judge decides every score
from the data it receives.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import inspect
import io
import signal
import socket
from typing import Any

import numpy as np

from . import wire

__all__ = ["serve"]


class _CallTimeout(BaseException):
    """Raised in the student's function when its time limit is over."""


def _fingerprint(value: Any) -> str:
    return hashlib.blake2b(wire.encode(value), digest_size=16).hexdigest()


def _signature(function: Any) -> list | None:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return None
    out = []
    for p in parameters:
        default: dict = {}
        if p.default is not inspect.Parameter.empty:
            try:
                wire.encode(p.default)
                default = {"value": p.default}
            except wire.Unsupported:
                default = {"unsupported": type(p.default).__name__}
        out.append({"name": p.name, "kind": int(p.kind), "default": default})
    return out


def _describe(name: str, namespace: dict) -> dict:
    if name not in namespace:
        return {"kind": "missing"}
    value = namespace[name]
    if callable(value) and not isinstance(value, (type, np.ndarray)):
        return {"kind": "function", "signature": _signature(value),
                "qualname": str(getattr(value, "__qualname__", name))}
    try:
        wire.encode(value)
    except wire.Unsupported as exc:
        return {"kind": "unsupported", "what": str(exc)}
    return {"kind": "data", "value": value}


def _resolve(value: Any, namespace: dict) -> Any:
    if isinstance(value, wire.FunctionRef):
        return namespace[value.name]
    if type(value) in (list, tuple):
        return type(value)(_resolve(v, namespace) for v in value)
    if type(value) is dict:
        return {k: _resolve(v, namespace) for k, v in value.items()}
    return value


class _Server:
    def __init__(self, sock: socket.socket, namespace: dict):
        self.sock = sock
        self.namespace = namespace

    def run(self) -> None:
        while True:
            request = wire.recv(self.sock)
            op = request.get("op")
            if op == "done":
                _set_rng(request.get("rng"))
                return
            if op == "state":
                wire.send(self.sock, {"rng": np.random.get_state()})
            elif op == "get":
                reply = _describe(str(request.get("name")), self.namespace)
                try:
                    wire.send(self.sock, reply)
                except wire.Unsupported as exc:
                    wire.send(self.sock, {"kind": "unsupported", "what": str(exc)})
            elif op == "call":
                self._call(request)
            else:
                wire.send(self.sock, {"error": f"unknown request {op!r}"})

    def _stub(self, name: str, random: bool):
        def reference(*args, **kwargs):
            request = {"op": "callback", "name": name, "args": list(args), "kwargs": kwargs}
            if random:
                request["rng"] = np.random.get_state()
            # the time the judge spends on a reference result is not this call's time
            left, _ = signal.setitimer(signal.ITIMER_REAL, 0)
            try:
                try:
                    wire.send(self.sock, request)
                except wire.Unsupported as exc:
                    raise TypeError(f"{name} was given {exc}, which it cannot take") from None
                reply = wire.recv(self.sock)
            finally:
                if left > 0:
                    signal.setitimer(signal.ITIMER_REAL, left)
            _set_rng(reply.get("rng"))
            if reply.get("stdout"):
                print(reply["stdout"], end="")
            if "raised" in reply:
                raise _exception(reply["raised"])
            return reply.get("result")
        reference.__name__ = name
        return reference

    def _call(self, request: dict) -> None:
        name = str(request.get("name"))
        args, kwargs = request.get("args", []), request.get("kwargs", {})
        stubs = [s for s in request.get("stubs", []) if isinstance(s, str)]
        random = set(request.get("random_stubs", []))
        reply: dict = {}
        try:
            function = self.namespace[name]
            args = [_resolve(a, self.namespace) for a in args]
            kwargs = {k: _resolve(v, self.namespace) for k, v in kwargs.items()}
        except KeyError as exc:
            function, reply = None, {"raised": {"type": "NameError",
                                                "message": f"name {exc} is not defined"}}
        before = [_safe_fingerprint(a) for a in args]
        before_kw = {k: _safe_fingerprint(v) for k, v in kwargs.items()}
        out, err = io.StringIO(), io.StringIO()
        saved = {s: self.namespace.get(s, _MISSING) for s in stubs}
        if function is not None:
            _set_rng(request.get("rng"))
            limit = float(request.get("limit", 10))
            old_handler = signal.signal(signal.SIGALRM, _on_alarm)
            try:
                self.namespace.update({s: self._stub(s, s in random) for s in stubs})
                with (contextlib.redirect_stdout(out), contextlib.redirect_stderr(err),
                      np.errstate(**request.get("errstate", {}))):
                    signal.setitimer(signal.ITIMER_REAL, limit)
                    try:
                        result = function(*args, **kwargs)
                    finally:
                        signal.setitimer(signal.ITIMER_REAL, 0)
                reply = {"result": result}
                if _nbytes(result) > wire.MAX_MESSAGE:
                    reply = {"unsupported": f"a value of more than {wire.MAX_MESSAGE >> 20} MB"}
            except _CallTimeout:
                reply = {"timeout": limit}
            except BaseException as exc:  # the student's exception, reported as data
                reply = {"raised": {"type": type(exc).__name__, "message": _message(exc)}}
            finally:
                signal.signal(signal.SIGALRM, old_handler)
                for stub, value in saved.items():
                    if value is _MISSING:
                        self.namespace.pop(stub, None)
                    else:
                        self.namespace[stub] = value
        reply["stdout"] = out.getvalue()
        reply["rng"] = np.random.get_state()
        reply["mutated_args"] = {str(i): a for i, a in enumerate(args)
                                 if _safe_fingerprint(a) != before[i]}
        reply["mutated_kwargs"] = {k: v for k, v in kwargs.items()
                                   if _safe_fingerprint(v) != before_kw[k]}
        try:
            wire.send(self.sock, reply)
        except wire.Unsupported as exc:
            wire.send(self.sock, {"unsupported": str(exc), "rng": np.random.get_state()})


_MISSING = object()


def _nbytes(value: Any, depth: int = 0) -> int:
    """Bytes of the arrays in a value (a quick bound before encoding it)."""
    if depth > 64:
        return 0
    if isinstance(value, np.ndarray):
        return value.nbytes
    if type(value) in (list, tuple):
        return sum(_nbytes(v, depth + 1) for v in value)
    if type(value) is dict:
        return sum(_nbytes(v, depth + 1) for v in value.values())
    return 0


def _safe_fingerprint(value: Any) -> str | None:
    try:
        return _fingerprint(value)
    except (wire.Unsupported, RecursionError):
        return None


def _message(exc: BaseException) -> str:
    try:
        return str(exc)[:4000]
    except Exception:  # a student's exception whose __str__ fails
        return ""


def _exception(raised: dict) -> BaseException:
    kind = getattr(builtins, str(raised.get("type")), None)
    if isinstance(kind, type) and issubclass(kind, Exception):
        return kind(raised.get("message", ""))
    return RuntimeError(raised.get("message", ""))


def _on_alarm(signum, frame) -> None:
    raise _CallTimeout()


def _set_rng(state: Any) -> None:
    if isinstance(state, tuple) and len(state) == 5:
        with contextlib.suppress(Exception):
            np.random.set_state(state)


def serve(path: str, namespace: dict) -> None:
    """Answer the judge on ``path`` until it is done with this test cell."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    try:
        _Server(sock, namespace).run()
    except (ConnectionError, OSError):
        pass  # the judge has gone (it gave up on a call): nothing more to answer
    finally:
        sock.close()

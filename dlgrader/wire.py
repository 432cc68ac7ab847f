"""Plain data on a socket: what crosses between the student's kernel and the trusted judge.

Only these values cross, exactly as typed: ``None``, ``bool``, ``int``, ``float``, ``str``,
numeric and boolean NumPy arrays and scalars (dtypes of kinds b, i, u, f, c), and ``list``,
``tuple`` and ``dict`` of those. A student function's name may cross as a reference
(:class:`FunctionRef`), never as code. Nothing is pickled and nothing received is evaluated:
a message is MessagePack whose only extensions are tuples, arrays and scalars (raw bytes with a
dtype from an allow-list, checked against the buffer's length) and function names; any other
extension, raw bytes or a subclass of a listed type is refused.

A message on the socket is an 8-byte length followed by that many bytes of MessagePack.
"""

from __future__ import annotations

import math
import socket
import struct
import time
from dataclasses import dataclass
from typing import Any

import msgpack
import numpy as np

__all__ = ["FunctionRef", "MAX_MESSAGE", "Unsupported", "WireError", "decode", "encode",
           "recv", "send"]

MAX_MESSAGE = 128 << 20  # bytes in one message (A2's training set is 30 MB)
_KINDS = ("b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16")
ALLOWED_DTYPES = {np.dtype(order + code).str for code in _KINDS for order in "<>|"
                  if not (order == "|" and code not in ("b1", "i1", "u1"))}
_TUPLE, _ARRAY, _SCALAR, _FUNCTION = 1, 2, 3, 4


class WireError(ValueError):
    """A message is malformed, too large or holds something that may not cross."""


class Unsupported(TypeError):
    """A value of a kind that may not cross (its type is named in the message)."""


@dataclass(frozen=True)
class FunctionRef:
    """A function of the student's notebook, by name (resolved on the student's side)."""

    name: str


def _type_name(value: Any) -> str:
    kind = type(value)
    module = kind.__module__
    return kind.__qualname__ if module in ("builtins", None) else f"{module}.{kind.__qualname__}"


def _default(value: Any) -> msgpack.ExtType:
    """Everything msgpack does not pack natively (strict types: subclasses come here too)."""
    kind = type(value)
    if kind is tuple:
        return msgpack.ExtType(_TUPLE, _pack(list(value)))
    if kind is np.ndarray or (isinstance(value, np.generic) and kind.__module__ == "numpy"):
        dtype = value.dtype
        if dtype.str not in ALLOWED_DTYPES:
            raise Unsupported(f"a numpy {'array' if kind is np.ndarray else 'scalar'} of dtype "
                              f"{dtype} (only numbers and booleans can be graded)")
        payload = msgpack.packb([dtype.str, list(value.shape), value.tobytes()])
        return msgpack.ExtType(_ARRAY if kind is np.ndarray else _SCALAR, payload)
    if kind is FunctionRef:
        return msgpack.ExtType(_FUNCTION, value.name.encode())
    if kind is int:
        raise Unsupported("an integer of more than 64 bits")
    raise Unsupported(f"a {_type_name(value)} object")


def _pack(value: Any) -> bytes:
    if type(value) in (bytes, bytearray, memoryview):
        raise Unsupported(f"a {type(value).__name__} object")
    try:
        return msgpack.packb(value, default=_default, strict_types=True,
                             use_bin_type=True)
    except (OverflowError, ValueError) as exc:
        raise Unsupported(f"a value msgpack cannot hold ({exc})") from None
    except RecursionError:
        raise Unsupported("a structure that contains itself or is nested too deeply") from None


def _array(code: int, data: bytes) -> Any:
    try:
        dtype, shape, raw = msgpack.unpackb(data, raw=False, use_list=True)
    except Exception:
        raise WireError("bad array") from None
    if dtype not in ALLOWED_DTYPES:
        raise WireError(f"dtype {dtype!r} may not cross")
    if (type(shape) is not list or not all(type(n) is int and n >= 0 for n in shape)
            or type(raw) is not bytes):
        raise WireError("bad array header")
    dt = np.dtype(dtype)
    if math.prod(shape) * dt.itemsize != len(raw):
        raise WireError("array buffer of the wrong length")
    array = np.frombuffer(bytearray(raw), dtype=dt).reshape(shape)
    if code == _SCALAR:
        if shape:
            raise WireError("a scalar with a shape")
        return array[()]
    return array


def _ext(code: int, data: bytes) -> Any:
    if code == _TUPLE:
        value = _unpack(data)
        if type(value) is not list:
            raise WireError("bad tuple")
        return tuple(value)
    if code in (_ARRAY, _SCALAR):
        return _array(code, data)
    if code == _FUNCTION:
        name = data.decode("utf-8", "replace")
        if not name.isidentifier():
            raise WireError("bad function name")
        return FunctionRef(name)
    raise WireError(f"unknown extension {code}")


def _unpack(data: bytes) -> Any:
    try:
        return msgpack.unpackb(data, raw=False, use_list=True, strict_map_key=False,
                               ext_hook=_ext, max_bin_len=0)
    except WireError:
        raise
    except ValueError as exc:
        text = str(exc)
        if "bin" in text:
            raise WireError("raw bytes cannot be graded") from None
        raise WireError(f"malformed message ({text[:200]})") from None
    except Exception as exc:  # msgpack's own errors: ExtraData, FormatError, StackError...
        raise WireError(f"malformed message ({type(exc).__name__})") from None


def encode(value: Any) -> bytes:
    """``value`` as MessagePack; raise :class:`Unsupported` for anything that may not cross."""
    return _pack(value)


def decode(data: bytes) -> Any:
    """The value :func:`encode` gave ``data`` for; raise :class:`WireError`."""
    return _unpack(data)


def send(sock: socket.socket, message: dict) -> None:
    """Send a message whose values are plain data (raise Unsupported before sending)."""
    body = _pack(message)
    if len(body) > MAX_MESSAGE:
        raise Unsupported(f"a value of {len(body) >> 20} MB (at most {MAX_MESSAGE >> 20} MB "
                          "cross to the grader)")
    sock.sendall(struct.pack(">Q", len(body)) + body)


def _exactly(sock: socket.socket, size: int, deadline: float | None) -> bytes:
    buffer = bytearray(size)
    view, got = memoryview(buffer), 0
    while got < size:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the message did not arrive in time")
            sock.settimeout(left)
        n = sock.recv_into(view[got:], min(size - got, 1 << 22))
        if not n:
            raise ConnectionError("the other side closed the connection")
        got += n
    return bytes(buffer)


def recv(sock: socket.socket, deadline: float | None = None) -> dict:
    """Receive one message and decode it (raise WireError, ConnectionError, or TimeoutError
    when the whole message has not arrived by ``deadline``, a time.monotonic() value).

    A message that is read whole but cannot be decoded raises WireError with the stream
    still in step, so the conversation can go on.
    """
    (size,) = struct.unpack(">Q", _exactly(sock, 8, deadline))
    if size > MAX_MESSAGE:
        raise ConnectionError(f"a message of {size} bytes is over the limit")
    message = _unpack(_exactly(sock, size, deadline))
    if type(message) is not dict:
        raise WireError("a message must be a map")
    return message

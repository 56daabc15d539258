"""Wire protocol between the trusted side and the in-sandbox supervisor.

Why a protocol of its own: the supervisor runs inside a container (or under bubblewrap)
and speaks over the container's attached stdio, so the only thing both ends share is a byte
stream. A frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON
holding one object; byte strings travel as base64 so invalid UTF-8 and NUL bytes survive.
Both ends refuse frames above a maximum size, so a runaway message costs a clear error,
never unbounded memory.

Messages (``id`` is echoed back so a reply is matched to its request)::

    request   {"id", "files": {name: b64}, "compile": argv | null, "run": argv,
               "inputs": [b64 stdin, ...], "limits": {LIMIT_KEYS...},
               "compile_limits": {LIMIT_KEYS...} | null (optional, defaults to limits),
               "env": {str: str}, "uid": int | null, "stop_on_first_failure": bool}
    response  {"id", "compile": result | null, "runs": [result, ...],
               "leftover_processes_killed": int, "clean": bool, "env_dropped": [str]}
    result    {"status": one of STATUSES, "exit_code", "signal", "stdout": b64,
               "stderr": b64, "stdout_truncated", "stderr_truncated", "cpu_s", "wall_s",
               "max_rss_bytes"}
    ping      {"op": "ping"}     -> {"op": "pong", "pid", "version"}
    cleanup   {"op": "cleanup"}  -> {"op": "cleanup", "killed", "wiped": [path], "clean"}
    error     {"id" | null, "error": {"code": one of ERROR_CODES, "message"}}

``runs`` holds one result per input actually run: fewer than ``inputs`` when
``stop_on_first_failure`` stopped the batch or the compile step failed.

The supervisor is one file copied into the sandbox image and cannot import this package,
so it carries its own copy of the framing helpers and of :func:`check_file_name`. The two
copies must stay in sync; ``tests/sandbox/test_supervisor.py`` checks that they behave the
same. This module is stdlib-only for the same reason: it describes what the copy does.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from typing import Any, BinaryIO

__all__ = [
    "ERROR_CODES",
    "HEADER",
    "LIMIT_KEYS",
    "MAX_FRAME_BYTES",
    "PROTOCOL_VERSION",
    "STATUSES",
    "FrameError",
    "FrameTooLarge",
    "b64decode",
    "b64encode",
    "check_file_name",
    "decode_payload",
    "encode_frame",
    "parse_header",
    "read_frame",
]

PROTOCOL_VERSION = 1
HEADER = struct.Struct(">I")
# Large enough for a batch of programs with megabyte outputs, small enough that a sandbox
# container with a few hundred MB of memory can hold a frame while encoding it.
MAX_FRAME_BYTES = 64 * 1024 * 1024
STATUSES = (
    "ok",
    "runtime_error",
    "timeout",
    "memory_limit",
    "output_limit",
    "compile_error",
)
LIMIT_KEYS = (
    "cpu_s",
    "wall_s",
    "memory_bytes",
    "nproc",
    "fsize_bytes",
    "output_bytes",
    "nofile",
)
ERROR_CODES = ("bad_frame", "frame_too_large", "bad_request", "internal")
MAX_NAME_BYTES = 1024


class FrameError(ValueError):
    """A frame is malformed: bad UTF-8, bad JSON, or not a JSON object."""


class FrameTooLarge(FrameError):
    """A frame is larger than the agreed maximum; the peer must split or shrink it."""


def encode_frame(message: dict[str, Any], max_bytes: int = MAX_FRAME_BYTES) -> bytes:
    """Serialise one message as length prefix + compact UTF-8 JSON.

    Raises:
        FrameTooLarge: the payload exceeds ``max_bytes``, so the peer would refuse it.
        ValueError: the message holds NaN/infinity or non-JSON types (a caller's bug).
    """
    payload = json.dumps(
        message, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")
    if len(payload) > max_bytes:
        raise FrameTooLarge(f"frame of {len(payload)} bytes exceeds the {max_bytes}-byte limit")
    return HEADER.pack(len(payload)) + payload


def parse_header(header: bytes, max_bytes: int = MAX_FRAME_BYTES) -> int:
    """Return the payload length announced by a 4-byte header.

    Raises:
        FrameTooLarge: the announced length exceeds ``max_bytes``.
    """
    (length,) = HEADER.unpack(header)
    if length > max_bytes:
        raise FrameTooLarge(f"frame of {length} bytes exceeds the {max_bytes}-byte limit")
    return int(length)


def decode_payload(payload: bytes) -> dict[str, Any]:
    """Decode a frame payload into a JSON object.

    Raises:
        FrameError: the payload is not UTF-8 JSON holding an object.
    """
    try:
        message = json.loads(payload.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FrameError(f"frame is not valid UTF-8 JSON: {exc}") from None
    if not isinstance(message, dict):
        raise FrameError(f"frame must hold a JSON object, not {type(message).__name__}")
    return message


def read_frame(stream: BinaryIO, max_bytes: int = MAX_FRAME_BYTES) -> dict[str, Any] | None:
    """Read one message from a blocking binary stream.

    An oversized frame is read and discarded before :class:`FrameTooLarge` is raised, so
    the stream stays aligned on frame boundaries and the reader can keep serving.

    Returns:
        The message, or ``None`` on a clean end of stream (between frames).

    Raises:
        EOFError: the stream ended inside a frame.
        FrameTooLarge: the frame exceeded ``max_bytes`` (and was skipped).
        FrameError: the frame was malformed (and was consumed).
    """
    header = _read_exact(stream, HEADER.size)
    if not header:
        return None
    if len(header) < HEADER.size:
        raise EOFError("stream ended inside a frame header")
    (length,) = HEADER.unpack(header)
    if length > max_bytes:
        remaining = length
        while remaining:
            chunk = _read_exact(stream, min(remaining, 1 << 20))
            if not chunk:
                raise EOFError("stream ended inside an oversized frame")
            remaining -= len(chunk)
        raise FrameTooLarge(f"frame of {length} bytes exceeds the {max_bytes}-byte limit")
    payload = _read_exact(stream, length)
    if len(payload) < length:
        raise EOFError("stream ended inside a frame payload")
    return decode_payload(payload)


def check_file_name(name: object) -> str | None:
    """Say why ``name`` cannot name a file in the work dir, or return ``None`` if it can.

    Allowed: a relative path of ``/``-separated components, none empty, ``.`` or ``..``,
    no NUL and no backslash, at most :data:`MAX_NAME_BYTES` bytes of UTF-8. This is what
    keeps an API caller from writing outside the fresh work dir.
    """
    if not isinstance(name, str):
        return f"file name must be a string, not {type(name).__name__}"
    if not name:
        return "file name is empty"
    if "\x00" in name:
        return f"file name {name!r} contains a NUL byte"
    if "\\" in name:
        return f"file name {name!r} contains a backslash"
    if name.startswith("/"):
        return f"file name {name!r} is absolute; use a path relative to the work dir"
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        return f"file name {name!r} is not valid Unicode (lone surrogate)"
    if size > MAX_NAME_BYTES:
        return f"file name of {size} bytes is longer than {MAX_NAME_BYTES} bytes"
    for part in name.split("/"):
        if part in ("", ".", ".."):
            return f"file name {name!r} has an empty, '.' or '..' component"
    return None


def b64encode(data: bytes) -> str:
    """Encode bytes for a frame (standard alphabet, padded)."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: object) -> bytes:
    """Decode a frame's base64 field strictly.

    Raises:
        FrameError: ``text`` is not a string of valid base64.
    """
    if not isinstance(text, str):
        raise FrameError(f"expected a base64 string, got {type(text).__name__}")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FrameError(f"invalid base64: {exc}") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _read_exact(stream: BinaryIO, size: int) -> bytes:
    """Read up to ``size`` bytes, stopping early only at end of stream."""
    parts: list[bytes] = []
    got = 0
    while got < size:
        chunk = stream.read(size - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)

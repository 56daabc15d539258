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

The supervisor is a stdlib-only package copied into the sandbox image, so it cannot import
the rest of rlvr_gym; the framing helpers and :func:`check_file_name` therefore live in
``supervisor/framing.py`` and this module re-exports them, so both ends run the same code.
"""

from __future__ import annotations

import base64
import binascii

from rlvr_gym.sandbox.supervisor.framing import (
    HEADER,
    LIMIT_KEYS,
    MAX_FRAME_BYTES,
    PROTOCOL_VERSION,
    FrameError,
    FrameTooLarge,
    check_file_name,
    decode_payload,
    encode_frame,
    read_frame,
)

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


STATUSES = (
    "ok",
    "runtime_error",
    "timeout",
    "memory_limit",
    "output_limit",
    "compile_error",
)
ERROR_CODES = ("bad_frame", "frame_too_large", "bad_request", "internal")


def parse_header(header: bytes, max_bytes: int = MAX_FRAME_BYTES) -> int:
    """Return the payload length announced by a 4-byte header.

    Raises:
        FrameTooLarge: the announced length exceeds ``max_bytes``.
    """
    (length,) = HEADER.unpack(header)
    if length > max_bytes:
        raise FrameTooLarge(f"frame of {length} bytes exceeds the {max_bytes}-byte limit")
    return int(length)


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

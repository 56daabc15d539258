"""Framing of the supervisor protocol: length-prefixed JSON objects, and file-name rules.

The trusted side (``rlvr_gym.sandbox.protocol``) re-exports these, so both ends of the
pipe run the same code. Stdlib only: this package is copied into the sandbox image.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
from typing import Any, BinaryIO

PROTOCOL_VERSION = 1
HEADER = struct.Struct(">I")
MAX_FRAME_BYTES = 64 * 1024 * 1024
MAX_NAME_BYTES = 1024
LIMIT_KEYS = ("cpu_s", "wall_s", "memory_bytes", "nproc", "fsize_bytes", "output_bytes", "nofile")
# fmt: off


class FrameError(ValueError):
    """A frame is malformed: bad UTF-8, bad JSON, or not a JSON object."""


class FrameTooLarge(FrameError):
    """A frame is larger than the agreed maximum."""




def encode_frame(message: dict[str, Any], max_bytes: int = MAX_FRAME_BYTES) -> bytes:
    """Serialise one message as length prefix + compact UTF-8 JSON."""
    payload = json.dumps(
        message, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")
    if len(payload) > max_bytes:
        raise FrameTooLarge(f"frame of {len(payload)} bytes exceeds the {max_bytes}-byte limit")
    return HEADER.pack(len(payload)) + payload


def decode_payload(payload: bytes) -> dict[str, Any]:
    """Decode a frame payload into a JSON object."""
    try:
        message = json.loads(payload.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FrameError(f"frame is not valid UTF-8 JSON: {exc}") from None
    if not isinstance(message, dict):
        raise FrameError(f"frame must hold a JSON object, not {type(message).__name__}")
    return message


def read_frame(stream: BinaryIO, max_bytes: int = MAX_FRAME_BYTES) -> dict[str, Any] | None:
    """Read one message; skip an oversized frame before raising so the stream stays aligned."""
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
    """Say why ``name`` cannot name a file in the work dir, or return ``None`` if it can."""
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


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _read_exact(stream: BinaryIO, size: int) -> bytes:
    parts: list[bytes] = []
    got = 0
    while got < size:
        chunk = stream.read(size - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)



def log(message: str) -> None:
    """One line on the supervisor's stderr (the container log), never raising."""
    with contextlib.suppress(OSError):
        os.write(2, f"rlvr-supervisor[{os.getpid()}]: {message}\n".encode(errors="replace"))

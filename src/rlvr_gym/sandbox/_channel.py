"""Frame exchange with a supervisor over pipes, shared by the process and Docker backends.

Why a module of its own: both backends talk to the same supervisor through a child
process's stdin/stdout (the supervisor itself, or the ``docker run -i`` client proxying a
container's stdio), and both need the same deadline-bounded, non-blocking reads and
writes. Every failure of the channel is :class:`Lost`: the caller replaces the supervisor
and reports ``infra_error``, never a verdict.
"""

from __future__ import annotations

import logging
import os
import select
import time
from typing import IO, Any

from rlvr_gym.errors import ConfigError
from rlvr_gym.sandbox import protocol

__all__ = ["Lost", "exchange", "forward_stderr", "read_exact", "write_all"]

_log = logging.getLogger("rlvr_gym.sandbox")


class Lost(Exception):
    """The supervisor stopped answering properly (exited, timed out, garbled reply)."""


def exchange(
    stdin_fd: int, stdout_fd: int, message: dict[str, Any], max_frame: int, deadline: float
) -> dict[str, Any]:
    """Send one frame and read one frame back before ``deadline`` (a monotonic time).

    Both fds must be non-blocking, so a supervisor that stops reading or writing cannot
    block us past the deadline.

    Raises:
        ConfigError: the message cannot be framed (too large, or text that is not Unicode).
        Lost: the supervisor exited, went silent past the deadline, or sent garbage.
    """
    try:
        frame = protocol.encode_frame(message, max_frame)
    except ValueError as exc:  # FrameTooLarge, or text that is not valid Unicode
        raise ConfigError(f"cannot send the request to the sandbox: {exc}") from None
    write_all(stdin_fd, frame, deadline)
    try:
        length = protocol.parse_header(read_exact(stdout_fd, protocol.HEADER.size, deadline))
        return protocol.decode_payload(read_exact(stdout_fd, length, deadline))
    except protocol.FrameError as exc:
        raise Lost(f"garbled reply: {exc}") from exc


def _wait_fd(fd: int, events: int, deadline: float) -> None:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise Lost("no reply within the backstop deadline")
    poller = select.poll()
    poller.register(fd, events)
    poller.poll(remaining * 1000)


def write_all(fd: int, data: bytes, deadline: float) -> None:
    """Write all of ``data`` to a non-blocking fd before ``deadline``.

    Raises:
        Lost: the deadline passed or the pipe broke.
    """
    view = memoryview(data)
    while view:
        _wait_fd(fd, select.POLLOUT, deadline)
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:
            continue
        except OSError as exc:
            raise Lost(f"cannot write to the supervisor: {exc}") from exc


def read_exact(fd: int, size: int, deadline: float) -> bytes:
    """Read exactly ``size`` bytes from a non-blocking fd before ``deadline``.

    Raises:
        Lost: the deadline passed, the pipe broke or reached end of file.
    """
    parts: list[bytes] = []
    got = 0
    while got < size:
        _wait_fd(fd, select.POLLIN, deadline)
        try:
            chunk = os.read(fd, min(size - got, 1 << 20))
        except BlockingIOError:
            continue
        except OSError as exc:
            raise Lost(f"cannot read from the supervisor: {exc}") from exc
        if not chunk:
            raise Lost("the supervisor exited")
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def forward_stderr(stream: IO[bytes], prefix: str = "sandbox supervisor") -> None:
    """Log a supervisor's diagnostics (it writes only on trouble) until end of file."""
    try:
        for line in stream:
            _log.warning("%s: %s", prefix, line.decode("utf-8", "replace").rstrip())
    except (OSError, ValueError):
        pass
    finally:
        stream.close()

"""In-sandbox supervisor: runs untrusted programs one request at a time, reports raw facts.

A long-lived process reading length-prefixed JSON requests on stdin and writing one reply
per request on stdout (messages: ``rlvr_gym/sandbox/protocol.py``). A fresh container per
program costs ~250 ms; a fork from this process costs ~2 ms.

Protects against, per execution:
  * runaway programs: RLIMIT_CPU (SIGXCPU, hard limit one second later), a wall deadline
    enforced by SIGKILL to the program's process group, RLIMIT_AS/NPROC/FSIZE/NOFILE, no
    core dumps;
  * output floods and pipe deadlocks: stdin is fed and stdout/stderr drained by one
    ``selectors`` loop, each stream kept up to ``output_bytes``. Past the cap the program is
    killed and reported as ``output_limit``: its answer is wrong anyway, and killing it
    frees the CPU now instead of at the deadline. (The compile step is only truncated.)
  * escapes through the API: file names must be relative, without ``..`` or NUL; files are
    created O_EXCL|O_NOFOLLOW in a fresh empty dir; environment keys that steer loaders and
    interpreters (``LD_*``, ``PYTHON*``, ...) are dropped and listed in the reply;
  * leftovers: after every run each process of the run - its session, every descendant
    (we are a child subreaper, so double-forked daemons come back to us) and, with a
    ``uid``, every process of that uid - is SIGKILLed; after every request the work dir is
    removed, read-only files and dirs included;
  * itself: a bad frame or request gets an error reply, never a crash; no deadline depends
    on the program's cooperation; it reports facts (status, exit code, output, usage) and
    the verdict on the answer is decided on the trusted side.

Relies on the container (or bubblewrap) for: no network, a read-only root and a size-capped
tmpfs work dir, a cgroup memory limit (RLIMIT_AS misses tmpfs and shared memory), a pids
limit (RLIMIT_NPROC counts per uid across every container on the kernel), dropped
capabilities and no-new-privileges. A ``uid`` (group = uid, no supplementary groups) needs a
root supervisor. Run as a non-root PID 1 (a container's init) it treats every other process
of its uid as sandbox and wipes the work dir base, /tmp and /dev/shm after each request.

Statuses: ``timeout`` = killed at the wall deadline or by the CPU limit; ``output_limit`` =
killed for output; ``memory_limit`` = SIGKILLed by someone else (the OOM killer) or a
memory-error signature (MemoryError, std::bad_alloc, ENOMEM text) ends stderr - a program
can fake that, which only turns one failure into another; ``runtime_error`` = any other
non-zero exit or signal (exit 127 and a ``supervisor:`` line on stderr when the command
cannot be executed); ``ok`` = exit 0. ``max_rss_bytes`` includes the forked supervisor's
few MB before exec. Once the main process exits its pipes are read to end of file, for at
most ``_PIPE_GRACE_S`` (a background process may hold them), then its group is killed.

Stdlib only, Python >= 3.9, one file: it is copied into the sandbox image and cannot import
``rlvr_gym``, so the framing helpers and ``check_file_name`` are copies of those in
``protocol.py``. Keep them in sync; a test checks that both behave the same.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import json
import math
import os
import re
import resource
import selectors
import signal
import stat
import struct
import sys
import tempfile
import time
import traceback
from typing import Any, BinaryIO, NoReturn

PROTOCOL_VERSION = 1
HEADER = struct.Struct(">I")
MAX_FRAME_BYTES = 64 * 1024 * 1024
MAX_NAME_BYTES = 1024
LIMIT_KEYS = ("cpu_s", "wall_s", "memory_bytes", "nproc", "fsize_bytes", "output_bytes", "nofile")
# fmt: off
REQUEST_KEYS = frozenset(("id", "op", "files", "compile", "run", "inputs", "limits",
                          "compile_limits", "env", "uid", "stop_on_first_failure"))
# Environment keys that steer the dynamic loader, interpreters, shells, compilers or name
# lookup; dropped from a request's env (and listed in the reply), whatever their case.
_ENV_DENY = re.compile(
    r"(LD_|PYTHON|DYLD_|MALLOC_|GLIBC_|GCONV|BASH_FUNC_|PERL|RUBY|NODE_|JAVA_|_JAVA_|GCC_"
    r"|COMPILER_|GOMP_).*|PATH|HOME|TMPDIR|IFS|ENV|BASH_ENV|SHELLOPTS|BASHOPTS|PS4|CDPATH"
    r"|GLOBIGNORE|LOCPATH|NLSPATH|HOSTALIASES|RES_OPTIONS|LOCALDOMAIN|TZDIR|LIBRARY_PATH"
    r"|CPATH|C_INCLUDE_PATH|CPLUS_INCLUDE_PATH|DEPENDENCIES_OUTPUT|SUNPRO_DEPENDENCIES",
    re.IGNORECASE,
)
_ENV_ALLOW = frozenset({"PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "PYTHONHASHSEED"})
_MEMORY_SIGNATURES = (b"MemoryError", b"std::bad_alloc", b"Cannot allocate memory",
                      b"out of memory")
# fmt: on
RUN_PREFIX = "rlvr-run-"
SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"
_PIPE_GRACE_S = 0.5  # how long output pipes may outlive the main process
_REAP_WAIT_S = 5.0  # a SIGKILLed process still there by then is stuck in the kernel
_SWEEP_ROUNDS = 100
_WIPE_S = 10.0
_MAX_FILES = 1000


class FrameError(ValueError):
    """A frame is malformed: bad UTF-8, bad JSON, or not a JSON object."""


class FrameTooLarge(FrameError):
    """A frame is larger than the agreed maximum."""


class BadRequest(ValueError):
    """The request cannot be executed as given; the message names the field and the fix."""


# --- framing: a copy of rlvr_gym/sandbox/protocol.py, keep in sync -----------------------


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


# --- request validation ----------------------------------------------------------------


class Job:
    """A validated execute request, decoded; ``workdir`` and ``env`` are set per request."""

    def __init__(self, msg: dict[str, Any], max_frame_bytes: int) -> None:
        if not REQUEST_KEYS.issuperset(msg):
            raise BadRequest(f"unknown request fields {sorted(set(msg) - REQUEST_KEYS)}")
        files = msg.get("files", {})
        if not isinstance(files, dict) or len(files) > _MAX_FILES:
            raise BadRequest(f"'files' must be an object of at most {_MAX_FILES} entries")
        for name in files:
            reason = check_file_name(name)
            if reason:
                raise BadRequest(reason)
        self.files = {name: _b64(data, f"files[{name!r}]") for name, data in files.items()}
        self.compile = None if msg.get("compile") is None else _argv(msg["compile"], "compile")
        self.run = _argv(msg.get("run"), "run")
        inputs = msg.get("inputs", [""])
        if not isinstance(inputs, list):
            raise BadRequest("'inputs' must be a list of base64 strings")
        self.inputs = [_b64(item, f"inputs[{i}]") for i, item in enumerate(inputs)]
        self.limits = _limits(msg.get("limits"), "limits")
        raw = msg.get("compile_limits")
        self.compile_limits = self.limits if raw is None else _limits(raw, "compile_limits")
        uid = msg.get("uid")
        if uid is not None and (type(uid) is not int or not 0 < uid < 2**31):
            raise BadRequest(f"'uid' must be null or an integer in 1..2**31-1, got {uid!r}")
        if uid is not None and os.geteuid() != 0:
            raise BadRequest("'uid' needs a supervisor running as root; send uid: null")
        self.uid: int | None = uid
        self.stop_on_first_failure = msg.get("stop_on_first_failure", False)
        if not isinstance(self.stop_on_first_failure, bool):
            raise BadRequest("'stop_on_first_failure' must be a boolean")
        self.user_env, self.env_dropped = _env(msg.get("env", {}))
        self.workdir = ""
        self.env: dict[str, str] = {}
        # Every run may return two full streams as base64: refuse up front what cannot fit.
        caps = [self.limits["output_bytes"]] * len(self.inputs)
        caps += [self.compile_limits["output_bytes"]] if self.compile else []
        worst = sum(2 * (int(cap) * 4 // 3 + 1024) for cap in caps)
        if worst > max_frame_bytes:
            raise BadRequest(
                f"{len(self.inputs)} inputs with output_bytes={self.limits['output_bytes']} "
                f"could need a {worst}-byte reply, above the {max_frame_bytes}-byte frame "
                "limit; lower output_bytes or split the batch"
            )


def _b64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise BadRequest(f"{what} must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadRequest(f"{what} is not valid base64: {exc}") from None


def _argv(value: object, what: str) -> list[str]:
    if not (
        isinstance(value, list)
        and value
        and value[0]
        and all(isinstance(a, str) and "\x00" not in a for a in value)
    ):
        raise BadRequest(f"'{what}' must be a non-empty list of strings without NUL bytes")
    return value


def _limits(value: object, what: str) -> dict[str, float]:
    if not isinstance(value, dict) or set(value) != set(LIMIT_KEYS):
        raise BadRequest(f"'{what}' must be an object with exactly the keys {list(LIMIT_KEYS)}")
    for key, number in value.items():
        if type(number) not in (int, float) or not 0 < number < 2**62:
            raise BadRequest(f"'{what}.{key}' must be a positive number, got {number!r}")
    if value["memory_bytes"] < 1 << 20:
        raise BadRequest(f"'{what}.memory_bytes' below 1 MiB cannot even start a program")
    return {key: value[key] for key in LIMIT_KEYS}


def _env(value: object) -> tuple[dict[str, str], list[str]]:
    if not isinstance(value, dict):
        raise BadRequest("'env' must be an object of strings")
    kept: dict[str, str] = {}
    dropped: list[str] = []
    for key, val in value.items():
        if not key or "=" in key or "\x00" in key or not isinstance(val, str) or "\x00" in val:
            raise BadRequest(f"env entry {key!r} must be a name without '='/NUL and a string")
        if key.upper() not in _ENV_ALLOW and _ENV_DENY.fullmatch(key):
            dropped.append(key)
        else:
            kept[key] = val
    return kept, dropped


# --- running one program ---------------------------------------------------------------


class _Capture:
    """Keeps the first ``cap`` bytes of a stream and counts the rest."""

    def __init__(self, cap: int, data: bytes = b"") -> None:
        self.cap, self.data, self.total = cap, bytearray(data), len(data)

    def add(self, chunk: bytes) -> None:
        if len(self.data) < self.cap:
            self.data += chunk[: self.cap - len(self.data)]
        self.total += len(chunk)

    @property
    def truncated(self) -> bool:
        return self.total > self.cap


def _resolve(command: str) -> str | None:
    if "/" in command:
        return command  # relative to the work dir, which the child chdirs into
    for directory in SAFE_PATH.split(":"):
        path = os.path.join(directory, command)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def _set_limit(which: int, soft: int, hard: int) -> None:
    _, cur_hard = resource.getrlimit(which)
    if cur_hard != resource.RLIM_INFINITY:  # raising needs CAP_SYS_RESOURCE: only lower
        soft, hard = min(soft, cur_hard), min(hard, cur_hard)
    resource.setrlimit(which, (soft, hard))


def _child(
    path: str, argv: list[str], job: Job, limits: dict[str, float], fds: list[int]
) -> NoReturn:
    """Runs in the forked child: isolate, limit, drop privileges, exec. Never returns."""
    stage, errw = "setsid", fds[3]
    try:
        os.setsid()
        for sig in signal.valid_signals():  # Python ignores SIGPIPE and SIGXFSZ; undo that
            with contextlib.suppress(OSError, ValueError, TypeError):
                if signal.getsignal(sig) is not signal.SIG_DFL:
                    signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        stage = "fds"
        for target, fd in enumerate(fds[:3]):
            os.dup2(fd, target)
        os.closerange(3, errw)
        os.closerange(errw + 1, max(os.sysconf("SC_OPEN_MAX"), 1 << 16))
        _set_dumpable(True)  # our /proc/self files back to our uid (see main())
        with contextlib.suppress(OSError), open("/proc/self/oom_score_adj", "w") as adj:
            adj.write("1000")  # the OOM killer should pick the program, not the supervisor
        stage = "chdir"
        os.chdir(job.workdir)
        stage = "rlimits"
        cpu = max(1, math.ceil(limits["cpu_s"]))
        _set_limit(resource.RLIMIT_CPU, cpu, cpu + 1)
        for which, key in (
            (resource.RLIMIT_NPROC, "nproc"),
            (resource.RLIMIT_FSIZE, "fsize_bytes"),
            (resource.RLIMIT_NOFILE, "nofile"),
        ):
            _set_limit(which, int(limits[key]), int(limits[key]))
        _set_limit(resource.RLIMIT_CORE, 0, 0)
        if job.uid is not None:
            stage = "setuid"
            os.setgroups([])
            os.setgid(job.uid)
            os.setuid(job.uid)
        stage = "exec"
        memory = int(limits["memory_bytes"])
        _set_limit(resource.RLIMIT_AS, memory, memory)  # last: Python code here allocates
        os.execve(path, argv, job.env)
    except BaseException as exc:
        with contextlib.suppress(BaseException):
            os.write(errw, f"supervisor: cannot execute {argv[0]!r} ({stage}): {exc}".encode())
    os._exit(127)


def run_program(
    job: Job, argv: list[str], stdin: bytes, limits: dict[str, float], kill_on_overflow: bool
) -> tuple[dict[str, Any], int | None]:
    """Fork, run ``argv`` under ``limits``, feed ``stdin``, capture output, reap, classify.

    Returns:
        The result message and the session id of the run (``None`` if nothing was forked),
        for the caller's sweep of leftover processes.
    """
    path = _resolve(argv[0])
    if path is None:
        note = f"supervisor: command not found: {argv[0]!r} (PATH={SAFE_PATH})".encode()
        return _result("runtime_error", 127, None, _Capture(0), _Capture(len(note), note)), None
    fds: list[int] = []
    try:
        for _ in range(4):  # stdin, stdout, stderr, exec-error report
            fds += os.pipe2(os.O_CLOEXEC)
        start = time.monotonic()
        pid = os.fork()
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    if pid == 0:  # pragma: no cover - the child execs or exits
        _child(path, argv, job, limits, [fds[0], fds[3], fds[5], fds[7]])
    for fd in (fds[0], fds[3], fds[5], fds[7]):
        os.close(fd)
    out, err = _Capture(int(limits["output_bytes"])), _Capture(int(limits["output_bytes"]))
    try:
        note = _read_all(fds[6])  # EOF at exec (close-on-exec) or at the child's _exit
        deadline = start + limits["wall_s"]
        reason = _pump(pid, fds[1], stdin, fds[2], out, fds[4], err, deadline, kill_on_overflow)
    finally:
        _killpg(pid)  # still unreaped, so no other process can have this group id
    status, rusage = _reap(pid)
    wall = time.monotonic() - start
    cpu = rusage.ru_utime + rusage.ru_stime if rusage is not None else 0.0
    rss = rusage.ru_maxrss * 1024 if rusage is not None else 0
    if status is None:  # stuck in the kernel; the sweep will report the request unclean
        code, sig, reason = None, int(signal.SIGKILL), reason or "wall"
    elif os.WIFSIGNALED(status):
        code, sig = None, os.WTERMSIG(status)
    else:
        code, sig = os.WEXITSTATUS(status), None
    verdict = _classify(reason, code, sig, cpu, limits["cpu_s"], bytes(err.data[-4096:]))
    return _result(verdict, code, sig, out, err, cpu, wall, rss, note), pid


def _classify(
    reason: str | None, code: int | None, sig: int | None, cpu: float, cpu_limit: float, tail: bytes
) -> str:
    if reason == "output":
        return "output_limit"
    if reason == "wall" or sig == signal.SIGXCPU:
        return "timeout"
    if sig == signal.SIGKILL:  # not ours: the hard CPU limit, else the (cgroup) OOM killer
        return "timeout" if cpu >= max(1, math.ceil(cpu_limit)) * 0.99 else "memory_limit"
    if code == 0:
        return "ok"
    return "memory_limit" if any(m in tail for m in _MEMORY_SIGNATURES) else "runtime_error"


def _result(
    status: str,
    code: int | None,
    sig: int | None,
    out: _Capture,
    err: _Capture,
    cpu: float = 0.0,
    wall: float = 0.0,
    rss: int = 0,
    note: bytes = b"",
) -> dict[str, Any]:
    stderr = note + b"\n" + bytes(err.data) if note else bytes(err.data)
    return {
        "status": status,
        "exit_code": code,
        "signal": sig,
        "stdout": base64.b64encode(bytes(out.data)).decode("ascii"),
        "stderr": base64.b64encode(stderr).decode("ascii"),
        "stdout_truncated": out.truncated,
        "stderr_truncated": err.truncated,
        "cpu_s": round(cpu, 6),
        "wall_s": round(wall, 6),
        "max_rss_bytes": int(rss),
    }


def _pump(
    pid: int,
    in_w: int,
    stdin: bytes,
    out_r: int,
    out: _Capture,
    err_r: int,
    err: _Capture,
    deadline: float,
    kill_on_overflow: bool,
) -> str | None:
    """Feed stdin and drain both pipes until the program is done, killed or out of time.

    Returns ``"wall"`` (deadline reached), ``"output"`` (killed for output) or ``None``.
    Closes the three pipe ends it is given.
    """
    sel = selectors.DefaultSelector()
    pending, pidfd, reason, exited_at = memoryview(stdin), -1, None, None
    try:
        for fd, what in ((out_r, out), (err_r, err), (in_w, "stdin")):
            os.set_blocking(fd, False)
            sel.register(
                fd, selectors.EVENT_WRITE if what == "stdin" else selectors.EVENT_READ, what
            )
        with contextlib.suppress(AttributeError, OSError):  # else poll every 10 ms
            pidfd = os.pidfd_open(pid)  # readable once the process exits (Linux >= 5.3)
            sel.register(pidfd, selectors.EVENT_READ, "exit")
        while True:
            if not pending and in_w >= 0:  # all fed (or nothing to feed): the program sees EOF
                sel.unregister(in_w)
                os.close(in_w)
                in_w = -1
            now = time.monotonic()
            if exited_at is None and _has_exited(pid):
                exited_at = now
            readers = sum(1 for key in sel.get_map().values() if isinstance(key.data, _Capture))
            if exited_at is not None and (not readers or now >= exited_at + _PIPE_GRACE_S):
                return reason
            if exited_at is None and now >= deadline:
                return reason or "wall"
            until = deadline if exited_at is None else exited_at + _PIPE_GRACE_S
            timeout = until - now if pidfd >= 0 else min(until - now, 0.01)
            for key, _ in sel.select(max(timeout, 0.0)):
                if key.data == "exit":
                    sel.unregister(key.fd)  # noted by _has_exited at the top of the loop
                elif key.data == "stdin":
                    try:
                        pending = pending[os.write(in_w, pending[:65536]) :]
                    except BlockingIOError:
                        pass
                    except OSError:  # EPIPE: the program closed stdin; it may not need it
                        pending = pending[:0]
                else:
                    chunk = _read_some(key.fd)
                    if chunk == b"":
                        sel.unregister(key.fd)
                    elif chunk is not None:
                        key.data.add(chunk)
                        if kill_on_overflow and key.data.truncated and reason is None:
                            reason = "output"
                            _killpg(pid)
    finally:
        for capture, fd in ((out, out_r), (err, err_r)):
            for _ in range(64):  # what is already in the pipe, bounded
                chunk = _read_some(fd)
                if not chunk:
                    break
                capture.add(chunk)
        sel.close()
        for fd in (in_w, out_r, err_r, pidfd):
            _close_quietly(fd)


def _has_exited(pid: int) -> bool:
    try:  # WNOWAIT: leave it a zombie, so its pid and group id stay ours until we reap
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _read_some(fd: int) -> bytes | None:
    """Data from a non-blocking pipe; ``b""`` at end of file (or error), ``None`` if none yet."""
    try:
        return os.read(fd, 1 << 16)
    except (BlockingIOError, InterruptedError):
        return None
    except OSError:
        return b""


def _read_all(fd: int) -> bytes:
    parts: list[bytes] = []
    try:
        while True:
            chunk = os.read(fd, 4096)
            if not chunk:
                return b"".join(parts)
            parts.append(chunk)
    finally:
        os.close(fd)


def _close_quietly(fd: int) -> None:
    if fd >= 0:
        with contextlib.suppress(OSError):
            os.close(fd)


def _killpg(pgid: int) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pgid, signal.SIGKILL)


def _reap(pid: int) -> tuple[int | None, Any]:
    """Reap a killed process with its rusage; ``(None, None)`` if it is stuck (D state)."""
    give_up = time.monotonic() + _REAP_WAIT_S
    while True:
        try:
            got, status, rusage = os.wait4(pid, os.WNOHANG)
        except ChildProcessError:
            return None, None
        if got == pid:
            return status, rusage
        if time.monotonic() >= give_up:
            return None, None
        time.sleep(0.001)


# --- cleanliness: leftover processes and files -----------------------------------------


def _scan(with_uids: bool) -> dict[int, tuple[int, int, bool, frozenset[int]]]:
    """Map every visible pid to (parent pid, session id, is zombie, uids)."""
    table: dict[int, tuple[int, int, bool, frozenset[int]]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                raw = fh.read()
            fields = raw[raw.rindex(b")") + 2 :].split()
            uids: frozenset[int] = frozenset()
            if with_uids:
                with open(f"/proc/{name}/status", "rb") as fh:
                    line = next(x for x in fh if x.startswith(b"Uid:"))
                uids = frozenset(int(u) for u in line.split()[1:])
        except (OSError, ValueError, StopIteration):
            continue  # exited meanwhile
        table[int(name)] = (int(fields[1]), int(fields[3]), fields[0] in (b"Z", b"X"), uids)
    return table


def _targets(
    table: dict[int, tuple[int, int, bool, frozenset[int]]], sids: set[int], uids: set[int]
) -> set[int]:
    """Live sandbox processes: our descendants, members of ``sids``, owned by ``uids``."""
    protected, pid = set(), os.getpid()
    while pid in table and pid not in protected:  # never ourselves or our ancestors
        protected.add(pid)
        pid = table[pid][0]
    children: dict[int, list[int]] = {}
    for pid, row in table.items():
        children.setdefault(row[0], []).append(pid)
    descendants, stack = set(), [os.getpid()]
    while stack:
        kids = [k for k in children.get(stack.pop(), ()) if k not in descendants]
        descendants.update(kids)
        stack += kids
    return {
        pid
        for pid, (_, sid, zombie, owner) in table.items()
        if not zombie
        and pid not in protected
        and (pid in descendants or sid in sids or not uids.isdisjoint(owner))
    }


def _kill_as_uid(uid: int) -> None:
    """SIGKILL every process of ``uid`` at once, from a helper that is ``uid`` itself.

    ``kill(-1)`` reaches them all in one call, faster than a fork bomb forks; killing pid by
    pid from a /proc scan alone could lose that race.
    """
    pid = os.fork()
    if pid == 0:  # pragma: no cover - helper child
        with contextlib.suppress(BaseException):  # ESRCH: nobody left
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            for _ in range(1000):
                os.kill(-1, signal.SIGKILL)  # all this uid may signal, except the helper
        os._exit(0)
    _reap(pid)


def _reap_children() -> None:
    """Reap zombies handed to us as subreaper (or as a container's PID 1)."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def sweep(sids: set[int], uids: set[int], same_uid: bool) -> tuple[int, bool]:
    """SIGKILL leftover sandbox processes until none is left.

    Returns:
        How many distinct processes were killed, and whether none survived.
    """
    killed: set[int] = set()
    wanted = uids | ({os.geteuid()} if same_uid else set())
    for round_ in range(_SWEEP_ROUNDS):
        targets = _targets(_scan(bool(wanted)), sids, wanted)
        _reap_children()
        if not targets:
            return len(killed), True
        killed |= targets
        for uid in uids if os.geteuid() == 0 else ():
            _kill_as_uid(uid)
        for pid in targets:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.0005 * round_)
    return len(killed), False


def wipe(path: str) -> bool:
    """Remove ``path`` and everything below it, whatever the program did to it; True if gone.

    Works level by level - the children of each subdirectory are renamed up into ``path`` -
    so neither recursion depth nor path length limits what a program can build, and chmods
    dirs first so read-only ones do not stop a non-root supervisor. Symlinks are removed,
    never followed.
    """
    give_up = time.monotonic() + _WIPE_S
    try:
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            os.unlink(path)
            return True
        serial = 0
        while time.monotonic() < give_up:  # something still writing here: report, move on
            os.chmod(path, 0o700)
            names = os.listdir(path)
            if not names:
                os.rmdir(path)
                return True
            for name in names:
                child = os.path.join(path, name)
                if not stat.S_ISDIR(os.lstat(child).st_mode):
                    os.unlink(child)
                    continue
                os.chmod(child, 0o700)
                for sub in os.listdir(child):
                    src = os.path.join(child, sub)
                    if stat.S_ISDIR(os.lstat(src).st_mode):
                        os.chmod(src, 0o700)  # moving a dir rewrites its '..': needs write
                    while os.path.lexists(os.path.join(path, f".wipe{serial}")):
                        serial += 1
                    os.rename(src, os.path.join(path, f".wipe{serial}"))
                os.rmdir(child)
    except FileNotFoundError:
        return not os.path.lexists(path)
    except OSError as exc:
        _log(f"cannot remove {path!r}: {exc}")
        return False
    _log(f"gave up removing {path!r} after {_WIPE_S} s")
    return False


# --- the server ------------------------------------------------------------------------


def _log(message: str) -> None:
    with contextlib.suppress(OSError):
        os.write(2, f"rlvr-supervisor[{os.getpid()}]: {message}\n".encode(errors="replace"))


def _error(rid: Any, code: str, message: str) -> dict[str, Any]:
    return {"id": rid, "error": {"code": code, "message": message}}


class Supervisor:
    """Serves requests one at a time; owns the work dir base and the cleanup policy."""

    def __init__(self, base: str, max_frame_bytes: int, same_uid: bool, scrub: list[str]) -> None:
        self.base, self.max_frame_bytes = base, max_frame_bytes
        self.same_uid, self.scrub_dirs = same_uid, scrub
        self.uids_seen: set[int] = set()

    def serve(self, reader: BinaryIO, out_fd: int) -> int:
        """Answer frames until end of input; returns the process exit code."""
        try:
            while True:
                try:
                    msg = read_frame(reader, self.max_frame_bytes)
                except FrameTooLarge as exc:
                    self._send(out_fd, _error(None, "frame_too_large", str(exc)))
                    continue
                except FrameError as exc:
                    self._send(out_fd, _error(None, "bad_frame", str(exc)))
                    continue
                except EOFError as exc:
                    _log(f"input ended inside a frame ({exc}); exiting")
                    return 1
                if msg is None:
                    return 0
                self._send(out_fd, self.handle(msg))
        except BrokenPipeError:
            return 1
        finally:
            try:
                self.cleanup()
            except Exception:
                _log(traceback.format_exc())

    def handle(self, msg: dict[str, Any]) -> dict[str, Any]:
        """Answer one message; never raises."""
        rid = msg.get("id")
        try:
            if not (rid is None or isinstance(rid, str) or type(rid) is int):
                return _error(None, "bad_request", "'id' must be a string, an integer or null")
            op = msg.get("op", "execute")
            if op == "ping":
                return {"op": "pong", "pid": os.getpid(), "version": PROTOCOL_VERSION}
            if op == "cleanup":
                return self.cleanup()
            if op != "execute":
                return _error(rid, "bad_request", f"unknown op {op!r}; use execute/ping/cleanup")
            return self.execute(rid, Job(msg, self.max_frame_bytes))
        except BadRequest as exc:
            return _error(rid, "bad_request", str(exc))
        except Exception as exc:  # report and keep serving
            _log(traceback.format_exc())
            return _error(rid, "internal", f"{type(exc).__name__}: {exc}")

    def execute(self, rid: Any, job: Job) -> dict[str, Any]:
        """Write the files, compile once, run every input, clean up after each run."""
        job.workdir = tempfile.mkdtemp(prefix=RUN_PREFIX, dir=self.base)
        job.env = {"PATH": SAFE_PATH, "HOME": job.workdir, "TMPDIR": job.workdir}
        job.env.update({"LANG": "C.UTF-8", **job.user_env})
        uids = {job.uid} if job.uid is not None else set()
        self.uids_seen |= uids
        killed, clean, compiled, runs = 0, True, None, []
        try:
            self._write_files(job)
            steps = [(job.compile, b"", job.compile_limits)] if job.compile else []
            steps += [(job.run, data, job.limits) for data in job.inputs]
            for index, (argv, data, limits) in enumerate(steps):
                assert argv is not None
                is_compile = index == 0 and job.compile is not None
                result, sid = run_program(job, argv, data, limits, not is_compile)
                count, ok = sweep({sid} if sid else set(), uids, self.same_uid)
                killed, clean = killed + count, clean and ok
                if is_compile:
                    if result["status"] != "ok":
                        result["status"] = "compile_error"
                    compiled = result
                    if result["status"] != "ok":
                        break
                else:
                    runs.append(result)
                    if job.stop_on_first_failure and result["status"] != "ok":
                        break
        finally:
            clean = wipe(job.workdir) and self._scrub() and clean
        return {
            "id": rid,
            "compile": compiled,
            "runs": runs,
            "leftover_processes_killed": killed,
            "clean": clean,
            "env_dropped": job.env_dropped,
        }

    def cleanup(self) -> dict[str, Any]:
        """Kill every sandbox process and remove every run dir: the pool's health check."""
        killed, clean = sweep(set(), self.uids_seen, self.same_uid)
        runs = [
            os.path.join(self.base, n) for n in os.listdir(self.base) if n.startswith(RUN_PREFIX)
        ]
        wiped = sorted(set(runs + self._scrub_listing()))
        clean = all([wipe(path) for path in wiped]) and clean
        return {"op": "cleanup", "killed": killed, "wiped": wiped, "clean": clean}

    def _send(self, out_fd: int, reply: dict[str, Any]) -> None:
        try:
            frame = encode_frame(reply, self.max_frame_bytes)
        except ValueError as exc:  # FrameTooLarge included
            frame = encode_frame(_error(reply.get("id"), "internal", f"cannot send reply: {exc}"))
        view = memoryview(frame)
        while view:
            view = view[os.write(out_fd, view) :]

    def _write_files(self, job: Job) -> None:
        if job.uid is not None:
            os.chown(job.workdir, job.uid, job.uid)
        for name, data in job.files.items():
            path = job.workdir
            try:
                for part in name.split("/")[:-1]:
                    path = os.path.join(path, part)
                    if not os.path.isdir(path):
                        os.mkdir(path, 0o755)
                        self._own(path, job.uid)
                path = os.path.join(job.workdir, name)
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
                fd = os.open(path, flags, 0o644)
            except OSError as exc:
                raise BadRequest(f"cannot create {name!r} in the work dir: {exc}") from None
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
            self._own(path, job.uid)

    @staticmethod
    def _own(path: str, uid: int | None) -> None:
        if uid is not None:
            os.chown(path, uid, uid, follow_symlinks=False)

    def _scrub_listing(self) -> list[str]:
        paths: list[str] = []
        for directory in self.scrub_dirs:
            with contextlib.suppress(OSError):
                paths += [os.path.join(directory, n) for n in sorted(os.listdir(directory))]
        return paths

    def _scrub(self) -> bool:
        return all([wipe(path) for path in self._scrub_listing()])


def _become_subreaper() -> bool:
    """Make orphaned descendants (double-forked daemons) our children, so sweeps find them."""
    try:
        import ctypes

        return bool(ctypes.CDLL(None).prctl(36, 1, 0, 0, 0) == 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def _set_dumpable(flag: bool) -> bool:
    """PR_SET_DUMPABLE: when off, our /proc/<pid> files belong to root (exec turns it on)."""
    try:
        import ctypes

        return bool(ctypes.CDLL(None).prctl(4, int(flag), 0, 0, 0) == 0)  # PR_SET_DUMPABLE
    except (OSError, AttributeError):
        return False


def _on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through serve(), whose finally cleans up


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python3 -I supervisor.py [--workdir-base DIR] ...``."""
    parser = argparse.ArgumentParser(description="rlvr-gym in-sandbox supervisor")
    parser.add_argument(
        "--workdir-base", default="/work", help="existing dir holding each request's fresh dir"
    )
    parser.add_argument("--max-frame-bytes", type=int, default=MAX_FRAME_BYTES)
    parser.add_argument(
        "--kill-all-same-uid",
        action="store_true",
        help="treat every other process of our uid as sandbox (non-root only; implied as a "
        "non-root PID 1, i.e. a container's init)",
    )
    parser.add_argument(
        "--scrub-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="dir whose every entry is removed after each request (repeatable)",
    )
    args = parser.parse_args(argv)
    if not os.path.isdir(args.workdir_base):
        parser.error(f"--workdir-base {args.workdir_base!r} is not a directory")
    container_init = os.getpid() == 1 and os.geteuid() != 0
    same_uid = args.kill_all_same_uid or container_init
    if same_uid and os.geteuid() == 0:
        parser.error("--kill-all-same-uid as root would kill every root process; drop it")
    scrub = args.scrub_dir or ([args.workdir_base, "/tmp", "/dev/shm"] if container_init else [])
    scrub = sorted({os.path.abspath(path) for path in scrub})
    proto_in, proto_out = os.dup(0), os.dup(1)  # private copies, closed on exec
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # a stray print must never corrupt the protocol stream
    os.close(devnull)
    if container_init:
        # As a container's init with default dispositions, the kernel drops every signal
        # sent from inside the container (SIGKILL included): the program, same uid as us,
        # could otherwise end us with SIGTERM/SIGINT and turn its verdict into infra_error.
        # The pool stops containers with SIGKILL from outside, which still works.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        # Programs run with our uid: non-dumpable, our /proc/1 files (oom_score_adj, environ,
        # mem) belong to root and ptrace is refused, so a program cannot make the OOM killer
        # pick us (turning its memory_limit into infra_error) nor tamper with us.
        _set_dumpable(False)
    else:
        signal.signal(signal.SIGTERM, _on_sigterm)
    _become_subreaper()
    base = os.path.abspath(args.workdir_base)
    with os.fdopen(proto_in, "rb", buffering=0) as reader:
        return Supervisor(base, args.max_frame_bytes, same_uid, scrub).serve(reader, proto_out)


if __name__ == "__main__":
    sys.exit(main())

"""Running one program: fork, isolate and limit the child, feed and drain its pipes, reap."""

from __future__ import annotations

import base64
import contextlib
import math
import os
import resource
import select
import selectors
import signal
import time
from collections.abc import Callable
from typing import Any, NoReturn

from . import pyfork
from .job import Job
from .zygote import Zygote

# fmt: off
_MEMORY_SIGNATURES = (b"MemoryError", b"std::bad_alloc", b"Cannot allocate memory",
                      b"out of memory")
# fmt: on
SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"
_PIPE_GRACE_S = 0.5  # how long output pipes may outlive the main process
_REAP_WAIT_S = 5.0  # a SIGKILLed process still there by then is stuck in the kernel


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


_zygote: Zygote | None = None


def enable_python_fork(supervisor_dir: str, env: dict[str, str], preload: str | None) -> Zygote:
    """Run ``python3 <script>`` programs forked from a clean zygote (see ``zygote``)."""
    global _zygote
    _zygote = Zygote(supervisor_dir, env, preload)
    return _zygote


def zygote_ok() -> bool:
    """False once a zygote was lost: the container should then be replaced.

    Checked after every request's sweep, so a zygote killed by a run's leftovers is
    noticed before the next request, which then never depends on it.
    """
    if _zygote is not None and _zygote.usable and not _zygote.alive():
        _zygote.fail("it exited")
    return _zygote is None or _zygote.usable


def child(
    path: str,
    argv: list[str],
    job: Any,
    limits: dict[str, float],
    fds: list[int],
    script: str | None,
) -> NoReturn:
    """Runs in the forked child: isolate, limit, drop privileges, exec. Never returns.

    ``job`` supplies ``workdir``, ``env`` and ``uid``; with a ``script`` the child runs it
    as Python in place (``pyfork``) instead of exec'ing ``path``.
    """
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
        set_dumpable(True)  # our /proc/self files back to our uid (see main())
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
        memory = int(limits["memory_bytes"]) + (pyfork.EXTRA_AS[0] if script else 0)
        _set_limit(resource.RLIMIT_AS, memory, memory)  # last: Python code here allocates
        if script is not None:
            stage = "python"
            os.close(errw)  # the parent reads it to EOF before pumping: nothing to report
            errw = -1
            pyfork.run_script(script, argv, job.env)
        os.execve(path, argv, job.env)
    except BaseException as exc:
        with contextlib.suppress(BaseException):
            note = f"supervisor: cannot execute {argv[0]!r} ({stage}): {exc}"
            os.write(errw if errw >= 0 else 2, note.encode())
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
        ends = [fds[0], fds[3], fds[5], fds[7]]
        zygote = _zygote if _zygote is not None and _zygote.usable else None
        spawned = None
        if zygote is not None and pyfork.python_script(argv, path) is not None:
            spawned = zygote.spawn(path, argv, job, limits, ends)
            if spawned is None:  # the run may exist without our knowing its pid: no retry
                raise RuntimeError("the zygote failed while starting the run")
        pid = spawned if spawned is not None else os.fork()
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    if pid == 0:  # pragma: no cover - the child execs or exits
        child(path, argv, job, limits, ends, None)  # never Python in place: our heap is dirty
    for fd in ends:
        os.close(fd)
    pidfd = os.pidfd_open(pid) if spawned is not None else -1
    out, err = _Capture(int(limits["output_bytes"])), _Capture(int(limits["output_bytes"]))
    try:
        note = _read_all(fds[6])  # EOF at exec (close-on-exec) or at the child's _exit
        deadline = start + limits["wall_s"]
        exited = (lambda: _readable(pidfd)) if spawned is not None else (lambda: _has_exited(pid))
        pipes = (fds[1], stdin, fds[2], out, fds[4], err)
        reason = _pump(pid, *pipes, deadline, kill_on_overflow, exited)
    finally:
        _killpg(pid)  # still unreaped, so no other process can have this group id
        _close_quietly(pidfd)
    if spawned is not None and zygote is not None:
        status, rusage = zygote.reap(pid, _REAP_WAIT_S)
    else:
        status, rusage = reap(pid)
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
    exited: Callable[[], bool],
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
            if exited_at is None and exited():
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
                    sel.unregister(key.fd)  # noted by exited() at the top of the loop
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


def _readable(fd: int) -> bool:
    """Whether a pidfd says its process ended (for runs that are not our children)."""
    return bool(select.select([fd], [], [], 0)[0])


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


def reap(pid: int) -> tuple[int | None, Any]:
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


def set_dumpable(flag: bool) -> bool:
    """PR_SET_DUMPABLE: when off, our /proc/<pid> files belong to root (exec turns it on)."""
    try:
        import ctypes

        return bool(ctypes.CDLL(None).prctl(4, int(flag), 0, 0, 0) == 0)  # PR_SET_DUMPABLE
    except (OSError, AttributeError):
        return False

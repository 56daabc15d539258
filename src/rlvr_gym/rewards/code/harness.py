"""Trusted function-call harness: sent into the sandbox as ``main.py``, beside ``solution.py``.

Why a separate trusted process: if tests run in the interpreter that loaded the model's
program, the program can exit before them, return objects equal to everything, patch
``builtins`` or print a forged verdict. Here it shares no interpreter, stdout or secret
with the judging code. A run (``python3 main.py``; stdin: the host's payload):

1. The trusted process T makes itself non-dumpable (``PR_SET_DUMPABLE`` 0, read back), so
   processes of its uid can neither ptrace it nor open ``/proc/T/{mem,fd,environ}``.
2. T forks the candidate process C *before* reading stdin: C's memory, a copy of T's, holds
   no test data. C points fds 0/1/2 at ``/dev/null`` and ``candidate.log`` (T keeps its
   own fd on it and reports the tail), closes every other fd but its pipe ends, and waits.
3. T reads the payload (nonce, entry point, encoded cases, setup/test code), keeps only
   dirs C cannot write on ``sys.path`` (C could plant ``typing.py``), runs ``setup_code``
   and compiles ``test_code``; only then may C load ``solution.py`` (as module
   ``solution``: ``__main__`` blocks do not run). Failures up to here cannot come from
   the model and are reported as ``harness_error``; any later one is the program's.
4. Each case is one request over the pipes. T decodes the reply with :func:`loads` and
   :func:`decode` (size, depth and element caps, known tags only) into plain values, under
   a per-call deadline T keeps with ``select``: C cannot touch T's timers or signals.
5. ``test_code`` runs in T with ``candidate`` and the entry point bound to a proxy that
   ships arguments to C and returns decoded plain values.
6. T prints one line, ``RLVR-HARNESS-RESULT <nonce> <json>``; the host ignores all others
   and compares the values with the expected ones, which never enter the sandbox.

If C dies, times out or breaks the protocol, T SIGKILLs it and the remaining calls are not
run: once the payload is in T's memory, a new fork would copy it within the model's reach
(re-running the program is the host's job: a new sandbox run). T must start in a
process that never held the payload - a fresh ``exec``, or a fork of the sandbox's
zygote, which never sees request data: a fork of anything that held it would leak it
to C.

Not covered: the program sees every call's arguments, may kill or freeze T (SIGKILL and
SIGSTOP cannot be refused; the run then reports nothing, which the host scores as a
failure), and may make its own process misbehave in any way, which only fails it.

Stdlib only, Python >= 3.9, no ``rlvr_gym`` import: the file runs alone in the sandbox.
The codec (:func:`encode`, :func:`decode`, :func:`loads`, :func:`dumps`) lives in
:mod:`rlvr_gym.rewards.code.wire`, shipped beside this file as ``rlvr_wire.py`` and
imported by the host too, so both sides share one wire format.
"""

from __future__ import annotations

import builtins
import contextlib
import ctypes
import math
import os
import re
import select
import signal
import struct
import sys
import time
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import Any, NoReturn

if __package__:
    from .wire import MAX_MESSAGE_BYTES, CodecError, decode, dumps, encode, loads
else:  # in the sandbox: main.py beside rlvr_wire.py, imported before the candidate exists
    from rlvr_wire import (  # type: ignore[import-not-found,no-redef]
        MAX_MESSAGE_BYTES,
        CodecError,
        decode,
        dumps,
        encode,
        loads,
    )

__all__ = [
    "RESULT_PREFIX",
    "SOLUTION_FILE",
    "CodecError",
    "decode",
    "dumps",
    "encode",
    "loads",
    "main",
]
RESULT_PREFIX = "RLVR-HARNESS-RESULT"
SOLUTION_FILE = "solution.py"
LOG_FILE = "candidate.log"
LOG_TAIL_BYTES = 2000
ERROR_CHARS = 1000
_HEADER = struct.Struct(">I")
_NONCE_RE = re.compile(r"[0-9a-f]{8,128}")
# fmt: off
_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM",
            "SIGVTALRM", "SIGPROF", "SIGPIPE", "SIGXFSZ", "SIGTSTP", "SIGTTIN", "SIGTTOU")
# fmt: on


Msg = dict[str, Any]


# --- framing over the pipes between T and C ---------------------------------------------


class Lost(BaseException):
    """C timed out or died; a BaseException so that test code cannot swallow it."""

    def __init__(self, kind: str, message: str = "") -> None:
        super().__init__(message)
        self.kind = kind  # "timeout" or "crash"


class Limitation(BaseException):
    """test_code needs something the judge cannot do (e.g. pass a function to C)."""


class CandidateError(Exception):
    """The candidate's function raised; the text is C's ``Type: message``."""


def _send(fd: int, message: dict[str, Any], deadline: float | None = None) -> None:
    data = dumps(message)
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([], [fd], [], left)[1]:
                raise Lost("timeout")
        view = view[os.write(fd, view[: 1 << 16]) :]


def _read_exact(
    fd: int, size: int, deadline: float | None, alive: Callable[[], bool] | None
) -> bytes:
    parts, got = [], 0
    while got < size:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Lost("timeout")
            if not select.select([fd], [], [], min(left, 0.05))[0]:
                if alive is not None and not alive():  # C's children may keep the pipe open
                    raise Lost("crash")
                continue
        chunk = os.read(fd, min(size - got, 1 << 20))
        if not chunk:
            raise Lost("crash")
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _recv(fd: int, deadline: float | None, alive: Callable[[], bool] | None = None) -> Any:
    """One message; C reads T's requests unbounded (trusted), T caps C's replies."""
    (length,) = _HEADER.unpack(_read_exact(fd, _HEADER.size, deadline, alive))
    limit = MAX_MESSAGE_BYTES if alive is not None else 1 << 32
    if length > limit:
        raise CodecError(f"message of {length} bytes exceeds {limit}")
    return loads(_read_exact(fd, length, deadline, alive), max_bytes=limit)


def _lines(tb: TracebackType | None, suffix: str) -> list[int]:
    """Line numbers of ``tb``'s frames in files named ``*suffix`` (no source file reads)."""
    walk = traceback.walk_tb(tb)
    return [line for frame, line in walk if frame.f_code.co_filename.endswith(suffix)]


# --- C: the candidate process ----------------------------------------------------------


def _describe(exc: BaseException) -> str:
    """``Type: message (solution.py line N)``, robust to hostile ``__str__``."""
    try:
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        lines = _lines(exc.__traceback__, SOLUTION_FILE)
        return text[:ERROR_CHARS] + (f" ({SOLUTION_FILE} line {lines[-1]})" if lines else "")
    except BaseException:
        return f"{type(exc).__name__}: <unprintable message>"


def _candidate(req_r: int, rep_w: int, log_fd: int) -> NoReturn:
    """Runs in C: isolate, wait for the go, load the solution, answer calls. Never returns."""
    try:
        os.setpgid(0, 0)  # T kills C with what it spawned; C's killpg(0) spares T
        for name in _SIGNALS:
            signal.signal(getattr(signal, name), signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as in any Python program
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(log_fd, 1)  # the run's stdout and stderr stay T's alone
        os.dup2(log_fd, 2)
        low = 3
        for keep in sorted((req_r, rep_w)):
            os.closerange(low, keep)
            low = keep + 1
        os.closerange(low, max(os.sysconf("SC_OPEN_MAX"), 256))
        _set_dumpable(True)  # C's own /proc files back to its uid; T stays non-dumpable
        if _recv(req_r, None) != {"go": True}:
            os._exit(0)
        sys.argv = [SOLUTION_FILE]
        sys.path.insert(0, os.getcwd())  # as under python3 solution.py
        try:
            namespace = _load_solution(SOLUTION_FILE)
        except BaseException as exc:
            _send(rep_w, {"load_error": _describe(exc)})
            os._exit(0)
        _flush()
        _send(rep_w, {"ready": True})
        while True:
            _send(rep_w, _answer(_recv(req_r, None), namespace))
    except BaseException:
        pass
    _flush()
    os._exit(0)


def _load_solution(path: str) -> dict[str, Any]:
    """Run the program as module ``solution`` (not ``__main__``: no ``main`` block runs).

    A plain compile and exec rather than ``runpy.run_path``, whose importer probing costs
    a millisecond per run; the module stays in ``sys.modules`` so pickling its classes
    works, as it would for an imported module.
    """
    module = type(sys)("solution")
    module.__file__ = os.path.abspath(path)
    sys.modules["solution"] = module
    with open(path, "rb") as fh:
        code = compile(fh.read(), module.__file__, "exec", dont_inherit=True)
    exec(code, module.__dict__)
    return module.__dict__


def _answer(request: dict[str, Any], namespace: dict[str, Any]) -> dict[str, Any]:
    reply: dict[str, Any] = {"id": request.get("id")}
    try:
        fn = namespace.get(str(request.get("fn")))
        if not callable(fn):
            raise NameError(f"{SOLUTION_FILE} defines no function {request.get('fn')!r}")
        result = fn(*decode(request["args"]), **decode(request["kwargs"]))
        reply["value"] = encode(result, coerce=True)
        if len(dumps(reply)) > MAX_MESSAGE_BYTES - 64:
            raise CodecError(f"return value above the {MAX_MESSAGE_BYTES}-byte message limit")
    except BaseException as exc:  # SystemExit in the function is its error, not ours
        reply = {"id": request.get("id"), "error": _describe(exc)}
    _flush()
    return reply


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.flush()


# --- T: the trusted process ------------------------------------------------------------


def _set_dumpable(flag: bool) -> bool:
    """Set PR_SET_DUMPABLE, read it back with PR_GET_DUMPABLE; True if it took."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
        return bool(prctl(4, int(flag), 0, 0, 0) == 0 and prctl(3, 0, 0, 0, 0) == int(flag))
    except (OSError, AttributeError):
        return False


class _Link:
    """T's end of the conversation with C: one message at a time, each under a deadline."""

    def __init__(self, pid: int, req_w: int, rep_r: int) -> None:
        self.pid, self.req_w, self.rep_r = pid, req_w, rep_r
        self.deadline = math.inf
        self.lost: Lost | None = None
        self.status: int | None = None
        self.calls = 0

    def alive(self) -> bool:
        """Whether C still runs (reaping it, and noting its status, if it ended)."""
        if self.status is None and self.pid > 0:
            got, status = os.waitpid(self.pid, os.WNOHANG)
            if got:
                self.status = status
        return self.status is None

    def ask(self, message: dict[str, Any], timeout: float) -> Any:
        """Send one message, return C's reply; raises (and remembers) :class:`Lost`."""
        if self.lost is not None:
            raise Lost(self.lost.kind, f"the candidate is gone ({self.lost})")
        deadline = min(time.monotonic() + timeout, self.deadline)
        try:
            _send(self.req_w, message, deadline)
            return _recv(self.rep_r, deadline, self.alive)
        except Lost as exc:
            if exc.kind == "crash":
                self.fail("crash", f"candidate process died ({self.end()})")
            late = self.deadline <= deadline
            self.fail(
                "timeout", "the time budget ran out" if late else f"no reply in {timeout:g} s"
            )
        except BrokenPipeError:
            self.fail("crash", f"candidate process died ({self.end()})")
        except (CodecError, OSError) as exc:
            self.fail("crash", f"candidate broke the protocol: {exc}")

    def fail(self, kind: str, why: str) -> NoReturn:
        """Record that C is lost, kill it, raise :class:`Lost`."""
        self.lost = Lost(kind, why)
        self.end()
        raise self.lost

    def call(self, fn: str, args: Any, kwargs: Any, timeout: float) -> Any:
        """Call ``fn`` in C: the decoded plain value, or :class:`CandidateError`."""
        self.calls += 1
        reply = self.ask({"id": self.calls, "fn": fn, "args": args, "kwargs": kwargs}, timeout)
        try:
            if reply.get("id") == self.calls and set(reply) == {"id", "value"}:
                return decode(reply["value"])
            if reply.get("id") == self.calls and set(reply) == {"id", "error"}:
                raise CandidateError(str(reply["error"])[:ERROR_CHARS])
            raise CodecError("malformed reply")
        except CodecError as exc:
            self.fail("crash", f"candidate broke the protocol: {exc}")

    def end(self) -> str:
        """Kill C and its process group (idempotent); say how it ended."""
        if self.pid <= 0:
            return "never started"
        for kill in (os.killpg, os.kill):  # the group outlives C while members remain
            with contextlib.suppress(OSError):
                kill(self.pid, signal.SIGKILL)
        if self.status is None:
            try:
                self.status = os.waitpid(self.pid, 0)[1]
            except ChildProcessError:
                self.status = 0
        if os.WIFSIGNALED(self.status):
            return f"killed by signal {os.WTERMSIG(self.status)}"
        return f"exit status {os.WEXITSTATUS(self.status)}"


def _mirror(text: str) -> Exception:
    """A builtin exception of C's type name, so ``except ValueError`` in test code works."""
    name, _, message = text.partition(":")
    cls = getattr(builtins, name, None) if name.isidentifier() else None
    if isinstance(cls, type) and issubclass(cls, Exception):
        try:
            return cls(message.strip())
        except Exception:
            pass
    return CandidateError(text)


def _proxy(link: _Link, name: str, timeout: float) -> Callable[..., Any]:
    def candidate(*args: Any, **kwargs: Any) -> Any:
        try:
            encoded = encode(args), encode(kwargs)
        except CodecError as exc:
            raise Limitation(f"judge limitation: test_code passes {exc}") from None
        try:
            return link.call(name, *encoded, timeout)
        except CandidateError as exc:
            raise _mirror(str(exc)) from None

    candidate.__name__ = candidate.__qualname__ = name
    return candidate


def _safe_path(workdir: str) -> None:
    """Import only from dirs C cannot write to: it could plant ``typing.py`` in the work dir."""
    risky = [os.path.realpath(p) for p in (workdir, os.getcwd(), "/tmp", "/var/tmp", "/dev/shm")]

    def safe(path: str) -> bool:
        real = os.path.realpath(path) if path else ""
        inside = any(real == r or real.startswith(r.rstrip("/") + "/") for r in risky)
        return bool(path) and os.path.isdir(real) and not inside

    sys.path[:] = [path for path in sys.path if safe(path)]
    sys.path_importer_cache.clear()


def _run_cases(link: _Link, payload: dict[str, Any]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    stop = ""
    for args in payload["cases"]:
        if link.lost is not None:
            stop = stop or f"the candidate is gone ({link.lost})"
        if stop:
            results.append({"status": "not_run", "error": stop})
            continue
        start = time.monotonic()
        try:
            value = link.call(payload["entry_point"], args, ["d"], payload["call_timeout_s"])
            results.append({"status": "value", "value": encode(value)})
        except CandidateError as exc:
            results.append({"status": "error", "error": str(exc)})
            if payload["stop_on_first_failure"]:
                stop = "stop_on_first_failure after an error"
        except Lost as exc:
            results.append({"status": exc.kind, "error": str(exc)})
        results[-1]["wall_s"] = round(time.monotonic() - start, 6)
    return results


def _run_test(link: _Link, payload: Msg, namespace: Msg, code: Any) -> Msg:
    name = payload["entry_point"]
    namespace[name] = namespace["candidate"] = _proxy(link, name, payload["call_timeout_s"])
    error: BaseException | None = None
    try:
        exec(code, namespace)
    except BaseException as exc:  # test code is trusted, but may exit() or raise anything
        error = exc
    if link.lost is not None:  # even if the test code swallowed it
        return {"status": link.lost.kind, "error": str(link.lost)}
    if error is None:
        return {"status": "passed"}
    if isinstance(error, Limitation):
        return {"status": "limitation", "error": str(error)[:ERROR_CHARS]}
    text = f"{type(error).__name__}: {error}"[:ERROR_CHARS]
    lines = _lines(error.__traceback__, "<test_code>")
    source = payload["test_code"].splitlines()
    if lines and 0 < lines[-1] <= len(source):
        text += f" (test_code line {lines[-1]}: {source[lines[-1] - 1].strip()[:300]})"
    return {"status": "failed" if isinstance(error, AssertionError) else "error", "error": text}


def _judge(link: _Link, payload: Msg, namespace: Msg, test: Any) -> Msg:
    """Everything after the go: the model's code runs, so every failure is its failure."""
    report: dict[str, Any] = {"load_error": None, "cases": [], "test": None}
    try:
        reply = link.ask({"go": True}, float(payload["load_timeout_s"]))
        if reply != {"ready": True}:
            error = reply.get("load_error") if set(reply) == {"load_error"} else None
            report["load_error"] = (
                str(error)[:ERROR_CHARS] if error else "candidate broke the protocol"
            )
    except Lost as exc:
        report["load_error"] = f"the solution did not finish loading: {exc}"
    if report["load_error"] is None:
        report["cases"] = _run_cases(link, payload)
        failed = any(case["status"] != "value" for case in report["cases"])
        if test is not None and link.lost is not None:
            report["test"] = {"status": "not_run", "error": f"the candidate is gone ({link.lost})"}
        elif test is not None and failed and payload["stop_on_first_failure"]:
            report["test"] = {"status": "not_run", "error": "stop_on_first_failure"}
        elif test is not None:
            report["test"] = _run_test(link, payload, namespace, test)
    report["candidate_end"] = link.end()
    return report


def _fit(report: dict[str, Any], limit: int) -> bytes:
    """Serialise ``report``, replacing the largest values by errors until it fits."""
    data = dumps(report)
    values = [(len(dumps({"v": c["value"]})), c) for c in report["cases"] if "value" in c]
    for size, case in sorted(values, key=lambda pair: -pair[0]):
        if len(data) <= limit:
            break
        del case["value"]
        case.update(status="error", error=f"return value of {size} bytes too large to report")
        data = dumps(report)
    return data


def main() -> int:
    """Entry point inside the sandbox: judge ``solution.py`` and print the result line."""
    started = time.monotonic()
    for name in _SIGNALS:  # C may signal us; SIGKILL/SIGSTOP remain, and fail the run
        signal.signal(getattr(signal, name), signal.SIG_IGN)
    workdir = os.getcwd()  # the run's work dir (this module may be the image's copy)
    flags = os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
    log_fd = os.open(os.path.join(workdir, LOG_FILE), flags, 0o644)
    req_r, req_w = os.pipe()
    rep_r, rep_w = os.pipe()
    harness_error, pid = None, -1
    if _set_dumpable(False):
        _flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the candidate process
            os.close(req_w)
            os.close(rep_r)
            _candidate(req_r, rep_w, log_fd)
    else:
        harness_error = "cannot make the harness non-dumpable (prctl PR_SET_DUMPABLE failed)"
    os.close(req_r)
    os.close(rep_w)
    link = _Link(pid, req_w, rep_r)
    _safe_path(workdir)
    raw, payload, nonce = sys.stdin.buffer.read(), {}, "-"
    try:
        payload = loads(raw, max_bytes=len(raw))
        if _NONCE_RE.fullmatch(str(payload["nonce"])):
            nonce = payload["nonce"]
        link.deadline = started + float(payload["budget_s"])
        namespace: dict[str, Any] = {"__name__": "__rlvr_test__", "__builtins__": builtins}
        exec(compile(payload["setup_code"], "<setup_code>", "exec"), namespace)
        code = payload["test_code"]
        test = compile(code, "<test_code>", "exec") if code.strip() else None
    except BaseException as exc:  # none of the model's code has run: a host or task bug
        harness_error = harness_error or f"bad payload or setup_code: {type(exc).__name__}: {exc}"
    if harness_error is None and nonce != "-":
        try:
            report = _judge(link, payload, namespace, test)
        except BaseException as exc:  # a harness bug, or C starved us: the candidate fails
            link.end()
            where = _lines(exc.__traceback__, "main.py")  # no source reads: C owns the files
            error = f"{type(exc).__name__}: {str(exc)[:ERROR_CHARS]} (main.py lines {where})"
            report = {"internal_error": error, "cases": []}
    else:
        link.end()
        report = {"harness_error": harness_error or "bad nonce", "cases": []}
    size = os.fstat(log_fd).st_size
    report["log"] = os.pread(log_fd, LOG_TAIL_BYTES, max(0, size - LOG_TAIL_BYTES)).decode(
        "utf-8", "replace"
    )
    limit = int(payload.get("max_result_bytes", MAX_MESSAGE_BYTES))
    data = f"{RESULT_PREFIX} {nonce} ".encode() + _fit(report, limit) + b"\n"
    view = memoryview(data)
    while view:
        view = view[os.write(1, view) :]
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Process backend: the in-sandbox supervisor as a local process, for machines without Docker.

:class:`ProcessSandbox` starts ``supervisor.py`` as a child process - inside bubblewrap
(``bwrap``) when it is installed - and exchanges protocol frames with it over pipes. The
supervisor enforces the per-run limits (CPU, wall, memory, processes, file size, output)
and cleans up after each run; this side adds a wall-clock backstop: if no reply arrives
within the sum of the request's wall limits plus a margin, the supervisor and everything
below it is killed and restarted, and the request comes back as ``infra_error``. A reply
saying the run left something it could not remove (``clean=False``) also restarts it.

What it does NOT protect against - say so plainly, and prefer the Docker backend for
model-written code at scale:

* Without bubblewrap there is no network isolation (programs can reach the internet, the
  host's services, the trainer's gRPC port), no filesystem isolation beyond Unix
  permissions (programs read whatever their uid can read, write to the host's /tmp and
  /dev/shm), and programs see every host process in /proc.
* Even with bubblewrap (separate network, pid, IPC and UTS namespaces, read-only view of
  the host's root, private /tmp and /dev): the same kernel (a kernel exploit escapes), no
  cgroup memory or pids limit (RLIMIT_AS misses tmpfs and shared memory; RLIMIT_NPROC only
  counts with a dedicated uid), and the host's files stay readable where permissions allow.
* The same uid as the caller unless the caller is root; as root, programs run as ``uid``
  (default :data:`SANDBOX_UID`, which no account uses) and can still read every
  world-readable file; give another uid only if nothing else runs as it, since the sweep
  after each run kills every process of the run's uid.
* Without bubblewrap, a supervisor killed by the backstop may leave processes that escaped
  its process tree before it died; no CPU isolation, no timing side-channel protection.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from pathlib import Path
from typing import Any, Literal

from rlvr_gym._closing import Closing
from rlvr_gym.cancel import current_token
from rlvr_gym.errors import ConfigError
from rlvr_gym.sandbox import protocol
from rlvr_gym.sandbox._channel import Lost as _Lost
from rlvr_gym.sandbox._channel import exchange, forward_stderr
from rlvr_gym.sandbox.errors import SandboxError
from rlvr_gym.sandbox.types import CleanupReport, ExecutionRequest, ExecutionResponse

__all__ = ["SANDBOX_UID", "SUPERVISOR_PATH", "ProcessSandbox", "bwrap_available"]

_log = logging.getLogger(__name__)
SUPERVISOR_PATH = Path(__file__).with_name("supervisor")  # a package, run as a directory
# A uid no account uses, so the sweep after each run (which kills every process of the
# run's uid) cannot hit anything but sandbox leftovers. No passwd entry is needed.
SANDBOX_UID = 1_999_999
# What a root supervisor needs inside bwrap (chown work dirs, drop to uid, kill and remove
# what that uid left); every other capability is dropped. Programs lose all of them at setuid.
_BWRAP_CAPS = (
    "CAP_SETUID",
    "CAP_SETGID",
    "CAP_KILL",
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
)
_BWRAP_WORKDIR = "/tmp"  # a private tmpfs inside bwrap; the supervisor must live elsewhere
_SUPERVISOR_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}  # no secrets
_STEP_SLACK_S = 1.0  # per step: pipe grace after exit, reaping, sweeping, wiping


def bwrap_available() -> bool:
    """Whether the bubblewrap binary is on ``PATH`` (it may still fail to start)."""
    return shutil.which("bwrap") is not None


class ProcessSandbox(Closing):
    """Runs :class:`ExecutionRequest` objects through one local supervisor process.

    One request at a time (calls from several threads are serialised). Not a security
    boundary on its own: read this module's docstring for what it does not cover.

    Args:
        bwrap: run the supervisor inside bubblewrap: ``True`` requires it, ``False`` never,
            ``None`` uses it when it starts and falls back with a warning when it does not.
        uid: uid for programs whose request has ``uid=None``: ``"auto"`` is
            :data:`SANDBOX_UID` when we are root and ``None`` (our own uid) otherwise.
        python: interpreter for the supervisor (default: this one).
        max_frame_bytes: largest protocol frame either side accepts.
        backstop_margin_s: added to a request's summed wall limits before the backstop
            kills and restarts the supervisor.
        start_timeout_s: how long a fresh supervisor may take to answer its first ping.

    Raises:
        SandboxError: the supervisor cannot be started (or bubblewrap, when required).
    """

    def __init__(
        self,
        *,
        bwrap: bool | None = None,
        uid: int | Literal["auto"] | None = "auto",
        python: str | None = None,
        max_frame_bytes: int = protocol.MAX_FRAME_BYTES,
        backstop_margin_s: float = 10.0,
        start_timeout_s: float = 30.0,
    ) -> None:
        if bwrap and not bwrap_available():
            raise SandboxError(
                "bubblewrap was required (bwrap=True) but 'bwrap' is not on PATH — install "
                "it (apt-get install bubblewrap) or pass bwrap=None to fall back"
            )
        self._bwrap_mode = bwrap
        self._use_bwrap = bwrap is not False and bwrap_available()
        self._uid = (SANDBOX_UID if os.geteuid() == 0 else None) if uid == "auto" else uid
        self._python = python or sys.executable
        self._max_frame = max_frame_bytes
        self._margin = backstop_margin_s
        self._start_timeout = start_timeout_s
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._proc: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._base: str | None = None
        self._closed = False
        self.restarts = 0
        with self._lock:
            self._start()

    @property
    def uses_bwrap(self) -> bool:
        """Whether the running supervisor is inside bubblewrap."""
        return self._use_bwrap

    @property
    def pid(self) -> int | None:
        """Host pid of the supervisor process (of ``bwrap`` when wrapped)."""
        return self._proc.pid if self._proc else None

    def execute(self, request: ExecutionRequest) -> ExecutionResponse:
        """Run ``request``; infrastructure failures come back as ``infra_error`` results.

        Raises:
            ConfigError: the supervisor refused the request as malformed, or it is too large
                for one frame (split the batch).
            SandboxError: the sandbox was closed.
        """
        token = current_token()
        with self._lock:
            if self._closed:
                raise SandboxError("the ProcessSandbox was closed; create a new one")
            if token is not None and token.cancelled:
                return ExecutionResponse.infra_error(
                    request, "cancelled by the caller before it ran"
                )
            rid = next(self._ids)
            message = request.to_wire(rid, uid=self._uid)
            steps = len(request.inputs) + (request.compile is not None)
            budget = request.wall_budget_s + self._margin + _STEP_SLACK_S * steps
            try:
                if self._proc is None:
                    self._start()
                proc = self._proc
                with contextlib.ExitStack() as stack:
                    if token is not None and proc is not None:  # cancelled mid-run: kill it all
                        stack.enter_context(token.on_cancel(lambda: _kill_soon(proc)))
                    reply = self._call(message, time.monotonic() + budget)
                error = reply.get("error")
                if isinstance(error, dict) and error.get("code") == "bad_request":
                    raise ConfigError(f"the sandbox refused the request: {error.get('message')}")
                if error is not None:
                    raise _Lost(f"supervisor error: {error}")
                if reply.get("id") != rid:
                    raise _Lost(f"reply for request {reply.get('id')!r}, expected {rid!r}")
                response = ExecutionResponse.from_wire(reply)
                if not response.clean:  # something survived the cleanup: start afresh
                    _log.warning("sandbox reported leftovers it could not remove; restarting")
                    self._restart()
                return response
            except (_Lost, SandboxError, ValueError) as exc:
                if isinstance(exc, ConfigError):
                    raise
                detail = f"sandbox supervisor failed ({exc}); it was restarted"
                _log.warning("%s", detail)
                self._restart()
                return ExecutionResponse.infra_error(request, detail)

    def ping(self, timeout_s: float = 10.0) -> int:
        """Check the supervisor answers; returns its pid (as seen inside the sandbox).

        Raises:
            SandboxError: no valid answer in time (the supervisor is then restarted).
        """
        reply = self._simple({"op": "ping"}, timeout_s)
        if reply.get("op") != "pong" or not isinstance(reply.get("pid"), int):
            raise SandboxError(f"unexpected answer to ping: {reply!r}")
        return int(reply["pid"])

    def cleanup(self, timeout_s: float = 30.0) -> CleanupReport:
        """Ask the supervisor to kill every sandbox process and wipe every run dir.

        Raises:
            SandboxError: no valid answer in time (the supervisor is then restarted).
        """
        reply = self._simple({"op": "cleanup"}, timeout_s)
        try:
            wiped = tuple(str(path) for path in reply["wiped"])
            return CleanupReport(int(reply["killed"]), wiped, bool(reply["clean"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise SandboxError(f"unexpected answer to cleanup: {reply!r}") from exc

    def close(self) -> None:
        """Stop the supervisor (it cleans up on end of input) and remove the work dirs."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._stop(graceful=True)

    # --- internals ----------------------------------------------------------------------

    def _simple(self, message: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        with self._lock:
            if self._closed:
                raise SandboxError("the ProcessSandbox was closed; create a new one")
            try:
                if self._proc is None:
                    self._start()
                return self._call(message, time.monotonic() + timeout_s)
            except _Lost as exc:
                self._restart()
                raise SandboxError(f"sandbox supervisor failed ({exc}); it was restarted") from exc

    def _command(self) -> list[str]:
        supervisor = [self._python, "-I", str(SUPERVISOR_PATH)]
        supervisor += ["--max-frame-bytes", str(self._max_frame)]
        if not self._use_bwrap:
            self._base = tempfile.mkdtemp(prefix="rlvr-sandbox-")
            os.chmod(self._base, 0o711)  # a dropped uid must reach its own run dir below
            return [*supervisor, "--workdir-base", self._base]
        supervisor += ["--workdir-base", _BWRAP_WORKDIR, "--scrub-dir", "/dev/shm"]
        wrap = ["bwrap", "--die-with-parent", "--ro-bind", "/", "/", "--tmpfs", _BWRAP_WORKDIR]
        wrap += ["--dev", "/dev", "--proc", "/proc"]
        if os.geteuid() == 0:  # no user namespace, so programs can drop to a real uid
            wrap += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
            wrap += ["--unshare-cgroup-try", "--cap-drop", "ALL"]
            for cap in _BWRAP_CAPS:
                wrap += ["--cap-add", cap]
        else:  # unprivileged: a user namespace; the pid namespace holds only the sandbox
            wrap += ["--unshare-all"]
            supervisor += ["--kill-all-same-uid"]
        return [*wrap, "--", *supervisor]

    def _start(self) -> None:
        """Start a supervisor and wait for its first pong; fall back from bwrap if allowed."""
        try:
            self._spawn()
        except (_Lost, OSError) as exc:
            self._stop(graceful=False)
            if not (self._use_bwrap and self._bwrap_mode is None):
                raise SandboxError(f"cannot start the sandbox supervisor: {exc}") from exc
            _log.warning(
                "bubblewrap is installed but the supervisor failed to start inside it (%s); "
                "falling back to a plain process, WITHOUT network or filesystem isolation",
                exc,
            )
            self._use_bwrap = False
            try:
                self._spawn()
            except (_Lost, OSError) as exc2:
                self._stop(graceful=False)
                raise SandboxError(f"cannot start the sandbox supervisor: {exc2}") from exc2

    def _spawn(self) -> None:
        proc = subprocess.Popen(
            self._command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            cwd="/",
            env=_SUPERVISOR_ENV,
        )
        self._proc = proc
        self._finalizer = weakref.finalize(self, _abandon, proc, self._base)
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        os.set_blocking(proc.stdin.fileno(), False)
        os.set_blocking(proc.stdout.fileno(), False)
        threading.Thread(
            target=forward_stderr, args=(proc.stderr,), name="sandbox-stderr", daemon=True
        ).start()
        reply = self._call({"op": "ping"}, time.monotonic() + self._start_timeout)
        if reply.get("op") != "pong":
            raise _Lost(f"unexpected answer to the first ping: {reply!r}")

    def _restart(self) -> None:
        self.restarts += 1
        self._stop(graceful=False)
        try:
            self._start()
        except SandboxError as exc:  # the next call tries again
            _log.error("sandbox supervisor restart failed: %s", exc)

    def _stop(self, graceful: bool) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if self._finalizer is not None:
                self._finalizer.detach()
            if graceful and proc.stdin is not None:
                try:
                    proc.stdin.close()  # end of input: the supervisor cleans up and exits
                    proc.wait(timeout=10)
                except (OSError, subprocess.TimeoutExpired):
                    pass
            _kill_tree(proc)
        if self._base is not None:
            shutil.rmtree(self._base, ignore_errors=True)
            self._base = None

    def _call(self, message: dict[str, Any], deadline: float) -> dict[str, Any]:
        """Send one frame and read one frame back before ``deadline``."""
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdout is None:
            raise _Lost("no supervisor running")
        stdin, stdout = proc.stdin.fileno(), proc.stdout.fileno()
        return exchange(stdin, stdout, message, self._max_frame, deadline)


def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as fh:
                    raw = fh.read()
                ppid = int(raw[raw.rindex(b")") + 2 :].split()[1])
            except (OSError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(name))
    found: set[int] = set()
    stack = [root]
    while stack:
        kids = [k for k in children.get(stack.pop(), ()) if k not in found]
        found.update(kids)
        stack += kids
    return found


def _kill_soon(proc: subprocess.Popen[bytes]) -> None:
    """:func:`_kill_tree` off the caller's thread (a cancel callback must not block)."""
    threading.Thread(target=_kill_tree, args=(proc,), daemon=True).start()


def _kill_tree(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the supervisor and everything below it, then reap it and close its pipes.

    The supervisor is stopped first so it cannot start new runs, and its descendants are
    killed before it: it is their subreaper, and once it dies they would be lost to init.
    """
    if proc.poll() is None:
        try:
            os.kill(proc.pid, signal.SIGSTOP)
            for _ in range(20):
                pids = _descendants(proc.pid)
                if not pids:
                    break
                for pid in pids:
                    _signal(pid, signal.SIGKILL)
                time.sleep(0.005)
        except OSError:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            _signal(proc.pid, signal.SIGKILL)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        _log.error("sandbox supervisor %d did not die after SIGKILL", proc.pid)
    for stream in (proc.stdin, proc.stdout):  # stderr: closed by its reader thread at EOF
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


def _abandon(proc: subprocess.Popen[bytes], base: str | None) -> None:
    """Finalizer for a sandbox garbage-collected (or left at exit) without close()."""
    _kill_tree(proc)
    if base is not None:
        shutil.rmtree(base, ignore_errors=True)


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(OSError):
        os.kill(pid, sig)

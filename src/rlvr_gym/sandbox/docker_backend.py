"""Docker backend: a warm pool of locked-down containers, each running the supervisor.

Why a pool of long-lived containers: a fresh ``docker run`` per program costs ~250 ms on
a 2-core machine and ``docker exec`` ~60 ms, while a fork from a supervisor already
running inside a warm container costs a few ms. Each container runs ``supervisor.py`` as
its PID 1 (non-root, so it treats every other process of its uid as sandbox and wipes
/work, /tmp and /dev/shm after each request); the ``docker run -i`` client started here
proxies the container's stdin/stdout, which carry nothing but protocol frames.

Each container: ``--network none``, a read-only root, size-capped tmpfs on /work and
/tmp, ``--shm-size``, memory = memory+swap (no swap), ``--pids-limit``, ``--cap-drop
ALL``, ``no-new-privileges``, uid 10001, ``nofile``/``core`` ulimits, and labels naming
the pool and the owning process so leaked containers are found and reaped.

Deadlines never depend on the client: if no reply arrives within the request's summed
wall limits plus a margin, the container is killed *through the daemon* (killing the
``docker run`` client would leave the container running), its runs come back as
``infra_error`` and a fresh container takes its place. The same happens when the
container or the daemon dies mid-request (end of file on stdout), when the supervisor
reports leftovers it could not remove, when a run timed out or hit a memory limit (the
container's state is then suspect) and after ``max_runs_per_container`` requests.

RLIMIT_NPROC counts processes per uid across the whole kernel, and every container runs
programs as uid 10001, so a fork bomb in one container would make ``fork`` fail in its
neighbours; this backend therefore sends a generous ``nproc`` and relies on the
container's ``--pids-limit`` (``limits.nproc`` + a little for the supervisor) instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import queue
import subprocess
import threading
import time
import uuid
import weakref
from dataclasses import dataclass
from typing import Any

from rlvr_gym._closing import Closing
from rlvr_gym.cancel import CancelledError, current_token
from rlvr_gym.errors import ConfigError
from rlvr_gym.sandbox import protocol
from rlvr_gym.sandbox._channel import Lost, exchange, forward_stderr
from rlvr_gym.sandbox._containers import (
    HOST_LABEL,
    LABEL,
    OWNER_LABEL,
    OWNER_START_LABEL,
    POOL_LABEL,
    Registry,
    docker_available,
    owner_host,
    process_start,
    reap_stale,
    remove,
    remove_all,
)
from rlvr_gym.sandbox.errors import DockerUnavailableError, SandboxError
from rlvr_gym.sandbox.image import PRELOAD_IN_IMAGE, SANDBOX_UID, _docker, ensure_image
from rlvr_gym.sandbox.types import ExecutionLimits, ExecutionRequest, ExecutionResponse

__all__ = [
    "LABEL",
    "OWNER_LABEL",
    "POOL_LABEL",
    "DockerSandboxPool",
    "docker_available",
    "reap_stale",
]

_log = logging.getLogger(__name__)
_MiB = 1024 * 1024
_PID_SLACK = 16  # the supervisor and its short-lived helpers, on top of limits.nproc
_GENEROUS_NPROC = 1 << 16  # RLIMIT_NPROC is per uid kernel-wide: --pids-limit contains
_SUPERVISOR_OVERHEAD = 48 * _MiB  # the supervisor and the zygote (two Pythons), besides frames
_STEP_SLACK_S = 1.0  # per step: pipe grace, reaping, sweeping, wiping
_DIRTY = frozenset({"timeout", "memory_limit", "infra_error"})


@dataclass
class _Container:
    """One running container and the ``docker run -i`` client carrying its frames."""

    name: str
    proc: subprocess.Popen[bytes]
    runs: int = 0


class DockerSandboxPool(Closing):
    """Runs :class:`ExecutionRequest` objects in a pool of warm, locked-down containers.

    Thread-safe: each call checks a container out, runs the request, and returns it (or a
    replacement). Calls beyond ``size`` wait for a free container.

    Args:
        size: number of containers (default: the CPU count).
        image: image tag; ``None`` builds or reuses the sandbox image (``ensure_image``).
        limits: the largest limits a request may use: the containers' memory, pids and
            tmpfs sizes derive from them. Requests with larger memory or nproc are refused.
        max_runs_per_container: replace a container after this many requests.
        name_prefix: containers are named ``<prefix>-<pool id>-<n>``.
        work_bytes: size of the /work tmpfs (and of /tmp); counts toward container memory.
        shm_bytes: size of /dev/shm.
        max_frame_bytes: largest protocol frame either side accepts.
        backstop_margin_s: added to a request's summed wall limits before the container
            is killed from outside.
        start_timeout_s: how long a new container may take to answer its first ping.
        reap_interval_s: how often the background reaper looks for stale containers
            (``None``: only at start).

    Raises:
        DockerUnavailableError: Docker is not usable.
        SandboxError: the first container cannot be started.
    """

    def __init__(
        self,
        size: int | None = None,
        *,
        image: str | None = None,
        limits: ExecutionLimits | None = None,
        max_runs_per_container: int = 500,
        name_prefix: str = "rlvr-sbx",
        work_bytes: int = 256 * _MiB,
        shm_bytes: int = 64 * _MiB,
        max_frame_bytes: int = protocol.MAX_FRAME_BYTES,
        backstop_margin_s: float = 10.0,
        start_timeout_s: float = 60.0,
        reap_interval_s: float | None = 300.0,
    ) -> None:
        self.size = size if size is not None else (os.cpu_count() or 1)
        if self.size < 1 or max_runs_per_container < 1:
            raise ConfigError("DockerSandboxPool: size and max_runs_per_container must be >= 1")
        self.limits = limits or ExecutionLimits()
        self.image = image or ensure_image()
        self.pool_id = uuid.uuid4().hex[:12]
        self._prefix = name_prefix
        self._max_runs = max_runs_per_container
        self._work_bytes, self._shm_bytes = work_bytes, shm_bytes
        self._max_frame = max_frame_bytes
        self._margin = backstop_margin_s
        self._start_timeout = start_timeout_s
        self._counter = itertools.count(1)
        self._registry = Registry()
        self._finalizer = weakref.finalize(self, remove_all, self._registry, self.pool_id)
        self._free: queue.Queue[_Container | None] = queue.Queue()
        self._closed = threading.Event()
        self._refills: set[threading.Thread] = set()
        self._refills_lock = threading.Lock()
        self.replaced = 0
        self.cancelled_runs = 0  # requests whose container was killed because nobody waited
        try:
            reap_stale(exclude_pool=self.pool_id)
        except DockerUnavailableError:
            self._finalizer.detach()
            raise
        try:
            for _ in range(self.size):
                self._free.put(self._start())
        except BaseException:
            self.close()
            raise
        self._reaper: threading.Thread | None = None
        if reap_interval_s is not None:
            self._reaper = threading.Thread(
                target=self._reap_loop, args=(reap_interval_s,), name="sandbox-reaper", daemon=True
            )
            self._reaper.start()

    @property
    def container_names(self) -> list[str]:
        """Names of the pool's live containers (a snapshot)."""
        with self._registry.lock:
            return sorted(self._registry.names)

    def execute(self, request: ExecutionRequest) -> ExecutionResponse:
        """Run ``request`` in a free container; sandbox failures come back as ``infra_error``.

        Raises:
            ConfigError: the request asks for more than the pool's limits, or is too large
                for one frame.
            SandboxError: the pool was closed.
        """
        self._check_limits(request)
        try:
            container = self._checkout()
        except CancelledError:
            return ExecutionResponse.infra_error(request, "cancelled by the caller before it ran")
        keep = False
        try:
            if container is None:
                container = self._start()
            try:
                response, keep = self._run(container, request)
            except ConfigError:
                keep = True  # refused before anything ran: the container is intact
                raise
            return response
        except SandboxError as exc:  # no container could be started
            if self._closed.is_set():
                raise SandboxError("the DockerSandboxPool was closed; create a new one") from exc
            return ExecutionResponse.infra_error(request, f"no sandbox container: {exc}")
        finally:
            self._checkin(container, keep)

    async def aexecute(self, request: ExecutionRequest) -> ExecutionResponse:
        """:meth:`execute` in a worker thread, so the event loop keeps running."""
        return await asyncio.to_thread(self.execute, request)

    def ping(self) -> list[int]:
        """Ping every free container; returns the supervisor pids (1 in a container)."""
        pids = []
        for _ in range(self.size):
            container = self._checkout()
            keep = False
            try:
                if container is None:
                    container = self._start()
                pids.append(self._ping(container, 10.0))
                keep = True
            finally:
                self._checkin(container, keep)
        return pids

    def close(self) -> None:
        """Remove every container of the pool (``docker rm -f``); idempotent.

        Replacements being started are waited for first, so none is created after the
        sweep (they see the pool closed and remove themselves).
        """
        self._closed.set()
        with self._refills_lock:
            refills = list(self._refills)
        for thread in refills:
            thread.join(timeout=self._start_timeout + 10)
        self._finalizer()

    # --- internals ----------------------------------------------------------------------

    def _check_limits(self, request: ExecutionRequest) -> None:
        for limits in (request.limits, request.compile_limits or request.limits):
            if limits.memory_bytes > self.limits.memory_bytes or limits.nproc > self.limits.nproc:
                raise ConfigError(
                    f"request limits (memory {limits.memory_bytes} B, nproc {limits.nproc}) "
                    f"exceed the pool's (memory {self.limits.memory_bytes} B, nproc "
                    f"{self.limits.nproc}); create the pool with larger limits"
                )

    def _checkout(self) -> _Container | None:
        token = current_token()
        while True:
            if self._closed.is_set():
                raise SandboxError("the DockerSandboxPool was closed; create a new one")
            if token is not None:
                token.raise_if_cancelled()  # nobody waits for this request any more
            try:
                container = self._free.get(timeout=0.5)
            except queue.Empty:
                continue
            if container is None or container.proc.poll() is None:
                return container
            # It died while idle (daemon restart, OOM, docker kill): replace it rather
            # than hand a caller a request that can only come back as infra_error.
            _log.warning("sandbox container %s died while idle; replacing it", container.name)
            self._checkin(container, keep=False)

    def _checkin(self, container: _Container | None, keep: bool) -> None:
        if container is not None and not keep:
            self.replaced += 1
            threading.Thread(
                target=remove, args=(self._registry, [container.name]), daemon=True
            ).start()
            container = None
        if self._closed.is_set():
            if container is not None:
                remove(self._registry, [container.name])
            return
        if container is None:  # start the replacement now, off the caller's thread
            thread = threading.Thread(target=self._refill, name="sandbox-refill", daemon=True)
            with self._refills_lock:
                self._refills.add(thread)
            thread.start()
        else:
            self._free.put(container)

    def _refill(self) -> None:
        try:
            self._refill_once()
        finally:
            with self._refills_lock:
                self._refills.discard(threading.current_thread())

    def _refill_once(self) -> None:
        try:
            container: _Container | None = self._start()
        except SandboxError as exc:
            _log.error("cannot start a replacement sandbox container: %s", exc)
            container = None  # the next checkout tries again (and reports infra_error)
        if self._closed.is_set() and container is not None:
            remove(self._registry, [container.name])
            return
        self._free.put(container)

    def _command(self, name: str) -> list[str]:
        memory = (
            self.limits.memory_bytes
            + _SUPERVISOR_OVERHEAD
            + 3 * self._max_frame
            + 2 * self._work_bytes
            + self._shm_bytes
        )
        tmpfs = f"rw,exec,nosuid,nodev,size={self._work_bytes},uid={SANDBOX_UID},gid={SANDBOX_UID}"
        nofile = max(1024, self.limits.nofile + 64)
        return [
            "docker", "run", "-i", "--rm=false", "--name", name,
            "--label", f"{LABEL}=1",
            "--label", f"{POOL_LABEL}={self.pool_id}",
            "--label", f"{OWNER_LABEL}={os.getpid()}",
            "--label", f"{OWNER_START_LABEL}={process_start(os.getpid()) or ''}",
            "--label", f"{HOST_LABEL}={owner_host()}",
            "--network", "none", "--read-only",
            "--tmpfs", f"/work:{tmpfs}", "--tmpfs", f"/tmp:{tmpfs}",
            "--shm-size", str(self._shm_bytes),
            "--memory", str(memory), "--memory-swap", str(memory),
            "--pids-limit", str(int(self.limits.nproc) + _PID_SLACK),
            "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
            "--user", f"{SANDBOX_UID}:{SANDBOX_UID}",
            "--ulimit", f"nofile={nofile}:{nofile}", "--ulimit", "core=0",
            "--env", "TMPDIR=/tmp", "--workdir", "/work",
            self.image,
            "python3", "-I", "/opt/rlvr/supervisor",
            "--workdir-base", "/work", "--max-frame-bytes", str(self._max_frame),
            "--python-fork", "--preload-dir", PRELOAD_IN_IMAGE,
        ]  # fmt: skip

    def _start(self) -> _Container:
        """Start a container and wait for its first pong."""
        if self._closed.is_set():
            raise SandboxError("the DockerSandboxPool was closed; create a new one")
        name = f"{self._prefix}-{self.pool_id}-{next(self._counter)}"
        with self._registry.lock:
            self._registry.names.add(name)
        try:
            proc = subprocess.Popen(
                self._command(name),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # a Ctrl-C to our group must not kill the client
            )
        except OSError as exc:
            remove(self._registry, [name])
            raise DockerUnavailableError(f"cannot run the docker CLI: {exc}") from exc
        with self._registry.lock:
            self._registry.procs[name] = proc
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        os.set_blocking(proc.stdin.fileno(), False)
        os.set_blocking(proc.stdout.fileno(), False)
        threading.Thread(
            target=forward_stderr, args=(proc.stderr, name), name="sandbox-stderr", daemon=True
        ).start()
        container = _Container(name, proc)
        try:
            self._ping(container, self._start_timeout)
        except (Lost, SandboxError) as exc:
            remove(self._registry, [name])
            raise SandboxError(
                f"sandbox container {name} did not start ({exc}); see the log for docker's "
                "message, check `docker info` and the image"
            ) from exc
        return container

    def _ping(self, container: _Container, timeout_s: float) -> int:
        reply = self._call(container, {"op": "ping"}, time.monotonic() + timeout_s)
        if reply.get("op") != "pong" or not isinstance(reply.get("pid"), int):
            raise SandboxError(f"unexpected answer to ping: {reply!r}")
        return int(reply["pid"])

    def _call(self, container: _Container, message: dict[str, Any], deadline: float) -> Any:
        proc = container.proc
        assert proc.stdin is not None and proc.stdout is not None
        return exchange(
            proc.stdin.fileno(), proc.stdout.fileno(), message, self._max_frame, deadline
        )

    def _run(
        self, container: _Container, request: ExecutionRequest
    ) -> tuple[ExecutionResponse, bool]:
        """One request in ``container``; returns the response and whether to keep it."""
        container.runs += 1
        message = request.to_wire(container.runs, uid=None)
        message["limits"] = {**message["limits"], "nproc": _GENEROUS_NPROC}
        if message["compile_limits"] is not None:
            message["compile_limits"] = {**message["compile_limits"], "nproc": _GENEROUS_NPROC}
        steps = len(request.inputs) + (request.compile is not None)
        budget = request.wall_budget_s + self._margin + _STEP_SLACK_S * steps
        token = current_token()
        try:
            if token is None:
                reply = self._call(container, message, time.monotonic() + budget)
            else:  # cancelled mid-run: kill the container (its programs stop with it)
                with token.on_cancel(lambda: self._kill_soon(container)):
                    reply = self._call(container, message, time.monotonic() + budget)
            error = reply.get("error")
            if isinstance(error, dict) and error.get("code") == "bad_request":
                raise ConfigError(f"the sandbox refused the request: {error.get('message')}")
            if error is not None:
                raise Lost(f"supervisor error: {error}")
            if reply.get("id") != container.runs:
                raise Lost(f"reply for request {reply.get('id')!r}, expected {container.runs}")
            response = ExecutionResponse.from_wire(reply)
        except (Lost, ValueError) as exc:
            if isinstance(exc, ConfigError):
                raise
            self._kill(container)
            if self._closed.is_set():
                detail = "the sandbox pool was closed during the run"
            elif token is not None and token.cancelled:
                detail = f"cancelled by the caller; container {container.name} was replaced"
            else:
                detail = f"sandbox container {container.name} failed ({exc}); it was replaced"
                _log.warning("%s", detail)
            return ExecutionResponse.infra_error(request, detail), False
        steps_done = [*([response.compile] if response.compile else []), *response.runs]
        dirty = (
            not response.clean
            or response.leftover_processes_killed > 0
            or any(step.status in _DIRTY for step in steps_done)
            or container.runs >= self._max_runs
        )
        return response, not dirty

    def _kill_soon(self, container: _Container) -> None:
        """:meth:`_kill` off the caller's thread (a cancel callback must not block)."""
        self.cancelled_runs += 1
        threading.Thread(target=self._kill, args=(container,), daemon=True).start()

    def _kill(self, container: _Container) -> None:
        """Kill the container through the daemon: killing the client would not stop it."""
        with contextlib.suppress(DockerUnavailableError):
            _docker("kill", container.name, timeout=30)

    def _reap_loop(self, interval_s: float) -> None:
        while not self._closed.wait(interval_s):
            try:
                reap_stale(exclude_pool=self.pool_id)
            except Exception as exc:  # the reaper must never die of a hiccup
                _log.warning("sandbox reaper failed: %s", exc)

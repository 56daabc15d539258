"""Real servers on port 0 for the server tests, each on an event loop of its own.

Why a thread per server: the sync client blocks, and a server on the test's own event
loop would never answer it. A server on its own loop serves the sync client, the async
client (on the test's loop) and raw stubs alike, and its state (admission, pools) can be
read from the test while calls run.

Every server a test starts is stopped after it, and then nothing of it may be left: no
sandbox container of its pool and no math worker process.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import contextlib
import dataclasses
import os
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import grpc
import pytest

from rlvr_gym.errors import RlvrGymError
from rlvr_gym.proto.v1 import env_service_pb2_grpc as egrpc
from rlvr_gym.proto.v1 import reward_service_pb2_grpc as rgrpc
from rlvr_gym.proto.v1 import sandbox_service_pb2_grpc as sgrpc
from rlvr_gym.rewards.pool import WorkerPool
from rlvr_gym.sandbox.docker_backend import POOL_LABEL, DockerSandboxPool
from rlvr_gym.server.app import RewardServer, create_server
from rlvr_gym.server.config import ServerConfig
from tests.sandbox.test_docker_pool import assert_no_containers

T = TypeVar("T")

SMALL = ServerConfig(
    address="127.0.0.1:0",
    metrics_address="127.0.0.1:0",
    math_workers=2,
    sandbox_pool_size=2,
    max_batch=16,
    log_level="warning",
)
"""The servers of these tests: small pools, a batch bound small enough to exceed."""


def slow_math(k: int, n: int) -> tuple[str, str]:
    """A correct response and its gold whose sympy proof costs seconds (grows as n**4).

    n=12 takes ~1.5 s, n=20 ~15 s, n=30 over a minute on this machine; ``k`` varies the
    polynomial so no cache makes a repeat cheap.
    """
    square = rf"x^2+y^2+2xy+{2 * k}x+{2 * k}y+{k * k}"
    return rf"\boxed{{(x+y+{k})^{{{n}}}({square})^{{{n}}}}}", rf"(x+y+{k})^{{{3 * n}}}"


def wait_for(cond: Callable[[], bool], what: str, timeout_s: float = 15.0) -> None:
    """Poll ``cond`` until it holds; fail naming ``what`` if it never does."""
    end = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def _proc_table() -> dict[int, tuple[int, str]]:
    table: dict[int, tuple[int, str]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    raw = fh.read().decode(errors="replace")
            except OSError:
                continue
            fields = raw[raw.rindex(")") + 2 :].split()
            table[int(entry)] = (int(fields[1]), fields[0])
    return table


def grandchildren() -> set[int]:
    """Live processes forked by our children (math workers: the forkserver's children)."""
    table = _proc_table()
    children = {pid for pid, (ppid, _) in table.items() if ppid == os.getpid()}
    return {pid for pid, (ppid, state) in table.items() if ppid in children and state != "Z"}


def gone(pids: set[int]) -> bool:
    """Whether none of ``pids`` runs any more (zombies count as gone)."""
    table = _proc_table()
    return all(pid not in table or table[pid][1] == "Z" for pid in pids)


def rpc_error(code: grpc.StatusCode, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    """Call ``fn``, require it to fail with ``code``; returns the status details."""
    with pytest.raises(grpc.RpcError) as info:
        fn(*args, **kwargs)
    error: Any = info.value
    assert error.code() is code, (error.code(), error.details())
    return str(error.details())


class RunningServer:
    """A started :class:`RewardServer` on its own event loop thread."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="server-loop")
        self._thread.daemon = True
        self._thread.start()
        self._channels: list[grpc.Channel] = []
        self.server: RewardServer
        self.server, self.port = self.run(create_server(config))
        self.target = f"127.0.0.1:{self.port}"
        self._stopped = False
        self.pool_label: str | None = None  # the sandbox pool's label, once it exists
        self._math_pool: WorkerPool | None = None

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float = 120.0) -> T:
        """Run ``coro`` on the server's loop and wait for its result."""
        return self.submit(coro).result(timeout_s)

    def submit(self, coro: Coroutine[Any, Any, T]) -> cf.Future[T]:
        """Start ``coro`` on the server's loop; returns its future."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def channel(self) -> grpc.Channel:
        """A new plaintext channel to the server, closed when the server is stopped."""
        channel = grpc.insecure_channel(self.target)
        self._channels.append(channel)
        return channel

    def reward_stub(self) -> rgrpc.RewardServiceStub:
        """A RewardService stub on a new channel."""
        return rgrpc.RewardServiceStub(self.channel())

    def env_stub(self) -> egrpc.EnvServiceStub:
        """An EnvService stub on a new channel."""
        return egrpc.EnvServiceStub(self.channel())

    def sandbox_stub(self) -> sgrpc.SandboxServiceStub:
        """A SandboxService stub on a new channel."""
        return sgrpc.SandboxServiceStub(self.channel())

    def docker_pool(self) -> DockerSandboxPool:
        """The server's Docker sandbox pool (started on first use)."""
        backend = self.server.graders.code().sandbox.backend
        assert isinstance(backend, DockerSandboxPool), type(backend)
        self.pool_label = f"{POOL_LABEL}={backend.pool_id}"
        return backend

    def math_pool(self) -> WorkerPool:
        """The server's math worker pool (started on first use)."""
        self._math_pool = self.server.graders.math().pool
        return self._math_pool

    def busy(self, pool: str) -> int:
        """Busy workers or containers of ``pool`` (``math_workers``, ``sandbox_containers``)."""
        return self.server.graders.utilisation().get(pool, (0, 0))[0]

    def stop(self, grace_s: float = 0.0) -> None:
        """Stop the server, then check that its containers and workers are gone.

        A test that stops the server itself must call :meth:`docker_pool` and
        :meth:`math_pool` before, for these checks to know the pools.
        """
        if self._stopped:
            return
        self._stopped = True
        utilisation = self.server.graders.utilisation()
        with contextlib.suppress(RlvrGymError):  # already stopped by the test
            if "math_workers" in utilisation:
                self.math_pool()
            if "sandbox_containers" in utilisation and self.pool_label is None:
                backend = self.server.graders.code().sandbox.backend
                if isinstance(backend, DockerSandboxPool):
                    self.pool_label = f"{POOL_LABEL}={backend.pool_id}"
        try:
            self.run(self.server.stop(grace_s))
        finally:
            for channel in self._channels:
                channel.close()
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(30)
            self.loop.close()
        if self._math_pool is not None:
            assert self._math_pool.stats().alive == 0, "math workers outlived the server"
        if self.pool_label is not None:
            assert_no_containers(self.pool_label)


@pytest.fixture
def start_server() -> Iterator[Callable[..., RunningServer]]:
    """``start_server(**config_overrides)``: a server of :data:`SMALL` with changes."""
    started: list[RunningServer] = []

    def start(**overrides: Any) -> RunningServer:
        running = RunningServer(dataclasses.replace(SMALL, **overrides))
        started.append(running)
        return running

    yield start
    for running in reversed(started):
        running.stop()


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    """One :data:`SMALL` server shared by a module's tests (they must not break it)."""
    running = RunningServer(SMALL)
    yield running
    running.stop()

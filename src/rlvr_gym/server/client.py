"""Typed clients of the reward service: :class:`RewardClient` (sync), :class:`AsyncRewardClient`.

Dataclasses in (:class:`TaskId`, :class:`MathGold`, :class:`~rlvr_gym.rewards.code.tasks.CodeTask`),
dataclasses out (:class:`~rlvr_gym.rewards.types.RewardResult`); protobuf stays inside.

Why retries only on ``UNAVAILABLE`` and ``RESOURCE_EXHAUSTED``: those mean "not handled,
try again" (a replica went away, or shed load before grading). Anything else is an answer
(a bad request stays bad; a deadline spent is spent). Scoring is idempotent, so a retried
call cannot double-count. Backoff is exponential with full jitter, so the G clients of a
GRPO burst that were all refused together do not come back together.

Load balancing is gRPC's own ``round_robin`` over every address the target resolves to:
pass a list of ``host:port`` (resolved once, here) or a ``dns:///name:port`` target
(re-resolved by gRPC, e.g. a Kubernetes headless Service).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import random
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc

from rlvr_gym.errors import ConfigError, DataError, RlvrGymError
from rlvr_gym.proto.v1 import env_service_pb2 as epb
from rlvr_gym.proto.v1 import env_service_pb2_grpc as egrpc
from rlvr_gym.proto.v1 import reward_service_pb2 as rpb
from rlvr_gym.proto.v1 import reward_service_pb2_grpc as rgrpc
from rlvr_gym.rewards.types import RewardResult
from rlvr_gym.server.columns import results_from_columns
from rlvr_gym.server.convert import (
    MathGold,
    TaskId,
    TaskRef,
    score_from_proto,
    task_to_proto,
    tasks_to_proto,
)

__all__ = [
    "AsyncRewardClient",
    "EnvInfo",
    "MathGold",
    "OpenedSession",
    "RemoteError",
    "ResetResult",
    "RetryPolicy",
    "RewardClient",
    "StepResult",
    "TaskId",
    "channel_target",
]

RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED})
T = TypeVar("T")


class RemoteError(RlvrGymError):
    """A call failed for good; ``code`` is the gRPC status, the message the server's."""

    def __init__(self, code: grpc.StatusCode, message: str, error_type: str = "") -> None:
        super().__init__(f"{code.name}: {message}")
        self.code, self.details, self.error_type = code, message, error_type


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of ``UNAVAILABLE``/``RESOURCE_EXHAUSTED``: attempts and jittered backoff."""

    max_attempts: int = 6
    initial_backoff_s: float = 0.05
    max_backoff_s: float = 5.0
    multiplier: float = 2.0

    def backoff(self, attempt: int) -> float:
        """Seconds to sleep before retry ``attempt`` (1-based): full jitter."""
        cap = min(self.max_backoff_s, self.initial_backoff_s * self.multiplier ** (attempt - 1))
        return random.uniform(0, cap)


@dataclass(frozen=True)
class EnvInfo:
    """An env the server serves."""

    env_id: str
    description: str
    scorable: bool
    multi_turn: bool
    num_tasks: int | None = None


@dataclass(frozen=True)
class OpenedSession:
    """A remote env session: its id and the spaces' bounds."""

    session_id: str
    max_observation_chars: int
    max_action_chars: int


@dataclass(frozen=True)
class ResetResult:
    """One remote ``reset``: observation, info decoded, and ``render()`` text if any."""

    observation: str
    info: dict[str, Any]
    render: str


@dataclass(frozen=True)
class StepResult:
    """One remote ``step``: Gymnasium's 5-tuple, info decoded, ``render()`` text if any."""

    observation: str
    reward: float
    terminated: bool
    truncated: bool
    info: dict[str, Any]
    render: str


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def channel_target(target: str | Sequence[str]) -> str:
    """A gRPC target for one address, a ``scheme:`` target, or a list of addresses.

    A list becomes ``ipv4:a:p,b:p`` (or ``ipv6:``), host names resolved here, so gRPC's
    ``round_robin`` has one subchannel per server.

    Raises:
        ConfigError: an empty list, an entry that is not ``host:port``, or a host name
            that does not resolve.
    """
    if isinstance(target, str):
        return target
    if not target:
        raise ConfigError("no server address given")
    resolved: list[str] = []
    for entry in target:
        host, sep, port = entry.rpartition(":")
        if not sep or not port.isdigit() or not host:
            raise ConfigError(f"server address {entry!r} is not HOST:PORT")
        host = host.strip("[]")
        if not _is_ip(host):
            try:
                infos = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
            except OSError as exc:
                raise ConfigError(f"cannot resolve server {entry!r}: {exc}") from None
            host = str(infos[0][4][0])
        resolved.append(f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
    scheme = "ipv6" if all(a.startswith("[") for a in resolved) else "ipv4"
    return f"{scheme}:{','.join(resolved)}"


def _options(max_message_bytes: int, load_balancing: str) -> list[tuple[str, Any]]:
    config: dict[str, Any] = {"loadBalancingConfig": [{load_balancing: {}}]}
    return [
        ("grpc.service_config", json.dumps(config)),
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.enable_retries", 0),  # ours: jittered, and only on the two codes
    ]


def _credentials(tls: bool | bytes) -> grpc.ChannelCredentials | None:
    if tls is False:
        return None
    return grpc.ssl_channel_credentials(root_certificates=None if tls is True else tls)


def _batch_request(
    env_id: str, task: TaskRef | Sequence[TaskRef], responses: Sequence[str]
) -> rpb.ScoreBatchRequest:
    if isinstance(responses, str):
        raise ConfigError("responses must be a list of strings, not one string")
    if isinstance(task, str):
        raise ConfigError(f"task {task!r:.40}: wrap it as TaskId(...) or MathGold(...)")
    request = rpb.ScoreBatchRequest(env_id=env_id, responses=list(responses), columnar=True)
    if isinstance(task, TaskId | MathGold) or not isinstance(task, Sequence):
        request.task.CopyFrom(task_to_proto(task))
    else:
        if len(task) != len(request.responses):
            raise ConfigError(
                f"tasks: {len(task)} tasks for {len(request.responses)} responses; give one "
                "task for all, or one per response"
            )
        tasks_to_proto(task, request.tasks, request.task_index)  # each distinct task once
    return request


def _batch_results(reply: rpb.ScoreBatchResponse, n: int) -> list[RewardResult]:
    """The results of a ``ScoreBatch`` reply to ``n`` responses, in either form.

    Why check the count: a reply with fewer scores than responses would silently shift
    every reward after the gap onto the wrong sample.
    """
    try:
        if reply.HasField("columns"):
            results = results_from_columns(reply.columns)
        else:  # a server that predates ScoreColumns ignores `columnar`
            results = [score_from_proto(s) for s in reply.scores]
    except DataError as exc:
        raise RemoteError(grpc.StatusCode.INTERNAL, f"malformed ScoreBatch reply: {exc}") from None
    if len(results) != n:
        why = f"the server returned {len(results)} scores for {n} responses"
        raise RemoteError(grpc.StatusCode.INTERNAL, why)
    return results


def _env_infos(response: rpb.ListEnvsResponse) -> list[EnvInfo]:
    return [EnvInfo(e.env_id, e.description, e.scorable, e.multi_turn) for e in response.envs]


def _error(exc: grpc.RpcError) -> RemoteError:
    code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
    details = exc.details() if hasattr(exc, "details") else str(exc)
    trailers = exc.trailing_metadata() if hasattr(exc, "trailing_metadata") else None
    pairs: Iterable[Any] = trailers or ()
    kind = next((str(item[1]) for item in pairs if item[0] == "rlvr-error"), "")
    return RemoteError(code, details or "", kind)


class _Base:
    def __init__(
        self,
        target: str | Sequence[str],
        *,
        token: str | None,
        tls: bool | bytes,
        timeout_s: float | None,
        retry: RetryPolicy,
        max_message_bytes: int,
        load_balancing: str = "round_robin",
    ) -> None:
        self.target = channel_target(target)
        self.timeout_s, self.retry = timeout_s, retry
        self._metadata = (("authorization", f"Bearer {token}"),) if token else None
        self._creds = _credentials(tls)
        self._options = _options(max_message_bytes, load_balancing)

    def _deadline(self, timeout_s: float | None) -> float | None:
        timeout = self.timeout_s if timeout_s is None else timeout_s
        return None if timeout is None else time.monotonic() + timeout

    def _retry_after(self, exc: grpc.RpcError, attempt: int, deadline: float | None) -> float:
        """Seconds to wait before retrying, or raise the call's :class:`RemoteError`."""
        error = _error(exc)
        if error.code not in RETRYABLE or attempt >= self.retry.max_attempts:
            raise error from None
        pause = self.retry.backoff(attempt)
        if deadline is not None and time.monotonic() + pause >= deadline:
            raise error from None
        return pause

    @staticmethod
    def _left(deadline: float | None) -> float | None:
        return None if deadline is None else max(0.0, deadline - time.monotonic())


class RewardClient(_Base):
    """Blocking client; thread-safe (one channel, many calls).

    Args:
        target: ``host:port``, a list of them (round robin), or any gRPC target
            (``dns:///name:port``).
        token: bearer token, when the server requires one.
        tls: ``False`` (plaintext), ``True`` (TLS, system roots) or PEM root certificates.
        timeout_s: default deadline of a call, retries included (``None``: none).
        retry: retry policy for ``UNAVAILABLE``/``RESOURCE_EXHAUSTED``.
        max_message_bytes: largest message sent or received.
        load_balancing: gRPC policy over the target's addresses: ``round_robin``, or
            ``pick_first`` to stay on one server (env sessions live on one server).
    """

    def __init__(
        self,
        target: str | Sequence[str],
        *,
        token: str | None = None,
        tls: bool | bytes = False,
        timeout_s: float | None = 120.0,
        retry: RetryPolicy | None = None,
        max_message_bytes: int = 64 * 1024 * 1024,
        load_balancing: str = "round_robin",
    ) -> None:
        super().__init__(
            target,
            token=token,
            tls=tls,
            timeout_s=timeout_s,
            retry=retry or RetryPolicy(),
            max_message_bytes=max_message_bytes,
            load_balancing=load_balancing,
        )
        if self._creds is None:
            self.channel = grpc.insecure_channel(self.target, options=self._options)
        else:
            self.channel = grpc.secure_channel(self.target, self._creds, options=self._options)
        self._rewards = rgrpc.RewardServiceStub(self.channel)
        self._envs = egrpc.EnvServiceStub(self.channel)

    def _call(self, method: Callable[..., T], request: Any, timeout_s: float | None) -> T:
        deadline = self._deadline(timeout_s)
        attempt = 0
        while True:
            attempt += 1
            try:
                return method(request, timeout=self._left(deadline), metadata=self._metadata)
            except grpc.RpcError as exc:
                time.sleep(self._retry_after(exc, attempt, deadline))

    def score(
        self, env_id: str, task: TaskRef, response: str, *, timeout_s: float | None = None
    ) -> RewardResult:
        """Score one response."""
        return self.score_batch(env_id, task, [response], timeout_s=timeout_s)[0]

    def score_batch(
        self,
        env_id: str,
        task: TaskRef | Sequence[TaskRef],
        responses: Sequence[str],
        *,
        timeout_s: float | None = None,
    ) -> list[RewardResult]:
        """Score responses in parallel on the server: one task for all, or one each."""
        request = _batch_request(env_id, task, responses)
        reply = self._call(self._rewards.ScoreBatch, request, timeout_s)
        return _batch_results(reply, len(request.responses))

    def score_stream(
        self, items: Iterable[tuple[str, str, TaskRef, str]], *, timeout_s: float | None = None
    ) -> Iterator[tuple[str, RewardResult]]:
        """``(request_id, env_id, task, response)`` in, ``(request_id, result)`` out as done.

        Not retried (a stream is not idempotent as a whole); errors raise :class:`RemoteError`.
        """
        requests = (
            rpb.ScoreStreamRequest(request_id=rid, env_id=env, task=task_to_proto(task), response=r)
            for rid, env, task, r in items
        )
        try:
            for reply in self._rewards.ScoreStream(
                requests, timeout=self._left(self._deadline(timeout_s)), metadata=self._metadata
            ):
                yield reply.request_id, score_from_proto(reply.score)
        except grpc.RpcError as exc:
            raise _error(exc) from None

    def list_envs(self) -> list[EnvInfo]:
        """The envs the server serves."""
        return _env_infos(self._call(self._rewards.ListEnvs, rpb.ListEnvsRequest(), None))

    def describe_env(self, env_id: str) -> EnvInfo:
        """One env, with the number of tasks in its dataset."""
        reply = self._call(self._rewards.DescribeEnv, rpb.DescribeEnvRequest(env_id=env_id), None)
        e = reply.env
        return EnvInfo(e.env_id, e.description, e.scorable, e.multi_turn, reply.num_tasks)

    def env_open(self, env_id: str, kwargs: dict[str, Any]) -> OpenedSession:
        """EnvService.Open: a session of ``env_id`` built with ``kwargs`` (plain values)."""
        request = epb.OpenRequest(env_id=env_id, env_kwargs_json=json.dumps(kwargs))
        reply = self._once(self._envs.Open, request)
        return OpenedSession(reply.session_id, reply.max_observation_chars, reply.max_action_chars)

    def env_reset(
        self,
        session_id: str,
        *,
        seed: int | None = None,
        task_id: str | None = None,
        index: int | None = None,
    ) -> ResetResult:
        """EnvService.Reset of an open session (not retried: it draws from the env's RNG)."""
        request = epb.ResetRequest(session_id=session_id, task_id=task_id or "")
        if seed is not None:
            request.seed = seed
        if index is not None:
            request.index = index
        reply = self._once(self._envs.Reset, request)
        return ResetResult(reply.observation, json.loads(reply.info_json or "{}"), reply.render)

    def env_step(self, session_id: str, action: str) -> StepResult:
        """EnvService.Step; not retried: a step is not idempotent."""
        reply = self._once(self._envs.Step, epb.StepRequest(session_id=session_id, action=action))
        info = json.loads(reply.info_json or "{}")
        return StepResult(reply.observation, reply.reward, reply.terminated, reply.truncated,
                          info, reply.render)  # fmt: skip

    def _once(self, method: Callable[..., T], request: Any) -> T:
        try:
            return method(request, timeout=self.timeout_s, metadata=self._metadata)
        except grpc.RpcError as exc:
            raise _error(exc) from None

    def env_close(self, session_id: str) -> None:
        """EnvService.Close."""
        self._call(self._envs.Close, epb.CloseRequest(session_id=session_id), None)

    def close(self) -> None:
        """Close the channel."""
        self.channel.close()

    def __enter__(self) -> RewardClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncRewardClient(_Base):
    """asyncio client (``grpc.aio``); same arguments as :class:`RewardClient`."""

    def __init__(
        self,
        target: str | Sequence[str],
        *,
        token: str | None = None,
        tls: bool | bytes = False,
        timeout_s: float | None = 120.0,
        retry: RetryPolicy | None = None,
        max_message_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        super().__init__(
            target,
            token=token,
            tls=tls,
            timeout_s=timeout_s,
            retry=retry or RetryPolicy(),
            max_message_bytes=max_message_bytes,
        )
        if self._creds is None:
            self.channel = grpc.aio.insecure_channel(self.target, options=self._options)
        else:
            self.channel = grpc.aio.secure_channel(self.target, self._creds, options=self._options)
        self._rewards = rgrpc.RewardServiceStub(self.channel)

    async def _call(self, method: Callable[..., Any], request: Any, timeout_s: float | None) -> Any:
        deadline = self._deadline(timeout_s)
        attempt = 0
        while True:
            attempt += 1
            try:
                return await method(request, timeout=self._left(deadline), metadata=self._metadata)
            except grpc.RpcError as exc:
                await asyncio.sleep(self._retry_after(exc, attempt, deadline))

    async def score(
        self, env_id: str, task: TaskRef, response: str, *, timeout_s: float | None = None
    ) -> RewardResult:
        """Score one response."""
        return (await self.score_batch(env_id, task, [response], timeout_s=timeout_s))[0]

    async def score_batch(
        self,
        env_id: str,
        task: TaskRef | Sequence[TaskRef],
        responses: Sequence[str],
        *,
        timeout_s: float | None = None,
    ) -> list[RewardResult]:
        """Score responses in parallel on the server: one task for all, or one each."""
        request = _batch_request(env_id, task, responses)
        reply = await self._call(self._rewards.ScoreBatch, request, timeout_s)
        return _batch_results(reply, len(request.responses))

    async def score_stream(
        self, items: Iterable[tuple[str, str, TaskRef, str]], *, timeout_s: float | None = None
    ) -> AsyncIterator[tuple[str, RewardResult]]:
        """Streaming scores as they finish; see :meth:`RewardClient.score_stream`."""
        requests = [
            rpb.ScoreStreamRequest(request_id=rid, env_id=env, task=task_to_proto(task), response=r)
            for rid, env, task, r in items
        ]
        call = self._rewards.ScoreStream(
            iter(requests), timeout=self._left(self._deadline(timeout_s)), metadata=self._metadata
        )
        try:
            async for reply in call:
                yield reply.request_id, score_from_proto(reply.score)
        except grpc.RpcError as exc:
            raise _error(exc) from None

    async def list_envs(self) -> list[EnvInfo]:
        """The envs the server serves."""
        return _env_infos(await self._call(self._rewards.ListEnvs, rpb.ListEnvsRequest(), None))

    async def close(self) -> None:
        """Close the channel."""
        await self.channel.close()

    async def __aenter__(self) -> AsyncRewardClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

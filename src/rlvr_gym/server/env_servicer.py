"""``EnvService``: Gymnasium sessions over the network, with a TTL and a cap.

Each session is a real env object built on the server with the server's shared graders,
so a remote episode runs exactly the code a local one runs. ``reset``/``step`` block
(grading), so they run in a thread, one call at a time per session. Clients may only set
plain-value constructor arguments (:data:`REMOTE_KWARGS`): paths, reward objects and
sandbox settings stay the server's, so a client cannot make the server read its files or
start pools.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import json
import math
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import grpc

from rlvr_gym.cancel import CancelToken, cancel_scope
from rlvr_gym.errors import ConfigError, did_you_mean
from rlvr_gym.proto.v1 import env_service_pb2 as epb
from rlvr_gym.proto.v1 import env_service_pb2_grpc as egrpc
from rlvr_gym.server._rpc import unary
from rlvr_gym.server.admission import OverloadedError
from rlvr_gym.server.config import ServerConfig
from rlvr_gym.server.graders import MATH_ENV, Graders, NotFoundError
from rlvr_gym.server.metrics import ServerMetrics

__all__ = ["REMOTE_KWARGS", "EnvServicer", "to_json"]

Context = grpc.aio.ServicerContext[Any, Any]

REMOTE_KWARGS = frozenset({
    "format_reward_weight", "max_prompt_chars", "max_response_chars", "reveal_answer",
    "prompt_template", "language", "reveal_tests", "max_turns", "shaping", "turn_penalty",
    "render_mode",
})  # fmt: skip
"""Constructor arguments a client may set for its session (plain values only)."""


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    if isinstance(value, Mapping):
        return dict(value)
    return str(value)


def to_json(value: Any) -> str:
    """JSON text of an info dict: dataclasses as objects, enums as values, else ``str``."""
    return json.dumps(value, default=_plain, allow_nan=True)


@dataclass
class _Session:
    session_id: str
    env: Any
    env_id: str
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_used: float = field(default_factory=time.monotonic)


class EnvServicer(egrpc.EnvServiceServicer):
    """Sessions of the served envs; idle ones are closed after ``session_ttl_s``."""

    def __init__(self, config: ServerConfig, graders: Graders, metrics: ServerMetrics) -> None:
        self.config, self.graders, self.metrics = config, graders, metrics
        self.sessions: dict[str, _Session] = {}
        self._opening = 0  # sessions being built (they count against max_sessions)
        self._sweeper: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start closing idle sessions (call on the server's event loop)."""
        self._sweeper = asyncio.create_task(self._sweep())

    async def close(self) -> None:
        """Close every session (on shutdown)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
        sessions, self.sessions = list(self.sessions.values()), {}
        for session in sessions:
            await asyncio.to_thread(session.env.close)

    @unary("Open")
    async def Open(self, request: epb.OpenRequest, context: Context) -> epb.OpenResponse:
        """Open a session; its spaces let a remote env pass Gymnasium's checks before reset."""
        session = await self._open(request.env_id, request.env_kwargs_json)
        env = session.env
        return epb.OpenResponse(
            session_id=session.session_id,
            max_observation_chars=env.observation_space.max_length,
            max_action_chars=env.action_space.max_length,
        )

    @unary("Reset")
    async def Reset(self, request: epb.ResetRequest, context: Context) -> epb.ResetResponse:
        """Open (or reuse) a session and start an episode."""
        fresh = not request.session_id
        if not fresh:
            session = self._get(request.session_id)
            if request.env_id and request.env_id != session.env_id:
                raise ConfigError(
                    f"env_id: session {request.session_id} is a {session.env_id} session"
                )
        else:
            self.graders.check_env(request.env_id)
        if request.task_id:  # unknown: NOT_FOUND, as in ScoreBatch, before opening anything
            env_id = request.env_id if fresh else session.env_id
            await asyncio.to_thread(self.graders.find_task, env_id, request.task_id)
        if fresh:
            session = await self._open(request.env_id, request.env_kwargs_json)
        options: dict[str, Any] = {}
        if request.task_id:
            options["task_id"] = request.task_id
        if request.HasField("index"):
            options["index"] = request.index
        seed = request.seed if request.HasField("seed") else None
        async with session.lock:
            try:
                obs, info = await self._call(session, session.env.reset, seed=seed, options=options)
            except BaseException:
                if fresh:  # the client never learns its id: it could never close it
                    self.sessions.pop(session.session_id, None)
                    session.env.close()
                raise
        return epb.ResetResponse(session_id=session.session_id, observation=obs,
                                 info_json=to_json(info), render=_render(session))  # fmt: skip

    @unary("Step")
    async def Step(self, request: epb.StepRequest, context: Context) -> epb.StepResponse:
        """One step of a session."""
        session = self._get(request.session_id)
        async with session.lock:
            obs, reward, terminated, truncated, info = await self._call(
                session, session.env.step, request.action
            )
        return epb.StepResponse(observation=obs, reward=float(reward), terminated=terminated,
                                truncated=truncated, info_json=to_json(info),
                                render=_render(session))  # fmt: skip

    @unary("Close")
    async def Close(self, request: epb.CloseRequest, context: Context) -> epb.CloseResponse:
        """Close a session (unknown ids are already closed)."""
        session = self.sessions.pop(request.session_id, None)
        if session is not None:
            async with session.lock:
                await asyncio.to_thread(session.env.close)
        return epb.CloseResponse()

    # --- internals ----------------------------------------------------------------------

    async def _call(self, session: _Session, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run a blocking env call in a thread; cancelling stops its sandbox work."""
        token = CancelToken()

        def run() -> Any:
            with cancel_scope(token):
                return fn(*args, **kwargs)

        session.last_used = time.monotonic()
        try:
            return await asyncio.to_thread(run)
        except asyncio.CancelledError:
            token.cancel()
            raise
        finally:
            session.last_used = time.monotonic()

    def _get(self, session_id: str) -> _Session:
        session = self.sessions.get(session_id)
        if session is None:
            raise NotFoundError(
                f"session_id: no session {session_id!r} (closed, expired after "
                f"{self.config.session_ttl_s:g} s idle, or never opened); Reset without one"
            )
        return session

    async def _open(self, env_id: str, kwargs_json: str) -> _Session:
        self.graders.check_env(env_id)
        kwargs = _kwargs(kwargs_json)
        if len(self.sessions) + self._opening >= self.config.max_sessions:
            raise OverloadedError(
                f"{len(self.sessions)} env sessions are open (max_sessions "
                f"{self.config.max_sessions}); Close finished sessions"
            )
        self._opening += 1  # counted before the await: concurrent opens see each other
        try:
            env = await asyncio.to_thread(self._make, env_id, kwargs)
        finally:
            self._opening -= 1
        session = _Session(uuid.uuid4().hex, env, env_id)
        self.sessions[session.session_id] = session
        return session

    def _make(self, env_id: str, kwargs: dict[str, Any]) -> Any:
        import gymnasium

        import rlvr_gym.envs  # noqa: F401  (registers the ids)

        if env_id == MATH_ENV:
            shared: dict[str, Any] = {"source": self.graders.math_source(),
                                      "reward": self.graders.math()}  # fmt: skip
        else:
            tasks = list(self.graders.code_tasks(env_id).values())
            shared = {"tasks": tasks, "reward": self.graders.code()}
        env = gymnasium.make(env_id, disable_env_checker=True, **shared, **kwargs)
        return env.unwrapped

    async def _sweep(self) -> None:
        period = max(0.05, min(self.config.session_ttl_s / 4, 30.0))
        while True:
            await asyncio.sleep(period)
            now = time.monotonic()
            for key, session in list(self.sessions.items()):
                if (
                    not session.lock.locked()
                    and now - session.last_used > self.config.session_ttl_s
                ):
                    del self.sessions[key]
                    await asyncio.to_thread(session.env.close)


def _render(session: _Session) -> str:
    if getattr(session.env, "render_mode", None) != "ansi":
        return ""
    return str(session.env.render() or "")


def _kwargs(text: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    try:
        kwargs = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"env_kwargs_json is not JSON: {exc}") from None
    if not isinstance(kwargs, dict):
        raise ConfigError("env_kwargs_json must be a JSON object of constructor arguments")
    for key, value in kwargs.items():
        if key not in REMOTE_KWARGS:
            raise ConfigError(
                f"env_kwargs_json.{key}: not settable remotely{did_you_mean(key, REMOTE_KWARGS)} "
                f"(allowed: {', '.join(sorted(REMOTE_KWARGS))}; data and graders are the server's)"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"env_kwargs_json.{key}: must be finite")
        if isinstance(value, dict | list):
            raise ConfigError(f"env_kwargs_json.{key}: must be a plain value")
    return kwargs

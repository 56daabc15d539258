"""A Gymnasium env whose episodes run on a reward server (``EnvService``).

``gymnasium.make("rlvr_gym/Math-v0", remote="host:port")`` returns one. The env object
lives on the server, built from the same class with the server's data and graders, so an
episode is the local episode: same prompts for the same seed, same rewards, same info
(as JSON: tuples arrive as lists). Gymnasium's own rules (reset before step, actions are
``str``) are checked here first, raising what the local env raises; errors from the
server come back as the same library exception classes, named in the call's trailers.

A session lives on one server, so a remote env talks to exactly one address (no
round robin); it is closed with the env, or by the server after its idle TTL.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from rlvr_gym import errors
from rlvr_gym.envs import _common
from rlvr_gym.envs._common import check_step, reset_choice
from rlvr_gym.envs.spaces import UnicodeText
from rlvr_gym.envs.tasks import TaskIndexError
from rlvr_gym.errors import ConfigError, RlvrGymError
from rlvr_gym.server.client import RemoteError, RewardClient

__all__ = ["RemoteEnv"]

_RAISABLE: dict[str, type[Exception]] = {
    "ConfigError": errors.ConfigError,
    "DataError": errors.DataError,
    "NotFoundError": errors.DataError,  # an unknown task id: the local env's DataError
    "TaskIndexError": TaskIndexError,
    "ResetNeededError": _common.ResetNeededError,
    "InvalidActionError": _common.InvalidActionError,
}


def _local(exc: RemoteError) -> Exception:
    """The exception the local env would have raised, when the server names one."""
    kind = _RAISABLE.get(exc.error_type)
    return kind(exc.details) if kind is not None else exc


class RemoteEnv(gym.Env[str, str]):
    """A text env served by ``rlvr-gym serve``; see the module docstring.

    Args:
        env_id: A served env id, e.g. ``"rlvr_gym/Math-v0"``.
        remote: The server's ``host:port`` (or any single gRPC target).
        token: Bearer token when the server requires one.
        tls: ``False``, ``True`` (system roots) or PEM root certificates.
        timeout_s: Deadline of each call.
        **env_kwargs: Constructor arguments for the server-side env; only plain values
            the server allows (``REMOTE_KWARGS``), e.g. ``format_reward_weight``.

    Raises:
        ConfigError: a list of addresses, or an argument the server refuses.
        RemoteError: the server cannot be reached.
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi"], "render_fps": 1}  # noqa: RUF012

    def __init__(
        self,
        env_id: str,
        remote: str,
        *,
        token: str | None = None,
        tls: bool | bytes = False,
        timeout_s: float | None = 120.0,
        **env_kwargs: Any,
    ) -> None:
        if not isinstance(remote, str):
            raise ConfigError("remote= takes one server address: a session lives on one server")
        self.env_id = env_id
        self.render_mode = env_kwargs.get("render_mode")
        # pick_first: a dns:/// name with several servers behind it must not spread the
        # calls of one session over them (the session lives on one).
        self.client = RewardClient(
            remote, token=token, tls=tls, timeout_s=timeout_s, load_balancing="pick_first"
        )
        self.session_id: str | None = None
        try:
            opened = self.client.env_open(env_id, env_kwargs)
        except RemoteError as exc:
            self.client.close()
            raise _local(exc) from None
        self.session_id = opened.session_id
        self.observation_space = UnicodeText(max_length=opened.max_observation_chars)
        self.action_space = UnicodeText(max_length=opened.max_action_chars)
        self._started = self._done = False
        self._render = ""
        from rlvr_gym.envs import _ENTRY_POINTS  # the local class's name, for messages

        self._name = _ENTRY_POINTS.get(env_id, ":RemoteEnv").rpartition(":")[2]

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Start an episode on the server (same arguments as the local env)."""
        super().reset(seed=seed)
        task_id, index = reset_choice(options or {}, self._name)
        if index is not None and (isinstance(index, bool) or not isinstance(index, int)):
            raise TaskIndexError(f"index must be an int, got {index!r}")
        assert self.session_id is not None
        try:
            result = self.client.env_reset(self.session_id, seed=seed, task_id=task_id, index=index)
        except RemoteError as exc:
            raise _local(exc) from None
        self._started, self._done, self._render = True, False, result.render
        return result.observation, result.info

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """One step on the server (same semantics as the local env)."""
        check_step(self._started, self._done, action, self._name)
        assert self.session_id is not None
        try:
            result = self.client.env_step(self.session_id, action)
        except RemoteError as exc:
            raise _local(exc) from None
        self._done = result.terminated or result.truncated
        self._render = result.render
        return result.observation, result.reward, result.terminated, result.truncated, result.info

    def render(self) -> str | None:
        """The server-side env's ``render()`` text in ``"ansi"`` mode, else None."""
        if self.render_mode != "ansi":
            return None
        return self._render or "(no task yet: call reset())\n"

    def close(self) -> None:
        """Close the server-side session and the channel; idempotent."""
        if self.session_id is not None:
            session, self.session_id = self.session_id, None
            try:
                self.client.env_close(session)
            except RlvrGymError:  # the server is gone: its TTL closes the session
                pass
            finally:
                self.client.close()
        super().close()

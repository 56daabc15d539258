"""The registered entry point: the local env class, or a remote session with ``remote=``.

Why one factory: ``gymnasium.make("rlvr_gym/Math-v0", remote="host:port")`` should give
the same env served by ``rlvr-gym serve``, without a second set of ids. The server
package is imported only when ``remote`` is given, so local use stays free of gRPC.
"""

from __future__ import annotations

import importlib
from typing import Any

from rlvr_gym.errors import ConfigError

__all__ = ["make"]

_REMOTE_ONLY = ("token", "tls", "timeout_s")


def make(*, _env_id: str, remote: str | None = None, **kwargs: Any) -> Any:
    """Build ``_env_id``: its local class, or a :class:`RemoteEnv` when ``remote`` is set."""
    from rlvr_gym.envs import _ENTRY_POINTS, _KWARGS

    if remote is not None:
        from rlvr_gym.server.remote_env import RemoteEnv

        return RemoteEnv(_env_id, remote, **kwargs)
    if given := [k for k in _REMOTE_ONLY if k in kwargs]:
        raise ConfigError(f"{given[0]}= only applies with remote='host:port'")
    module, _, name = _ENTRY_POINTS[_env_id].partition(":")
    env_class = getattr(importlib.import_module(module), name)
    return env_class(**{**_KWARGS.get(_env_id, {}), **kwargs})


# Read by gymnasium.make to validate render_mode, as it would be on an env class.
make.metadata = {"render_modes": ["ansi"], "render_fps": 1}  # type: ignore[attr-defined]

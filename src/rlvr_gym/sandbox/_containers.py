"""Sandbox containers' lifecycle outside the pool: labels, removal, the stale reaper.

Why apart from the pool: removing containers must work from places that hold no pool -
an atexit finalizer (which must not keep the pool alive), a reaper cleaning up after a
trainer that crashed without running any ``finally``, tests - and always goes through the
daemon (``docker rm -f``): killing a ``docker run`` client leaves its container running.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone

from rlvr_gym.sandbox.errors import DockerUnavailableError
from rlvr_gym.sandbox.image import _docker

__all__ = [
    "HOST_LABEL",
    "LABEL",
    "OWNER_LABEL",
    "OWNER_START_LABEL",
    "POOL_LABEL",
    "Registry",
    "docker_available",
    "owner_host",
    "process_start",
    "reap_stale",
    "remove",
    "remove_all",
]

_log = logging.getLogger("rlvr_gym.sandbox.docker_backend")
LABEL = "org.rlvr-gym.sandbox"
POOL_LABEL = "org.rlvr-gym.pool"
OWNER_LABEL = "org.rlvr-gym.owner-pid"
OWNER_START_LABEL = "org.rlvr-gym.owner-start"  # tells a dead owner from a reused pid
HOST_LABEL = "org.rlvr-gym.owner-host"  # owner pids mean something only on their host


def docker_available(timeout_s: float = 10.0) -> bool:
    """Whether the docker CLI exists and ``docker info`` reaches a daemon."""
    try:
        return _docker("info", "--format", "{{.ServerVersion}}", timeout=timeout_s).returncode == 0
    except DockerUnavailableError:
        return False


def process_start(pid: int) -> str | None:
    """The start time (clock ticks since boot) of ``pid``, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            raw = fh.read()
        return raw[raw.rindex(b")") + 2 :].split()[19].decode()
    except (OSError, ValueError, IndexError):
        return None


def owner_host() -> str:
    """Where owner pids mean something: the host name and this process's pid namespace.

    Why the namespace: a service in a container that shares the host's name (host
    networking) drives the same engine; without it, each side would read the other's
    owner pids in its own namespace and take live pools for dead.
    """
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = "pid:?"
    return f"{socket.gethostname()}/{namespace}"


def _owner_alive(pid_text: str, start: str, host: str) -> bool | None:
    """Whether the owner lives: True/False, None when it cannot be told from here."""
    if host != owner_host():
        return None
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    now = process_start(pid)
    return now is not None and (not start or now == start)


def reap_stale(max_age_s: float = 24 * 3600.0, *, exclude_pool: str | None = None) -> list[str]:
    """Remove labelled sandbox containers whose owner process is dead.

    A container of another host (or without owner labels) is removed only once it is older
    than ``max_age_s``: its owner cannot be checked from here. Why: a crashed trainer
    (SIGKILL, OOM) runs no ``finally`` and no atexit hook, and its containers would
    otherwise hold memory forever.

    Args:
        max_age_s: age after which a container whose owner cannot be checked is removed.
        exclude_pool: a pool id never to touch (the caller's own).

    Returns:
        The names of the removed containers.
    """
    fmt = "\t".join(
        [
            "{{.Names}}",
            f'{{{{.Label "{OWNER_LABEL}"}}}}',
            f'{{{{.Label "{OWNER_START_LABEL}"}}}}',
            f'{{{{.Label "{HOST_LABEL}"}}}}',
            f'{{{{.Label "{POOL_LABEL}"}}}}',
        ]
    )
    proc = _docker("ps", "-a", "--filter", f"label={LABEL}=1", "--format", fmt, timeout=60)
    if proc.returncode != 0:
        _log.warning("cannot list sandbox containers: %s", proc.stderr.strip())
        return []
    stale: list[str] = []
    unknown: list[str] = []
    for line in proc.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) != 5 or (exclude_pool and parts[4] == exclude_pool):
            continue
        alive = _owner_alive(parts[1], parts[2], parts[3])
        if alive is False:
            stale.append(parts[0])
        elif alive is None:
            unknown.append(parts[0])
    if unknown:
        stale += _older_than(unknown, max_age_s)
    if stale:
        _docker("rm", "-f", *stale, timeout=120)
        _log.warning("removed %d stale sandbox container(s): %s", len(stale), ", ".join(stale))
    return stale


def _older_than(names: list[str], max_age_s: float) -> list[str]:
    proc = _docker("inspect", "--format", "{{.Name}}\t{{.Created}}", *names, timeout=60)
    old = []
    for line in proc.stdout.splitlines():
        name, _, created = line.partition("\t")
        try:
            stamp = datetime.fromisoformat(created.strip()[:26].rstrip("Z") + "+00:00")
            age = (datetime.now(timezone.utc) - stamp).total_seconds()
        except ValueError:
            continue
        if age > max_age_s:
            old.append(name.lstrip("/"))
    return old


@dataclass
class Registry:
    """What the atexit finalizer needs to remove: shared with, not owned by, the pool."""

    names: set[str] = field(default_factory=set)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def remove(registry: Registry, names: list[str]) -> None:
    """``docker rm -f`` the containers (via the daemon), then reap their clients."""
    if names:
        try:
            _docker("rm", "-f", *names, timeout=120)
        except DockerUnavailableError as exc:
            _log.error("cannot remove sandbox containers %s: %s", names, exc)
    with registry.lock:
        procs = [registry.procs.pop(name) for name in names if name in registry.procs]
        registry.names.difference_update(names)
    for proc in procs:
        with contextlib.suppress(OSError):
            proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


def remove_all(registry: Registry, pool_id: str) -> None:
    """Remove every container of the pool: the known ones, then any found by label.

    The label sweep comes last, after the clients are dead: a ``docker run`` client that
    was still creating its container when we started cannot add one behind our back.
    """
    with registry.lock:
        names = sorted(registry.names)
    remove(registry, names)
    try:
        found = _docker("ps", "-aq", "--filter", f"label={POOL_LABEL}={pool_id}", timeout=60)
        if found.returncode == 0 and found.stdout.split():
            _docker("rm", "-f", *found.stdout.split(), timeout=120)
    except DockerUnavailableError as exc:
        _log.error("cannot remove the containers of sandbox pool %s: %s", pool_id, exc)

"""Cleanliness between runs: kill leftover processes, remove what programs wrote."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import time

from .framing import log as _log
from .runner import reap

KEEP: set[int] = set()
"""Pids no sweep may kill although they share the sandbox uid (the zygote)."""
_SWEEP_ROUNDS = 100
_WIPE_S = 10.0


def _scan(with_uids: bool) -> dict[int, tuple[int, int, bool, frozenset[int]]]:
    """Map every visible pid to (parent pid, session id, is zombie, uids)."""
    table: dict[int, tuple[int, int, bool, frozenset[int]]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                raw = fh.read()
            fields = raw[raw.rindex(b")") + 2 :].split()
            uids: frozenset[int] = frozenset()
            if with_uids:
                with open(f"/proc/{name}/status", "rb") as fh:
                    line = next(x for x in fh if x.startswith(b"Uid:"))
                uids = frozenset(int(u) for u in line.split()[1:])
        except (OSError, ValueError, StopIteration):
            continue  # exited meanwhile
        table[int(name)] = (int(fields[1]), int(fields[3]), fields[0] in (b"Z", b"X"), uids)
    return table


def _targets(
    table: dict[int, tuple[int, int, bool, frozenset[int]]], sids: set[int], uids: set[int]
) -> set[int]:
    """Live sandbox processes: our descendants, members of ``sids``, owned by ``uids``."""
    protected, pid = set(), os.getpid()
    while pid in table and pid not in protected:  # never ourselves or our ancestors
        protected.add(pid)
        pid = table[pid][0]
    children: dict[int, list[int]] = {}
    for pid, row in table.items():
        children.setdefault(row[0], []).append(pid)
    descendants, stack = set(), [os.getpid()]
    while stack:
        kids = [k for k in children.get(stack.pop(), ()) if k not in descendants]
        descendants.update(kids)
        stack += kids
    return {
        pid
        for pid, (_, sid, zombie, owner) in table.items()
        if not zombie
        and pid not in protected
        and pid not in KEEP
        and (pid in descendants or sid in sids or not uids.isdisjoint(owner))
    }


def _kill_as_uid(uid: int) -> None:
    """SIGKILL every process of ``uid`` at once, from a helper that is ``uid`` itself.

    ``kill(-1)`` reaches them all in one call, faster than a fork bomb forks; killing pid by
    pid from a /proc scan alone could lose that race.
    """
    pid = os.fork()
    if pid == 0:  # pragma: no cover - helper child
        with contextlib.suppress(BaseException):  # ESRCH: nobody left
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            for _ in range(1000):
                os.kill(-1, signal.SIGKILL)  # all this uid may signal, except the helper
        os._exit(0)
    reap(pid)


def _reap_children() -> None:
    """Reap zombies handed to us as subreaper (or as a container's PID 1)."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def sweep(sids: set[int], uids: set[int], same_uid: bool) -> tuple[int, bool]:
    """SIGKILL leftover sandbox processes until none is left.

    Returns:
        How many distinct processes were killed, and whether none survived.
    """
    killed: set[int] = set()
    wanted = uids | ({os.geteuid()} if same_uid else set())
    for round_ in range(_SWEEP_ROUNDS):
        targets = _targets(_scan(bool(wanted)), sids, wanted)
        _reap_children()
        if not targets:
            return len(killed), True
        killed |= targets
        for uid in uids if os.geteuid() == 0 else ():
            _kill_as_uid(uid)
        for pid in targets:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.0005 * round_)
    return len(killed), False


def wipe(path: str) -> bool:
    """Remove ``path`` and everything below it, whatever the program did to it; True if gone.

    Works level by level - the children of each subdirectory are renamed up into ``path`` -
    so neither recursion depth nor path length limits what a program can build, and chmods
    dirs first so read-only ones do not stop a non-root supervisor. Symlinks are removed,
    never followed.
    """
    give_up = time.monotonic() + _WIPE_S
    try:
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            os.unlink(path)
            return True
        serial = 0
        while time.monotonic() < give_up:  # something still writing here: report, move on
            os.chmod(path, 0o700)
            names = os.listdir(path)
            if not names:
                os.rmdir(path)
                return True
            for name in names:
                child = os.path.join(path, name)
                if not stat.S_ISDIR(os.lstat(child).st_mode):
                    os.unlink(child)
                    continue
                os.chmod(child, 0o700)
                for sub in os.listdir(child):
                    src = os.path.join(child, sub)
                    if stat.S_ISDIR(os.lstat(src).st_mode):
                        os.chmod(src, 0o700)  # moving a dir rewrites its '..': needs write
                    while os.path.lexists(os.path.join(path, f".wipe{serial}")):
                        serial += 1
                    os.rename(src, os.path.join(path, f".wipe{serial}"))
                os.rmdir(child)
    except FileNotFoundError:
        return not os.path.lexists(path)
    except OSError as exc:
        _log(f"cannot remove {path!r}: {exc}")
        return False
    _log(f"gave up removing {path!r} after {_WIPE_S} s")
    return False


def copy_tree(src: str, dst: str, uid: int | None) -> None:
    """Copy the regular files and dirs below ``src`` into the empty dir ``dst``.

    Used to give each run of a batch its own copy of the build dir. Symlinks and special
    files are skipped (the trusted side wrote the files; only the compiler added some).
    """
    for root, dirs, files in os.walk(src):
        target = os.path.join(dst, os.path.relpath(root, src))
        for name in dirs:
            if not os.path.islink(os.path.join(root, name)):
                os.mkdir(os.path.join(target, name), 0o755)
                own(os.path.join(target, name), uid)
        for name in files:
            source = os.path.join(root, name)
            info = os.lstat(source)
            if not stat.S_ISREG(info.st_mode):
                continue
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            with (
                open(source, "rb") as fin,
                os.fdopen(
                    os.open(os.path.join(target, name), flags, stat.S_IMODE(info.st_mode)), "wb"
                ) as fout,
            ):
                while chunk := fin.read(1 << 20):
                    fout.write(chunk)
            own(os.path.join(target, name), uid)


def own(path: str, uid: int | None) -> None:
    """Hand ``path`` to the run's uid (a root supervisor dropping privileges), if any."""
    if uid is not None:
        os.chown(path, uid, uid, follow_symlinks=False)

"""A clean template process that forks Python runs, so no run inherits request data.

Why not fork runs from the supervisor itself: its heap has held every request it served
(files, stdin inputs, outputs), and a fork copies that heap into the program's reach. A
judge that must keep its test data from the model's code (the call harness forks the
candidate before reading its tests from stdin) is only sound if the process it starts in
never held those tests. The zygote is started by ``exec`` before the first request, with
the common modules imported (``pyfork.PRELOAD``), and only ever receives what a run
needs to start: argv, environment, work dir, limits and the run's pipe ends (passed as
file descriptors, never their data).

Protocol over a ``SOCK_SEQPACKET`` socket pair, one JSON object per message:

    supervisor -> zygote   {"op": "spawn", path, argv, workdir, env, uid, limits, script}
                           + 4 fds (stdin, stdout, stderr, exec-error pipe ends)
    zygote -> supervisor   {"pid": n} | {"error": text}
    supervisor -> zygote   {"op": "reap", "pid": n}   (after the run ended or was killed)
    zygote -> supervisor   {"status", "utime", "stime", "maxrss"}

The run stays a zombie until the reap, so its pid and process group stay reserved while
the supervisor kills the group, as with its own children. The zygote shares the sandbox
uid, so a program can kill or stop it: replies then stop coming, the supervisor kills
it, reaps the orphaned run itself (orphans come back to it as the container's init or a
child subreaper), runs later programs with a real ``exec`` and reports its requests
unclean, so the pool replaces the container.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from types import SimpleNamespace
from typing import Any

from . import pyfork
from .framing import log

__all__ = ["Zygote", "serve"]

_REPLY_S = 2.0  # a healthy zygote answers a spawn in milliseconds
_READY_S = 30.0  # start-up imports the preloaded modules
_IGNORED = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGPIPE")


class Zygote:
    """Supervisor side: start the zygote, ask it to spawn and reap runs."""

    def __init__(self, supervisor_dir: str, env: dict[str, str], preload_dir: str | None) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.failed = False
        self._sock = ours
        self._proc = subprocess.Popen(
            [
                *(sys.executable, "-s", "-B", supervisor_dir, "--zygote", str(theirs.fileno())),
                *(("--preload-dir", preload_dir) if preload_dir else ()),
            ],
            pass_fds=[theirs.fileno()],
            env=env,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        theirs.close()
        if self._ask(None, (), _READY_S) != {"ready": True}:
            self.fail("did not start")

    @property
    def pid(self) -> int:
        """The zygote's pid (sweeps must spare it)."""
        return self._proc.pid

    def alive(self) -> bool:
        """Whether the zygote process is still running (not exited, not stopped)."""
        if self._proc.poll() is not None:
            return False
        try:
            with open(f"/proc/{self._proc.pid}/stat", "rb") as fh:
                raw = fh.read()
        except OSError:
            return False
        return raw[raw.rindex(b")") + 2 : raw.rindex(b")") + 3] not in (b"T", b"t", b"Z")

    @property
    def usable(self) -> bool:
        """Whether runs may still be spawned through it."""
        return not self.failed

    def spawn(
        self, path: str, argv: list[str], job: Any, limits: dict[str, float], fds: list[int]
    ) -> int | None:
        """Start ``argv`` as a forked Python run; its pid, or ``None`` (then exec it)."""
        message = {
            "op": "spawn",
            "path": path,
            "argv": argv,
            "workdir": job.workdir,
            "env": job.env,
            "uid": job.uid,
            "limits": limits,
        }
        reply = self._ask(message, fds, _REPLY_S)
        pid = reply.get("pid") if reply else None
        if type(pid) is not int or pid <= 0:
            self.fail(f"bad spawn reply {reply!r}")
            return None
        return pid

    def reap(self, pid: int, wait_s: float) -> tuple[int | None, Any]:
        """Exit status and rusage of a spawned run; ``(None, None)`` if it is stuck."""
        reply = self._ask({"op": "reap", "pid": pid}, (), wait_s) if self.usable else None
        if reply and type(reply.get("status")) is int:
            usage = SimpleNamespace(
                ru_utime=float(reply["utime"]),
                ru_stime=float(reply["stime"]),
                ru_maxrss=int(reply["maxrss"]),
            )
            return reply["status"], usage
        self.fail(f"no reap reply for {pid}")
        from .runner import reap  # the orphaned run is our child now (circular import)

        return reap(pid)

    def fail(self, why: str) -> None:
        """Stop using the zygote: kill it and wait, so its orphans come back to us."""
        if not self.failed:
            log(f"zygote {self._proc.pid} unusable ({why}); running programs with exec")
        self.failed = True
        with contextlib.suppress(OSError):
            self._proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=_REPLY_S)

    def _ask(self, message: dict[str, Any] | None, fds: Any, wait_s: float) -> Any:
        try:
            self._sock.settimeout(wait_s)
            if message is not None:
                socket.send_fds(self._sock, [json.dumps(message).encode()], list(fds))
            data = self._sock.recv(65536)
            return json.loads(data) if data else None
        except (OSError, ValueError):
            return None


def serve(fd: int, preload_dir: str | None) -> int:
    """Zygote side: spawn and reap runs on request until the supervisor goes away."""
    from .runner import child, set_dumpable

    sock = socket.socket(fileno=fd)
    set_dumpable(False)  # programs share our uid: no ptrace, no /proc/<us>/mem
    for name in _IGNORED:
        signal.signal(getattr(signal, name), signal.SIG_IGN)
    pyfork.prepare(os.path.dirname(os.path.abspath(__file__)), preload_dir)
    sock.send(b'{"ready": true}')
    while True:
        data, fds, _, _ = socket.recv_fds(sock, 65536, 8)
        if not data:
            return 0
        request = json.loads(data)
        if request.get("op") == "spawn":
            try:
                pid = os.fork()
            except OSError as exc:
                for passed in fds:
                    os.close(passed)
                sock.send(json.dumps({"error": str(exc)}).encode())
                continue
            if pid == 0:  # pragma: no cover - becomes the run
                sock.close()
                job = SimpleNamespace(
                    workdir=request["workdir"], env=request["env"], uid=request["uid"]
                )
                script = pyfork.python_script(request["argv"], request["path"])
                child(request["path"], request["argv"], job, request["limits"], fds, script)
            for passed in fds:
                os.close(passed)
            sock.send(json.dumps({"pid": pid}).encode())
        elif request.get("op") == "reap":
            _, status, usage = os.wait4(int(request["pid"]), 0)
            reply = {
                "status": status,
                "utime": usage.ru_utime,
                "stime": usage.ru_stime,
                "maxrss": usage.ru_maxrss,
            }
            sock.send(json.dumps(reply).encode())

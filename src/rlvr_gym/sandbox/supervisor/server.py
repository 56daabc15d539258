"""The request loop: one request at a time, cleanup after each, and the entry point."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import tempfile
import traceback
from typing import Any, BinaryIO

from .cleanup import KEEP, copy_tree, own, sweep, wipe
from .framing import (
    MAX_FRAME_BYTES,
    PROTOCOL_VERSION,
    FrameError,
    FrameTooLarge,
    encode_frame,
    read_frame,
)
from .framing import (
    log as _log,
)
from .job import BadRequest, Job
from .runner import SAFE_PATH, enable_python_fork, run_program, set_dumpable, zygote_ok
from .zygote import serve as serve_zygote

RUN_PREFIX = "rlvr-run-"


def _error(rid: Any, code: str, message: str) -> dict[str, Any]:
    return {"id": rid, "error": {"code": code, "message": message}}


class Supervisor:
    """Serves requests one at a time; owns the work dir base and the cleanup policy."""

    def __init__(self, base: str, max_frame_bytes: int, same_uid: bool, scrub: list[str]) -> None:
        self.base, self.max_frame_bytes = base, max_frame_bytes
        self.same_uid, self.scrub_dirs = same_uid, scrub
        self.uids_seen: set[int] = set()

    def serve(self, reader: BinaryIO, out_fd: int) -> int:
        """Answer frames until end of input; returns the process exit code."""
        try:
            while True:
                try:
                    msg = read_frame(reader, self.max_frame_bytes)
                except FrameTooLarge as exc:
                    self._send(out_fd, _error(None, "frame_too_large", str(exc)))
                    continue
                except FrameError as exc:
                    self._send(out_fd, _error(None, "bad_frame", str(exc)))
                    continue
                except EOFError as exc:
                    _log(f"input ended inside a frame ({exc}); exiting")
                    return 1
                if msg is None:
                    return 0
                self._send(out_fd, self.handle(msg))
        except BrokenPipeError:
            return 1
        finally:
            try:
                self.cleanup()
            except Exception:
                _log(traceback.format_exc())

    def handle(self, msg: dict[str, Any]) -> dict[str, Any]:
        """Answer one message; never raises."""
        rid = msg.get("id")
        try:
            if not (rid is None or isinstance(rid, str) or type(rid) is int):
                return _error(None, "bad_request", "'id' must be a string, an integer or null")
            op = msg.get("op", "execute")
            if op == "ping":
                return {"op": "pong", "pid": os.getpid(), "version": PROTOCOL_VERSION}
            if op == "cleanup":
                return self.cleanup()
            if op != "execute":
                return _error(rid, "bad_request", f"unknown op {op!r}; use execute/ping/cleanup")
            return self.execute(rid, Job(msg, self.max_frame_bytes))
        except BadRequest as exc:
            return _error(rid, "bad_request", str(exc))
        except Exception as exc:  # report and keep serving
            _log(traceback.format_exc())
            return _error(rid, "internal", f"{type(exc).__name__}: {exc}")

    def execute(self, rid: Any, job: Job) -> dict[str, Any]:
        """Write the files, compile once, run every input, clean up after each run.

        The files and the compiler's output stay in a build dir; with several inputs each
        run gets a fresh copy of it (and /tmp, /dev/shm scrubbed), so nothing one run
        writes is seen by the next.
        """
        build = tempfile.mkdtemp(prefix=RUN_PREFIX, dir=self.base)
        self._enter(job, build)
        uids = {job.uid} if job.uid is not None else set()
        self.uids_seen |= uids
        killed, clean, compiled, runs = 0, True, None, []
        fresh = len(job.inputs) > 1
        try:
            self._write_files(job)
            steps = [(job.compile, b"", job.compile_limits)] if job.compile else []
            steps += [(job.run, data, job.limits) for data in job.inputs]
            for index, (argv, data, limits) in enumerate(steps):
                assert argv is not None
                is_compile = index == 0 and job.compile is not None
                if fresh and not is_compile:
                    self._enter(job, tempfile.mkdtemp(prefix=RUN_PREFIX, dir=self.base))
                    own(job.workdir, job.uid)
                    copy_tree(build, job.workdir, job.uid)
                result, sid = run_program(job, argv, data, limits, not is_compile)
                count, ok = sweep({sid} if sid else set(), uids, self.same_uid)
                killed, clean = killed + count, clean and ok
                if fresh and not is_compile:
                    clean = wipe(job.workdir) and self._scrub(keep=build) and clean
                if is_compile:
                    if result["status"] != "ok":
                        result["status"] = "compile_error"
                    compiled = result
                    if result["status"] != "ok":
                        break
                else:
                    runs.append(result)
                    if job.stop_on_first_failure and result["status"] != "ok":
                        break
        finally:
            clean = wipe(job.workdir) and wipe(build) and self._scrub() and clean
            clean = clean and zygote_ok()
        return {
            "id": rid,
            "compile": compiled,
            "runs": runs,
            "leftover_processes_killed": killed,
            "clean": clean,
            "env_dropped": job.env_dropped,
        }

    @staticmethod
    def _enter(job: Job, workdir: str) -> None:
        job.workdir = workdir
        job.env = {"PATH": SAFE_PATH, "HOME": workdir, "TMPDIR": workdir}
        job.env.update({"LANG": "C.UTF-8", **job.user_env})

    def cleanup(self) -> dict[str, Any]:
        """Kill every sandbox process and remove every run dir: the pool's health check."""
        killed, clean = sweep(set(), self.uids_seen, self.same_uid)
        runs = [
            os.path.join(self.base, n) for n in os.listdir(self.base) if n.startswith(RUN_PREFIX)
        ]
        wiped = sorted(set(runs + self._scrub_listing()))
        clean = all([wipe(path) for path in wiped]) and clean
        return {"op": "cleanup", "killed": killed, "wiped": wiped, "clean": clean}

    def _send(self, out_fd: int, reply: dict[str, Any]) -> None:
        try:
            frame = encode_frame(reply, self.max_frame_bytes)
        except ValueError as exc:  # FrameTooLarge included
            frame = encode_frame(_error(reply.get("id"), "internal", f"cannot send reply: {exc}"))
        view = memoryview(frame)
        while view:
            view = view[os.write(out_fd, view) :]

    def _write_files(self, job: Job) -> None:
        if job.uid is not None:
            os.chown(job.workdir, job.uid, job.uid)
        for name, data in job.files.items():
            path = job.workdir
            try:
                for part in name.split("/")[:-1]:
                    path = os.path.join(path, part)
                    if not os.path.isdir(path):
                        os.mkdir(path, 0o755)
                        own(path, job.uid)
                path = os.path.join(job.workdir, name)
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
                fd = os.open(path, flags, 0o644)
            except OSError as exc:
                raise BadRequest(f"cannot create {name!r} in the work dir: {exc}") from None
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
            own(path, job.uid)

    def _scrub_listing(self) -> list[str]:
        paths: list[str] = []
        for directory in self.scrub_dirs:
            with contextlib.suppress(OSError):
                paths += [os.path.join(directory, n) for n in sorted(os.listdir(directory))]
        return paths

    def _scrub(self, keep: str = "") -> bool:
        return all([wipe(path) for path in self._scrub_listing() if path != keep])


def _become_subreaper() -> bool:
    """Make orphaned descendants (double-forked daemons) our children, so sweeps find them."""
    try:
        import ctypes

        return bool(ctypes.CDLL(None).prctl(36, 1, 0, 0, 0) == 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def _on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through serve(), whose finally cleans up


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python3 -I /opt/rlvr/supervisor [--workdir-base DIR] ...``."""
    parser = argparse.ArgumentParser(description="rlvr-gym in-sandbox supervisor")
    parser.add_argument(
        "--workdir-base", default="/work", help="existing dir holding each request's fresh dir"
    )
    parser.add_argument("--max-frame-bytes", type=int, default=MAX_FRAME_BYTES)
    parser.add_argument(
        "--kill-all-same-uid",
        action="store_true",
        help="treat every other process of our uid as sandbox (non-root only; implied as a "
        "non-root PID 1, i.e. a container's init)",
    )
    parser.add_argument(
        "--python-fork",
        action="store_true",
        help="run `python3 <script>` programs in the forked child, without an exec (faster; "
        "see pyfork: the run's memory holds a copy of the request)",
    )
    parser.add_argument(
        "--scrub-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="dir whose every entry is removed after each request (repeatable)",
    )
    parser.add_argument("--zygote", type=int, metavar="FD", help=argparse.SUPPRESS)
    parser.add_argument(
        "--preload-dir",
        metavar="DIR",
        help="with --python-fork: trusted modules (*.py) the zygote imports up front",
    )
    args = parser.parse_args(argv)
    if args.zygote is not None:
        return serve_zygote(args.zygote, args.preload_dir)
    if not os.path.isdir(args.workdir_base):
        parser.error(f"--workdir-base {args.workdir_base!r} is not a directory")
    container_init = os.getpid() == 1 and os.geteuid() != 0
    same_uid = args.kill_all_same_uid or container_init
    if same_uid and os.geteuid() == 0:
        parser.error("--kill-all-same-uid as root would kill every root process; drop it")
    scrub = args.scrub_dir or ([args.workdir_base, "/tmp", "/dev/shm"] if container_init else [])
    scrub = sorted({os.path.abspath(path) for path in scrub})
    proto_in, proto_out = os.dup(0), os.dup(1)  # private copies, closed on exec
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # a stray print must never corrupt the protocol stream
    os.close(devnull)
    if container_init:
        # As a container's init with default dispositions, the kernel drops every signal
        # sent from inside the container (SIGKILL included): the program, same uid as us,
        # could otherwise end us with SIGTERM/SIGINT and turn its verdict into infra_error.
        # The pool stops containers with SIGKILL from outside, which still works.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        # Programs run with our uid: non-dumpable, our /proc/1 files (oom_score_adj, environ,
        # mem) belong to root and ptrace is refused, so a program cannot make the OOM killer
        # pick us (turning its memory_limit into infra_error) nor tamper with us.
        set_dumpable(False)
    else:
        signal.signal(signal.SIGTERM, _on_sigterm)
    _become_subreaper()
    if args.python_fork:
        # PYTHONHASHSEED=0: every forked run hashes alike, in every container, so a
        # reference and a candidate judged in different containers order sets alike.
        env = {"PATH": SAFE_PATH, "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}
        package = os.path.dirname(os.path.abspath(__file__))
        zygote = enable_python_fork(package, env, args.preload_dir)
        KEEP.add(zygote.pid)
    base = os.path.abspath(args.workdir_base)
    with os.fdopen(proto_in, "rb", buffering=0) as reader:
        return Supervisor(base, args.max_frame_bytes, same_uid, scrub).serve(reader, proto_out)


if __name__ == "__main__":
    sys.exit(main())

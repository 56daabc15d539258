"""In-sandbox supervisor: runs untrusted programs one request at a time, reports raw facts.

A long-lived process reading length-prefixed JSON requests on stdin and writing one reply
per request on stdout (messages: ``rlvr_gym/sandbox/protocol.py``). A fresh container per
program costs ~250 ms; a fork from this process costs ~2 ms.

Protects against, per execution:
  * runaway programs: RLIMIT_CPU (SIGXCPU, hard limit one second later), a wall deadline
    enforced by SIGKILL to the program's process group, RLIMIT_AS/NPROC/FSIZE/NOFILE, no
    core dumps;
  * output floods and pipe deadlocks: stdin is fed and stdout/stderr drained by one
    ``selectors`` loop, each stream kept up to ``output_bytes``. Past the cap the program is
    killed and reported as ``output_limit``: its answer is wrong anyway, and killing it
    frees the CPU now instead of at the deadline. (The compile step is only truncated.)
  * escapes through the API: file names must be relative, without ``..`` or NUL; files are
    created O_EXCL|O_NOFOLLOW in a fresh empty dir; environment keys that steer loaders and
    interpreters (``LD_*``, ``PYTHON*``, ...) are dropped and listed in the reply;
  * leftovers: after every run each process of the run - its session, every descendant
    (we are a child subreaper, so double-forked daemons come back to us) and, with a
    ``uid``, every process of that uid - is SIGKILLed; in a batch each input runs in a
    fresh copy of the build dir (files and compiler output); after every request the work
    dirs are removed, read-only files and dirs included;
  * itself: a bad frame or request gets an error reply, never a crash; no deadline depends
    on the program's cooperation; it reports facts (status, exit code, output, usage) and
    the verdict on the answer is decided on the trusted side.

Relies on the container (or bubblewrap) for: no network, a read-only root and a size-capped
tmpfs work dir, a cgroup memory limit (RLIMIT_AS misses tmpfs and shared memory), a pids
limit (RLIMIT_NPROC counts per uid across every container on the kernel), dropped
capabilities and no-new-privileges. A ``uid`` (group = uid, no supplementary groups) needs a
root supervisor. Run as a non-root PID 1 (a container's init) it treats every other process
of its uid as sandbox and wipes the work dir base, /tmp and /dev/shm after each request.

Statuses: ``timeout`` = killed at the wall deadline or by the CPU limit; ``output_limit`` =
killed for output; ``memory_limit`` = SIGKILLed by someone else (the OOM killer) or a
memory-error signature (MemoryError, std::bad_alloc, ENOMEM text) ends stderr - a program
can fake that, which only turns one failure into another; ``runtime_error`` = any other
non-zero exit or signal (exit 127 and a ``supervisor:`` line on stderr when the command
cannot be executed); ``ok`` = exit 0. ``max_rss_bytes`` includes the forked supervisor's
few MB before exec. Once the main process exits its pipes are read to end of file, for at
most ``_PIPE_GRACE_S`` (a background process may hold them), then its group is killed.

Stdlib only, Python >= 3.9: this package is copied into the sandbox image as a directory and
run as ``python3 -I /opt/rlvr/supervisor``; it never imports ``rlvr_gym`` (its modules use
relative imports only), and ``rlvr_gym.sandbox.protocol`` re-exports its framing, so both
ends of the pipe run the same code. Modules: ``framing`` (frames, file names), ``job``
(request validation), ``runner`` (one program), ``zygote`` (the clean process Python
runs are forked from), ``pyfork`` (Python without exec), ``cleanup`` (leftover processes
and files), ``server`` (the loop and ``main``).
"""

from __future__ import annotations

from .cleanup import sweep, wipe
from .framing import (
    HEADER,
    LIMIT_KEYS,
    MAX_FRAME_BYTES,
    MAX_NAME_BYTES,
    PROTOCOL_VERSION,
    FrameError,
    FrameTooLarge,
    check_file_name,
    decode_payload,
    encode_frame,
    read_frame,
)
from .job import BadRequest, Job
from .runner import SAFE_PATH, run_program
from .server import RUN_PREFIX, Supervisor, main

__all__ = [
    "HEADER",
    "LIMIT_KEYS",
    "MAX_FRAME_BYTES",
    "MAX_NAME_BYTES",
    "PROTOCOL_VERSION",
    "RUN_PREFIX",
    "SAFE_PATH",
    "BadRequest",
    "FrameError",
    "FrameTooLarge",
    "Job",
    "Supervisor",
    "check_file_name",
    "decode_payload",
    "encode_frame",
    "main",
    "read_frame",
    "run_program",
    "sweep",
    "wipe",
]

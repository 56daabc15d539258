"""Python programs without an exec: the forked child becomes the interpreter running them.

Why: a fresh ``python3`` costs 10-15 ms before the first line of the program runs (the
interpreter, ``site``, then the modules the program imports, ``typing`` alone a few ms),
most of a short test's run. The zygote (``zygote.py``) is a ``python3`` of the same
image that imported a set of common modules (:data:`PRELOAD`) and the image's trusted
modules before any request, and never sees request data; the child it forks for a run
runs the program in place. The run then costs a fork.

What the program sees matches ``python3 main.py`` run in the work dir: ``__main__`` is a
fresh module, ``sys.argv``, ``sys.path`` (the script's dir first, then the interpreter's
own path), ``os.environ``, new ``sys.stdin``/``stdout``/``stderr`` objects on the pipes,
Python's own signal dispositions (SIGINT raises KeyboardInterrupt, SIGPIPE and SIGXFSZ
ignored), the same recursion depth, and the interpreter's exit rules (``SystemExit``
codes, tracebacks on stderr and exit 1, death by SIGINT after KeyboardInterrupt,
non-daemon threads joined, ``atexit`` handlers, files held by module globals flushed, 120
when stdout cannot be flushed). Differences a program could notice: ``sys.flags`` are
those of ``python3 -I`` (isolated), ``sys.getrecursionlimit()`` is a little above 1000,
preloaded modules are already in ``sys.modules`` (their import-time side effects happened
earlier), hashing is not randomised (``PYTHONHASHSEED=0`` in every container, so set
orders are reproducible across containers), ``sys.orig_argv`` names the zygote, and the
address-space limit is raised by what the preloaded modules take. A program that needs
the exact interpreter runs ``/usr/bin/python3 main.py``: only the argv ``python3
<script>`` takes this path.

Enabled by the supervisor's ``--python-fork`` flag (the Docker backend sets it); only
where the zygote runs on the interpreter ``python3`` resolves to, so the program's stdlib
is the one it would have had.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import io
import os
import signal
import sys
from types import TracebackType
from typing import NoReturn

# Imported once by the supervisor, shared copy-on-write by every run. Pure-stdlib modules
# that code datasets commonly import and that start no threads; numpy stays out (it maps
# hundreds of MB of address space, which would count against every run's RLIMIT_AS).
PRELOAD = (
    "abc", "array", "atexit", "bisect", "collections", "copy", "dataclasses", "datetime",
    "decimal", "enum", "fractions", "functools", "hashlib", "heapq", "io", "itertools",
    "json", "math", "operator", "random", "re", "statistics", "string", "sys", "textwrap",
    "threading", "traceback", "types", "typing", "unittest",
)  # fmt: skip

_BASE_PATH: list[str] = []
EXTRA_AS = [0]
"""Address space the preloaded modules take (bytes): added to a forked run's RLIMIT_AS,
so a program gets the memory it would have had in a fresh interpreter."""


def _vm_size() -> int:
    try:
        with open("/proc/self/status") as fh:
            return next(int(ln.split()[1]) * 1024 for ln in fh if ln.startswith("VmSize:"))
    except (OSError, StopIteration, ValueError):
        return 0


def prepare(supervisor_dir: str, preload_dir: str | None = None) -> None:
    """Import :data:`PRELOAD` and the trusted modules of ``preload_dir``; note ``sys.path``.

    Called once at start-up, before any request: what runs inherit holds no request data.
    The modules of ``preload_dir`` (baked into the image: the call judge's harness) are
    then already compiled and imported when a run asks for them.
    """
    drop = {os.path.abspath(supervisor_dir), os.path.dirname(os.path.abspath(supervisor_dir))}
    _BASE_PATH[:] = [p for p in sys.path if p and os.path.abspath(p) not in drop]
    before = _vm_size()
    names = list(PRELOAD)
    if preload_dir and os.path.isdir(preload_dir):
        sys.path.insert(0, preload_dir)
        names += sorted(n[:-3] for n in os.listdir(preload_dir) if n.endswith(".py"))
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as exc:  # a missing optional module only costs speed
            sys.stderr.write(f"rlvr-supervisor: cannot preload {name}: {exc}\n")
    if preload_dir and sys.path[:1] == [preload_dir]:
        del sys.path[0]
    EXTRA_AS[0] = max(0, _vm_size() - before)
    # Move every object so far out of the collector's reach: a forked run's collections
    # then never walk (and copy-on-write fault in) the preloaded heap.
    gc.collect()
    gc.freeze()


def python_script(argv: list[str], python3: str | None) -> str | None:
    """The script to run in a forked child, or ``None`` when ``argv`` needs a real exec.

    Only ``python3 <script> [args...]`` qualifies, and only when ``python3`` on the safe
    PATH is the interpreter the supervisor runs on.
    """
    if len(argv) < 2 or argv[0] != "python3" or argv[1].startswith("-") or not python3:
        return None
    try:
        same = os.path.samefile(python3, sys.executable)
    except OSError:
        return None
    return argv[1] if same else None


def run_script(script: str, argv: list[str], env: dict[str, str]) -> NoReturn:
    """In the forked child, after fds, limits and uid are set: run ``script``, then exit."""
    sys.argv = [script, *argv[2:]]
    sys.path[:] = [os.path.dirname(os.path.abspath(script)), *_BASE_PATH]
    os.environ.clear()
    os.environ.update(env)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for sig in (signal.SIGPIPE, signal.SIGXFSZ):
        signal.signal(sig, signal.SIG_IGN)
    _new_stdio()
    module = type(sys)("__main__")
    path = os.path.abspath(script)
    module.__dict__.update({"__file__": path, "__cached__": None, "__builtins__": __builtins__})
    sys.modules["__main__"] = module
    # The program starts a few frames down the supervisor's stack: give it those back, plus
    # the two levels exec() itself adds (CPython 3.11; a test compares with a real exec),
    # so RecursionError comes at the same depth as under python3.
    sys.setrecursionlimit(sys.getrecursionlimit() + _depth() + 2)
    code, interrupted = 0, False
    try:
        with open(path, "rb") as fh:
            program = compile(fh.read(), path, "exec", dont_inherit=True)
        exec(program, module.__dict__)
    except SystemExit as exc:
        code = _exit_code(exc)
    except BaseException as exc:
        interrupted = isinstance(exc, KeyboardInterrupt)
        code = _report(type(exc), exc, exc.__traceback__)
    code = _finish(code)
    if interrupted:  # like python3: die of the signal, so the parent sees it
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    os._exit(code)


def _depth() -> int:
    """Frames on the stack below our caller (this function's own frame not counted)."""
    frame, depth = sys._getframe(1), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1  # type: ignore[assignment]
    return depth


def _new_stdio() -> None:
    """Fresh text streams on fds 0-2, configured as ``python3`` configures them for pipes."""
    streams = {
        "stdin": io.TextIOWrapper(
            io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding="utf-8"
        ),
        "stdout": io.TextIOWrapper(
            io.BufferedWriter(io.FileIO(1, "w", closefd=False)), encoding="utf-8"
        ),
        "stderr": io.TextIOWrapper(
            io.BufferedWriter(io.FileIO(2, "w", closefd=False)),
            encoding="utf-8",
            errors="backslashreplace",
            line_buffering=True,
        ),
    }
    for name, stream in streams.items():
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)


def _exit_code(exc: SystemExit) -> int:
    """The process exit status ``python3`` derives from an uncaught ``SystemExit``."""
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    with contextlib.suppress(BaseException):
        print(code, file=sys.stderr)
    return 1


def _report(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> int:
    """Print an uncaught exception through ``sys.excepthook``, as the interpreter does.

    Our own frame (``run_script``) is cut from the traceback, so the program's traceback
    reads exactly as under ``python3`` (a SyntaxError shows no traceback at all).
    """
    if tb is not None and tb.tb_frame.f_code is run_script.__code__:
        tb = tb.tb_next
        value.__traceback__ = tb
    try:
        sys.excepthook(kind, value, tb)
    except SystemExit as exc:
        return _exit_code(exc)
    except BaseException:
        with contextlib.suppress(BaseException):
            os.write(2, f"{kind.__name__}: {value}\n".encode(errors="replace"))
    return 1


def _finish(code: int) -> int:
    """Interpreter shutdown: join threads, run atexit, flush files; returns the exit code."""
    threading = sys.modules.get("threading")
    try:
        if threading is not None:
            threading._shutdown()  # joins non-daemon threads
        atexit = sys.modules.get("atexit")
        if atexit is not None:
            atexit._run_exitfuncs()
    except SystemExit as exc:
        code = _exit_code(exc)
    except BaseException as exc:
        code = _report(type(exc), exc, exc.__traceback__)
    try:
        sys.stdout.flush()
    except BaseException:
        code = 120  # what python3 exits with when flushing stdout fails
    with contextlib.suppress(BaseException):
        sys.stderr.flush()
    # Files the program left open: finalisation would flush them when clearing the module.
    # Those held by module globals are the common case (others were flushed when their last
    # reference went); scanning every object of the heap instead costs milliseconds a run.
    main = sys.modules.get("__main__")
    for obj in list(getattr(main, "__dict__", {}).values()):
        if isinstance(obj, io.IOBase):
            with contextlib.suppress(BaseException):
                obj.flush()
    return code

"""Python runs forked from the supervisor behave like ``python3 main.py``; batch runs are fresh.

Each program runs twice in the same container: as ``python3 main.py`` (forked, no exec)
and as ``/usr/bin/python3 main.py`` (a real exec, which the fork path never takes). The
observable results must agree: status, exit code, signal, stdout and stderr.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator

import pytest

from rlvr_gym.sandbox.api import Language, Sandbox
from rlvr_gym.sandbox.types import ExecutionLimits, ExecutionRequest
from tests.sandbox.test_docker_pool import needs_docker

pytestmark = [pytest.mark.docker, needs_docker]

LIMITS = ExecutionLimits(cpu_s=2, wall_s=5)
EXEC = Language("main.py", None, ("/usr/bin/python3", "main.py"))

PROGRAMS = {
    "exit_code": "import sys\nprint('x')\nsys.exit(3)",
    "exit_message": "import sys\nsys.exit('bad input')",
    "exit_none": "raise SystemExit",
    "exit_large": "import sys\nsys.exit(256 + 7)",
    "exception": "def f():\n    raise ValueError('boom')\nf()",
    "syntax_error": "def f(:\n    pass",
    "stdin_echo": "import sys\nprint(sys.stdin.read().upper(), end='')",
    "input_eof": "input()\ninput()",
    "atexit": "import atexit\natexit.register(lambda: print('bye'))\nprint('hi')",
    "thread_joined": (
        "import threading, time\n"
        "def w():\n    time.sleep(0.05)\n    print('late')\n"
        "threading.Thread(target=w).start()\nprint('early')"
    ),
    "os_exit_drops_buffer": "import os\nprint('lost')\nos._exit(4)",
    "flush_then_os_exit": "import os, sys\nprint('kept')\nsys.stdout.flush()\nos._exit(0)",
    "name_and_argv": "import sys\nprint(__name__, sys.argv, __file__.endswith('/main.py'))",
    "path_and_env": (
        "import os, sys\nprint(sys.path[0] == os.getcwd(), os.environ['HOME'] == os.getcwd())"
    ),
    "local_import": "import helper\nprint(helper.VALUE)",
    "unicode": "print('héllo ✓')\nimport sys\nsys.stderr.write('ß\\n')",
    "broken_pipe_ignored": "import signal\nprint(signal.getsignal(signal.SIGPIPE))",
    "sigint_handler": "import signal\nprint(signal.getsignal(signal.SIGINT).__name__)",
    "keyboard_interrupt": "raise KeyboardInterrupt",
    "recursion": "import sys\ndef f(n):\n    return f(n + 1)\nf(0)",
    "main_guard": "def main():\n    print('ran')\nif __name__ == '__main__':\n    main()",
    "pickle_main": (
        "import pickle\nclass P:\n    pass\nprint(type(pickle.loads(pickle.dumps(P()))).__name__)"
    ),
    "stderr_unflushed": "import sys\nsys.stderr.write('no newline')",
    "random_differs": "import random\nprint(random.random() != 0.5)",
}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(backend="docker", pool_size=1, limits=LIMITS) as box:
        yield box


def _observe(sandbox: Sandbox, language: Language, source: str, stdin: bytes) -> tuple[object, ...]:
    files = {"main.py": source.encode(), "helper.py": b"VALUE = 42\n"}
    request = ExecutionRequest(run=list(language.run), files=files, inputs=(stdin,), limits=LIMITS)
    run = sandbox.backend.execute(request).runs[0]
    stderr = re.sub(r"rlvr-run-\w+", "rlvr-run-X", run.stderr_text)
    return run.status, run.exit_code, run.signal, run.stdout_text, stderr


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_forked_python_matches_exec(sandbox: Sandbox, name: str) -> None:
    source = textwrap.dedent(PROGRAMS[name])
    forked = _observe(sandbox, Language("main.py", None, ("python3", "main.py")), source, b"ab")
    execed = _observe(sandbox, EXEC, source, b"ab")
    assert forked == execed


def test_the_fork_path_is_taken_only_for_plain_python3(sandbox: Sandbox) -> None:
    # Forked runs are children of the zygote; exec'd ones of the supervisor (PID 1).
    source = "import os\nprint(os.getppid() == 1)"
    plain = Language("main.py", None, ("python3", "main.py"))
    assert _observe(sandbox, plain, source, b"")[3] == "False\n"
    assert _observe(sandbox, EXEC, source, b"")[3] == "True\n"


def test_forked_runs_hold_no_request_data(sandbox: Sandbox) -> None:
    # The zygote never sees a request: a run cannot find another run's input (or its
    # own stdin before reading it) in its memory.
    secret = "rlvr-secret-" + "7" * 24
    sandbox.run("import sys\nsys.stdin.read()", stdin=secret)
    # The scan holds the prefix and the length, never the whole secret, so it cannot find
    # a copy of its own making.
    scan = textwrap.dedent(
        """
        import sys
        prefix, n = b"rlvr-secret-", int(sys.argv[0] != "") * 24
        sevens = b"7" * n
        found = 0
        with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", 0) as mem:
            for line in maps:
                span, perms = line.split()[:2]
                if "r" not in perms or "[vvar]" in line or "[vsyscall]" in line:
                    continue
                lo, hi = (int(x, 16) for x in span.split("-"))
                try:
                    mem.seek(lo)
                    chunk = mem.read(hi - lo)
                except OSError:
                    continue
                at = chunk.find(prefix)
                while at >= 0:
                    found += chunk[at + len(prefix) : at + len(prefix) + n] == sevens
                    at = chunk.find(prefix, at + 1)
        print(found)
        """
    )
    result = sandbox.run(scan, stdin="not read")
    assert (result.status, result.stdout) == ("ok", "0\n"), result.stderr
    control = sandbox.run("import sys\ndata = sys.stdin.read()\n" + scan, stdin=secret)
    assert control.status == "ok" and int(control.stdout) >= 1  # the scan does find it
    unread = sandbox.run(scan + "\nimport sys\nsys.stdin.read()\n", stdin=secret)
    assert unread.stdout == "0\n"  # stdin not read yet is in the pipe, not in memory


def test_batch_runs_do_not_see_each_others_files(sandbox: Sandbox) -> None:
    source = textwrap.dedent(
        """
        import os, sys
        seen = sorted(os.listdir(".")) + sorted(os.listdir("/tmp")) + sorted(os.listdir("/dev/shm"))
        print(seen)
        for path in ("mark", "/tmp/mark", "/dev/shm/mark"):
            open(path, "w").write(sys.stdin.read() or "x")
        with open("main.py", "a") as fh:
            fh.write("\\nprint('tampered')\\n")
        """
    )
    results = sandbox.run_batch(source, ["1", "2", "3"])
    assert [r.status for r in results] == ["ok"] * 3
    assert [r.stdout for r in results] == ["['main.py']\n"] * 3


def test_batch_cpp_binary_is_available_to_every_run(sandbox: Sandbox) -> None:
    source = textwrap.dedent(
        """
        #include <cstdio>
        #include <cstdlib>
        int main() {
            int x; if (scanf("%d", &x) != 1) return 1;
            FILE *f = fopen("main", "w");  // try to clobber the binary for the next run
            if (f) fclose(f);
            printf("%d\\n", x * 2);
        }
        """
    )
    results = sandbox.run_batch(source, ["1", "2", "3"], language="cpp")
    assert [(r.status, r.stdout) for r in results] == [("ok", "2\n"), ("ok", "4\n"), ("ok", "6\n")]


def test_batch_stops_at_first_failure_when_asked(sandbox: Sandbox) -> None:
    source = "n = int(input())\nassert n != 2\nprint(n)"
    results = sandbox.run_batch(source, ["1", "2", "3"], stop_on_first_failure=True)
    assert [(r.status, r.stdout) for r in results] == [("ok", "1\n"), ("runtime_error", "")]
    every = sandbox.run_batch(source, ["1", "2", "3"])
    assert [r.status for r in every] == ["ok", "runtime_error", "ok"]


def test_a_language_object_selects_the_real_interpreter(sandbox: Sandbox) -> None:
    result = sandbox.run("import sys\nprint(sys.flags.isolated)", language=EXEC)
    assert (result.status, result.stdout) == ("ok", "0\n")

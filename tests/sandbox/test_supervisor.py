"""The in-sandbox supervisor, run for real as a subprocess (no Docker needed).

Most tests go through :class:`ProcessSandbox` (typed API, real supervisor, plain process);
protocol-level tests (bad file names, malformed frames) talk raw frames to a supervisor.
Every execution also asserts cleanliness: the reply says nothing was left behind.
Programs here are benign: hostile ones (fork bombs, disk fills) belong to the Docker suite.
"""

from __future__ import annotations

import ast
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr_gym.errors import ConfigError
from rlvr_gym.sandbox import protocol
from rlvr_gym.sandbox import supervisor as sup
from rlvr_gym.sandbox.errors import SandboxError
from rlvr_gym.sandbox.process_backend import (
    SANDBOX_UID,
    SUPERVISOR_PATH,
    ProcessSandbox,
    bwrap_available,
)
from rlvr_gym.sandbox.types import (
    ExecutionLimits,
    ExecutionRequest,
    ExecutionResponse,
    RunResult,
)

MiB = 1024 * 1024
LIMITS = ExecutionLimits(cpu_s=5, wall_s=10, memory_bytes=512 * MiB, output_bytes=MiB)
BIG_OUTPUT = ExecutionLimits(cpu_s=5, wall_s=10, memory_bytes=512 * MiB, output_bytes=4 * MiB)
COMPILE_LIMITS = ExecutionLimits(cpu_s=60, wall_s=120, memory_bytes=2048 * MiB, output_bytes=MiB)
MARGIN_S = 5.0  # the wall contract: a timeout is reported within wall_s + this
IS_ROOT = os.geteuid() == 0
needs_gpp = pytest.mark.skipif(
    not Path("/usr/bin/g++").exists() and not Path("/usr/local/bin/g++").exists(),
    reason="g++ not installed",
)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[ProcessSandbox]:
    with ProcessSandbox(bwrap=False) as box:
        yield box


def py(
    source: str, *inputs: bytes, limits: ExecutionLimits = LIMITS, **kw: Any
) -> ExecutionRequest:
    files = {"main.py": textwrap.dedent(source).encode()}
    return ExecutionRequest(
        run=["python3", "main.py"], files=files, inputs=inputs or (b"",), limits=limits, **kw
    )


def execute(box: ProcessSandbox, request: ExecutionRequest) -> ExecutionResponse:
    response = box.execute(request)
    assert response.clean, response
    return response


def run1(box: ProcessSandbox, request: ExecutionRequest) -> RunResult:
    response = execute(box, request)
    assert len(response.runs) == 1, response
    return response.runs[0]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


# --- ordinary programs ---------------------------------------------------------------


def test_python_hello_world(sandbox: ProcessSandbox) -> None:
    result = run1(sandbox, py("print('hello, world')"))
    assert (result.status, result.exit_code, result.signal) == ("ok", 0, None)
    assert result.stdout == b"hello, world\n" and result.stderr == b""
    assert result.wall_s > 0 and result.max_rss_bytes > 0


def test_stdin_is_fed_and_closed(sandbox: ProcessSandbox) -> None:
    result = run1(sandbox, py("import sys; sys.stdout.write(sys.stdin.read()[::-1])", b"abc\n"))
    assert result.status == "ok" and result.stdout == b"\ncba"


def test_blocking_read_on_empty_stdin_returns(sandbox: ProcessSandbox) -> None:
    result = run1(sandbox, py("import sys; data = sys.stdin.buffer.read(); print(len(data))"))
    assert result.status == "ok" and result.stdout == b"0\n"


def test_batch_runs_once_per_input_in_order(sandbox: ProcessSandbox) -> None:
    inputs = [f"{i} {i * 10}\n".encode() for i in range(5)]
    source = "a, b = map(int, input().split()); print(a + b)"
    response = execute(sandbox, py(source, *inputs))
    assert [r.status for r in response.runs] == ["ok"] * 5
    assert [r.stdout for r in response.runs] == [f"{i * 11}\n".encode() for i in range(5)]


def test_stop_on_first_failure_skips_the_rest(sandbox: ProcessSandbox) -> None:
    source = "import sys; n = int(input()); sys.exit(1 if n == 2 else 0)"
    request = py(source, b"1", b"2", b"3", stop_on_first_failure=True)
    response = execute(sandbox, request)
    assert [r.status for r in response.runs] == ["ok", "runtime_error"]


@needs_gpp
def test_cpp_compiles_once_and_runs_each_input(sandbox: ProcessSandbox) -> None:
    source = b"#include <iostream>\nint main(){long a,b; std::cin>>a>>b; std::cout<<a*b<<'\\n';}"
    request = ExecutionRequest(
        compile=["g++", "-O2", "-o", "main", "main.cpp"],
        run=["./main"],
        files={"main.cpp": source},
        inputs=[b"6 7", b"-3 5"],
        limits=LIMITS,
        compile_limits=COMPILE_LIMITS,
    )
    response = execute(sandbox, request)
    assert response.compile is not None and response.compile.status == "ok"
    assert [r.stdout for r in response.runs] == [b"42\n", b"-15\n"]


@needs_gpp
def test_cpp_compile_error_skips_the_runs(sandbox: ProcessSandbox) -> None:
    request = ExecutionRequest(
        compile=["g++", "-o", "main", "main.cpp"],
        run=["./main"],
        files={"main.cpp": b"int main() { return undeclared; }"},
        inputs=[b"", b""],
        limits=LIMITS,
        compile_limits=COMPILE_LIMITS,
    )
    response = execute(sandbox, request)
    assert response.compile is not None and response.compile.status == "compile_error"
    assert b"undeclared" in response.compile.stderr and response.compile.exit_code != 0
    assert response.runs == ()


def test_unknown_command_is_a_runtime_error_with_a_message(sandbox: ProcessSandbox) -> None:
    result = run1(sandbox, ExecutionRequest(run=["no-such-interpreter-xyz"], limits=LIMITS))
    assert (result.status, result.exit_code) == ("runtime_error", 127)
    assert b"supervisor: command not found" in result.stderr


# --- limits and failure statuses -----------------------------------------------------


def test_busy_loop_is_stopped_by_the_cpu_limit(sandbox: ProcessSandbox) -> None:
    limits = ExecutionLimits(cpu_s=1, wall_s=30)
    result = run1(sandbox, py("while True: pass", limits=limits))
    assert result.status == "timeout" and result.signal == signal.SIGXCPU
    assert result.wall_s < limits.wall_s  # the CPU limit fired, not the wall deadline


def test_sleep_is_stopped_at_the_wall_deadline(sandbox: ProcessSandbox) -> None:
    limits = ExecutionLimits(cpu_s=5, wall_s=1)
    start = time.monotonic()
    result = run1(sandbox, py("import time; time.sleep(10)", limits=limits))
    elapsed = time.monotonic() - start
    assert result.status == "timeout" and result.signal == signal.SIGKILL
    assert elapsed < limits.wall_s + MARGIN_S


def test_nonzero_exit_is_a_runtime_error(sandbox: ProcessSandbox) -> None:
    result = run1(sandbox, py("import sys; print('partial'); sys.exit(3)"))
    assert (result.status, result.exit_code, result.signal) == ("runtime_error", 3, None)
    assert result.stdout == b"partial\n"


def test_death_by_signal_is_reported(sandbox: ProcessSandbox) -> None:
    result = run1(sandbox, py("import os, signal; os.kill(os.getpid(), signal.SIGTERM)"))
    assert (result.status, result.exit_code, result.signal) == ("runtime_error", None, 15)


def test_python_exception_is_a_runtime_error(sandbox: ProcessSandbox) -> None:
    result = run1(sandbox, py("raise ValueError('boom')"))
    assert result.status == "runtime_error" and b"ValueError: boom" in result.stderr


MEMORY_CASES = {
    "python": py("x = bytearray(2 * 1024**3)", limits=ExecutionLimits(memory_bytes=256 * MiB)),
    "python-list": py(
        "x = [0] * (2 * 1024**3 // 8)", limits=ExecutionLimits(memory_bytes=256 * MiB)
    ),
}


@pytest.mark.parametrize("name", sorted(MEMORY_CASES))
def test_allocating_2gb_under_256mb_is_a_memory_limit(sandbox: ProcessSandbox, name: str) -> None:
    result = run1(sandbox, MEMORY_CASES[name])
    assert result.status == "memory_limit", result.stderr_text


@needs_gpp
def test_cpp_bad_alloc_is_a_memory_limit(sandbox: ProcessSandbox) -> None:
    source = b"""#include <cstring>
        int main() { char* p = new char[2000000000]; std::memset(p, 1, 2000000000); return *p; }"""
    request = ExecutionRequest(
        compile=["g++", "-o", "main", "main.cpp"],
        run=["./main"],
        files={"main.cpp": source},
        limits=ExecutionLimits(memory_bytes=256 * MiB),
        compile_limits=COMPILE_LIMITS,
    )
    result = run1(sandbox, request)
    assert result.status == "memory_limit" and b"std::bad_alloc" in result.stderr


# --- output capture ------------------------------------------------------------------


def pattern(size: int) -> bytes:
    return bytes(i * 7 % 251 for i in range(251)) * (size // 251) + b"x" * (size % 251)


@pytest.mark.parametrize(
    ("stream", "size"),
    [("stdout", 2 * MiB), ("stderr", 150 * 1024), ("stdout", 150 * 1024), ("stderr", 2 * MiB)],
)
def test_large_output_is_captured_exactly(sandbox: ProcessSandbox, stream: str, size: int) -> None:
    source = f"""
        import sys
        data = bytes(i * 7 % 251 for i in range(251)) * ({size} // 251) + b"x" * ({size} % 251)
        sys.{stream}.buffer.write(data)
    """
    result = run1(sandbox, py(source, limits=BIG_OUTPUT))
    assert result.status == "ok"
    assert getattr(result, stream) == pattern(size)
    assert not result.stdout_truncated and not result.stderr_truncated


def test_one_huge_line_on_both_streams(sandbox: ProcessSandbox) -> None:
    source = "import sys; sys.stdout.write('a' * 2**20); sys.stderr.write('b' * 2**20)"
    result = run1(sandbox, py(source, limits=BIG_OUTPUT))
    assert result.status == "ok"
    assert result.stdout == b"a" * 2**20 and result.stderr == b"b" * 2**20


@pytest.mark.parametrize(
    "source",
    [
        "import sys; sys.stdout.buffer.write(bytes(range(256)) * 400)",  # 100 KB, then exits
        "import sys\nwhile True: sys.stdout.write('y' * 4096)",  # runaway: never exits
    ],
)
def test_output_over_the_cap_is_truncated_and_killed(sandbox: ProcessSandbox, source: str) -> None:
    limits = ExecutionLimits(output_bytes=10 * 1024, wall_s=30)
    result = run1(sandbox, py(source, limits=limits))
    assert result.status == "output_limit" and result.stdout_truncated
    assert len(result.stdout) == 10 * 1024
    expected = (bytes(range(256)) * 400)[:10240] if "range" in source else b"y" * 10240
    assert result.stdout == expected


def test_invalid_utf8_and_nul_bytes_round_trip(sandbox: ProcessSandbox) -> None:
    junk = b"\xff\xfe\x00abc\x00\x80\xc3(\xed\xa0\x80"
    source = f"import sys; sys.stdout.buffer.write({junk!r}); sys.stderr.buffer.write({junk!r})"
    result = run1(sandbox, py(source))
    assert result.stdout == junk and result.stderr == junk
    assert "\ufffd" in result.stdout_text  # decodes safely for display


def test_stdin_with_nul_and_invalid_utf8_arrives_intact(sandbox: ProcessSandbox) -> None:
    data = b"\x00\xff" * 100_000 + b"\xc3"
    source = "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read())"
    result = run1(sandbox, py(source, data))
    assert result.status == "ok" and result.stdout == data


# --- API abuse: file names, environment ------------------------------------------------


class RawSupervisor:
    """A supervisor spoken to in raw frames."""

    def __init__(self, base: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-I", str(SUPERVISOR_PATH), "--workdir-base", str(base), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def send(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def recv(self) -> dict[str, Any] | None:
        assert self.proc.stdout is not None
        return protocol.read_frame(self.proc.stdout)

    def call(self, message: dict[str, Any]) -> dict[str, Any]:
        self.send(protocol.encode_frame(message))
        reply = self.recv()
        assert reply is not None
        return reply

    def close(self) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        return self.proc.wait(timeout=30)


@pytest.fixture
def raw(tmp_path: Path) -> Iterator[Callable[..., RawSupervisor]]:
    started: list[RawSupervisor] = []

    def start(*args: str) -> RawSupervisor:
        base = tmp_path / f"base{len(started)}"
        base.mkdir()
        started.append(RawSupervisor(base, *args))
        return started[-1]

    yield start
    for supervisor in started:
        if supervisor.proc.poll() is None:
            supervisor.proc.kill()
            supervisor.proc.wait()


def raw_request(**fields: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "id": "r1",
        "files": {"main.py": protocol.b64encode(b"print('ran')")},
        "compile": None,
        "run": ["python3", "main.py"],
        "inputs": [""],
        "limits": LIMITS.to_wire(),
        "env": {},
        "uid": None,
        "stop_on_first_failure": False,
    }
    message.update(fields)
    return message


@pytest.mark.parametrize(
    "name",
    ["../escape.txt", "a/../../escape.txt", "/ABSOLUTE", "a\x00b", "", "./x", "a//b", "a\\b", ".."],
)
def test_bad_file_names_are_refused_and_nothing_is_written(
    raw: Callable[..., RawSupervisor], tmp_path: Path, name: str
) -> None:
    supervisor = raw()
    name = name.replace("/ABSOLUTE", str(tmp_path / "escape-abs.txt"))
    files = {"main.py": protocol.b64encode(b"print(1)"), name: protocol.b64encode(b"pwned")}
    reply = supervisor.call(raw_request(files=files))
    assert reply["id"] == "r1" and reply["error"]["code"] == "bad_request"
    assert "file name" in reply["error"]["message"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base0"]
    assert list((tmp_path / "base0").iterdir()) == []  # no run dir was even created
    assert supervisor.call({"op": "ping"})["op"] == "pong"  # and it keeps serving
    with pytest.raises(ConfigError):  # the typed layer refuses them before sending
        ExecutionRequest(run=["python3"], files={name: b"x"})


def test_environment_injection_is_dropped(sandbox: ProcessSandbox) -> None:
    env = {
        "LD_PRELOAD": "/nonexistent/evil.so",
        "ld_library_path": "/evil",
        "PYTHONPATH": "/evil",
        "PYTHONSTARTUP": "/evil.py",
        "PATH": "/evil/bin",
        "BASH_ENV": "/evil.sh",
        "PYTHONHASHSEED": "0",
        "MY_SETTING": "kept",
    }
    source = "import json, os; print(json.dumps({**os.environ, 'cwd': os.getcwd()}))"
    response = execute(sandbox, py(source, env=env))
    seen = json.loads(response.runs[0].stdout)
    assert seen["MY_SETTING"] == "kept" and seen["PYTHONHASHSEED"] == "0"
    for key in ("LD_PRELOAD", "ld_library_path", "PYTHONPATH", "PYTHONSTARTUP", "BASH_ENV"):
        assert key not in seen
    assert seen["PATH"] == sup.SAFE_PATH and seen["HOME"] == seen["cwd"]
    assert set(response.env_dropped) == set(env) - {"PYTHONHASHSEED", "MY_SETTING"}


def test_supervisor_secrets_do_not_reach_the_program(
    raw: Callable[..., RawSupervisor], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RLVR_TEST_SECRET", "hunter2")
    source = b"import os; print(os.environ.get('RLVR_TEST_SECRET'))"
    reply = raw().call(raw_request(files={"main.py": protocol.b64encode(source)}))
    assert protocol.b64decode(reply["runs"][0]["stdout"]) == b"None\n"


# --- cleanliness between runs -----------------------------------------------------------

DAEMON = """
    import os, sys, time
    r, w = os.pipe()
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.write(w, str(os.getpid()).encode())
            os.close(w)
            if {close_stdio}:
                null = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(null, fd)
            time.sleep(30)
        os._exit(0)
    os.close(w)
    print(os.read(r, 64).decode(), flush=True)
"""


@pytest.mark.parametrize("close_stdio", [True, False], ids=["daemon", "holds-stdout"])
def test_double_forked_setsid_daemon_is_killed(sandbox: ProcessSandbox, close_stdio: bool) -> None:
    start = time.monotonic()
    response = sandbox.execute(py(DAEMON.format(close_stdio=close_stdio)))
    result = response.runs[0]
    assert result.status == "ok" and time.monotonic() - start < 30
    daemon = int(result.stdout)
    assert not alive(daemon)
    assert response.leftover_processes_killed >= 1 and response.clean


def test_files_left_behind_are_gone_before_the_next_request(sandbox: ProcessSandbox) -> None:
    litter = """
        import os
        os.makedirs("a/b/c")
        open("a/b/c/f", "w").write("x")
        open("readonly.txt", "w").write("x")
        os.chmod("readonly.txt", 0o400)
        os.chmod("a/b", 0o000)  # a locked dir with content
        os.symlink("/etc/passwd", "link")
        os.mkfifo("fifo")
        os.chdir(os.environ["TMPDIR"])
        for _ in range(1500):  # deeper than PATH_MAX
            os.mkdir("deep")
            os.chdir("deep")
        print(os.environ["HOME"])
    """
    first = run1(sandbox, py(litter))
    assert first.status == "ok", first.stderr_text
    old_dir = first.stdout.decode().strip()
    look = "import os, sys; print(sorted(os.listdir('.')), os.path.exists(sys.stdin.read()))"
    second = run1(sandbox, py(look, old_dir.encode()))
    assert second.stdout == b"['main.py'] False\n"
    assert not os.path.lexists(old_dir)  # plain process backend: the same path on the host


@pytest.mark.skipif(not IS_ROOT, reason="dropping to a uid needs root")
def test_programs_run_as_the_sandbox_uid(sandbox: ProcessSandbox) -> None:
    source = "import os; print(os.getuid(), os.getgid(), os.getgroups())"
    result = run1(sandbox, py(source))
    assert result.stdout == f"{SANDBOX_UID} {SANDBOX_UID} []\n".encode()


# --- protocol robustness --------------------------------------------------------------


def test_malformed_frames_get_errors_and_the_supervisor_keeps_serving(
    raw: Callable[..., RawSupervisor],
) -> None:
    supervisor = raw()
    for payload, code in [
        (b"{not json", "bad_frame"),
        (b"[1, 2]", "bad_frame"),
        (b"\xff\xfe", "bad_frame"),
        (b'{"x": NaN}', "bad_frame"),
        (b"[" * 100_000, "bad_frame"),
    ]:
        supervisor.send(protocol.HEADER.pack(len(payload)) + payload)
        reply = supervisor.recv()
        assert reply is not None and reply["error"]["code"] == code, payload[:20]
    bad_requests: list[dict[str, Any]] = [
        {"op": "explode"},
        raw_request(run="python3 main.py"),
        raw_request(run=[]),
        raw_request(limits={"cpu_s": 1}),
        raw_request(limits={**LIMITS.to_wire(), "cpu_s": -1}),
        raw_request(inputs=["not base64!"]),
        raw_request(env={"A=B": "x"}),
        raw_request(uid="root"),
        raw_request(surprise=True),
        raw_request(id=[1]),
        raw_request(limits={**LIMITS.to_wire(), "output_bytes": 2**40}),  # reply can't fit
    ]
    for message in bad_requests:
        reply = supervisor.call(message)
        assert reply["error"]["code"] == "bad_request", message
    assert supervisor.call(raw_request())["runs"][0]["status"] == "ok"
    assert supervisor.close() == 0


def test_oversized_frame_is_skipped_with_an_error(raw: Callable[..., RawSupervisor]) -> None:
    supervisor = raw("--max-frame-bytes", "65536")
    big = protocol.encode_frame(raw_request(inputs=[protocol.b64encode(b"x" * 100_000)]))
    supervisor.send(big)
    reply = supervisor.recv()
    assert reply is not None and reply["error"]["code"] == "frame_too_large"
    assert supervisor.call({"op": "ping"})["op"] == "pong"  # stream still aligned


def test_truncated_frame_ends_the_supervisor_cleanly(raw: Callable[..., RawSupervisor]) -> None:
    supervisor = raw()
    supervisor.send(protocol.HEADER.pack(100) + b"{")
    assert supervisor.close() == 1


def test_cleanup_op_reports_and_wipes(raw: Callable[..., RawSupervisor], tmp_path: Path) -> None:
    supervisor = raw()
    stale = tmp_path / "base0" / f"{sup.RUN_PREFIX}stale"
    (stale / "sub").mkdir(parents=True)
    (stale / "sub" / "f").write_text("x")
    reply = supervisor.call({"op": "cleanup"})
    assert reply == {"op": "cleanup", "killed": 0, "wiped": [str(stale)], "clean": True}
    assert not stale.exists()


def test_backstop_kills_a_stuck_supervisor_and_restarts_it() -> None:
    with ProcessSandbox(bwrap=False, backstop_margin_s=1.0) as box:
        assert box.pid is not None
        os.kill(box.pid, signal.SIGSTOP)  # a supervisor that never answers
        request = py("print(1)", b"", b"", limits=ExecutionLimits(wall_s=1))
        response = box.execute(request)
        assert [r.status for r in response.runs] == ["infra_error", "infra_error"]
        assert "restarted" in response.runs[0].detail and not response.clean
        assert box.restarts == 1
        assert run1(box, py("print(2)")).stdout == b"2\n"


def test_closing_leaves_no_supervisor_behind() -> None:
    box = ProcessSandbox(bwrap=False)
    pid = box.pid
    assert pid is not None and box.ping() > 0
    box.close()
    assert not alive(pid)
    with pytest.raises(SandboxError, match="closed"):
        box.execute(py("print(1)"))


@pytest.mark.skipif(not bwrap_available(), reason="bubblewrap not installed")
def test_bwrap_isolates_network_tmp_and_pids() -> None:
    source = """
        import os, socket
        try:
            socket.create_connection(("1.1.1.1", 53), timeout=2)
            net = "open"
        except OSError:
            net = "blocked"
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
        print(net, len(pids) < 10, os.listdir("/tmp") == [os.path.basename(os.getcwd())])
    """
    with ProcessSandbox(bwrap=True) as box:
        assert box.uses_bwrap
        result = run1(box, py(source))
        assert result.stdout == b"blocked True True\n", result.stderr_text
        daemon = run1(box, py(DAEMON.format(close_stdio=True)))
        assert daemon.status == "ok"


@pytest.mark.skipif(
    not (
        IS_ROOT
        and bwrap_available()
        and shutil.which("setpriv")
        and Path("/usr/bin/python3").exists()
    ),
    reason="simulating a container needs root, bubblewrap and setpriv",
)
def test_container_mode_non_root_pid1_kills_same_uid_and_scrubs_tmp(tmp_path: Path) -> None:
    # What the image does: the supervisor is a non-root PID 1 with no arguments but the base.
    # Here bubblewrap provides the pid namespace and a private /tmp (the work dir base).
    command = ["bwrap", "--unshare-pid", "--unshare-net", "--as-pid-1", "--die-with-parent"]
    command += ["--ro-bind", "/", "/", "--perms", "1777", "--tmpfs", "/tmp", "--dev", "/dev"]
    command += ["--proc", "/proc", "--", "setpriv", "--reuid=10001", "--regid=10001"]
    command += ["--clear-groups", "/usr/bin/python3", "-I", str(SUPERVISOR_PATH)]
    proc = subprocess.Popen(
        [*command, "--workdir-base", "/tmp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    supervisor = RawSupervisor.__new__(RawSupervisor)
    supervisor.proc = proc
    try:
        assert supervisor.call({"op": "ping"})["pid"] == 1
        litter = "open('/tmp/left', 'w').write('x')\n" + textwrap.dedent(
            DAEMON.format(close_stdio=True)
        )
        first = supervisor.call(raw_request(files={"main.py": protocol.b64encode(litter.encode())}))
        assert first["runs"][0]["status"] == "ok" and first["leftover_processes_killed"] == 1
        look = b"""if True:
            import json, os
            pids = [p for p in os.listdir("/proc") if p.isdigit()]
            print(json.dumps([os.listdir("/tmp"), os.path.basename(os.getcwd()), len(pids)]))"""
        second = supervisor.call(raw_request(files={"main.py": protocol.b64encode(look)}))
        tmp, cwd, processes = json.loads(protocol.b64decode(second["runs"][0]["stdout"]))
        assert tmp == [cwd]  # /tmp/left and the first run dir are gone
        assert processes == 2  # the supervisor and this program: the daemon is gone
        assert supervisor.close() == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# --- the supervisor's copy of the framing helpers -----------------------------------------


def outcome(fn: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    try:
        return ("ok", fn(*args))
    except (ValueError, EOFError) as exc:
        return ("error", type(exc).__name__)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(), json_values, max_size=5), st.integers(0, 300))
def test_framing_copies_agree_on_messages(message: dict[str, Any], max_bytes: int) -> None:
    for limit in (max_bytes, protocol.MAX_FRAME_BYTES):
        ours = outcome(protocol.encode_frame, message, limit)
        theirs = outcome(sup.encode_frame, message, limit)
        assert ours == theirs
        if ours[0] == "ok":
            frame = ours[1]
            for cut in (len(frame), len(frame) - 1, 3, 0):
                a = outcome(protocol.read_frame, io.BytesIO(frame[:cut]), limit)
                b = outcome(sup.read_frame, io.BytesIO(frame[:cut]), limit)
                assert a == b
            assert protocol.read_frame(io.BytesIO(frame)) == message


@given(st.binary(max_size=64) | st.text(max_size=64).map(lambda s: s.encode("utf-8", "replace")))
def test_framing_copies_agree_on_payloads(payload: bytes) -> None:
    assert outcome(protocol.decode_payload, payload) == outcome(sup.decode_payload, payload)


FILE_NAMES = [
    "main.py",
    "a/b.txt",
    "../x",
    "a/../b",
    "/etc/passwd",
    "a\x00",
    "",
    ".",
    "x/",
    "\ud800",
    "é/ü",
    "a\\b",
    "x" * 2000,
]


@given(st.sampled_from(FILE_NAMES) | st.text(alphabet="ab./\\\x00", max_size=8) | st.text())
def test_file_name_checks_agree(name: str) -> None:
    assert protocol.check_file_name(name) == sup.check_file_name(name)


def test_supervisor_is_stdlib_only_and_runs_on_python_3_9() -> None:
    # protocol.py re-exports the supervisor's framing; the supervisor package is copied
    # into the image alone, so it may import nothing but the standard library.
    assert protocol.read_frame is sup.read_frame
    imported: set[str] = set()
    for path in SUPERVISOR_PATH.glob("*.py"):
        tree = ast.parse(path.read_text(), feature_version=(3, 9))  # an older python3 too
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:  # relative: our own
                imported.add((node.module or "").split(".")[0])
    assert imported - {"__future__"} <= sys.stdlib_module_names


def test_wire_results_convert_both_ways() -> None:
    message = {
        "status": "timeout",
        "exit_code": None,
        "signal": 9,
        "stdout": protocol.b64encode(b"\xff"),
        "stderr": "",
        "stdout_truncated": False,
        "stderr_truncated": True,
        "cpu_s": 0.5,
        "wall_s": 1,
        "max_rss_bytes": 1024,
    }
    result = RunResult.from_wire(message)
    assert (result.status, result.stdout, result.wall_s) == ("timeout", b"\xff", 1.0)
    for broken in (
        {**message, "status": "great"},
        {**message, "signal": "9"},
        {**message, "stdout": 5},
    ):
        with pytest.raises(ValueError):
            RunResult.from_wire(broken)
    with pytest.raises(ConfigError):
        ExecutionLimits(cpu_s=0)
    with pytest.raises(ConfigError):
        ExecutionRequest(run="python3 main.py")

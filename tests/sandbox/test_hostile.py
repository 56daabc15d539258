"""Hostile programs against the Docker pool: one property per test, exact verdict, then clean.

Every test pins the status the sandbox gives (and the exit code or signal behind it), then
checks cleanliness: the next runs in the same pool see no leftover process or file (the
probe runs once per container of the pool, so each is checked), and after a pool closes no
container of it is left. One module-scoped pool of two containers serves the tests that do
not wreck a container; tests needing a fresh pool (a secret set before it starts) get one.

Covered elsewhere (``test_docker_pool.py``): fork bomb, memory bomb, busy loop, sleep,
runaway stdout, 2 MB of output, network connect/DNS, files left in /tmp, /work, /dev/shm
and $HOME, a ``setsid`` daemon, a container killed mid-run, ``close``.

Nothing here runs a hostile program on the host: every program goes through Docker.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import zlib
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

import tests.sandbox.test_docker_pool as pool_tests
from rlvr_gym.errors import ConfigError
from rlvr_gym.sandbox.api import Sandbox
from rlvr_gym.sandbox.docker_backend import POOL_LABEL
from rlvr_gym.sandbox.types import ExecutionLimits, ExecutionRequest

pytestmark = [pytest.mark.docker, pool_tests.needs_docker]

# Fixtures shared with the pool tests (the Docker skip/fail rule and the leak checks).
image = pool_tests.image
make_sandbox = pool_tests.make_sandbox
py = pool_tests.py
pool_of = pool_tests.pool_of

MiB = 1024 * 1024
LIMITS = ExecutionLimits(cpu_s=2, wall_s=5, memory_bytes=256 * MiB, output_bytes=1 * MiB)
SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"

# Lists what a run could inherit from earlier ones: foreign processes (besides the
# supervisor, pid 1, the zygote it was forked from, and itself), other entries of /work,
# /tmp and /dev/shm, and its own work dir (which must hold only main.py).
PROBE = py(
    """
    import os
    me, zygote = str(os.getpid()), str(os.getppid())
    pids = [p for p in os.listdir("/proc") if p.isdigit() and p not in ("1", me, zygote)]
    mine = os.path.basename(os.getcwd())
    work = [n for n in os.listdir("/work") if n != mine]
    print(pids, work, os.listdir("/tmp"), os.listdir("/dev/shm"), os.listdir("."))
    """
)
CLEAN = "[] [] [] [] ['main.py']\n"


@pytest.fixture(scope="module")
def shared(image: str) -> Iterator[Sandbox]:
    sandbox = Sandbox("docker", pool_size=2, limits=LIMITS)
    pool = pool_of(sandbox)
    try:
        yield sandbox
    finally:
        sandbox.close()
    pool_tests.assert_no_containers(f"{POOL_LABEL}={pool.pool_id}")


def assert_clean(sandbox: Sandbox) -> None:
    """The next run in every container of the pool works and inherits nothing."""
    for _ in range(pool_of(sandbox).size):  # FIFO free list: one probe per container
        probe = sandbox.run(PROBE)
        assert (probe.status, probe.stdout, probe.stderr) == ("ok", CLEAN, "")


# --- resources --------------------------------------------------------------------------


def test_thread_bomb_is_contained(shared: Sandbox) -> None:
    # Threads until failure: the address-space limit (8 MB of stack per thread) or the pids
    # limit stops them; Python raises RuntimeError, so exit 1 = runtime_error.
    bomb = py(
        """
        import threading, time
        while True:
            threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
        """
    )
    result = shared.run(bomb)
    assert (result.status, result.exit_code, result.signal) == ("runtime_error", 1, None)
    assert "RuntimeError: can't start new thread" in result.stderr
    assert_clean(shared)


@pytest.mark.parametrize("directory", ["/dev/shm", "/tmp", "/work"])
def test_memory_through_tmpfs_is_contained(shared: Sandbox, directory: str) -> None:
    # /work and /tmp are 256 MiB tmpfs mounts, /dev/shm 64 MiB: all below the container's
    # memory limit, so the write fails with ENOSPC long before the OOM killer would act.
    # ENOSPC is not a memory-error signature: an uncaught OSError is exit 1 = runtime_error.
    fill = py(
        f"""
        i = 0
        while True:
            with open("{directory}/fill%d" % i, "wb") as fh:
                fh.write(b"x" * (8 * 1024 * 1024))
            i += 1
        """
    )
    result = shared.run(fill)
    assert (result.status, result.exit_code, result.signal) == ("runtime_error", 1, None)
    assert "[Errno 28] No space left on device" in result.stderr
    assert_clean(shared)


def test_disk_fill_of_work_in_one_file_is_an_error(shared: Sandbox) -> None:
    # With a file size limit above the tmpfs size, a single file fills /work: ENOSPC.
    fill = "with open('big', 'wb') as fh:\n    while True:\n        fh.write(b'x' * 1048576)\n"
    result = shared.run(fill, limits=replace(LIMITS, fsize_bytes=1024 * MiB))
    assert (result.status, result.exit_code) == ("runtime_error", 1)
    assert "[Errno 28] No space left on device" in result.stderr
    assert_clean(shared)


def test_file_size_limit_python_gets_efbig(shared: Sandbox) -> None:
    # Python ignores SIGXFSZ itself, so the write past fsize_bytes fails with EFBIG.
    fill = "with open('big', 'wb') as fh:\n    while True:\n        fh.write(b'x' * 1048576)\n"
    result = shared.run(fill, limits=replace(LIMITS, fsize_bytes=4 * MiB))
    assert (result.status, result.exit_code) == ("runtime_error", 1)
    assert "[Errno 27] File too large" in result.stderr
    assert_clean(shared)


def test_file_size_limit_cpp_dies_of_sigxfsz(shared: Sandbox) -> None:
    # The supervisor restores default signal dispositions before exec: SIGXFSZ kills.
    code = py(
        """
        #include <cstdio>
        int main() {
            FILE *f = std::fopen("big", "wb");
            static char buf[1 << 16];
            for (;;) { std::fwrite(buf, 1, sizeof buf, f); std::fflush(f); }
        }
        """
    )
    result = shared.run(code, language="cpp", limits=replace(LIMITS, fsize_bytes=4 * MiB))
    assert (result.status, result.exit_code, result.signal) == (
        "runtime_error",
        None,
        signal.SIGXFSZ,
    )
    assert_clean(shared)


def test_inode_exhaustion_is_stopped_by_the_cpu_limit(shared: Sandbox) -> None:
    # The tmpfs inode count scales with RAM (millions): the CPU limit ends the program
    # first, by SIGXCPU = timeout. The container is replaced (dirty) and /work comes back
    # empty either way.
    bomb = py(
        """
        import os
        i = 0
        while True:
            os.close(os.open("/work/%d" % i, os.O_CREAT | os.O_WRONLY, 0o644))
            i += 1
        """
    )
    result = shared.run(bomb, limits=replace(LIMITS, cpu_s=1, wall_s=5))
    assert (result.status, result.exit_code, result.signal) == ("timeout", None, signal.SIGXCPU)
    assert_clean(shared)


# --- output and input -------------------------------------------------------------------


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_one_huge_line_is_output_limit_with_exact_prefix(shared: Sandbox, stream: str) -> None:
    line = ("0123456789abcdef" * (5 * MiB // 16)).encode()  # 5 MiB, no newline
    code = f"import sys\nsys.{stream}.buffer.write(b'0123456789abcdef' * {5 * MiB // 16})\n"
    result = shared.run(code)
    # Past the 1 MiB cap the supervisor SIGKILLs the program group: output_limit.
    assert (result.status, result.exit_code, result.signal) == (
        "output_limit",
        None,
        signal.SIGKILL,
    )
    captured = result.stdout_bytes if stream == "stdout" else result.stderr_bytes
    other = result.stderr_bytes if stream == "stdout" else result.stdout_bytes
    assert captured == line[: LIMITS.output_bytes]
    assert other == b""
    assert result.stdout_truncated == (stream == "stdout")
    assert result.stderr_truncated == (stream == "stderr")
    assert_clean(shared)


def test_huge_stdin_is_read_in_full(shared: Sandbox) -> None:
    data = bytes(range(256)) * (20 * MiB // 256)  # 20 MiB, every byte value
    code = "import sys, zlib\nd = sys.stdin.buffer.read()\nprint(len(d), zlib.crc32(d))\n"
    result = shared.run(code, stdin=data)
    assert (result.status, result.exit_code) == ("ok", 0)
    assert result.stdout == f"{len(data)} {zlib.crc32(data)}\n"
    assert_clean(shared)


def test_invalid_utf8_and_nul_bytes_survive_raw(shared: Sandbox) -> None:
    out, err = b"ok\xff\xfe\x00mid\x00\xc3(end\n", b"\x80err\x00\xed\xa0\x80"
    code = f"import sys\nsys.stdout.buffer.write({out!r})\nsys.stderr.buffer.write({err!r})\n"
    result = shared.run(code)
    assert (result.status, result.exit_code) == ("ok", 0)
    assert (result.stdout_bytes, result.stderr_bytes) == (out, err)
    assert result.stdout == "ok\ufffd\ufffd\x00mid\x00\ufffd(end\n"
    assert result.stderr == "\ufffderr\x00\ufffd\ufffd\ufffd"
    assert json.dumps(result.to_json())  # serialisable, no crash
    assert_clean(shared)


# --- crashes ----------------------------------------------------------------------------


@pytest.mark.parametrize("handled", [True, False])
def test_fd_exhaustion(shared: Sandbox, handled: bool) -> None:
    # nofile=64: open() fails with EMFILE; the status follows the exit code.
    code = py(
        """
        import errno
        fds = []
        try:
            while True:
                fds.append(open("/dev/null"))
        except OSError as exc:
            print(errno.errorcode[exc.errno], len(fds) > 50)
            if not HANDLED:
                raise
        """
    ).replace("HANDLED", str(handled))
    result = shared.run(code)
    assert result.stdout == "EMFILE True\n"
    if handled:
        assert (result.status, result.exit_code) == ("ok", 0)
    else:
        assert (result.status, result.exit_code) == ("runtime_error", 1)
        assert "[Errno 24] Too many open files" in result.stderr
    assert_clean(shared)


def test_deep_python_recursion_is_runtime_error(shared: Sandbox) -> None:
    # With the recursion limit lifted, CPython 3.11 (bookworm) gives up with an exception
    # (SystemError/RecursionError: exit 1) well before the C stack or memory runs out; no
    # hang, and the supervisor is unaffected.
    code = py(
        """
        import sys
        sys.setrecursionlimit(10**6)
        def f(n):
            return f(n + 1) + 1
        f(0)
        """
    )
    result = shared.run(code, limits=replace(LIMITS, cpu_s=10, wall_s=20))
    assert (result.status, result.exit_code, result.signal) == ("runtime_error", 1, None)
    assert pool_of(shared).ping() == [1, 1]  # both supervisors alive
    assert_clean(shared)


def test_deep_cpp_recursion_is_runtime_error_by_sigsegv(shared: Sandbox) -> None:
    code = py(
        """
        #include <cstdio>
        long f(long n) {  // the volatile frame read after the call defeats tail calls
            volatile char pad[256];
            pad[n % 256] = 1;
            return f(n + 1) + pad[n % 256];
        }
        int main() { std::printf("%ld\\n", f(0)); }
        """
    )
    result = shared.run(code, language="cpp")
    assert (result.status, result.exit_code, result.signal) == (
        "runtime_error",
        None,
        signal.SIGSEGV,
    )
    assert pool_of(shared).ping() == [1, 1]
    assert_clean(shared)


def test_killing_the_supervisor_is_ignored(shared: Sandbox) -> None:
    # The supervisor is the container's PID 1 with default dispositions (SIGINT reset, no
    # SIGTERM handler), so the kernel drops every signal sent to it from inside the
    # container. Before that fix, SIGTERM/SIGINT ended it and turned the run into
    # infra_error: a program could trade a wrong answer for a masked one.
    code = py(
        """
        import os, signal, time
        sigs = ["SIGKILL", "SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGSTOP"]
        for name in sigs:
            os.kill(1, getattr(signal, name))
        time.sleep(0.5)
        print("sent", len(sigs))
        """
    )
    pool = pool_of(shared)
    replaced = pool.replaced
    result = shared.run(code)
    assert (result.status, result.exit_code, result.stdout) == ("ok", 0, "sent 7\n")
    assert pool.replaced == replaced  # no container died or was swapped
    assert pool.ping() == [1, 1]
    assert_clean(shared)


@pytest.mark.parametrize("signal_name", ["SIGKILL", "SIGSTOP", "SIGTERM"])
def test_killing_or_stopping_the_zygote_keeps_the_verdict_and_the_pool(
    make_sandbox: Callable[..., Sandbox], signal_name: str
) -> None:
    # A forked run's parent is the zygote, which shares the sandbox uid: a program can
    # signal it. Its verdict must still be its own (never infra_error), the next runs must
    # work, and the container is reported unclean so the pool replaces it.
    sandbox = make_sandbox(pool_size=1, limits=LIMITS)
    code = py(
        f"""
        import os, signal
        zygote = os.getppid()
        assert zygote != 1
        os.kill(zygote, signal.{signal_name})
        print("wrong answer")
        raise SystemExit(1)
        """
    )
    pool = pool_of(sandbox)
    result = sandbox.run(code)
    assert (result.status, result.exit_code, result.stdout) == (
        "runtime_error",
        1,
        "wrong answer\n",
    )
    following = [sandbox.run("print(input())", stdin=str(i)) for i in range(3)]
    assert [(r.status, r.stdout) for r in following] == [("ok", f"{i}\n") for i in range(3)]
    if signal_name != "SIGTERM":  # ignored by the zygote
        assert pool.replaced >= 1
    assert_clean(sandbox)


def test_program_cannot_make_the_oom_killer_pick_the_supervisor(
    make_sandbox: Callable[..., Sandbox],
) -> None:
    # The attack: raise the supervisor's oom_score_adj, lower our own (allowed down to the
    # inherited minimum, 0), then overflow the container's memory with forked children so
    # the cgroup OOM killer picks the supervisor: the run would come back as infra_error, a
    # masked sample instead of a wrong one. The supervisor is non-dumpable, so its
    # /proc/1/oom_score_adj belongs to root; the OOM killer takes a child (8 x 230 MB is
    # above the container's memory) and the program's own exit code decides: ok.
    sandbox = make_sandbox(pool_size=1, limits=LIMITS)
    code = py(
        """
        import os, time
        try:
            with open("/proc/1/oom_score_adj", "w") as fh:
                fh.write("1000")
            print("raised the supervisor")
        except PermissionError:
            print("denied")
        with open("/proc/self/oom_score_adj", "w") as fh:
            fh.write("0")
        kids = []
        for _ in range(8):
            pid = os.fork()
            if pid == 0:
                hog = b"x" * (230 * 1024 * 1024)
                time.sleep(3)
                os._exit(0)
            kids.append(pid)
        killed = sum(os.WIFSIGNALED(os.waitpid(k, 0)[1]) for k in kids)
        print("children killed:", killed > 0)
        """
    )
    pool = pool_of(sandbox)
    result = sandbox.run(code, limits=replace(LIMITS, cpu_s=5, wall_s=10))
    assert (result.status, result.exit_code) == ("ok", 0), result.detail
    assert result.stdout == "denied\nchildren killed: True\n"
    assert pool.replaced == 0 and pool.ping() == [1]
    assert_clean(sandbox)


# --- escapes ----------------------------------------------------------------------------


def test_host_secret_is_invisible(
    make_sandbox: Callable[..., Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "s3cr3t-" + os.urandom(8).hex()
    monkeypatch.setenv("RLVR_SECRET", secret)  # set before the pool starts its containers
    sandbox = make_sandbox(pool_size=1, limits=LIMITS)
    code = py(
        """
        import os
        print("RLVR_SECRET" in os.environ)
        seen, unreadable = b"", []
        for pid in [p for p in os.listdir("/proc") if p.isdigit()] + ["self"]:
            try:
                seen += open("/proc/%s/environ" % pid, "rb").read()
            except OSError:
                unreadable.append(pid)
        print(b"RLVR_SECRET" in seen, len(seen) > 0, unreadable == ["1", str(os.getppid())])
        print(sorted(os.environ))
        """
    )
    result = sandbox.run(code)
    assert result.status == "ok", result.stderr
    assert secret not in result.stdout and secret not in result.stderr
    # The supervisor (pid 1) and the zygote (our parent) are non-dumpable: their /proc files
    # are root's, their environ unreadable.
    assert result.stdout.splitlines() == [
        "False",
        "False True True",
        str(["HOME", "LANG", "PATH", "TMPDIR"]),
    ]


def test_proc_shows_only_the_container_and_sys_is_read_only(shared: Sandbox) -> None:
    code = py(
        """
        import os
        pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
        print(pids == sorted({1, os.getppid(), os.getpid()}))  # supervisor, zygote, us
        comms = {open("/proc/%d/comm" % p).read().strip() for p in pids}
        print(sorted(comms))
        print(b"/opt/rlvr/supervisor" in open("/proc/1/cmdline", "rb").read())
        print(sorted(os.listdir("/sys/class/net")))
        print(open("/proc/self/oom_score_adj").read().strip())
        targets = ["/sys/kernel/mm/transparent_hugepage/enabled", "/sys/fs/cgroup/cgroup.procs",
                   "/proc/sys/kernel/hostname", "/proc/sys/vm/drop_caches",
                   "/proc/sysrq-trigger", "/proc/1/oom_score_adj", "/proc/1/mem"]
        for path in targets:
            try:
                with open(path, "w") as fh:
                    fh.write("1")
                print(path, "WROTE")
            except OSError as exc:
                print(path, "blocked")
        """
    )
    result = shared.run(code)
    assert (result.status, result.exit_code, result.stderr) == ("ok", 0, "")
    lines = result.stdout.splitlines()
    assert lines[0] == "True"  # only the supervisor and this program: no host pids
    assert lines[1] == str(["python3"])  # no dockerd, containerd, sshd, ...
    assert lines[2] == "True"  # pid 1 is the supervisor
    assert lines[3] == str(["lo"])  # network none: loopback only
    assert lines[4] == "1000"  # the OOM killer picks the program first
    assert "WROTE" not in result.stdout and result.stdout.count("blocked") == 7
    assert_clean(shared)


def test_interpreter_and_supervisor_cannot_be_overwritten(shared: Sandbox) -> None:
    code = py(
        """
        import os
        targets = ["/usr/bin/python3", "/usr/bin/python3.11", "/opt/rlvr/supervisor/server.py",
                   "/usr/local/bin/python3", "/usr/local/bin/g++", "/etc/passwd"]
        for path in targets:
            for how in ("write", "unlink", "rename", "chmod", "create"):
                try:
                    if how == "write":
                        open(path, "ab").write(b"import os; os._exit(0)\\n")
                    elif how == "unlink":
                        os.unlink(path)
                    elif how == "rename":
                        os.rename(path, path + ".bak")
                    elif how == "chmod":
                        os.chmod(path, 0o777)
                    else:
                        os.close(os.open(path + ".new", os.O_CREAT | os.O_WRONLY))
                    print(path, how, "DONE")
                except OSError:
                    pass
        print("finished")
        """
    )
    result = shared.run(code)
    assert (result.status, result.stdout, result.stderr) == ("ok", "finished\n", "")
    check = shared.run(
        "import hashlib\nprint(len(open('/opt/rlvr/supervisor/server.py','rb').read()) > 1000)"
    )
    assert (check.status, check.stdout) == ("ok", "True\n")
    assert_clean(shared)


def test_planted_symlinks_are_not_followed(shared: Sandbox) -> None:
    # The trusted side reads results only from the supervisor's pipes; the supervisor wipes
    # symlinks without following them, and the next run gets a fresh work dir.
    plant = py(
        """
        import os
        links = {"out": "/etc/passwd", "result.json": "/opt/rlvr/supervisor/server.py",
                 "/work/rlvr-run-next": "/etc", "/work/planted": "/etc/passwd",
                 "/tmp/planted": "/opt/rlvr/supervisor/server.py", "/dev/shm/planted": "/",
                 "loop": "loop"}
        for name, target in links.items():
            os.symlink(target, name)
        os.unlink("main.py")
        os.symlink("/etc/passwd", "main.py")
        print("planted", len(links))
        """
    )
    result = shared.run(plant)
    assert (result.status, result.stdout, result.stderr) == ("ok", "planted 7\n", "")
    check = py(
        """
        import os
        print(os.path.isfile("/etc/passwd"), os.path.getsize("/etc/passwd") > 0,
              os.path.isfile("/opt/rlvr/supervisor/server.py"), os.path.isdir("/etc"))
        """
    )
    for _ in range(2):
        after = shared.run(check)
        assert (after.status, after.stdout) == ("ok", "True True True True\n")
    assert "root:" not in result.stdout + result.stderr
    assert_clean(shared)


BAD_NAMES = ["../evil.py", "/tmp/evil.py", "a/../../evil.py", "ev\x00il.py", "", "./x", "a//b"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_file_names_are_refused(shared: Sandbox, name: str) -> None:
    with pytest.raises(ConfigError, match="file name"):
        shared.run({"main.py": "print(1)", name: "print('escaped')"})
    # The supervisor refuses them too, should the trusted-side check ever be bypassed.
    pool = pool_of(shared)
    request = ExecutionRequest(
        run=["python3", "main.py"], files={"main.py": b"print(1)"}, limits=LIMITS
    )
    object.__setattr__(request, "files", {"main.py": b"print(1)", name: b"x"})
    replaced = pool.replaced
    with pytest.raises(ConfigError, match="refused the request"):
        pool.execute(request)
    assert pool.replaced == replaced  # refused before anything ran: the container is kept
    escaped = "import os\nprint([os.path.exists(p) for p in ('/evil.py', '/tmp/evil.py')])"
    probe = shared.run(escaped)
    assert (probe.status, probe.stdout) == ("ok", "[False, False]\n")
    assert_clean(shared)


def test_environment_injection_is_dropped(shared: Sandbox) -> None:
    injected = {
        "LD_PRELOAD": "/work/evil.so",
        "ld_library_path": "/work",
        "PYTHONSTARTUP": "/work/evil.py",
        "PYTHONPATH": "/work",
        "PYTHONHOME": "/work",
        "PATH": "/work",
        "BASH_ENV": "/work/evil.sh",
        "HOME": "/",
    }
    code = "import json, os\nprint(json.dumps(dict(os.environ), sort_keys=True))\n"
    files = {"main.py": code.encode(), "evil.py": b"print('PWNED')", "evil.so": b"junk"}
    request = ExecutionRequest(
        run=["python3", "main.py"], files=files, limits=LIMITS, env={**injected, "FOO": "bar"}
    )
    response = pool_of(shared).execute(request)
    (run,) = response.runs
    assert (run.status, run.stderr) == ("ok", b"")
    assert sorted(response.env_dropped) == sorted(injected)
    env = json.loads(run.stdout)
    assert sorted(env) == ["FOO", "HOME", "LANG", "PATH", "TMPDIR"]
    assert env["FOO"] == "bar" and env["PATH"] == SAFE_PATH
    assert env["HOME"] == env["TMPDIR"] and env["HOME"].startswith("/work/rlvr-run-")
    assert_clean(shared)


def test_no_setuid_and_no_capabilities(shared: Sandbox) -> None:
    code = py(
        """
        import os
        for name, call in [("setuid", lambda: os.setuid(0)), ("setgid", lambda: os.setgid(0)),
                           ("setgroups", lambda: os.setgroups([0]))]:
            try:
                call()
                print(name, "SUCCEEDED")
            except PermissionError:
                print(name, "denied")
        print(os.getuid(), os.geteuid(), os.getgid())
        for line in open("/proc/self/status"):
            if line.startswith(("Cap", "NoNewPrivs")):
                print(line.strip().replace("\\t", " "))
        """
    )
    result = shared.run(code)
    assert (result.status, result.stderr) == ("ok", "")
    zero = "0000000000000000"
    assert result.stdout.splitlines() == [
        "setuid denied",
        "setgid denied",
        "setgroups denied",
        "10001 10001 10001",
        f"CapInh: {zero}",
        f"CapPrm: {zero}",
        f"CapEff: {zero}",
        f"CapBnd: {zero}",
        f"CapAmb: {zero}",
        "NoNewPrivs: 1",
    ]
    assert_clean(shared)


def test_raw_sockets_are_refused(shared: Sandbox) -> None:
    code = py(
        """
        import socket
        kinds = [(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP),
                 (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW),
                 (socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6),
                 (socket.AF_PACKET, socket.SOCK_RAW, 0)]
        for family, kind, proto in kinds:
            try:
                socket.socket(family, kind, proto).close()
                print("OPENED")
            except PermissionError:
                print("denied")
        """
    )
    result = shared.run(code)
    assert (result.status, result.stdout, result.stderr) == ("ok", "denied\n" * 4, "")
    assert_clean(shared)


def test_docker_socket_and_host_services_are_unreachable(shared: Sandbox) -> None:
    # A listener on every host interface stands in for the trainer's gRPC server.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("0.0.0.0", 0))
    listener.listen(8)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    host_ip = socket.gethostbyname(socket.gethostname())
    code = py(
        f"""
        import os, socket
        socks = ["/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock",
                 "/var/run/docker", "/run/containerd"]
        print([p for p in socks if os.path.exists(p)])
        for host in ["127.0.0.1", "{host_ip}", "172.17.0.1", "10.0.0.1", "::1"]:
            try:
                socket.create_connection((host, {port}), timeout=1).close()
                print(host, "CONNECTED")
            except OSError:
                print(host, "blocked")
        """
    )
    try:
        result = shared.run(code)
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody got through
    finally:
        listener.close()
    assert (result.status, result.stderr) == ("ok", "")
    lines = result.stdout.splitlines()
    assert lines[0] == "[]"
    assert "CONNECTED" not in result.stdout and len(lines) == 6
    assert_clean(shared)


# --- batches ----------------------------------------------------------------------------


def test_hostile_inputs_do_not_poison_the_rest_of_a_batch(shared: Sandbox) -> None:
    # Without stop_on_first_failure (the Sandbox API default) every input runs; the sweep
    # after each run kills what a hostile input left, so later inputs see no foreign process.
    code = py(
        """
        import os, signal, sys, time
        x = sys.stdin.read().strip()
        if x == "fork":
            while True:
                try:
                    os.fork()
                except OSError:
                    pass
        elif x == "daemon":
            if os.fork() == 0:
                os.setsid()
                time.sleep(60)
            print("left a daemon")
        elif x == "kill":
            os.kill(1, signal.SIGTERM)
            os.kill(1, signal.SIGKILL)
            sys.exit(3)
        elif x == "mem":
            hog = [bytearray(16 * 1024 * 1024) for _ in range(1000)]
        else:
            me, zygote = str(os.getpid()), str(os.getppid())
            others = [p for p in os.listdir("/proc") if p.isdigit() and p not in ("1", me, zygote)]
            print(int(x) ** 2, others)
        """
    )
    inputs = ["2", "fork", "3", "daemon", "4", "kill", "5", "mem", "6"]
    results = shared.run_batch(code, inputs, limits=replace(LIMITS, cpu_s=1, wall_s=2))
    assert [(r.status, r.stdout) for r in results] == [
        ("ok", "4 []\n"),
        ("timeout", ""),
        ("ok", "9 []\n"),
        ("ok", "left a daemon\n"),
        ("ok", "16 []\n"),
        ("runtime_error", ""),
        ("ok", "25 []\n"),
        ("memory_limit", ""),
        ("ok", "36 []\n"),
    ]
    assert results[5].exit_code == 3 and "MemoryError" in results[7].stderr
    assert_clean(shared)

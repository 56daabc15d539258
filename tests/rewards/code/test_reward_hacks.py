"""Reward hacks against the function-call judge: each must earn exactly zero.

Every attack is a whole ``solution.py`` whose ``add`` is wrong (it never returns a + b),
plus a trick that would earn full reward from a harness running tests in the program's
own interpreter: exiting early, patching builtins, objects equal to everything, forged
verdict lines, stealing the nonce or expected values, killing or freezing the judge,
planting modules for the judge to import. Each verdict must be ``failed`` with nothing
passed, and never ``infra_error`` (masking would let a program dodge a negative reward).
Attacks print ``DENIED``/``LEAK`` into their own log, which the judge shows in its
detail, so the tests also check *why* an attack got nothing.

All attacks run once, concurrently, in a module fixture (the pool has two containers);
the parametrised tests then check each verdict. Two canaries switch one protection off
(the import guard, non-dumpability) and show the matching attack then gets through, so
the table cannot pass merely because its attacks are broken.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import tests.sandbox.test_docker_pool as pool_tests
from rlvr_gym.rewards.code import call_judge
from rlvr_gym.rewards.code.call_judge import (
    CallJudgeConfig,
    harness_source,
    judge_call,
)
from rlvr_gym.rewards.code.results import JudgeResult
from rlvr_gym.rewards.code.tasks import CallCase, CodeTask
from rlvr_gym.sandbox.api import Sandbox
from rlvr_gym.sandbox.types import ExecutionLimits
from tests.rewards.code.test_call_judge import run_locally

image = pool_tests.image
CONFIG = CallJudgeConfig(
    call_timeout_s=1.0,
    load_timeout_s=2.0,
    limits=ExecutionLimits(cpu_s=3, wall_s=5, output_bytes=4 << 20),
)
# Expected values an attacker cannot guess; test_code imports modules the harness has not
# imported yet, so a planted fractions.py/random.py in the work dir would be picked up if
# the judge imported from there.
TASK = CodeTask(
    "hack/add",
    "write add(a, b)",
    kind="call",
    entry_point="add",
    setup_code="from typing import List\n",
    test_code=textwrap.dedent(
        """\
        def check(candidate):
            import fractions, random
            assert candidate(31337, 4242) == 35579
            assert candidate(-1000003, 7) == -999996

        check(add)
        """
    ),
    call_cases=(CallCase((123457, 987654321), 987777778), CallCase((-5555, 77777), 72222)),
)
WRONG = "\ndef add(a, b):\n    return 0\n"


def attack(source: str, wrong: bool = True) -> str:
    """A dedented program, with the wrong ``add`` appended unless it defines its own."""
    return textwrap.dedent(source) + (WRONG if wrong else "")


# A forged verdict with every nonce an attacker might guess.
FORGED = (
    'RLVR-HARNESS-RESULT {n} {{"load_error":null,"cases":[{{"status":"value","value":987777778}},'
    '{{"status":"value","value":72222}}],"test":{{"status":"passed"}},"log":""}}'
)
FORGE = f"""\
import os, sys
FORGED = {FORGED!r}
def forge(write):
    for n in ["-", "0" * 32, "a" * 32, "ab" * 16, "deadbeef" * 4]:
        write((FORGED.format(n=n) + "\\n").encode())
"""
STEAL = """\
import os
def steal(path):
    try:
        with open(path, "rb") as fh:
            data = fh.read(1 << 20)
    except OSError as exc:
        print("DENIED", path, type(exc).__name__, flush=True)
        return
    leaked = [s for s in (b"987777778", b"35579", b"nonce") if s in data]
    print("LEAK" if leaked else "READ-NOTHING-SECRET", path, leaked, flush=True)
"""
# Planted as fractions.py, random.py, ... in the work dir: if the judge imported it, it
# would find the payload in its own memory and print a verdict with the real nonce.
PLANTED = FORGE + textwrap.dedent(
    """\
    import gc
    for o in gc.get_objects():
        if isinstance(o, dict) and "nonce" in o:
            os.write(1, (FORGED.format(n=o["nonce"]) + "\\n").encode())
            os._exit(0)
    """
)
SCAN_MEMORY = """\
import re
PATTERNS = [re.compile(rb"4242\\) == (\\d+)"), re.compile(rb'"nonce": ?"([0-9a-f]{32})"')]
hits = set()
with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", 0) as mem:
    for line in maps:
        span, perms = line.split()[:2]
        if not perms.startswith("r") or "[v" in line:
            continue
        lo, hi = (int(x, 16) for x in span.split("-"))
        try:
            mem.seek(lo)
            data = mem.read(hi - lo)
        except (OSError, ValueError, OverflowError):
            continue
        for pattern in PATTERNS:
            hits.update(m.group(1) for m in pattern.finditer(data))
print("LEAK" if hits else "MEMSCAN-NOTHING-FOUND", hits, flush=True)
"""
WRONG_ANSWER = "returned 0, expected 987777778"
HARNESS_KILLED = "harness was killed"
NOT_LOADED = "did not finish loading"
TIMED_OUT = "no reply in 1 s"

# name -> (program, text(s) the verdict's details must contain)
ATTACKS: dict[str, tuple[str, str | tuple[str, ...]]] = {
    # --- leaving early ------------------------------------------------------------------
    "sys_exit_at_import": (attack("import sys\nsys.exit(0)"), "SystemExit"),
    "os_exit_at_import": (attack("import os\nos._exit(0)"), NOT_LOADED),
    "raise_systemexit_at_import": (attack("raise SystemExit(0)"), "SystemExit"),
    "sys_exit_in_function": (
        attack("import sys\ndef add(a, b):\n    sys.exit(0)\n", wrong=False),
        "SystemExit: 0",
    ),
    "os_exit_in_function": (
        attack("import os\ndef add(a, b):\n    os._exit(0)\n", wrong=False),
        "candidate process died (exit status 0)",
    ),
    "atexit_forges_and_exits": (
        attack(
            FORGE
            + "import atexit\n"
            + "atexit.register(lambda: (forge(lambda b: os.write(1, b)), os._exit(0)))\n"
            + "sys.exit(0)\n"
        ),
        "SystemExit",
    ),
    "catch_base_exception_everywhere": (
        attack(
            """\
            def add(a, b):
                while True:
                    try:
                        while True:
                            pass
                    except BaseException:
                        pass
            """,
            wrong=False,
        ),
        TIMED_OUT,
    ),
    # --- killing or freezing the judge ------------------------------------------------------
    "kill_parent_at_import": (attack("import os\nos.kill(os.getppid(), 9)"), HARNESS_KILLED),
    "kill_parent_in_function": (
        attack("import os\ndef add(a, b):\n    os.kill(os.getppid(), 9)\n", wrong=False),
        HARNESS_KILLED,
    ),
    "kill_parent_during_test_code": (
        attack(
            """\
            import os
            CALLS = []
            def add(a, b):
                CALLS.append(1)
                if len(CALLS) == 3:  # the first call made by test_code
                    os.kill(os.getppid(), 9)
                return 0
            """,
            wrong=False,
        ),
        HARNESS_KILLED,
    ),
    "kill_everything": (attack("import os\nos.kill(-1, 9)"), HARNESS_KILLED),
    "kill_own_process_group": (attack("import os\nos.killpg(os.getpgrp(), 9)"), NOT_LOADED),
    "kill_parent_process_group": (
        attack("import os\nos.killpg(os.getpgid(os.getppid()), 9)"),
        HARNESS_KILLED,
    ),
    "polite_signals_to_parent": (
        attack(
            """\
            import os, signal
            for name in ("SIGTERM", "SIGINT", "SIGHUP", "SIGUSR1", "SIGALRM", "SIGPIPE"):
                os.kill(os.getppid(), getattr(signal, name))
            """
        ),
        WRONG_ANSWER,  # ignored by the judge, which then judges as usual
    ),
    "stop_parent": (
        attack("import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)"),
        HARNESS_KILLED,
    ),
    "ptrace_parent": (
        attack(
            """\
            import ctypes, os
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.ptrace(16, os.getppid(), 0, 0) != 0:  # PTRACE_ATTACH
                print("DENIED ptrace", ctypes.get_errno(), flush=True)
            else:
                print("LEAK attached", flush=True)
            """
        ),
        "DENIED ptrace 1",  # EPERM
    ),
    # --- timers and runaway calls ---------------------------------------------------------
    "disable_timers_then_spin": (
        attack(
            """\
            import signal
            signal.alarm(0)
            signal.signal(signal.SIGALRM, signal.SIG_IGN)
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            def add(a, b):
                while True:
                    pass
            """,
            wrong=False,
        ),
        TIMED_OUT,
    ),
    "sleep_forever": (
        attack("import time\ndef add(a, b):\n    time.sleep(3600)\n", wrong=False),
        TIMED_OUT,
    ),
    "spin_at_import": (attack("while True:\n    pass\n"), NOT_LOADED),
    # --- patching the interpreter (the candidate's own process only) ----------------------
    "patch_builtins": (
        attack(
            """\
            import builtins
            builtins.isinstance = lambda *a: True
            builtins.abs = lambda x: 0
            builtins.len = lambda x: 0
            builtins.type = lambda *a: int
            """
        ),
        NOT_LOADED,  # the candidate's own copy of the codec breaks
    ),
    "edit_builtins_dict": (
        attack(
            """\
            import sys
            b = __builtins__ if isinstance(__builtins__, dict) else __builtins__.__dict__
            b["AssertionError"] = type("AE", (Exception,), {})
            b["print"] = lambda *a, **k: None
            sys.excepthook = lambda *a: None
            """
        ),
        WRONG_ANSWER,
    ),
    "patch_comparison_helpers": (
        attack(
            """\
            import math, operator, unittest
            math.isclose = lambda *a, **k: True
            operator.eq = lambda *a: True
            unittest.TestCase.assertEqual = lambda *a, **k: None
            """
        ),
        WRONG_ANSWER,
    ),
    "patch_json_in_candidate": (
        attack(
            """\
            import json
            json.dumps = lambda *a, **k: '{"status": "passed"}'
            json.loads = lambda *a, **k: {"go": True}
            """
        ),
        "candidate broke the protocol",
    ),
    "patch_harness_copy_in_candidate": (
        attack(
            """\
            import sys
            for name in ("__main__", "rlvr_harness", "rlvr_wire"):
                if name in sys.modules:  # the candidate's copies; the judge has its own
                    sys.modules[name].encode = lambda *a, **k: 987777778 + 1
                    sys.modules[name].RESULT_PREFIX = "x"
            """
        ),
        "returned 987777779",  # forging a reply is no better than returning the value
    ),
    # --- lying return values ------------------------------------------------------------------
    "always_equal_object": (
        attack(
            """\
            class Eq:
                __eq__ = lambda self, other: True
                __ne__ = lambda self, other: False
                __hash__ = lambda self: 0
            def add(a, b):
                return Eq()
            """,
            wrong=False,
        ),
        "unsupported return type Eq",
    ),
    "hash_tricks_in_a_set": (
        attack(
            """\
            class H:
                __hash__ = lambda self: hash(987777778)
                __eq__ = lambda self, other: True
            def add(a, b):
                return {H()}
            """,
            wrong=False,
        ),
        "unsupported return type H",
    ),
    "class_spoofing_int": (
        attack(
            """\
            class Fake:
                __class__ = property(lambda self: int)
                __eq__ = lambda self, other: True
            def add(a, b):
                return Fake()
            """,
            wrong=False,
        ),
        "TypeError: descriptor '__int__' requires a 'int' object",
    ),
    "int_subclass_equal_to_all": (
        attack(
            """\
            class I(int):
                __eq__ = lambda self, other: True
                __hash__ = int.__hash__
                __int__ = lambda self: 987777778
            def add(a, b):
                return I(0)
            """,
            wrong=False,
        ),
        WRONG_ANSWER,  # the int value itself travels, not what __int__ claims
    ),
    "str_subclass_equal_to_all": (
        attack(
            """\
            class S(str):
                __eq__ = lambda self, other: True
                __hash__ = str.__hash__
            def add(a, b):
                return S("987777778")
            """,
            wrong=False,
        ),
        "(type str, expected int)",
    ),
    "repr_claims_to_pass": (
        attack(
            """\
            class R:
                __repr__ = __str__ = lambda self: "987777778"
            def add(a, b):
                return R()
            """,
            wrong=False,
        ),
        "unsupported return type R",
    ),
    "generator_raises_later": (
        attack("def add(a, b):\n    yield a + b\n    raise ValueError('late')\n", wrong=False),
        "ValueError: late",
    ),
    "self_referencing_structure": (
        attack("def add(a, b):\n    x = []\n    x.append(x)\n    return x\n", wrong=False),
        "nested deeper than 100 levels",
    ),
    "very_deep_structure": (
        attack(
            """\
            def add(a, b):
                x = 0
                for _ in range(100000):
                    x = [x]
                return x
            """,
            wrong=False,
        ),
        "nested deeper than 100 levels",
    ),
    # --- forging the verdict ------------------------------------------------------------------
    "forge_result_lines_everywhere": (
        attack(
            FORGE
            + textwrap.dedent(
                """\
                forge(lambda b: os.write(1, b))
                forge(lambda b: os.write(2, b))
                forge(sys.stdout.buffer.write)
                sys.stdout.flush()
                def add(a, b):
                    forge(lambda b: os.write(1, b))
                    print("PASSED all tests")
                    return 0
                """
            ),
            wrong=False,
        ),
        WRONG_ANSWER,
    ),
    "write_proc_self_fd1": (
        attack(
            FORGE
            + "for path in ('/proc/self/fd/1', '/dev/stdout', '/dev/stderr'):\n"
            + "    with open(path, 'wb') as fh:\n"
            + "        forge(fh.write)\n"
        ),
        WRONG_ANSWER,  # the candidate's fds 1 and 2 are its log file
    ),
    "write_parent_stdout": (
        attack(
            FORGE
            + textwrap.dedent(
                """\
                p = os.getppid()
                for path in (f"/proc/{p}/fd/1", "/proc/1/fd/1", f"/proc/{p}/fd/2"):
                    try:
                        with open(path, "wb") as fh:
                            forge(fh.write)
                        print("LEAK wrote", path, flush=True)
                    except OSError as exc:
                        print("DENIED", path, type(exc).__name__, flush=True)
                """
            )
        ),
        ("fd/1 PermissionError\nDENIED /proc/1/fd/1 PermissionError", "fd/2 PermissionError"),
    ),
    "background_process_forges_later": (
        attack(
            FORGE
            + textwrap.dedent(
                """\
                import time
                if os.fork() == 0:
                    os.setsid()
                    for _ in range(30):
                        for path in (f"/proc/{os.getppid()}/fd/1", "/proc/1/fd/1"):
                            try:
                                with open(path, "wb") as fh:
                                    forge(fh.write)
                            except OSError:
                                pass
                        time.sleep(0.05)
                    os._exit(0)
                """
            )
        ),
        WRONG_ANSWER,
    ),
    "override_sys_stdout": (
        attack(
            FORGE
            + textwrap.dedent(
                """\
                import io
                class Out(io.StringIO):
                    def write(self, s):
                        forge(lambda b: os.write(1, b))
                        return len(s)
                sys.stdout = sys.__stdout__ = sys.stderr = Out()
                print("x")
                """
            )
        ),
        WRONG_ANSWER,
    ),
    "close_every_fd": (attack("import os\nos.closerange(0, 1024)"), NOT_LOADED),
    "write_junk_to_reply_pipe": (
        attack(
            """\
            import os
            for fd in map(int, os.listdir("/proc/self/fd")):
                try:
                    os.write(fd, b"\\x00\\x00\\x00\\x05junk!" * 3)
                except OSError:
                    pass
            """
        ),
        "candidate broke the protocol",
    ),
    # --- stealing the nonce or the expected values ----------------------------------------
    "read_parent_memory_and_environ": (
        attack(
            STEAL
            + "p = os.getppid()\n"
            + "for name in ('mem', 'environ', 'fd/0', 'cmdline'):\n"
            + "    steal(f'/proc/{p}/{name}')\n"
            + "for name in ('environ', 'fd/0', 'mem'):\n"
            + "    steal(f'/proc/1/{name}')\n"
        ),
        ("/mem PermissionError", "/environ PermissionError", "fd/0 PermissionError"),
    ),
    "read_parent_memory_via_maps": (
        attack(
            STEAL
            + "p = os.getppid()\n"
            + "for name in ('maps', f'task/{p}/mem', 'smaps', 'fdinfo/0'):\n"
            + "    steal(f'/proc/{p}/{name}')\n"
        ),
        ("/maps PermissionError", "/mem PermissionError"),
    ),
    "scan_own_memory_for_the_payload": (attack(SCAN_MEMORY), "MEMSCAN-NOTHING-FOUND"),
    "gc_search_own_memory": (
        attack(
            """\
            import gc
            def add(a, b):
                want = {int("98777" + "7778"), int("355" + "79"), int("722" + "22")}
                hits = []
                for o in gc.get_objects():
                    if isinstance(o, (dict, list, tuple)):
                        items = o.values() if isinstance(o, dict) else o
                        hits += [x for x in items if type(x) is int and x in want]
                print("LEAK" if hits else "GC-NOTHING-FOUND", flush=True)
                return hits[0] if hits else 0
            """,
            wrong=False,
        ),
        "GC-NOTHING-FOUND",
    ),
    "search_the_filesystem": (
        attack(
            """\
            import glob, os
            needle, found = ("98777" + "7778").encode(), []
            roots = ("/work", "/tmp", os.getcwd(), "/dev/shm", "/var/tmp", "/root", "/run")
            for root in roots:
                for path in glob.glob(root + "/**", recursive=True)[:5000]:
                    try:
                        with open(path, "rb") as fh:
                            if needle in fh.read(1 << 20):
                                found.append(path)
                    except OSError:
                        pass
            print("LEAK" if found else "SEARCHED-NOTHING-FOUND", found, flush=True)
            """
        ),
        "SEARCHED-NOTHING-FOUND",
    ),
    "read_stdin": (
        attack(
            """\
            import sys
            print("STDIN-BYTES", len(sys.stdin.read()), flush=True)
            def add(a, b):
                return int(input())
            """,
            wrong=False,
        ),
        ("STDIN-BYTES 0", "EOFError"),
    ),
    # --- the judge's own files and imports ----------------------------------------------
    "plant_modules_for_the_judge": (
        attack(
            f"PLANTED = {PLANTED!r}\n"
            + "for name in ('fractions', 'random', 'typing', 'json', 'traceback', 'colorsys'):\n"
            + "    with open(name + '.py', 'w') as fh:\n"
            + "        fh.write(PLANTED)\n"
        ),
        WRONG_ANSWER,
    ),
    "rewrite_harness_files": (
        attack(
            """\
            import os
            with open("main.py", "w") as fh:
                fh.write("print(1)")
            os.remove("candidate.log")
            os.symlink("/proc/1/fd/1", "candidate.log")
            os.mkfifo("main.pyc")
            """
        ),
        WRONG_ANSWER,
    ),
    "main_name_tricks": (
        attack(
            """\
            __name__ = "__main__"
            import __main__, sys
            sys.modules["__main__"] = sys.modules.get(__name__, __main__)
            if __name__ == "__main__":
                print("MAIN-BLOCK", flush=True)
            """
        ),
        WRONG_ANSWER,
    ),
    "output_flood": (
        attack(
            """\
            def add(a, b):
                chunk = "RLVR-HARNESS-RESULT " * 50000
                while True:
                    print(chunk)
            """,
            wrong=False,
        ),
        "OSError: [Errno 27] File too large",
    ),
    "memory_hog": (
        attack("def add(a, b):\n    x = bytearray(1 << 40)\n", wrong=False),
        "MemoryError",
    ),
}


docker_test = pool_tests.docker_test


@pytest.fixture(scope="module")
def verdicts(image: str) -> Iterator[dict[str, JudgeResult]]:
    with pool_tests.leak_checked(pool_size=2) as box, ThreadPoolExecutor(2) as workers:
        futures = {
            name: workers.submit(judge_call, box, TASK, program, config=CONFIG)
            for name, (program, _) in ATTACKS.items()
        }
        yield {name: future.result() for name, future in futures.items()}


def test_there_are_at_least_thirty_distinct_attacks() -> None:
    assert len(ATTACKS) >= 30
    assert len({program for program, _ in ATTACKS.values()}) == len(ATTACKS)


@docker_test
def test_the_honest_solution_passes() -> None:
    """The attack task itself is judgeable: an honest add gets full reward."""
    with Sandbox("docker", pool_size=1) as box:
        result = judge_call(box, TASK, "def add(a, b):\n    return a + b\n", config=CONFIG)
    assert (result.status, result.passed, result.total) == ("passed", 3, 3)


@pytest.mark.parametrize("protected", [True, False])
def test_planted_modules_would_forge_the_verdict_without_the_import_guard(
    tmp_path: Path, protected: bool
) -> None:
    """A canary: the planting attack is real, and ``_safe_path`` is what stops it."""
    source = harness_source()
    if not protected:
        source = source.replace("    _safe_path(workdir)\n", "")
    _, report = run_locally(
        tmp_path, ATTACKS["plant_modules_for_the_judge"][0], TASK, source=source
    )
    forged = report["test"] == {"status": "passed"}
    assert forged is not protected, report


@docker_test
def test_non_dumpable_judge_is_what_stops_writes_to_its_stdout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A canary: without PR_SET_DUMPABLE the candidate can open the judge's stdout."""
    source = harness_source().replace("if _set_dumpable(False):", "if True:")
    monkeypatch.setattr(call_judge, "_preloaded_main", lambda: source)  # not the preload
    with Sandbox("docker", pool_size=1) as box:
        program = ATTACKS["write_parent_stdout"][0]
        result = judge_call(box, TASK, program, config=CONFIG)
    assert "LEAK wrote" in result.detail
    assert result.status == "failed"  # the guessed nonces are still wrong


@docker_test
@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_earns_nothing(name: str, verdicts: dict[str, JudgeResult]) -> None:
    result = verdicts[name]
    reason = "\n".join([result.detail, *(t.detail for t in result.tests)])
    assert result.status == "failed", (result.status, reason)
    assert result.passed == 0 and result.total == 3, result.tests
    assert "LEAK" not in reason
    want = ATTACKS[name][1]
    for part in (want,) if isinstance(want, str) else want:
        assert part in reason, reason

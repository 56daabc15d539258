"""``rlvr-gym demo``: start the service on its defaults, score sample responses over gRPC.

What a new user should see in one command: the server coming up (``rlvr-gym serve`` in a
child process, as in production), a client sending GRPO-shaped batches — the built-in
math samples, and right and wrong programs for the built-in code tasks — and a table of
what came back, with the status every sample was expected to get.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any

from rlvr_gym._text import clip
from rlvr_gym.errors import RlvrGymError
from rlvr_gym.rewards.code.datasets import parse_code_task
from rlvr_gym.rewards.code.tasks import CodeTask
from rlvr_gym.rewards.types import RewardResult
from rlvr_gym.server.client import MathGold, RewardClient, TaskId

__all__ = ["DemoRow", "code_samples", "math_samples", "run_demo", "started_server"]

_READY = "rlvr-gym: serving on "
_START_TIMEOUT_S = 180.0


@dataclass(frozen=True)
class DemoRow:
    """One sample: what was sent, what came back, what was expected."""

    env: str
    label: str
    expect: str
    result: RewardResult


@contextlib.contextmanager
def started_server(*extra: str) -> Iterator[str]:
    """``rlvr-gym serve`` on a free loopback port in a child process; yields its address.

    Stopped with SIGTERM (graceful shutdown) when the block ends.

    Raises:
        RlvrGymError: the server exited or did not get ready in time.
    """
    argv = [sys.executable, "-c", "from rlvr_gym.cli import main; raise SystemExit(main())"]
    argv += ["serve", "--address", "127.0.0.1:0", "--metrics-address", "", *extra]
    argv += ["--log-level", "warning"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        yield _wait_ready(proc)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
            how = "cleanly" if code == 0 else f"with exit code {code}"
            print(f"rlvr-gym serve stopped {how}", file=sys.stderr, flush=True)
        if proc.stdout is not None:
            proc.stdout.close()


def _wait_ready(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + _START_TIMEOUT_S
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not sel.select(timeout=0.5):
                if proc.poll() is not None:
                    break
                continue
            line = proc.stdout.readline()
            if line.startswith(_READY):
                return line[len(_READY) :].strip()
            if not line and proc.poll() is not None:
                break
    raise RlvrGymError(f"rlvr-gym serve did not start (exit code {proc.poll()}); see its log above")


def math_samples() -> list[dict[str, Any]]:
    """The built-in math samples (response, gold, expected status)."""
    text = resources.files("rlvr_gym").joinpath("data/demo_math.jsonl").read_text("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _wrong_program(task: CodeTask) -> str:
    if task.kind == "call":
        return f"```python\ndef {task.entry_point}(*args):\n    return None\n```"
    if task.language == "cpp":
        return "```cpp\nint main() { return 0; }\n```"
    return "```python\nprint(0)\n```"


def code_samples() -> list[tuple[CodeTask, str, str]]:
    """``(task, response, expected status)``: each demo task's reference, and a wrong one."""
    text = resources.files("rlvr_gym").joinpath("data/demo_code.jsonl").read_text("utf-8")
    out: list[tuple[CodeTask, str, str]] = []
    for line in filter(str.strip, text.splitlines()):
        task = parse_code_task(json.loads(line))
        right = f"Here it is:\n```{task.language}\n{task.reference}```"
        out += [(task, right, "correct"), (task, _wrong_program(task), "incorrect")]
    return out


def score_samples(client: RewardClient) -> list[DemoRow]:
    """Score the samples through ``client``: one batch for math, one per code task."""
    rows: list[DemoRow] = []
    samples = math_samples()
    golds = [MathGold(str(s["answer"])) for s in samples]
    results = client.score_batch("rlvr_gym/Math-v0", golds, [str(s["response"]) for s in samples])
    for sample, result in zip(samples, results):
        rows.append(DemoRow("math", str(sample["problem"]), str(sample["expect"]), result))
    by_task: dict[str, list[tuple[CodeTask, str, str]]] = {}
    for code_sample in code_samples():
        by_task.setdefault(code_sample[0].task_id, []).append(code_sample)
    for task_id, group in by_task.items():
        # A GRPO-shaped group: one task (by id, from Code-v0's built-in set), G responses.
        results = client.score_batch("rlvr_gym/Code-v0", TaskId(task_id), [s[1] for s in group])
        for (task, _, expect), result in zip(group, results):
            rows.append(DemoRow("code", f"{task_id} ({task.language})", expect, result))
    return rows


def print_table(rows: list[DemoRow], wall_s: float, address: str) -> int:
    """Print the table and a summary; returns how many rows matched their expectation."""
    cols = shutil.get_terminal_size((120, 24)).columns
    label_w = max(20, cols - 3 - 5 - 18 - 12 - 7 - 22 - 7)
    header = (
        f"{'#':>3} {'env':<5} {'sample':<{label_w}} {'extracted':<18} {'status':<12} "
        f"{'reward':>6}  {'as expected?':<22}"
    )
    print(header)
    print("-" * len(header))
    matches = 0
    for i, row in enumerate(rows, start=1):
        ok = row.result.status.value == row.expect
        matches += ok
        print(
            f"{i:>3} {row.env:<5} {clip(row.label, label_w):<{label_w}} "
            f"{clip(row.result.extracted, 18):<18} {row.result.status.value:<12} "
            f"{row.result.reward:>6.2f}  {'yes' if ok else f'NO (want {row.expect})':<22}"
        )
    print()
    for env in ("math", "code"):
        mine = [r for r in rows if r.env == env]
        mean = sum(r.result.reward for r in mine) / max(1, len(mine))
        print(f"{env}: {len(mine)} responses scored over gRPC, mean reward {mean:.3f}")
    print(f"server: {address}; {len(rows)} responses in {wall_s:.2f} s (server start excluded)")
    print(f"as expected: {matches}/{len(rows)}")
    return matches


def run_demo(remote: str | None = None) -> int:
    """Start a server (unless ``remote`` is given), score the samples, print the table.

    Returns the process exit code: 0 when every sample got its expected status.
    """
    with contextlib.ExitStack() as stack:
        if remote is None:
            print("starting rlvr-gym serve (default settings) ...", file=sys.stderr, flush=True)
            remote = stack.enter_context(started_server())
        client = stack.enter_context(
            RewardClient(remote, token=os.environ.get("RLVR_GYM_TOKEN") or None)
        )
        started = time.perf_counter()
        rows = score_samples(client)
        wall = time.perf_counter() - started
    matches = print_table(rows, wall, remote)
    return 0 if matches == len(rows) else 1

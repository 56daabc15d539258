"""MathReward through the real worker pool: deadlines, hostile input, threads, asyncio, TRL."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from rlvr_gym.rewards.math import MathConfig, MathReward
from rlvr_gym.rewards.types import Status


def slow_pair(k: int, n: int = 6) -> tuple[str, str]:
    """A correct answer whose proof costs sympy ~0.2 s (n=6): slow, not hostile.

    ``k`` varies the polynomial so no parse cache can make repeats cheap.
    """
    square = rf"x^2+y^2+2xy+{2 * k}x+{2 * k}y+{k * k}"
    return rf"\boxed{{(x+y+{k})^{{{n}}}({square})^{{{n}}}}}", rf"(x+y+{k})^{{{3 * n}}}"


SLOW_PAIR = slow_pair(1)

PATHOLOGICAL = [
    r"\boxed{9^{9^{9^{9}}}}",
    "x" * 200_000 + r" \boxed{3}",
    "\\boxed{" + "{" * 10_000 + "1" + "}" * 10_000 + "}",
    "\\boxed{" + "{" * 10_000,
    r"\boxed{" + "(" * 5_000 + "1" + ")" * 5_000 + "}",
    r"\boxed{100000!}",
    r"\boxed{" + r"\sqrt{" * 3_000 + "2" + "}" * 3_000 + "}",
    r"\boxed{1}" * 20_000,
    r"\boxed{2^{2^{2^{2^{2^{2}}}}}}",
    r"\boxed{x^{x^{x^{x^{x^{x}}}}}}",
]


@pytest.fixture(scope="module")
def reward() -> MathReward:
    with MathReward(MathConfig(deadline_s=2.0), workers=2) as r:
        yield r


def test_scores_a_batch_in_order(reward: MathReward) -> None:
    golds = [str(i) for i in range(50)]
    responses = [rf"\boxed{{{i if i % 3 else i + 1}}}" for i in range(50)]
    results = reward.score_batch(responses, golds)
    assert [r.status is Status.CORRECT for r in results] == [i % 3 != 0 for i in range(50)]


@pytest.mark.parametrize("gold", ["5", r"x^2", r"9^{9^{9^{9}}}"])
def test_pathological_inputs_return_within_the_deadline(reward: MathReward, gold: str) -> None:
    deadline = reward.config.deadline_s
    for response in PATHOLOGICAL:
        start = time.monotonic()
        result = reward.score(response, gold)
        elapsed = time.monotonic() - start
        # The deadline contract: a verdict or `timeout`, never much later than the deadline.
        assert elapsed < deadline + 0.5, (response[:40], elapsed)
        assert result.status is not Status.INFRA_ERROR, result.detail


def test_deadline_expiry_is_a_timeout_and_the_pool_recovers() -> None:
    with MathReward(MathConfig(deadline_s=0.05), workers=1) as r:
        start = time.monotonic()
        result = r.score(*SLOW_PAIR)
        assert time.monotonic() - start < 0.05 + 0.5
        assert result.status is Status.TIMEOUT
        assert r.score(r"\boxed{2}", "2").status is Status.CORRECT


def test_the_deadline_counts_from_grading_not_queueing() -> None:
    # One worker, 8 slow items of ~0.2 s each: the last waits > 1 s in the queue, yet
    # none may time out with a 1 s deadline.
    pairs = [slow_pair(k) for k in range(1, 9)]
    with MathReward(MathConfig(deadline_s=1.0), workers=1) as r:
        start = time.monotonic()
        results = r.score_batch([p[0] for p in pairs], [p[1] for p in pairs])
        waited = time.monotonic() - start
    assert [x.status for x in results] == [Status.CORRECT] * 8
    assert waited > 1.0  # otherwise this test did not exercise queueing


@pytest.mark.slow
def test_a_thousand_pathological_inputs_leave_the_pool_healthy() -> None:
    # Every third item really exceeds its deadline, so workers are killed ~330 times.
    with MathReward(MathConfig(deadline_s=0.05), workers=2) as r:
        pairs = [
            slow_pair(i) if i % 3 == 0 else (PATHOLOGICAL[i % len(PATHOLOGICAL)], "x^2")
            for i in range(1000)
        ]
        results = r.score_batch([p[0] for p in pairs], [p[1] for p in pairs])
        assert all(x.status is not Status.INFRA_ERROR for x in results)
        timeouts = sum(x.status is Status.TIMEOUT for x in results)
        assert timeouts >= 300
        assert r.score(r"\boxed{\frac12}", "0.5").status is Status.CORRECT
        stats = r.pool.stats()
        assert stats.alive == 2


def test_threads_share_one_reward(reward: MathReward) -> None:
    def job(i: int) -> list[bool]:
        res = reward.score_batch([rf"\boxed{{{i}}}", rf"\boxed{{{i + 1}}}"], [str(i), str(i)])
        return [x.status is Status.CORRECT for x in res]

    with ThreadPoolExecutor(8) as ex:
        outs = list(ex.map(job, range(40)))
    assert outs == [[True, False]] * 40


def test_asyncio_callers(reward: MathReward) -> None:
    async def main() -> list[Status]:
        tasks = [reward.ascore_batch([rf"\boxed{{{i}}}"], [str(i)]) for i in range(20)]
        return [r[0].status for r in await asyncio.gather(*tasks)]

    assert asyncio.run(main()) == [Status.CORRECT] * 20


def test_trl_callable_masks_timeouts_only() -> None:
    with MathReward(MathConfig(deadline_s=0.05), workers=1) as r:
        completions = [
            [{"role": "assistant", "content": r"<think>2+2</think> \boxed{4}"}],
            [{"role": "assistant", "content": r"\boxed{5}"}],
            [{"role": "assistant", "content": SLOW_PAIR[0]}],
        ]
        out = r(["p"] * 3, completions, answer=["4", "4", SLOW_PAIR[1]])
    assert out == [1.0, 0.0, None]


def test_mismatched_lengths_are_a_clear_error(reward: MathReward) -> None:
    with pytest.raises(ValueError, match="2 responses but 1 gold"):
        reward.score_batch(["a", "b"], ["1"])


def test_import_is_light() -> None:
    code = (
        "import sys, rlvr_gym, rlvr_gym.rewards, rlvr_gym.rewards.math, rlvr_gym.envs;"
        "bad = [m for m in ('torch', 'docker', 'grpc', 'sympy') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_script_without_a_main_guard_can_build_a_reward(tmp_path: object) -> None:
    # TRL scripts often build reward functions at module level; the forkserver's
    # re-import of __main__ must not run that code again in every worker.
    from pathlib import Path

    script = Path(str(tmp_path)) / "train.py"
    script.write_text(
        "from rlvr_gym.rewards.math import MathReward\n"
        "reward = MathReward(workers=2)\n"
        "print(reward(['p'], [r'\\boxed{\\frac12}', r'\\boxed{3}'], answer=['0.5', '4']))\n"
        "reward.close()\n"
    )
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[1.0, 0.0]"

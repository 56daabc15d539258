"""The TRL, verl and OpenRLHF adapters: real TRL training, the other two by their contracts.

TRL is installed here, so its own ``GRPOTrainer`` trains a tiny random model for a few CPU
steps with our reward functions, in-process and through a reward server on port 0. verl
and OpenRLHF are not installable here; their adapters are checked against the call
signatures and return shapes their reward managers use (see the adapter docstrings).
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import math
import pickle
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from rlvr_gym.trainer_adapter.adapters import _scoring, openrlhf, verl
from rlvr_gym.trainer_adapter.adapters.trl import reward_funcs, trl_reward_func

PALINDROME = (
    "```python\ndef is_palindrome(text):\n"
    "    k = [c.lower() for c in text if c.isalnum()]\n    return k == k[::-1]\n```"
)
NOT_PALINDROME = "```python\ndef is_palindrome(text):\n    return False\n```"
ADD_TASK = {
    "task_id": "add",
    "prompt": "Write add(a, b).",
    "entry_point": "add",
    "cases": [{"args": [1, 2], "expected": 3}, {"args": [-1, 1], "expected": 0}],
}
ADD_OK = "```python\ndef add(a, b):\n    return a + b\n```"
ADD_BAD = "```python\ndef add(a, b):\n    return a - b\n```"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No RLVR_GYM_* from the outside, and no process scorer left for the next test."""
    for name in ("RLVR_GYM_REMOTE", "RLVR_GYM_TOKEN", "RLVR_GYM_ENV", "RLVR_GYM_FORMAT_WEIGHT"):
        monkeypatch.delenv(name, raising=False)
    _scoring.PROCESS.configure(None)
    yield
    _scoring.PROCESS.configure(None)


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    from rlvr_gym.server.app import serve_in_thread
    from rlvr_gym.server.config import ServerConfig

    config = ServerConfig(address="127.0.0.1:0", metrics_address="", math_workers=1,
                          sandbox_backend="process", sandbox_pool_size=1,
                          log_level="warning")  # fmt: skip
    with serve_in_thread(config) as running:
        yield running


def target(server: Any) -> str:
    return f"127.0.0.1:{server.port}"


def score_batches(server: Any) -> float:
    """ScoreBatch calls the server answered OK so far."""
    value = server.metrics.registry.get_sample_value(
        "rlvr_gym_requests_total", {"method": "ScoreBatch", "code": "OK"}
    )
    return value or 0.0


@pytest.fixture
def dead() -> str:
    """An address nothing listens on: every call fails with UNAVAILABLE."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"127.0.0.1:{port}"


def fast_fail() -> dict[str, Any]:
    """Client options that give up at once (the default retries for seconds)."""
    from rlvr_gym.server.client import RetryPolicy

    return {"retry": RetryPolicy(max_attempts=1), "timeout_s": 10.0}


# --------------------------------------------------------------------------- TRL, unit


def test_trl_local_math_masks_bad_tasks_and_shares_one_scoring() -> None:
    accuracy, fmt = reward_funcs(format_weight=0.5, workers=1)
    try:
        completions = ["<think>so</think> \\boxed{42}", "the answer is 41", "<think>x</think> 7"]
        answers = ["42", "42", ""]  # an empty gold: the task is unusable, not the response
        assert accuracy.__name__ == "math_accuracy"
        assert fmt.__name__ == "r1_format"
        assert accuracy(["p"] * 3, completions, answer=answers) == [1.0, 0.0, None]
        assert fmt(["p"] * 3, completions, answer=answers) == [0.5, 0.0, None]
    finally:
        accuracy.close()


def test_trl_conversational_completions_and_missing_column() -> None:
    from rlvr_gym.errors import ConfigError

    func = trl_reward_func(workers=1)
    try:
        chat = [[{"role": "assistant", "content": "\\boxed{3}"}]]
        assert func([[{"role": "user", "content": "1+2?"}]], chat, answer=["3"]) == [1.0]
        with pytest.raises(ConfigError, match="'answer'"):
            func(["p"], ["\\boxed{3}"], solution=["3"])
    finally:
        func.close()


def test_trl_unknown_option_is_a_config_error() -> None:
    from rlvr_gym.errors import ConfigError

    with pytest.raises(ConfigError, match="timeout_s"):
        reward_funcs(timeout_s=3)  # a client option, but the scoring is local
    with pytest.raises(ConfigError, match="workers"):
        reward_funcs(remote="127.0.0.1:1", workers=2)
    with pytest.raises(ConfigError, match="remote is empty"):
        reward_funcs(remote=[])


def test_trl_remote_math_and_code_one_score_batch_per_call(server: Any) -> None:
    before = score_batches(server)
    accuracy, fmt = reward_funcs(remote=target(server), format_weight=1.0)
    completions = ["<think>a</think>\\boxed{1/2}", "\\boxed{0.5}", "\\boxed{2}"]
    assert accuracy(["p"] * 3, completions, answer=["0.5"] * 3) == [1.0, 1.0, 0.0]
    assert fmt(["p"] * 3, completions, answer=["0.5"] * 3) == [1.0, 0.0, 0.0]
    assert score_batches(server) == before + 1  # the format function reused the scoring

    (code,) = reward_funcs("rlvr_gym/Code-v0", remote=target(server))
    assert code.__name__ == "code_accuracy"
    pair = [PALINDROME, NOT_PALINDROME]
    assert code(["p"] * 2, pair, task_id=["demo/is-palindrome"] * 2) == [1.0, 0.0]
    assert code(["p"] * 2, [ADD_OK, ADD_BAD], task=[json.dumps(ADD_TASK), ADD_TASK]) == [1.0, 0.0]
    # A mixed dataset: a row names its task or carries it, the other column is None.
    mixed = code(["p"] * 2, [PALINDROME, ADD_OK], task_id=["demo/is-palindrome", None],
                 task=[None, ADD_TASK])  # fmt: skip
    assert mixed == [1.0, 1.0]
    assert score_batches(server) == before + 4
    accuracy.close()
    code.close()


def test_trl_remote_refusal_raises_but_outage_masks(server: Any, dead: str) -> None:
    from rlvr_gym.server.client import RemoteError

    (code,) = reward_funcs("rlvr_gym/Code-v0", remote=target(server))
    with pytest.raises(RemoteError, match="NOT_FOUND"):  # a wrong dataset stops the run
        code(["p"], [PALINDROME], task_id=["demo/no-such-task"])
    (down,) = reward_funcs(remote=dead, **fast_fail())
    assert down(["p"] * 2, ["\\boxed{1}"] * 2, answer=["1", "1"]) == [None, None]


def test_trl_reward_funcs_pickle_and_work_after(server: Any) -> None:
    funcs = reward_funcs(remote=target(server), format_weight=0.2)
    funcs[0](["p"], ["\\boxed{1}"], answer=["1"])  # a live channel is not pickled
    accuracy, fmt = pickle.loads(pickle.dumps(funcs))
    assert accuracy(["p"], ["<think>t</think>\\boxed{1}"], answer=["1"]) == [1.0]
    assert fmt(["p"], ["<think>t</think>\\boxed{1}"], answer=["1"]) == [pytest.approx(0.2)]


# ------------------------------------------------------------------ TRL's GRPOTrainer


def _grpo(funcs: list[Any], answers: list[str], tmp_path: Any, steps: int = 2) -> Any:
    """TRL's own GRPOTrainer: a tiny random Llama, ``steps`` CPU steps, our rewards."""
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from tests.trainer_adapter.tiny import tiny_model, tiny_tokenizer

    tokenizer = tiny_tokenizer()
    data = Dataset.from_dict({"prompt": ["Q"] * len(answers), "answer": answers})
    args = GRPOConfig(
        output_dir=str(tmp_path), max_steps=steps, per_device_train_batch_size=8,
        num_generations=4, max_completion_length=6, use_cpu=True, report_to=[],
        logging_steps=1, save_strategy="no", learning_rate=1e-3, seed=0,
    )  # fmt: skip
    trainer = GRPOTrainer(model=tiny_model(tokenizer), reward_funcs=funcs, args=args,
                          train_dataset=data, processing_class=tokenizer)  # fmt: skip
    trainer.train()
    return trainer


class Recorder:
    """Wraps a reward function, keeping what it returned to TRL (TRL logs by __name__)."""

    def __init__(self, func: Any) -> None:
        self.func, self.__name__, self.outputs = func, func.__name__, []

    def __call__(self, prompts: Any, completions: Any, **columns: Any) -> list[float | None]:
        out: list[float | None] = self.func(prompts, completions, **columns)
        self.outputs.append(out)
        return out


def _steps(trainer: Any, key: str) -> list[dict[str, Any]]:
    return [entry for entry in trainer.state.log_history if key in entry]


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_trl_grpo_trainer_local(tmp_path: Any) -> None:
    accuracy, fmt = reward_funcs(format_weight=0.1, workers=1)
    recorder = Recorder(accuracy)
    try:
        trainer = _grpo([recorder, fmt], ["7", "7"], tmp_path)
    finally:
        accuracy.close()
    assert trainer.state.global_step == 2
    logged = _steps(trainer, "rewards/math_accuracy/mean")
    assert len(logged) == len(recorder.outputs) == 2
    for entry, out in zip(logged, recorder.outputs):
        assert len(out) == 8 and all(v in (0.0, 1.0) for v in out)
        assert entry["rewards/math_accuracy/mean"] == pytest.approx(sum(out) / len(out))
        assert entry["rewards/math_accuracy/masked_frac"] == 0.0
        assert "rewards/r1_format/mean" in entry


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_trl_grpo_trainer_remote(tmp_path: Any, server: Any) -> None:
    before = score_batches(server)
    accuracy, fmt = reward_funcs(remote=target(server), format_weight=0.1)
    recorder = Recorder(accuracy)
    trainer = _grpo([recorder, fmt], ["7", "7"], tmp_path)
    assert trainer.state.global_step == 2
    assert len(_steps(trainer, "rewards/math_accuracy/mean")) == 2
    # One ScoreBatch per TRL reward call, shared by the accuracy and format functions.
    assert score_batches(server) - before == len(recorder.outputs) == 2


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_trl_grpo_trainer_ignores_masked_samples(tmp_path: Any) -> None:
    """Half the prompts have an unusable gold: TRL averages the other half only."""
    (accuracy,) = reward_funcs(workers=1)
    recorder = Recorder(accuracy)
    try:
        trainer = _grpo([recorder], ["7", ""], tmp_path)
    finally:
        accuracy.close()
    assert trainer.state.global_step == 2
    logged = _steps(trainer, "rewards/math_accuracy/mean")
    assert len(logged) == len(recorder.outputs) == 2
    for entry, out in zip(logged, recorder.outputs):
        kept = [v for v in out if v is not None]
        assert 0 < len(kept) < len(out)  # both kinds in every batch
        assert entry["rewards/math_accuracy/mean"] == pytest.approx(sum(kept) / len(kept))
        assert entry["reward"] == pytest.approx(sum(kept) / len(kept))  # not a zero each
        assert entry["rewards/math_accuracy/masked_frac"] == pytest.approx(1 - len(kept) / 8)
        assert math.isfinite(entry["loss"])
    # With these seeds the model answers 7 once, so "ignored" and "counted as 0" differ.
    assert any(1.0 in out for out in recorder.outputs)


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_trl_grpo_trainer_survives_a_dead_reward_server(tmp_path: Any, dead: str) -> None:
    """Every sample masked: TRL warns, zeroes the advantages, and training goes on."""
    funcs = reward_funcs(remote=dead, format_weight=0.1, **fast_fail())
    recorders = [Recorder(f) for f in funcs]
    trainer = _grpo(recorders, ["7", "7"], tmp_path)
    assert trainer.state.global_step == 2
    assert all(v is None for r in recorders for out in r.outputs for v in out)
    for entry in _steps(trainer, "rewards/math_accuracy/masked_frac"):
        assert entry["rewards/math_accuracy/masked_frac"] == 1.0
        assert entry["loss"] == 0.0  # no advantage, no policy gradient


# --------------------------------------------------------------------------------- verl


def _params(func: Any) -> list[str]:
    return [p.name for p in inspect.signature(func).parameters.values()
            if p.kind is not inspect.Parameter.VAR_KEYWORD]  # fmt: skip


def test_verl_signatures_match_verls_reward_managers() -> None:
    assert _params(verl.compute_score) == ["data_source", "solution_str", "ground_truth",
                                           "extra_info"]  # fmt: skip
    assert inspect.signature(verl.compute_score).parameters["extra_info"].default is None
    assert _params(verl.compute_score_batch) == ["data_sources", "solution_strs",
                                                 "ground_truths", "extra_infos"]  # fmt: skip
    assert inspect.getfullargspec(verl.compute_score).varkw == "kwargs"  # reward_kwargs


@pytest.mark.parametrize(
    ("data_source", "env_id"),
    [
        ("openai/gsm8k", "rlvr_gym/Math-v0"),
        ("lighteval/MATH", "rlvr_gym/Math-v0"),
        ("DigitalLearningGmbH/MATH-lighteval", "rlvr_gym/Math-v0"),
        ("math500", "rlvr_gym/Math-v0"),
        ("aime2024", "rlvr_gym/Math-v0"),
        ("codecontests", "rlvr_gym/Code-v0"),
        ("codeparrot/apps", "rlvr_gym/Code-v0"),
        ("BAAI/TACO", "rlvr_gym/Code-v0"),
        ("openai_humaneval", "rlvr_gym/Code-v0"),
        ("rlvr_gym/HumanEval-v0", "rlvr_gym/HumanEval-v0"),
    ],
)
def test_verl_routes_data_sources(data_source: str, env_id: str) -> None:
    assert verl.env_for(data_source) == env_id


def test_verl_math_scores() -> None:
    verl.configure(workers=1)
    right = verl.compute_score("lighteval/MATH", "so the answer is \\boxed{42}", "42")
    wrong = verl.compute_score("openai/gsm8k", "so the answer is \\boxed{41}", "42", {"i": 1})
    assert right == {"score": 1.0, "acc": 1.0, "status": "correct", "masked": False,
                     "extracted": "42"}  # fmt: skip
    assert wrong["score"] == 0.0 and wrong["status"] == "incorrect"
    assert right.keys() == wrong.keys()  # verl gathers every key of every sample


def test_verl_format_weight_and_reward_kwargs() -> None:
    verl.configure(workers=1, format_weight=0.5)
    assert verl.compute_score("math500", "<think>t</think>\\boxed{2}", "2")["score"] == 1.5
    # reward_kwargs (custom_reward_function.reward_kwargs) win over configure().
    assert verl.compute_score("math500", "<think>t</think>\\boxed{2}", "2",
                              format_weight=0.0)["score"] == 1.0  # fmt: skip


def test_verl_code_inline_task_and_task_id() -> None:
    import numpy as np

    verl.configure(backend="process", workers=1)
    as_json = verl.compute_score("codecontests", ADD_OK, json.dumps(ADD_TASK))
    # A parquet row read through pandas holds lists as numpy arrays.
    from_parquet = {**ADD_TASK, "cases": np.array(ADD_TASK["cases"], dtype=object)}
    as_dict = verl.compute_score("codecontests", ADD_BAD, from_parquet)
    by_id = verl.compute_score("rlvr_gym/Code-v0", PALINDROME, "demo/is-palindrome")
    assert (as_json["score"], as_dict["score"], by_id["score"]) == (1.0, 0.0, 1.0)
    assert as_dict["status"] == "incorrect" and as_json.keys() == as_dict.keys()


def test_verl_batch_groups_by_env_and_keeps_order() -> None:
    verl.configure(backend="process", workers=1)
    out = verl.compute_score_batch(
        ["math500", "codecontests", "math500"],
        ["\\boxed{1}", ADD_OK, "\\boxed{3}"],
        ["1", ADD_TASK, "4"],
        [None, None, None],
    )
    assert [o["score"] for o in out] == [1.0, 1.0, 0.0]


def test_verl_remote_by_env_var(server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RLVR_GYM_REMOTE", target(server))
    before = score_batches(server)
    assert verl.compute_score("openai/gsm8k", "#### \\boxed{12}", "12")["score"] == 1.0
    assert score_batches(server) == before + 1
    out = verl.compute_score_batch(["a", "b"], ["\\boxed{1}", "\\boxed{2}"], ["1", "1"])
    assert [o["score"] for o in out] == [1.0, 0.0]
    assert score_batches(server) == before + 2  # one ScoreBatch per chunk


def test_verl_remote_by_reward_kwargs(server: Any) -> None:
    before = score_batches(server)
    out = verl.compute_score("math500", "\\boxed{5}", "5", remote=target(server))
    assert out["score"] == 1.0 and score_batches(server) == before + 1


def test_verl_outage_is_masked_not_raised(dead: str) -> None:
    verl.configure(remote=dead, **fast_fail())
    out = verl.compute_score("math500", "\\boxed{5}", "5")
    assert out["score"] == 0.0 and out["masked"] is True and out["status"] == "infra_error"
    assert out["acc"] == 0.0 and out["extracted"] == ""


def test_verl_loaded_from_its_file_shares_the_process_scorer(dead: str) -> None:
    """Old verl (and OpenRLHF) exec the file under another module name; same scorer."""
    spec = importlib.util.spec_from_file_location("custom_module", verl.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    verl.configure(remote=dead, **fast_fail())
    assert module.compute_score("math500", "\\boxed{5}", "5")["masked"] is True


# ----------------------------------------------------------------------------- OpenRLHF


def test_openrlhf_signature() -> None:
    assert _params(openrlhf.reward_func) == ["queries", "prompts", "labels"]


@pytest.mark.parametrize(
    ("query", "prompt", "response"),
    [
        ("Q: 1+1?\nA: \\boxed{2}<|im_end|>", "Q: 1+1?\n", "A: \\boxed{2}"),
        ("<s> Q? \\boxed{2}</s>", "Q?", " \\boxed{2}"),  # decoding prepended a BOS
        ("no prompt here \\boxed{2}<|endoftext|><|endoftext|>", "Q?", "no prompt here \\boxed{2}"),
        ("Q?", "Q?", ""),
    ],
)
def test_openrlhf_response_of(query: str, prompt: str, response: str) -> None:
    assert openrlhf.response_of(query, prompt) == response


def test_openrlhf_rewards_scores_and_logs() -> None:
    import torch

    openrlhf.configure(workers=1, format_weight=0.5)
    prompts = ["<|im_start|>user\n1+1?<|im_end|>\n<|im_start|>assistant\n"] * 3
    responses = ["<think>t</think>\\boxed{2}<|im_end|>", "\\boxed{3}<|im_end|>", "\\boxed{2}"]
    out = openrlhf.reward_func([p + r for p, r in zip(prompts, responses)], prompts,
                               ["2", "2", ""])  # fmt: skip
    assert set(out) == {"rewards", "scores", "extra_logs"}
    assert out["rewards"].dtype == torch.float32 and out["rewards"].shape == (3,)
    assert out["rewards"].tolist() == [1.5, 0.0, 0.0]  # accuracy + 0.5 x format; masked: 0
    scores = out["scores"].tolist()
    assert scores[:2] == [1.0, 0.0] and math.isnan(scores[2])  # accuracy only, NaN: masked
    assert out["extra_logs"]["rlvr_masked"].tolist() == [0.0, 0.0, 1.0]
    assert out["extra_logs"]["rlvr_accuracy"].tolist() == [1.0, 0.0, 0.0]
    assert all(v.shape == (3,) for v in out["extra_logs"].values())  # torch.cat per key


def test_openrlhf_masked_group_fails_dynamic_filtering(dead: str) -> None:
    """OpenRLHF keeps a group only when min_r < mean(scores) < max_r: NaN never is."""
    openrlhf.configure(remote=dead, **fast_fail())
    out = openrlhf.reward_func(["Q \\boxed{1}"] * 4, ["Q"] * 4, ["1"] * 4)
    assert out["rewards"].tolist() == [0.0] * 4  # finite: the advantages stay sane
    mean = sum(out["scores"].tolist()) / 4
    assert not (0.0 < mean < 1.0)
    assert out["extra_logs"]["rlvr_masked"].tolist() == [1.0] * 4


def test_openrlhf_remote_code_by_env_vars(server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RLVR_GYM_REMOTE", target(server))
    monkeypatch.setenv("RLVR_GYM_ENV", "rlvr_gym/Code-v0")
    before = score_batches(server)
    prompt = "Write is_palindrome.\n"
    out = openrlhf.reward_func([prompt + PALINDROME, prompt + NOT_PALINDROME], [prompt] * 2,
                               ["demo/is-palindrome"] * 2)  # fmt: skip
    assert out["rewards"].tolist() == [1.0, 0.0]
    assert score_batches(server) == before + 1


def test_openrlhf_length_mismatch_is_an_error() -> None:
    from rlvr_gym.errors import ConfigError

    with pytest.raises(ConfigError, match="2 queries, 1 prompts"):
        openrlhf.reward_func(["a", "b"], ["a"], ["1", "1"])


def test_settings_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from rlvr_gym.errors import ConfigError

    monkeypatch.setenv("RLVR_GYM_REMOTE", "a:1, b:2")
    monkeypatch.setenv("RLVR_GYM_TOKEN", "s3cret")
    monkeypatch.setenv("RLVR_GYM_FORMAT_WEIGHT", "0.25")
    settings = _scoring.Settings.from_env()
    assert settings.remote == ("a:1", "b:2")
    assert (settings.token, settings.format_weight) == ("s3cret", 0.25)
    monkeypatch.setenv("RLVR_GYM_FORMAT_WEIGHT", "lots")
    with pytest.raises(ConfigError, match="RLVR_GYM_FORMAT_WEIGHT"):
        _scoring.Settings.from_env()

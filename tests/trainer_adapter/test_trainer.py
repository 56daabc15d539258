"""The trainer end to end on a tiny model: reward rises, resume continues, remote scores."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from rlvr_gym.server.app import serve_in_thread
from rlvr_gym.server.config import ServerConfig
from rlvr_gym.trainer_adapter.config import TrainConfig
from rlvr_gym.trainer_adapter.models import pick_device
from rlvr_gym.trainer_adapter.rollout import render, sample, token_logprobs
from rlvr_gym.trainer_adapter.trainer import GRPOTrainer
from tests.trainer_adapter.tiny import tiny_model, tiny_tokenizer, toy_tasks


def toy_config(tmp_path: Path, **overrides: Any) -> TrainConfig:
    values: dict[str, Any] = {
        "model": "tiny", "data": str(toy_tasks(tmp_path / "toy.jsonl")), "prompt_template":
        "{problem}", "steps": 30, "prompts_per_step": 4, "group_size": 8,
        "max_new_tokens": 3, "temperature": 1.0, "lr": 3e-3, "eval_every": 0,
        "eval_prompts": 8, "output_dir": str(tmp_path / "run"), "micro_batch": 16,
        "device": "cpu", "seed": 0,
    }  # fmt: skip
    values.update(overrides)
    return TrainConfig.from_dict(values)


def trainer_for(config: TrainConfig, **kwargs: Any) -> GRPOTrainer:
    tok = tiny_tokenizer()
    return GRPOTrainer(config, model=tiny_model(tok), tokenizer=tok, **kwargs)


def test_tiny_model_learns_the_toy_task(tmp_path: Path) -> None:
    trainer = trainer_for(toy_config(tmp_path))
    try:
        history = trainer.train(progress=False)
    finally:
        trainer.close()
    first = sum(h["reward_mean"] for h in history[:5]) / 5
    last = sum(h["reward_mean"] for h in history[-5:]) / 5
    assert last > first + 0.3, (first, last)
    assert trainer.evals[-1].accuracy > trainer.evals[0].accuracy
    logged = [json.loads(x) for x in (tmp_path / "run" / "steps.jsonl").read_text().splitlines()]
    assert len(logged) == 30
    for key in ("reward_mean", "reward_std", "accuracy", "length_mean", "kl", "entropy",
                "clip_fraction", "tokens_per_s", "reward_wait_share"):  # fmt: skip
        assert key in logged[0]
    assert (tmp_path / "run" / "training.png").stat().st_size > 1000


def test_resume_continues_where_it_stopped(tmp_path: Path) -> None:
    config = toy_config(tmp_path, steps=4, checkpoint_every=2)
    first = trainer_for(config)
    try:
        first.train(progress=False)
    finally:
        first.close()
    weights = {k: v.clone() for k, v in first.policy.state_dict().items()}
    longer = trainer_for(toy_config(tmp_path, steps=6, checkpoint_every=2))
    try:
        assert longer.load_checkpoint()
        assert longer.step == 4 and len(longer.history) == 4
        for key, value in longer.policy.state_dict().items():
            assert torch.equal(value, weights[key]), key  # the trained weights, not fresh ones
        longer.step, longer.history, longer.evals = 0, [], []  # let train() reload itself
        longer.train(resume=True, progress=False)
    finally:
        longer.close()
    assert longer.step == 6 and [h["step"] for h in longer.history] == [1, 2, 3, 4, 5, 6]


def test_kl_to_reference_is_logged_when_enabled(tmp_path: Path) -> None:
    trainer = trainer_for(toy_config(tmp_path, steps=3, kl_coef=0.1))
    try:
        history = trainer.train(progress=False)
    finally:
        trainer.close()
    assert trainer.reference is not None
    assert history[0]["kl"] == pytest.approx(0.0, abs=1e-6)  # policy == reference at first
    assert any(h["kl"] > 0 for h in history[1:])


def test_remote_scoring_through_a_server(tmp_path: Path) -> None:
    config = ServerConfig(address="127.0.0.1:0", metrics_address="", math_workers=1)
    with serve_in_thread(config) as server:
        train = toy_config(tmp_path, steps=3, remote=f"127.0.0.1:{server.port}")
        trainer = trainer_for(train)
        try:
            history = trainer.train(progress=False)
        finally:
            trainer.close()
        calls = server.metrics.requests.labels("ScoreBatch", "OK")._value.get()
    assert len(history) == 3 and calls >= 3 + 2  # every step, and the two evaluations


def test_logprobs_match_the_sampling_distribution_with_left_padding(tmp_path: Path) -> None:
    # Prompts of different lengths are left-padded; the training forward pass must give
    # the same log-probs the tokens were sampled with (position ids from the mask).
    tok = tiny_tokenizer()
    model = tiny_model(tok).eval()
    prompts = [render(tok, p, "", "{problem}") for p in ("Q", "Q 1 2 3 4")]
    rollout = sample(model, tok, prompts, 2, max_new_tokens=4, temperature=1.0)
    with torch.no_grad():
        batched, _ = token_logprobs(model, rollout)
        for i in range(4):
            single = rollout.input_ids[i : i + 1]
            keep = rollout.attention_mask[i].bool()
            alone = model(input_ids=single[:, keep]).logits.float().log_softmax(-1)
            n = int(rollout.completion_mask[i].sum())
            targets = single[0, rollout.prompt_len : rollout.prompt_len + n]
            start = int(keep[: rollout.prompt_len].sum()) - 1
            expect = alone[0, start : start + n].gather(-1, targets[:, None]).squeeze(-1)
            assert torch.allclose(batched[i, :n], expect, atol=1e-5)


def test_device_choice_is_cpu_fp32_without_cuda() -> None:
    placement = pick_device("auto")
    if not torch.cuda.is_available():
        assert placement.device.type == "cpu" and placement.dtype == torch.float32


def test_several_updates_per_batch_clip(tmp_path: Path) -> None:
    trainer = trainer_for(toy_config(tmp_path, steps=2, updates_per_batch=4, lr=3e-2))
    try:
        history = trainer.train(progress=False)
    finally:
        trainer.close()
    assert any(h["clip_fraction"] > 0 for h in history)  # later updates leave the trust region


def test_train_command_runs_from_a_toml_config(tmp_path: Path) -> None:
    import subprocess
    import sys

    tok = tiny_tokenizer()
    tiny_model(tok).save_pretrained(tmp_path / "model")
    tok.save_pretrained(tmp_path / "model")
    data = toy_tasks(tmp_path / "toy.jsonl")
    (tmp_path / "run.toml").write_text(
        f'model = "{tmp_path / "model"}"\ndata = "{data}"\nprompt_template = "{{problem}}"\n'
        "steps = 2\nprompts_per_step = 2\ngroup_size = 4\nmax_new_tokens = 3\n"
        'eval_prompts = 4\ndevice = "cpu"\n'
    )
    cli = Path(sys.executable).parent / "rlvr-gym"
    proc = subprocess.run(
        [str(cli), "train", "--config", str(tmp_path / "run.toml"),
         "--output-dir", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["step"] == 2 and 0.0 <= summary["accuracy"] <= 1.0
    assert (tmp_path / "out" / "checkpoint" / "state.pt").exists()
    bad = subprocess.run([str(cli), "train", "--config", str(tmp_path / "nope.toml")],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert bad.returncode == 1 and "cannot read train config" in bad.stderr


def test_lora_trains_only_adapters_and_uses_them_off_as_reference(tmp_path: Path) -> None:
    config = toy_config(tmp_path, steps=3, lora_r=4, lora_alpha=8, kl_coef=0.1, lr=1e-2)
    trainer = trainer_for(config)
    try:
        base = {k: v.clone() for k, v in trainer.policy.state_dict().items() if "lora" not in k}
        history = trainer.train(progress=False)
    finally:
        trainer.close()
    assert trainer.reference is None  # the policy with adapters disabled is the reference
    trainable = [n for n, p in trainer.policy.named_parameters() if p.requires_grad]
    assert trainable and all("lora" in n for n in trainable)
    for key, value in trainer.policy.state_dict().items():
        if "lora" not in key:
            assert torch.equal(value, base[key]), key  # the base weights never move
    assert any(h["kl"] > 0 for h in history[1:])  # adapters trained: KL to base grows

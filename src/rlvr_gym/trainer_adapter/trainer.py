"""A small, readable GRPO trainer for a Hugging Face causal LM on a verifiable-reward env.

One step: draw B tasks, sample G completions each (chat template, temperature), start
scoring them (in-process graders or the gRPC service) in a background thread, compute the
reference model's log-probs meanwhile (when ``kl_coef > 0``), wait for the rewards,
turn them into group-relative advantages (masking ``infra_error``/``timeout`` samples),
then update with the clipped surrogate (AdamW, gradient clipping, optional LoRA).

Every step logs reward mean/std per component, accuracy, response length, KL, entropy,
clip fraction, generated tokens/s and the share of the step spent waiting for rewards
(``steps.jsonl``); held-out greedy accuracy is measured every ``eval_every`` steps
(``evals.jsonl``) and plotted with response length against step (the R1 paper's
Figures 2 and 3). Checkpoints hold the weights (or the LoRA adapter), the optimiser,
the RNG states and the logs, so a resumed run continues where it stopped.
"""

from __future__ import annotations

import json
import math
import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from rlvr_gym.envs.tasks import MathTask, TaskSource
from rlvr_gym.errors import ConfigError
from rlvr_gym.rewards.types import RewardResult, Status
from rlvr_gym.trainer_adapter import grpo
from rlvr_gym.trainer_adapter.config import TrainConfig
from rlvr_gym.trainer_adapter.models import load_policy, pick_device
from rlvr_gym.trainer_adapter.rollout import Rollout, greedy, render, sample, token_logprobs
from rlvr_gym.trainer_adapter.scoring import Background, Scorer, make_scorer

__all__ = ["EvalResult", "GRPOTrainer", "task_sources"]

_EVAL_SAMPLES = 8


@dataclass(frozen=True)
class EvalResult:
    """Held-out accuracy (greedy decoding) with its standard error."""

    step: int
    accuracy: float
    stderr: float
    n: int
    mean_length: float


def task_sources(config: TrainConfig) -> tuple[TaskSource, TaskSource]:
    """Training and held-out task sources (disjoint seeds for the procedural generator).

    Raises:
        ConfigError: an env other than Math-v0, or a bad data file.
    """
    if config.env_id != "rlvr_gym/Math-v0":
        raise ConfigError(f"the trainer's tasks come from rlvr_gym/Math-v0, not {config.env_id}")
    from rlvr_gym.envs.generators import ProceduralMathSource
    from rlvr_gym.envs.sources import JsonlTaskSource

    if config.data:
        source = JsonlTaskSource(config.data)
        n = len(source)
        held = min(config.eval_prompts, n // 2)
        return _Slice(source, held, n), _Slice(source, 0, held)
    kinds = list(config.kinds) or None
    levels = list(config.difficulties)
    train = ProceduralMathSource(seed=config.seed, size=1_000_000, difficulty=levels, kinds=kinds)
    held_out = ProceduralMathSource(seed=config.eval_seed, size=config.eval_prompts,
                                    difficulty=levels, kinds=kinds)  # fmt: skip
    return train, held_out


class _Slice:
    """Tasks ``start..stop`` of a source (a JSONL file split into train and held-out)."""

    def __init__(self, source: TaskSource, start: int, stop: int) -> None:
        self.source, self.start, self.stop = source, start, stop
        self.name = f"{source.name}[{start}:{stop}]"

    def __len__(self) -> int:
        return self.stop - self.start

    def __getitem__(self, index: int) -> MathTask:
        return self.source[self.start + index]

    def get(self, task_id: str) -> MathTask:
        return self.source.get(task_id)


class GRPOTrainer:
    """GRPO on ``config`` (module docstring); ``model``, ``tokenizer``, ``scorer`` optional."""

    def __init__(
        self,
        config: TrainConfig,
        *,
        model: Any = None,
        tokenizer: Any = None,
        scorer: Scorer | None = None,
    ) -> None:
        self.config = config
        if config.threads:
            torch.set_num_threads(config.threads)
        torch.manual_seed(config.seed)
        self.placement = pick_device(config.device)
        if model is None or tokenizer is None:
            model, tokenizer = load_policy(config.model, config.gguf_file, self.placement)
        self.policy = model.to(self.placement.device)
        self.tokenizer = tokenizer
        if config.lora_r:
            from peft import LoraConfig, get_peft_model

            lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=0.0,
                              target_modules="all-linear", task_type="CAUSAL_LM")  # fmt: skip
            self.policy = get_peft_model(self.policy, lora)
        self.reference = self._reference() if config.kl_coef > 0 else None
        params = [p for p in self.policy.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
        self.train_tasks, self.eval_tasks = task_sources(config)
        self.scorer = Background(scorer or make_scorer(config.remote, config.env_id,
                                                       config.format_weight))  # fmt: skip
        self.out = Path(config.output_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        self.step = 0
        self.rng = random.Random(config.seed)
        self.history: list[dict[str, Any]] = []
        self.evals: list[EvalResult] = []

    # --- the loop ---------------------------------------------------------------------

    def train(self, *, resume: bool = False, progress: bool = True) -> list[dict[str, Any]]:
        """Run until ``config.steps``; with ``resume``, continue from the last checkpoint."""
        from tqdm import tqdm

        if resume:
            self.load_checkpoint()
        if not self.evals:
            self._evaluate()
        bar = tqdm(total=self.config.steps, initial=self.step, desc="GRPO", disable=not progress)
        while self.step < self.config.steps:
            record = self.train_step()
            bar.update(1)
            bar.set_postfix(reward=f"{record['reward_mean']:.2f}", acc=f"{record['accuracy']:.2f}",
                            len=f"{record['length_mean']:.0f}")  # fmt: skip
            every = self.config.eval_every
            if (every and self.step % every == 0) or self.step == self.config.steps:
                self._evaluate()
            ckpt = self.config.checkpoint_every
            if (ckpt and self.step % ckpt == 0) or self.step == self.config.steps:
                self.save_checkpoint()
        bar.close()
        self.plot()
        return self.history

    def train_step(self) -> dict[str, Any]:
        """One GRPO step; returns (and logs) its record."""
        cfg = self.config
        started = time.perf_counter()
        tasks = [self.train_tasks[self.rng.randrange(len(self.train_tasks))]
                 for _ in range(cfg.prompts_per_step)]  # fmt: skip
        prompts = [render(self.tokenizer, t.prompt, cfg.system_prompt, cfg.prompt_template)
                   for t in tasks]  # fmt: skip
        rollout = sample(self.policy, self.tokenizer, prompts, cfg.group_size,
                         max_new_tokens=cfg.max_new_tokens, temperature=cfg.temperature,
                         top_p=cfg.top_p)  # fmt: skip
        generated = time.perf_counter()
        per_sample = [t for t in tasks for _ in range(cfg.group_size)]
        pending = self.scorer.submit(per_sample, rollout.texts)  # graded while we go on
        ref_logp = self._logprobs(self.reference, rollout) if self.reference is not None else None
        old_logp = self._logprobs(self.policy, rollout) if cfg.updates_per_batch > 1 else None
        waiting = time.perf_counter()
        results = pending.result()
        waited = time.perf_counter() - waiting
        stats = self._update(rollout, results, old_logp, ref_logp)
        elapsed = time.perf_counter() - started
        self.step += 1
        record = self._record(rollout, results, stats, generated - started, waited, elapsed)
        self.history.append(record)
        with open(self.out / "steps.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
        return record

    # --- pieces -------------------------------------------------------------------------

    def _reference(self) -> Any:
        if self.config.lora_r:
            return None  # with LoRA the reference is the policy with adapters disabled
        import copy

        ref = copy.deepcopy(self.policy).eval()
        for p in ref.parameters():
            p.requires_grad_(False)
        return ref

    @torch.no_grad()
    def _logprobs(self, model: Any, rollout: Rollout) -> torch.Tensor:
        parts = []
        n, mb = rollout.input_ids.shape[0], self.config.micro_batch
        for start in range(0, n, mb):
            logp, _ = token_logprobs(model, rollout, rows=slice(start, start + mb))
            parts.append(logp)
        return torch.cat(parts)

    def _update(
        self,
        rollout: Rollout,
        results: Sequence[RewardResult],
        old_logp: torch.Tensor | None,
        ref_logp: torch.Tensor | None,
    ) -> dict[str, float]:
        cfg, device = self.config, self.placement.device
        rewards = torch.tensor([r.reward for r in results], dtype=torch.float32, device=device)
        valid = grpo.sample_mask([r.status.value for r in results], device=device)
        groups = (-1, cfg.group_size)
        adv = grpo.group_advantages(rewards.view(groups), valid.view(groups), scale=cfg.scale)
        adv = adv.view(-1)
        mask = rollout.completion_mask.to(device)
        n, mb = mask.shape[0], cfg.micro_batch
        weights = (mask * valid[:, None]).sum(dim=1).float()  # tokens that count, per sequence
        total = weights.sum() if cfg.aggregation == "token" else (weights > 0).sum().float()
        sums: dict[str, float] = {"kl": 0.0, "clip_fraction": 0.0, "entropy": 0.0, "loss": 0.0}
        self.policy.train()
        if total.item() == 0 or not bool((adv != 0).any()):
            return sums  # nothing to learn from (all masked, or every group tied)
        for _ in range(cfg.updates_per_batch):
            self.optimizer.zero_grad(set_to_none=True)
            for start in range(0, n, mb):
                rows = slice(start, start + mb)
                logp, entropy = token_logprobs(self.policy, rollout, rows=rows, entropy=True)
                share = (
                    weights[rows].sum() if cfg.aggregation == "token" else (weights[rows] > 0).sum()
                )
                if share.item() == 0:
                    continue
                loss, st = grpo.grpo_loss(
                    logp,
                    (old_logp[rows] if old_logp is not None else logp.detach()),
                    adv[rows],
                    mask[rows],
                    ref_logp=self._ref_rows(ref_logp, rollout, rows),
                    sample_valid=valid[rows],
                    kl_coef=cfg.kl_coef,
                    clip_low=cfg.clip_low,
                    clip_high=cfg.clip_high,
                    aggregation=cfg.aggregation,
                )
                frac = float(share.item() / total.item())
                (loss * frac).backward()  # type: ignore[no-untyped-call]
                sums["loss"] += st.loss * frac
                sums["kl"] += st.kl * frac
                sums["clip_fraction"] += st.clip_fraction * frac
                if entropy is not None:
                    m = mask[rows].float()
                    sums["entropy"] += float((entropy * m).sum() / m.sum().clamp(min=1)) * frac
            torch.nn.utils.clip_grad_norm_(self.policy.parameters(), cfg.max_grad_norm)
            self.optimizer.step()
        for key in sums:
            sums[key] /= cfg.updates_per_batch
        return sums

    def _ref_rows(
        self, ref_logp: torch.Tensor | None, rollout: Rollout, rows: slice
    ) -> torch.Tensor | None:
        if self.config.kl_coef <= 0:
            return None
        if ref_logp is not None:
            return ref_logp[rows]
        with torch.no_grad(), self.policy.disable_adapter():  # LoRA: adapters off = reference
            return token_logprobs(self.policy, rollout, rows=rows)[0]

    def _record(self, rollout: Rollout, results: Sequence[RewardResult], stats: dict[str, float],
                gen_s: float, wait_s: float, step_s: float) -> dict[str, Any]:  # fmt: skip
        rewards = [r.reward for r in results]
        lengths = rollout.lengths
        components: dict[str, list[float]] = {}
        for r in results:
            for key, value in r.components.items():
                components.setdefault(key, []).append(value)
        statuses = [r.status.value for r in results]
        return {
            "step": self.step,
            "reward_mean": statistics.fmean(rewards),
            "reward_std": statistics.pstdev(rewards),
            "components": {
                k: {"mean": statistics.fmean(v), "std": statistics.pstdev(v)}
                for k, v in components.items()
            },
            "accuracy": statuses.count(Status.CORRECT.value) / len(statuses),
            "masked": sum(s in grpo.MASKED_STATUSES for s in statuses),
            "length_mean": statistics.fmean(lengths),
            **stats,
            "tokens_per_s": sum(lengths) / gen_s if gen_s > 0 else 0.0,
            "step_s": step_s,
            "reward_wait_share": wait_s / step_s if step_s > 0 else 0.0,
        }

    def _evaluate(self) -> EvalResult:
        cfg = self.config
        tasks = [self.eval_tasks[i] for i in range(len(self.eval_tasks))]
        prompts = [render(self.tokenizer, t.prompt, cfg.system_prompt, cfg.prompt_template)
                   for t in tasks]  # fmt: skip
        texts = greedy(self.policy, self.tokenizer, prompts, max_new_tokens=cfg.max_new_tokens)
        results = self.scorer.submit(tasks, texts).result()
        correct = [r.status is Status.CORRECT for r in results]
        acc = sum(correct) / len(correct)
        lengths = [len(self.tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts]
        result = EvalResult(self.step, acc, math.sqrt(acc * (1 - acc) / len(correct)),
                            len(correct), statistics.fmean(lengths))  # fmt: skip
        self.evals.append(result)
        # A few graded samples beside the numbers: a dip in accuracy is read, not guessed.
        shown = [{"prompt": t.prompt, "gold": t.answer, "response": x, "status": r.status.value}
                 for t, x, r in list(zip(tasks, texts, results))[:_EVAL_SAMPLES]]  # fmt: skip
        with open(self.out / "evals.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps({**asdict(result), "samples": shown}) + "\n")
        return result

    # --- checkpoints and plots -------------------------------------------------------

    def save_checkpoint(self) -> Path:
        """Weights (or adapter), optimiser, RNG states, logs and config under ``checkpoint/``."""
        path = self.out / "checkpoint"
        path.mkdir(parents=True, exist_ok=True)
        trainable = {k: v for k, v in self.policy.state_dict().items()}
        torch.save({"model": trainable, "optimizer": self.optimizer.state_dict(),
                    "step": self.step, "rng": self.rng.getstate(),
                    "torch_rng": torch.get_rng_state(), "history": self.history,
                    "evals": [asdict(e) for e in self.evals],
                    "config": self.config.to_dict()}, path / "state.pt")  # fmt: skip
        return path

    def load_checkpoint(self) -> bool:
        """Restore the last checkpoint in ``output_dir``; False when there is none."""
        state_path = self.out / "checkpoint" / "state.pt"
        if not state_path.exists():
            return False
        state = torch.load(state_path, map_location=self.placement.device, weights_only=False)
        self.policy.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = int(state["step"])
        self.rng.setstate(state["rng"])
        torch.set_rng_state(state["torch_rng"])
        self.history = list(state["history"])
        self.evals = [EvalResult(**e) for e in state["evals"]]
        return True

    def plot(self) -> Path | None:
        """``training.png``: held-out accuracy and mean response length against step."""
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            return None
        fig, (acc_ax, len_ax) = plt.subplots(1, 2, figsize=(11, 4))
        if self.evals:
            xs = [e.step for e in self.evals]
            acc_ax.errorbar(xs, [e.accuracy for e in self.evals],
                            yerr=[2 * e.stderr for e in self.evals], marker="o",
                            label="held-out (greedy, ±2 SE)")  # fmt: skip
        if self.history:
            steps = [h["step"] for h in self.history]
            acc_ax.plot(steps, [h["accuracy"] for h in self.history], alpha=0.4,
                        label="training samples")  # fmt: skip
            len_ax.plot(steps, [h["length_mean"] for h in self.history])
        acc_ax.set(xlabel="step", ylabel="accuracy", title="Accuracy during GRPO")
        acc_ax.legend()
        len_ax.set(xlabel="step", ylabel="tokens", title="Mean response length (training)")
        fig.tight_layout()
        path = self.out / "training.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        return path

    def close(self) -> None:
        """Stop the scorer (worker pool or channel)."""
        self.scorer.close()

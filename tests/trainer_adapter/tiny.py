"""A tiny random causal LM and tokenizer built in code (no hub), and a toy verifiable task.

The task: the prompt is ``Q``; the answer is ``7``. A random 1-layer model says ``7`` then
stops about once in a dozen samples, so GRPO has signal from the first step and a reward
that rises within seconds is a real learning signal, not luck.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

TOKENS = [str(d) for d in range(10)] + ["Q"]


def tiny_tokenizer() -> Any:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(["<pad>", "</s>", *TOKENS])}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="Q"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", eos_token="</s>")
    tok.padding_side = "left"
    return tok


def tiny_model(tokenizer: Any, seed: int = 0) -> Any:
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=64,
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.eos_token_id, tie_word_embeddings=False,
    )  # fmt: skip
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model


def toy_tasks(path: Path, n: int = 40) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({"id": f"toy-{i}", "problem": "Q", "answer": "7"}) + "\n")
    return path

"""Sampling G completions per prompt and reading their token log-probabilities back.

Shapes: B prompts, G completions each, N = B*G sequences, P prompt tokens (left-padded),
T completion tokens (right-padded; a completion ends at its first EOS, included).

Why position ids are passed explicitly: prompts are left-padded for batched generation,
and ``generate`` numbers positions from the first real token. A plain forward pass would
number them from the first pad instead, so the training log-probs would not be the ones
the tokens were sampled with, and the importance ratio would start off 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

__all__ = ["Rollout", "greedy", "render", "sample", "token_logprobs"]


@dataclass
class Rollout:
    """One batch of sampled completions, ready for scoring and the update."""

    input_ids: torch.Tensor  # [N, P+T] prompt then completion tokens
    attention_mask: torch.Tensor  # [N, P+T] 1 for real tokens
    completion_mask: torch.Tensor  # [N, T] 1 up to and including the first EOS
    prompt_len: int  # P
    texts: list[str]  # N decoded completions

    @property
    def lengths(self) -> list[int]:
        """Completion lengths in tokens."""
        return [int(n) for n in self.completion_mask.sum(dim=1).tolist()]


def render(tokenizer: Any, problem: str, system_prompt: str, template: str) -> str:
    """The chat-formatted prompt text (generation prompt added)."""
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    messages.append({"role": "user", "content": template.replace("{problem}", problem)})
    if getattr(tokenizer, "chat_template", None):
        return str(
            tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        )
    return "\n".join(m["content"] for m in messages) + "\n"


def _completion_mask(completions: torch.Tensor, eos_id: int | None, pad_id: int) -> torch.Tensor:
    # [N, T] -> [N, T]: 1 for tokens up to and including the first EOS (or pad after it).
    if eos_id is None:
        return (completions != pad_id).long()
    is_end = completions == eos_id
    ended_before = (is_end.long().cumsum(dim=1) - is_end.long()) > 0  # an EOS came earlier
    return (~ended_before).long()


@torch.no_grad()
def sample(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    group_size: int,
    *,
    max_new_tokens: int,
    temperature: float,
    top_p: float = 1.0,
) -> Rollout:
    """``group_size`` sampled completions for each prompt, grouped prompt by prompt."""
    device = next(model.parameters()).device
    enc = tokenizer(list(prompts), return_tensors="pt", padding=True, add_special_tokens=False)
    enc = {k: v.to(device) for k, v in enc.items()}
    was_training = model.training
    model.eval()
    out = model.generate(
        **enc,
        do_sample=True,
        temperature=temperature,
        top_p=top_p,
        top_k=0,
        max_new_tokens=max_new_tokens,
        num_return_sequences=group_size,
        pad_token_id=tokenizer.pad_token_id,
    )
    model.train(was_training)
    return _rollout(tokenizer, enc, out, group_size)


@torch.no_grad()
def greedy(model: Any, tokenizer: Any, prompts: Sequence[str], *, max_new_tokens: int,
           batch: int = 32) -> list[str]:  # fmt: skip
    """Greedy completions (evaluation), ``batch`` prompts at a time."""
    device = next(model.parameters()).device
    texts: list[str] = []
    was_training = model.training
    model.eval()
    for start in range(0, len(prompts), batch):
        chunk = list(prompts[start : start + batch])
        enc = tokenizer(chunk, return_tensors="pt", padding=True, add_special_tokens=False)
        enc = {k: v.to(device) for k, v in enc.items()}
        out = model.generate(**enc, do_sample=False, max_new_tokens=max_new_tokens,
                             pad_token_id=tokenizer.pad_token_id)  # fmt: skip
        texts += _rollout(tokenizer, enc, out, 1).texts
    model.train(was_training)
    return texts


def _rollout(tokenizer: Any, enc: dict[str, torch.Tensor], out: torch.Tensor, g: int) -> Rollout:
    prompt_len = enc["input_ids"].shape[1]
    completions = out[:, prompt_len:]  # [N, T]
    mask = _completion_mask(completions, tokenizer.eos_token_id, tokenizer.pad_token_id)
    prompt_mask = enc["attention_mask"].repeat_interleave(g, dim=0)  # [N, P]
    texts = [
        tokenizer.decode(ids[: int(n)], skip_special_tokens=True)
        for ids, n in zip(completions, mask.sum(dim=1))
    ]
    return Rollout(out, torch.cat([prompt_mask, mask], dim=1), mask, prompt_len, texts)


def token_logprobs(
    model: Any, rollout: Rollout, *, rows: slice | None = None, entropy: bool = False
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Log-probs of the completion tokens under ``model`` ([n, T], float32), and entropies.

    Gradients flow when called outside ``torch.no_grad``; ``rows`` picks a micro-batch.
    """
    rows = rows or slice(None)
    ids, attn = rollout.input_ids[rows], rollout.attention_mask[rows]
    positions = (attn.long().cumsum(dim=1) - 1).clamp(min=0)
    logits = model(input_ids=ids, attention_mask=attn, position_ids=positions).logits
    logits = logits[:, rollout.prompt_len - 1 : -1].float()  # [n, T, V]: predicts each token
    logp_all = torch.log_softmax(logits, dim=-1)
    targets = ids[:, rollout.prompt_len :]
    logp = logp_all.gather(-1, targets.unsqueeze(-1)).squeeze(-1)  # [n, T]
    ent = None
    if entropy:
        with torch.no_grad():
            ent = -(logp_all.exp() * logp_all).sum(dim=-1)  # [n, T]
    return logp, ent

"""GRPO as pure tensor functions: advantages, KL, clipped surrogate, aggregation, loss.

Why pure functions: the trainer, the single-file example and the TRL/verl adapters all
need the same maths, and the maths is where silent bugs live (a wrong sign, padding
counted as tokens, an infra failure taught as "wrong"). Small functions over tensors are
checkable by hand on 2x3 examples, which is what the tests do.

Shapes used throughout: ``B`` prompts, ``G`` completions per prompt, ``N = B * G``
samples (prompt-major: the ``G`` completions of prompt ``b`` are rows ``b*G .. b*G+G-1``),
``T`` completion tokens (right-padded), ``V`` vocabulary size.

Numerics: every function follows its inputs' device and computes in float32 (bf16/fp16
inputs are upcast inside), returning float32, so the mixed-precision GPU path is correct
by construction. Masked positions are replaced by neutral values *before* any nonlinear
op, so garbage in padding (or in masked samples) can produce neither NaN values nor NaN
gradients — ``x * mask`` would not be enough, since ``inf * 0`` is NaN.

References: DeepSeekMath (GRPO, arXiv:2402.03300), DAPO (token-level aggregation and
asymmetric clipping, arXiv:2503.14476), Dr. GRPO (no std scaling, arXiv:2503.20783),
Schulman's k3 KL estimator (http://joschu.net/blog/kl-approx.html).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch

from rlvr_gym.errors import ConfigError

__all__ = [
    "MASKED_STATUSES",
    "LossStats",
    "aggregate",
    "clipped_surrogate",
    "group_advantages",
    "grpo_loss",
    "kl_k3",
    "sample_mask",
    "token_entropy",
]

MASKED_STATUSES: frozenset[str] = frozenset({"infra_error", "timeout"})
"""Statuses that are our fault (or undecided), not the model's: their reward is dropped
rather than taught as "wrong"."""

# exp(20) ~ 4.9e8: far beyond any clip range, yet finite in float32 even times a large
# advantage. Only log-ratios of wildly off-policy tokens ever reach it.
_MAX_LOG_RATIO = 20.0
# Rows of [T, V] logits upcast at a time in token_entropy, bounding the float32 copy.
_ENTROPY_ROWS = 8


def _f32(x: torch.Tensor) -> torch.Tensor:
    """Upcast to float32 (a no-op for float32 input) so low-precision inputs stay exact."""
    return x.to(torch.float32)


def _as_bool(mask: torch.Tensor) -> torch.Tensor:
    """Accept 0/1 masks of any dtype as well as bool ones."""
    return mask if mask.dtype == torch.bool else mask != 0


def _check_shape(name: str, t: torch.Tensor, shape: tuple[int, ...], ref: str) -> None:
    if tuple(t.shape) != shape:
        raise ConfigError(
            f"{name} has shape {tuple(t.shape)} but {ref} needs {shape}; "
            "pass tensors laid out as documented in rlvr_gym.trainer_adapter.grpo"
        )


def _check_2d(name: str, t: torch.Tensor, dims: str) -> None:
    if t.dim() != 2:
        raise ConfigError(
            f"{name} must be 2-D [{dims}] but has shape {tuple(t.shape)}; "
            "reshape it (e.g. rewards.view(B, G)) before calling"
        )


def sample_mask(statuses: Sequence[str], device: torch.device | str | None = None) -> torch.Tensor:
    """Say which samples' rewards count, so infra failures are masked, not taught.

    A sandbox crash or a verifier timeout says nothing about the completion; scoring it 0
    would teach the policy that a possibly correct answer is wrong.

    Args:
        statuses: One status per sample (``N``); ``Status`` enum members work too.
        device: Where to put the mask.

    Returns:
        ``[N]`` bool, True where the status is not in :data:`MASKED_STATUSES`.
    """
    # str() also maps a Status enum member to its value (its __str__ returns the value).
    keep = [str(s) not in MASKED_STATUSES for s in statuses]
    return torch.tensor(keep, dtype=torch.bool, device=device)


def group_advantages(
    rewards: torch.Tensor,
    valid: torch.Tensor | None = None,
    *,
    scale: Literal["std", "none"] = "std",
    eps: float = 1e-4,
) -> torch.Tensor:
    """Turn rewards into group-relative advantages, GRPO's replacement for a critic.

    Each completion is scored against its siblings for the same prompt:
    ``A = (r - mean) / (std + eps)`` over the group's *valid* samples (DeepSeekMath), or
    ``A = r - mean`` with ``scale="none"`` (Dr. GRPO, which drops the std division because
    it up-weights prompts that are nearly always or never solved).

    The std is the population std (``unbiased=False``): it is the spread of the rewards
    actually observed, gives the group's advantages unit RMS whatever ``G`` is, and is
    defined for a single valid sample. (TRL uses the sample std, i.e. advantages smaller
    by a factor ``sqrt((G-1)/G)``; the difference only rescales the step.)

    Invalid samples get advantage 0 and count in neither the mean nor the std; their
    reward values are never read, so NaN placeholders there are harmless. A group with
    no valid samples, or whose valid rewards are all equal, has no learning signal and
    gets all zeros (exactly, not ``tiny / eps``).

    Args:
        rewards: ``[B, G]`` rewards.
        valid: ``[B, G]`` bool, True where the reward counts (see :func:`sample_mask`,
            reshaped with ``.view(B, G)``); None means all count.
        scale: ``"std"`` (GRPO) or ``"none"`` (Dr. GRPO).
        eps: Added to the std, bounding the advantage of a near-tied group.

    Returns:
        ``[B, G]`` float32 advantages.

    Raises:
        ConfigError: On a bad ``scale`` or mismatched shapes.
    """
    if scale not in ("std", "none"):
        raise ConfigError(f"scale must be 'std' (GRPO) or 'none' (Dr. GRPO), got {scale!r}")
    _check_2d("rewards", rewards, "B, G")
    r = _f32(rewards)  # [B, G]
    if valid is None:
        v = torch.ones_like(r, dtype=torch.bool)
    else:
        _check_shape("valid", valid, tuple(r.shape), "rewards [B, G]")
        v = _as_bool(valid).to(r.device)  # [B, G]
    r = torch.where(v, r, torch.zeros_like(r))  # [B, G], invalid -> 0, never read below
    count = v.sum(dim=1, keepdim=True).to(torch.float32)  # [B, 1]
    mean = r.sum(dim=1, keepdim=True) / count.clamp(min=1.0)  # [B, 1]
    centred = torch.where(v, r - mean, torch.zeros_like(r))  # [B, G]
    if scale == "std":
        var = centred.square().sum(dim=1, keepdim=True) / count.clamp(min=1.0)  # [B, 1]
        centred = centred / (var.sqrt() + eps)
    # Exact zeros for tied groups: r - mean can be ~1e-8 when it should be 0 (e.g. mean
    # of three 0.1s), which std scaling would blow up into a spurious signal.
    big = torch.finfo(torch.float32).max
    hi = torch.where(v, r, torch.full_like(r, -big)).amax(dim=1, keepdim=True)  # [B, 1]
    lo = torch.where(v, r, torch.full_like(r, big)).amin(dim=1, keepdim=True)  # [B, 1]
    signal = (hi > lo) & v  # [B, G]; False for tied, single-valid and empty groups
    return torch.where(signal, centred, torch.zeros_like(centred))


def kl_k3(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """Estimate KL(pi || pi_ref) per token with Schulman's k3, as GRPO does.

    ``k3 = exp(d) - d - 1`` with ``d = ref_logp - logp``, sampled from pi: unbiased, and
    non-negative for every sample (unlike ``-d``), so it is a low-variance penalty.
    Computed as ``expm1(d) - d`` to avoid cancellation near ``d = 0``.

    Args:
        logp: ``[N, T]`` log-probs of the sampled tokens under the policy.
        ref_logp: ``[N, T]`` the same under the frozen reference model.

    Returns:
        ``[N, T]`` float32, >= 0, differentiable w.r.t. ``logp``.

    Raises:
        ConfigError: When the shapes differ.
    """
    _check_2d("logp", logp, "N, T")
    _check_shape("ref_logp", ref_logp, tuple(logp.shape), "logp [N, T]")
    d = _f32(ref_logp).detach() - _f32(logp)  # [N, T]
    # clamp_min: expm1 is not guaranteed correctly rounded, so a 1-ulp negative is possible.
    return (torch.expm1(d) - d).clamp_min(0.0)


def clipped_surrogate(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    advantages: torch.Tensor,
    *,
    clip_low: float = 0.2,
    clip_high: float = 0.2,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token PPO-clip loss, so a step cannot move the policy far from the sampler.

    ``loss = -min(ratio * A, clip(ratio, 1 - clip_low, 1 + clip_high) * A)`` with
    ``ratio = exp(logp - old_logp)``: negated because optimisers minimise. Asymmetric
    bounds allow DAPO's clip-higher (e.g. ``clip_high=0.28``). ``old_logp`` and
    ``advantages`` are constants (detached here). The log-ratio is clamped to +-20 before
    ``exp`` so a wildly off-policy token cannot overflow to inf.

    Args:
        logp: ``[N, T]`` log-probs under the policy being trained.
        old_logp: ``[N, T]`` log-probs under the policy that sampled the tokens (equal to
            ``logp.detach()`` on the first update after generation).
        advantages: ``[N]`` one advantage per sample, broadcast over its tokens.
        clip_low: Lower clip range (ratio floor ``1 - clip_low``).
        clip_high: Upper clip range (ratio ceiling ``1 + clip_high``).

    Returns:
        ``(loss, clipped)``: ``[N, T]`` float32 loss, and ``[N, T]`` bool, True where the
        clipped term was taken *and* differs from the unclipped one (so the token gives no
        gradient) — A > 0 with ratio > 1 + clip_high, or A < 0 with ratio < 1 - clip_low.

    Raises:
        ConfigError: On mismatched shapes or negative clip ranges.
    """
    if clip_low < 0 or clip_high < 0:
        raise ConfigError(
            f"clip ranges must be >= 0, got clip_low={clip_low}, clip_high={clip_high}"
        )
    _check_2d("logp", logp, "N, T")
    _check_shape("old_logp", old_logp, tuple(logp.shape), "logp [N, T]")
    _check_shape("advantages", advantages, (logp.shape[0],), "logp [N, T] (one per sample)")
    log_ratio = (_f32(logp) - _f32(old_logp).detach()).clamp(-_MAX_LOG_RATIO, _MAX_LOG_RATIO)
    ratio = torch.exp(log_ratio)  # [N, T]
    adv = _f32(advantages).detach().to(ratio.device)[:, None]  # [N, 1]
    unclipped = ratio * adv  # [N, T]
    clipped_term = ratio.clamp(1.0 - clip_low, 1.0 + clip_high) * adv  # [N, T]
    # torch.where, not torch.minimum: minimum splits the gradient 50/50 on ties.
    clipped = clipped_term < unclipped  # [N, T]
    return -torch.where(clipped, clipped_term, unclipped), clipped


def aggregate(
    per_token: torch.Tensor,
    token_mask: torch.Tensor,
    mode: Literal["token", "sequence"] = "token",
) -> torch.Tensor:
    """Reduce a per-token quantity to a scalar, the choice that weights long answers.

    ``"token"`` (DAPO / Dr. GRPO style): sum over all valid tokens / their count, so each
    token weighs the same and long responses are not under-weighted. ``"sequence"``
    (original GRPO): the mean over sequences of each sequence's mean over its valid
    tokens, so each response weighs the same — which biases towards longer wrong answers.

    Sequences with no valid tokens contribute nothing (not even to the denominator); with
    no valid tokens at all the result is 0, still connected to the graph so
    ``backward()`` works (giving zero gradients). Masked values are never read.

    Args:
        per_token: ``[N, T]`` values (e.g. a loss).
        token_mask: ``[N, T]`` bool (or 0/1), True at real completion tokens.
        mode: ``"token"`` or ``"sequence"``.

    Returns:
        A float32 scalar.

    Raises:
        ConfigError: On a bad ``mode`` or mismatched shapes.
    """
    if mode not in ("token", "sequence"):
        raise ConfigError(f"mode must be 'token' or 'sequence', got {mode!r}")
    _check_2d("per_token", per_token, "N, T")
    _check_shape("token_mask", token_mask, tuple(per_token.shape), "per_token [N, T]")
    x = _f32(per_token)
    m = _as_bool(token_mask).to(x.device)  # [N, T]
    x = torch.where(m, x, torch.zeros_like(x))  # [N, T]; NaN/inf in padding stay out
    if mode == "token":
        return x.sum() / m.sum().clamp(min=1).to(torch.float32)
    count = m.sum(dim=1).to(torch.float32)  # [N]
    per_seq = x.sum(dim=1) / count.clamp(min=1.0)  # [N]; 0 for empty sequences
    return per_seq.sum() / (count > 0).sum().clamp(min=1).to(torch.float32)


@dataclass(frozen=True)
class LossStats:
    """Detached scalars from one :func:`grpo_loss` call, for logging.

    Attributes:
        loss: The total loss (policy + ``kl_coef`` * KL).
        policy_loss: The clipped-surrogate part alone.
        kl: Mean k3 KL to the reference, aggregated like the loss; reported whenever
            ``ref_logp`` is given (even with ``kl_coef=0``, to monitor drift), else 0.
        clip_fraction: Fraction of counted tokens whose ratio was clipped.
        ratio_mean: Mean importance ratio over counted tokens (1.0 when on-policy).
    """

    loss: float
    policy_loss: float
    kl: float
    clip_fraction: float
    ratio_mean: float


def grpo_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    advantages: torch.Tensor,
    token_mask: torch.Tensor,
    *,
    ref_logp: torch.Tensor | None = None,
    sample_valid: torch.Tensor | None = None,
    kl_coef: float = 0.0,
    clip_low: float = 0.2,
    clip_high: float = 0.2,
    aggregation: Literal["token", "sequence"] = "token",
) -> tuple[torch.Tensor, LossStats]:
    """The GRPO loss: clipped surrogate plus an optional k3 KL penalty, over real tokens.

    Tokens count where ``token_mask & sample_valid[:, None]``, so padding and samples
    whose reward was an infra failure get exactly zero gradient. Inputs at positions
    that do not count are replaced by zeros before any arithmetic, so whatever a
    trainer left there (NaN, -inf) cannot leak into the loss or its gradient. The KL
    term is added only when ``ref_logp`` is given and ``kl_coef > 0`` (R1 and DAPO
    train without it).

    Args:
        logp: ``[N, T]`` log-probs of the sampled tokens under the policy (with grad).
        old_logp: ``[N, T]`` log-probs under the sampling policy (treated as constant).
        advantages: ``[N]`` per-sample advantages (e.g. ``group_advantages(...).view(-1)``).
        token_mask: ``[N, T]`` bool (or 0/1), True at real completion tokens.
        ref_logp: ``[N, T]`` log-probs under the reference model, or None.
        sample_valid: ``[N]`` bool from :func:`sample_mask`; None means all count.
        kl_coef: Weight of the KL penalty (beta).
        clip_low: Lower PPO clip range.
        clip_high: Upper PPO clip range (DAPO's clip-higher raises it).
        aggregation: ``"token"`` or ``"sequence"``, see :func:`aggregate`.

    Returns:
        ``(loss, stats)``: a float32 scalar with grad through ``logp``, and
        :class:`LossStats`.

    Raises:
        ConfigError: On mismatched shapes, a bad ``aggregation`` or a negative ``kl_coef``.
    """
    if aggregation not in ("token", "sequence"):
        raise ConfigError(f"aggregation must be 'token' or 'sequence', got {aggregation!r}")
    if kl_coef < 0:
        raise ConfigError(f"kl_coef must be >= 0, got {kl_coef}")
    _check_2d("logp", logp, "N, T")
    shape = tuple(logp.shape)
    _check_shape("old_logp", old_logp, shape, "logp [N, T]")
    _check_shape("token_mask", token_mask, shape, "logp [N, T]")
    _check_shape("advantages", advantages, shape[:1], "logp [N, T] (one per sample)")
    if ref_logp is not None:
        _check_shape("ref_logp", ref_logp, shape, "logp [N, T]")
    mask = _as_bool(token_mask).to(logp.device)  # [N, T]
    if sample_valid is not None:
        _check_shape("sample_valid", sample_valid, shape[:1], "logp [N, T] (one per sample)")
        mask = mask & _as_bool(sample_valid).to(logp.device)[:, None]  # [N, T]

    zeros = torch.zeros(shape, dtype=torch.float32, device=logp.device)

    def neutral(t: torch.Tensor) -> torch.Tensor:
        """Zero the positions that do not count; where() also zeroes their gradient."""
        return torch.where(mask, _f32(t), zeros)  # [N, T]

    lp = neutral(logp)
    old = neutral(old_logp).detach()
    adv = _f32(advantages).detach().to(logp.device)  # [N]
    adv = torch.where(mask.any(dim=1), adv, torch.zeros_like(adv))  # NaN-safe for masked rows
    surrogate, clipped = clipped_surrogate(
        lp, old, adv, clip_low=clip_low, clip_high=clip_high
    )  # [N, T], [N, T]
    policy_loss = aggregate(surrogate, mask, aggregation)
    loss = policy_loss
    kl_value = 0.0
    if ref_logp is not None:
        kl = aggregate(kl_k3(lp, neutral(ref_logp)), mask, aggregation)
        kl_value = kl.item()
        if kl_coef > 0:
            loss = policy_loss + kl_coef * kl
    with torch.no_grad():
        ratio = torch.exp(lp.detach() - old)  # [N, T]; 1.0 where masked
        stats = LossStats(
            loss=loss.item(),
            policy_loss=policy_loss.item(),
            kl=kl_value,
            clip_fraction=aggregate(clipped.to(torch.float32), mask, "token").item(),
            ratio_mean=aggregate(ratio, mask, "token").item(),
        )
    return loss, stats


def token_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Per-token entropy of the policy's softmax, the usual collapse/exploration signal.

    Uses ``log_softmax`` (no overflow for large logits) and treats ``0 * log 0`` as 0, so
    ``-inf`` logits (banned tokens) are fine. Rows are upcast a few at a time, so the
    float32 copy of bf16 ``[T, V]`` logits never covers the whole batch; call it under
    ``torch.no_grad()`` when only logging, or the graph keeps every chunk alive.

    Args:
        logits: ``[N, T, V]`` logits.

    Returns:
        ``[N, T]`` float32 entropies in nats.

    Raises:
        ConfigError: When ``logits`` is not 3-D.
    """
    if logits.dim() != 3:
        raise ConfigError(f"logits must be 3-D [N, T, V] but has shape {tuple(logits.shape)}")
    out = []
    for start in range(0, logits.shape[0], _ENTROPY_ROWS):
        logp = torch.log_softmax(_f32(logits[start : start + _ENTROPY_ROWS]), dim=-1)  # [n, T, V]
        plogp = torch.where(logp > -torch.inf, logp.exp() * logp, torch.zeros_like(logp))
        out.append(-plogp.sum(dim=-1))  # [n, T]
    if not out:
        return torch.zeros(logits.shape[:2], dtype=torch.float32, device=logits.device)
    return torch.cat(out, dim=0)

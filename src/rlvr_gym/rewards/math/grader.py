"""Grade one response against one gold answer (runs inside a worker process).

``grade`` never raises on model output: every outcome is a :class:`RewardResult`
with a status. The gold is parsed once per distinct gold string and cached, because a
GRPO group grades G responses against the same gold.
"""

from __future__ import annotations

from functools import lru_cache

from rlvr_gym.rewards.math.compare import TooLarge, Unevaluated, UnsupportedLatex, values_equal
from rlvr_gym.rewards.math.config import MathConfig
from rlvr_gym.rewards.math.extract import extract_answers
from rlvr_gym.rewards.math.normalize import normalize
from rlvr_gym.rewards.math.values import Collection, Value, parse_value
from rlvr_gym.rewards.types import RewardResult, Status

_GOLD_PREFIXES = ("\\boxed{",)


@lru_cache(maxsize=4096)
def parse_gold(gold: str) -> tuple[str, Value]:
    """Normalise and parse a gold answer once; cached per worker."""
    text = gold.strip()
    if text.startswith(_GOLD_PREFIXES) and text.endswith("}"):
        text = text[len("\\boxed{") : -1]
    norm = normalize(text)
    return norm, parse_value(norm)


def _is_multi(v: Value) -> bool:
    return isinstance(v, Collection) and v.kind in ("list", "set")


def _clip(text: str | None, limit: int = 500) -> str | None:
    """Keep results small: a hostile response must not produce a megabyte of detail."""
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 20] + f"… [{len(text)} chars]"


def _result(cfg: MathConfig, status: Status, extracted: str | None, detail: str) -> RewardResult:
    extracted, detail = _clip(extracted), _clip(detail, 1000) or ""
    reward = cfg.reward_correct if status is Status.CORRECT else cfg.reward_incorrect
    return RewardResult(reward, status, extracted, {"accuracy": reward}, detail)


def _collapse(values: list[Value], unev: bool) -> Value | None:
    """One value if all candidates agree with the first, else None (a hedge)."""
    first = values[0]
    for other in values[1:]:
        if other == first:
            continue
        try:
            if not values_equal(first, other, allow_unevaluated=True):
                return None
        except (UnsupportedLatex, Unevaluated):
            return None  # different unparseable texts: still different answers
    return first


def _prediction(cands: list[str], gold_v: Value, cfg: MathConfig) -> tuple[Value | None, str]:
    """Combine the final group of answers into one predicted value (None: hedged)."""
    if len(cands) > 1 and _is_multi(gold_v):
        text = ", ".join(cands)
        return parse_value(text), text
    values = [parse_value(c) for c in cands]
    pred = values[0] if len(values) == 1 else _collapse(values, cfg.allow_unevaluated)
    if pred is None:
        return None, " | ".join(cands)
    if isinstance(pred, Collection) and pred.kind == "list" and not _is_multi(gold_v):
        collapsed = _collapse(list(pred.items), cfg.allow_unevaluated)
        return collapsed, cands[0]
    return pred, " | ".join(cands) if len(cands) > 1 else cands[0]


def grade(response: str, gold: str, config: MathConfig | None = None) -> RewardResult:
    """Grade ``response`` against ``gold`` in this process (no deadline: see the pool)."""
    cfg = config or MathConfig()
    try:
        return _grade(response, gold, cfg)
    except (TooLarge, RecursionError) as exc:
        return _result(cfg, Status.INCORRECT, None, f"answer too large to evaluate: {exc}")
    except Exception as exc:  # a bug of ours, never the model's fault
        return _result(cfg, Status.INFRA_ERROR, None, f"grader error: {type(exc).__name__}: {exc}")


def _grade(response: str, gold: str, cfg: MathConfig) -> RewardResult:
    if not isinstance(response, str) or not isinstance(gold, str):
        return _result(cfg, Status.INFRA_ERROR, None, "response and gold must be strings")
    ex = extract_answers(
        response,
        last_number_fallback=cfg.last_number_fallback,
        require_think_close=cfg.require_think_close,
        max_chars=cfg.max_response_chars,
    )
    if not ex.answers:
        why = "reasoning never closed with </think>" if ex.region == "unclosed_think" else ""
        return _result(cfg, Status.NO_ANSWER, None, why or "no final answer found")
    gold_norm, gold_v = parse_gold(gold)
    cands = [c for c in (normalize(a) for a in ex.answers) if c]
    if not cands:
        return _result(cfg, Status.NO_ANSWER, None, "final answer is empty")
    if len(cands) == 1 and cands[0] == gold_norm:
        return _result(
            cfg, Status.CORRECT, cands[0], f"identical to gold after normalisation ({ex.source})"
        )
    shown = " | ".join(cands)
    try:
        pred_v, shown = _prediction(cands, gold_v, cfg)
        if pred_v is None:
            return _result(cfg, Status.HEDGED, shown, "several different final answers")
        ok = values_equal(gold_v, pred_v, allow_unevaluated=cfg.allow_unevaluated)
    except Unevaluated as exc:
        return _result(cfg, Status.INCORRECT, shown, f"unevaluated: {exc}")
    except UnsupportedLatex as exc:
        return _result(cfg, Status.INCORRECT, shown, f"unparseable answer: {exc}")
    except (ValueError, TypeError, ArithmeticError, NotImplementedError) as exc:
        # sympy rejecting what the model wrote (a non-real interval end, NaN, ...):
        # the answer is not a valid value, which is the model's fault, not ours.
        return _result(cfg, Status.INCORRECT, shown, f"invalid answer: {type(exc).__name__}: {exc}")
    status = Status.CORRECT if ok else Status.INCORRECT
    return _result(cfg, status, shown, f"gold {gold_norm!r} vs {shown!r} ({ex.source})")

"""Hand-computed checks of the GRPO tensor maths (advantages, k3, clip, aggregation, loss).

Every expected number is worked out in a comment next to it, so a failing test says
which piece of arithmetic the code disagrees with.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rlvr_gym.errors import ConfigError
from rlvr_gym.rewards.types import Status
from rlvr_gym.trainer_adapter.grpo import (
    MASKED_STATUSES,
    LossStats,
    aggregate,
    clipped_surrogate,
    group_advantages,
    grpo_loss,
    kl_k3,
    sample_mask,
    token_entropy,
)

PROPS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NAN = float("nan")


def close(actual: torch.Tensor, expected: float | list[float] | list[list[float]]) -> None:
    """Compare a float32 result with hand-computed numbers, to float32 rounding."""
    want = torch.tensor(expected, dtype=torch.float32)
    torch.testing.assert_close(actual.detach(), want, atol=1e-5, rtol=0)


def grad(t: torch.Tensor) -> torch.Tensor:
    assert t.grad is not None, "no gradient reached this tensor"
    return t.grad


# --- sample_mask -------------------------------------------------------------------------


def test_sample_mask_drops_infra_error_and_timeout() -> None:
    statuses = ["correct", "infra_error", "incorrect", "timeout", "no_answer", "hedged"]
    mask = sample_mask(statuses)
    assert mask.dtype == torch.bool
    assert mask.tolist() == [True, False, True, False, True, True]
    assert {"infra_error", "timeout"} == MASKED_STATUSES


def test_sample_mask_accepts_status_enum_and_empty() -> None:
    mask = sample_mask([Status.CORRECT, Status.INFRA_ERROR, Status.TIMEOUT, Status.INCORRECT])
    assert mask.tolist() == [True, False, False, True]
    empty = sample_mask([], device="cpu")
    assert empty.shape == (0,) and empty.dtype == torch.bool


# --- group_advantages --------------------------------------------------------------------


def test_group_advantages_std_with_masked_sample_and_tied_group() -> None:
    # group 0: valid rewards [1, 0] (the third is masked; NaN proves it is never read)
    #   mean 0.5, centred [0.5, -0.5], population std sqrt((0.25 + 0.25) / 2) = 0.5
    #   A = +-0.5 / (0.5 + 1e-4) = +-0.99980004, masked -> 0
    # group 1: all rewards 1 -> no signal -> all 0
    rewards = torch.tensor([[1.0, 0.0, NAN], [1.0, 1.0, 1.0]])
    valid = torch.tensor([[True, True, False], [True, True, True]])
    adv = group_advantages(rewards, valid)
    a = 0.5 / 0.5001
    close(adv, [[a, -a, 0.0], [0.0, 0.0, 0.0]])
    assert adv.dtype == torch.float32


def test_group_advantages_dr_grpo_skips_std() -> None:
    # same groups, scale="none": A = r - mean = [0.5, -0.5, 0], [0, 0, 0]
    rewards = torch.tensor([[1.0, 0.0, NAN], [1.0, 1.0, 1.0]])
    valid = torch.tensor([[True, True, False], [True, True, True]])
    close(group_advantages(rewards, valid, scale="none"), [[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]])


def test_group_advantages_population_std_three_valid() -> None:
    # rewards [1, 0, 0]: mean 1/3, centred [2/3, -1/3, -1/3]
    # var = (4/9 + 1/9 + 1/9) / 3 = 2/9 (population), std = sqrt(2)/3
    # A = (2/3) / (sqrt(2)/3) = sqrt(2);  (-1/3) / (sqrt(2)/3) = -1/sqrt(2)
    adv = group_advantages(torch.tensor([[1.0, 0.0, 0.0]]), eps=0.0)
    r2 = math.sqrt(2.0)
    close(adv, [[r2, -1 / r2, -1 / r2]])
    # and a group's valid advantages sum to zero
    assert abs(adv.sum().item()) < 1e-6


def test_group_advantages_degenerate_groups_are_exactly_zero() -> None:
    rewards = torch.tensor(
        [
            [0.9, 0.9, 0.9],  # float32 mean 0.9 - 6e-8: naive (r - mean) / (std + eps) ~ 6e-4
            [1.0, 0.0, 0.5],  # one valid sample -> 0
            [1.0, 0.0, 0.5],  # no valid samples -> 0
        ]
    )
    valid = torch.tensor([[True, True, True], [True, False, False], [False, False, False]])
    adv = group_advantages(rewards, valid)
    assert torch.equal(adv, torch.zeros(3, 3))


def test_group_advantages_accepts_float_valid_mask() -> None:
    rewards = torch.tensor([[2.0, 0.0, 9.0]])
    # valid as 0/1 floats; group [2, 0]: mean 1, Dr. GRPO A = [1, -1, 0]
    adv = group_advantages(rewards, torch.tensor([[1.0, 1.0, 0.0]]), scale="none")
    close(adv, [[1.0, -1.0, 0.0]])


@PROPS
@given(
    st.lists(st.tuples(st.floats(-10, 10, allow_nan=False), st.booleans()), min_size=1, max_size=8)
)
def test_group_advantages_property_zero_mean_and_masked_zero(
    cells: list[tuple[float, bool]],
) -> None:
    rewards = torch.tensor([[r for r, _ in cells]])
    valid = torch.tensor([[v for _, v in cells]])
    adv = group_advantages(rewards, valid, scale="none")
    assert torch.isfinite(adv).all()
    assert (adv[~valid] == 0).all()
    assert abs(adv.sum().item()) < 1e-3


# --- kl_k3 -------------------------------------------------------------------------------


def test_kl_k3_hand_values() -> None:
    # d = ref - logp
    # logp = log .5, ref = log .25: d = -log 2, k3 = 0.5 + log 2 - 1 = 0.19314718
    # logp = log .25, ref = log .5: d = +log 2, k3 = 2 - log 2 - 1 = 0.30685282
    # identical policies: d = 0, k3 = 0
    ln2 = math.log(2.0)
    logp = torch.log(torch.tensor([[0.5, 0.25, 0.3]]))
    ref = torch.log(torch.tensor([[0.25, 0.5, 0.3]]))
    close(kl_k3(logp, ref), [[0.5 + ln2 - 1, 2 - ln2 - 1, 0.0]])
    same = torch.randn(4, 5)
    assert torch.equal(kl_k3(same, same), torch.zeros(4, 5))


@PROPS
@given(
    st.lists(
        st.tuples(st.floats(-30, 0, allow_nan=False), st.floats(-30, 0, allow_nan=False)),
        min_size=1,
        max_size=16,
    )
)
def test_kl_k3_is_non_negative(pairs: list[tuple[float, float]]) -> None:
    logp = torch.tensor([[a for a, _ in pairs]])
    ref = torch.tensor([[b for _, b in pairs]])
    k3 = kl_k3(logp, ref)
    assert torch.isfinite(k3).all()
    assert (k3 >= 0).all()


def test_kl_k3_gradient_only_through_logp() -> None:
    logp = torch.log(torch.tensor([[0.5]])).requires_grad_()
    ref = torch.log(torch.tensor([[0.25]])).requires_grad_()
    kl_k3(logp, ref).sum().backward()
    # d k3 / d logp = -exp(d) + 1 with d = -log 2 -> 1 - 0.5 = 0.5
    close(grad(logp), [[0.5]])
    assert ref.grad is None


# --- clipped_surrogate -------------------------------------------------------------------


def test_clipped_surrogate_inside_and_outside_range() -> None:
    # ratios [1.1 (inside), 1.5 (above 1.2), 0.5 (below 0.8)], eps 0.2
    # A = +2: min(2.2, 2.2) = 2.2      -> loss -2.2, not clipped
    #         min(3.0, 1.2*2 = 2.4)    -> loss -2.4, clipped
    #         min(1.0, 0.8*2 = 1.6)    -> loss -1.0, not clipped (pessimistic side kept)
    # A = -1: min(-1.1, -1.1)          -> loss  1.1, not clipped
    #         min(-1.5, -1.2)          -> loss  1.5, not clipped (pessimistic side kept)
    #         min(-0.5, -0.8)          -> loss  0.8, clipped
    ratios = torch.tensor([[1.1, 1.5, 0.5], [1.1, 1.5, 0.5]])
    old = torch.full((2, 3), -1.0)
    logp = (old + ratios.log()).requires_grad_()
    loss, clipped = clipped_surrogate(logp, old, torch.tensor([2.0, -1.0]))
    close(loss, [[-2.2, -2.4, -1.0], [1.1, 1.5, 0.8]])
    assert clipped.tolist() == [[False, True, False], [False, False, True]]
    # clipped tokens carry no gradient; the others get d(-ratio*A)/dlogp = -ratio*A
    loss.sum().backward()
    close(grad(logp), [[-2.2, 0.0, -1.0], [1.1, 1.5, 0.0]])


def test_clipped_surrogate_asymmetric_clip_higher() -> None:
    # ratio 1.25, A = 1: clipped at 1 + 0.2 (loss -1.2) but not at DAPO's 1 + 0.28 (-1.25)
    logp = torch.tensor([[math.log(1.25)]])
    old = torch.zeros(1, 1)
    adv = torch.tensor([1.0])
    loss, clipped = clipped_surrogate(logp, old, adv)
    close(loss, [[-1.2]])
    assert clipped.item()
    loss, clipped = clipped_surrogate(logp, old, adv, clip_high=0.28)
    close(loss, [[-1.25]])
    assert not clipped.item()


def test_clipped_surrogate_zero_advantage_never_clipped_and_huge_ratio_finite() -> None:
    logp = torch.tensor([[0.0, 100.0]])
    old = torch.tensor([[-50.0, 0.0]])
    loss, clipped = clipped_surrogate(logp, old, torch.tensor([0.0]))
    assert not clipped.any()
    assert torch.isfinite(loss).all()
    loss, _ = clipped_surrogate(logp, old, torch.tensor([-1.0]))
    assert torch.isfinite(loss).all()


# --- aggregate ---------------------------------------------------------------------------

RAGGED_VALUES = [[1.0, 2.0, 3.0], [10.0, NAN, NAN], [5.0, 5.0, 5.0]]
RAGGED_MASK = [[True, True, True], [True, False, False], [False, False, False]]


def test_aggregate_token_vs_sequence_on_ragged_mask() -> None:
    # valid tokens: row 0 -> 1, 2, 3; row 1 -> 10 (NaN padding never read); row 2 -> none
    # token:    (1 + 2 + 3 + 10) / 4 = 4
    # sequence: mean(mean(1, 2, 3) = 2, mean(10) = 10) = 6; empty row 2 does not count
    x = torch.tensor(RAGGED_VALUES)
    m = torch.tensor(RAGGED_MASK)
    close(aggregate(x, m, "token"), 4.0)
    close(aggregate(x, m, "sequence"), 6.0)
    close(aggregate(x, m.float()), 4.0)  # 0/1 masks work too


def test_aggregate_gradients_are_finite_despite_nan_padding() -> None:
    x = torch.tensor(RAGGED_VALUES, requires_grad=True)
    aggregate(x, torch.tensor(RAGGED_MASK), "sequence").backward()
    # d/dx = 1 / (n_seq * len_seq): row 0 -> 1/(2*3), row 1 tok 0 -> 1/(2*1), rest 0
    close(grad(x), [[1 / 6, 1 / 6, 1 / 6], [0.5, 0.0, 0.0], [0.0, 0.0, 0.0]])


@pytest.mark.parametrize("mode", ["token", "sequence"])
def test_aggregate_all_empty_is_zero_with_grad(mode: str) -> None:
    x = torch.ones(2, 3, requires_grad=True)
    out = aggregate(x, torch.zeros(2, 3, dtype=torch.bool), mode)
    assert out.item() == 0.0 and out.requires_grad
    out.backward()
    assert torch.equal(grad(x), torch.zeros(2, 3))


# --- grpo_loss ---------------------------------------------------------------------------


def test_grpo_loss_masked_samples_get_exactly_zero_gradient() -> None:
    # sample 1 is an infra_error whose logp row is NaN garbage: no NaN may leak anywhere
    statuses = ["correct", "infra_error", "incorrect"]
    logp = torch.tensor([[-1.0, -2.0], [NAN, NAN], [-0.5, -0.7]], requires_grad=True)
    old = logp.detach().clone()
    ref = torch.tensor([[-1.1, -2.1], [NAN, NAN], [-0.4, -0.9]])
    adv = torch.tensor([1.0, 5.0, -1.0])
    mask = torch.ones(3, 2, dtype=torch.bool)
    loss, stats = grpo_loss(
        logp, old, adv, mask, ref_logp=ref, sample_valid=sample_mask(statuses), kl_coef=0.1
    )
    loss.backward()
    assert logp.grad is not None
    assert torch.isfinite(loss)
    assert torch.equal(logp.grad[1], torch.zeros(2))
    assert torch.isfinite(logp.grad).all()
    assert (logp.grad[0] != 0).all() and (logp.grad[2] != 0).all()
    assert all(math.isfinite(v) for v in vars(stats).values())


def test_grpo_loss_gradient_direction_token_aggregation() -> None:
    # on-policy (ratio 1), 4 valid tokens, A = [+1, -1]:
    #   loss = -(1 + 1 - 1 - 1) / 4 = 0
    #   d loss / d logp = -A / 4 -> row 0 = -0.25 (raising logp lowers the loss), row 1 = +0.25
    logp = torch.tensor([[-1.0, -2.0], [-0.5, -0.3]], requires_grad=True)
    loss, stats = grpo_loss(logp, logp.detach(), torch.tensor([1.0, -1.0]), torch.ones(2, 2))
    loss.backward()
    close(loss, 0.0)
    close(grad(logp), [[-0.25, -0.25], [0.25, 0.25]])
    assert stats == LossStats(loss=0.0, policy_loss=0.0, kl=0.0, clip_fraction=0.0, ratio_mean=1.0)


def test_grpo_loss_token_vs_sequence_on_ragged_mask() -> None:
    # on-policy, A = [+1, -1], row 0 has 3 valid tokens, row 1 has 1
    # token:    loss = -(3 * 1 + 1 * -1) / 4 = -0.5; grad row 0 = -1/4, row 1 tok 0 = +1/4
    # sequence: loss = -(mean(1,1,1) + mean(-1)) / 2 = 0; grad row 0 = -1/(2*3), row 1 = +1/2
    mask = torch.tensor([[1, 1, 1], [1, 0, 0]])
    adv = torch.tensor([1.0, -1.0])
    logp = torch.full((2, 3), -1.0, requires_grad=True)
    loss, _ = grpo_loss(logp, logp.detach(), adv, mask, aggregation="token")
    loss.backward()
    close(loss, -0.5)
    close(grad(logp), [[-0.25, -0.25, -0.25], [0.25, 0.0, 0.0]])
    logp.grad = None
    loss, _ = grpo_loss(logp, logp.detach(), adv, mask, aggregation="sequence")
    loss.backward()
    close(loss, 0.0)
    close(grad(logp), [[-1 / 6, -1 / 6, -1 / 6], [0.5, 0.0, 0.0]])


def test_grpo_loss_kl_term_only_when_coef_positive() -> None:
    # A = 0 so the policy loss is 0; every token: logp = log .5, ref = log .25
    # k3 = 0.5 + log 2 - 1 = 0.19314718 per token -> aggregated KL 0.19314718
    k3 = 0.5 + math.log(2.0) - 1
    logp = torch.full((2, 3), math.log(0.5), requires_grad=True)
    ref = torch.full((2, 3), math.log(0.25))
    adv = torch.zeros(2)
    mask = torch.ones(2, 3, dtype=torch.bool)

    loss, stats = grpo_loss(logp, logp.detach(), adv, mask, ref_logp=ref, kl_coef=0.0)
    assert loss.item() == 0.0  # KL measured, not added
    assert stats.kl == pytest.approx(k3, abs=1e-6)

    loss, stats = grpo_loss(logp, logp.detach(), adv, mask, ref_logp=ref, kl_coef=0.1)
    assert loss.item() == pytest.approx(0.1 * k3, abs=1e-6)
    assert stats.loss == pytest.approx(0.1 * k3, abs=1e-6)
    assert stats.policy_loss == 0.0
    loss.backward()
    # d(0.1 * mean k3)/dlogp = 0.1 * (1 - exp(d)) / 6 = 0.1 * 0.5 / 6 per token: pulls
    # logp down towards the reference
    close(grad(logp), [[0.05 / 6] * 3] * 2)

    loss, stats = grpo_loss(logp, logp.detach(), adv, mask, kl_coef=0.1)  # no reference
    assert loss.item() == 0.0 and stats.kl == 0.0


def test_grpo_loss_stats_clip_fraction_and_ratio_mean() -> None:
    # ratios [1.5, 1.0] with A = +1: token 0 clipped (1.5 > 1.2), token 1 not
    # clip_fraction 1/2, ratio_mean (1.5 + 1) / 2 = 1.25
    # loss = -(1.2 + 1.0) / 2 = -1.1
    old = torch.zeros(1, 2)
    logp = torch.tensor([[math.log(1.5), 0.0]], requires_grad=True)
    loss, stats = grpo_loss(logp, old, torch.tensor([1.0]), torch.ones(1, 2))
    assert stats.clip_fraction == pytest.approx(0.5)
    assert stats.ratio_mean == pytest.approx(1.25)
    assert stats.loss == pytest.approx(-1.1) == stats.policy_loss
    assert loss.item() == pytest.approx(-1.1)


def test_grpo_loss_all_masked_is_zero_and_backpropagates() -> None:
    logp = torch.randn(2, 3, requires_grad=True)
    loss, stats = grpo_loss(
        logp,
        logp.detach(),
        torch.ones(2),
        torch.ones(2, 3),
        sample_valid=torch.tensor([False, False]),
    )
    loss.backward()
    assert loss.item() == 0.0 and stats.loss == 0.0
    assert torch.equal(grad(logp), torch.zeros(2, 3))


# --- dtype ---------------------------------------------------------------------------------


def test_bf16_inputs_give_float32_finite_outputs() -> None:
    gen = torch.Generator().manual_seed(0)
    logp = (-torch.rand(4, 5, generator=gen) * 3).to(torch.bfloat16).requires_grad_()
    old = (logp.detach().float() + 0.05).to(torch.bfloat16)
    ref = (logp.detach().float() - 0.1).to(torch.bfloat16)
    rewards = torch.tensor([[1.0, 0.0], [0.5, 0.5]], dtype=torch.bfloat16)
    adv = group_advantages(rewards).view(-1)
    assert adv.dtype == torch.float32
    loss, stats = grpo_loss(
        logp, old, adv, torch.ones(4, 5, dtype=torch.bool), ref_logp=ref, kl_coef=0.04
    )
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    loss.backward()
    assert logp.grad is not None and torch.isfinite(logp.grad.float()).all()
    assert all(math.isfinite(v) for v in vars(stats).values())
    for out in (
        kl_k3(logp, ref),
        clipped_surrogate(logp, old, adv)[0],
        aggregate(logp, torch.ones(4, 5)).reshape(1, 1),
        token_entropy(torch.randn(2, 3, 7, generator=gen).to(torch.bfloat16)),
    ):
        assert out.dtype == torch.float32 and torch.isfinite(out).all()


# --- token_entropy -----------------------------------------------------------------------


def test_token_entropy_values() -> None:
    logits = torch.zeros(10, 2, 4)  # 10 rows > one chunk
    logits[:, 1] = torch.tensor([0.0, -math.inf, -math.inf, -math.inf])  # banned tokens
    logits[3, 0] = torch.tensor([1000.0, 0.0, 0.0, 0.0])  # would overflow a naive softmax
    h = token_entropy(logits)
    assert h.shape == (10, 2) and h.dtype == torch.float32
    # uniform over 4 -> log 4; a single allowed token -> 0; a dominant logit -> ~0
    expected = torch.tensor([[math.log(4.0), 0.0]] * 10)
    expected[3, 0] = 0.0
    torch.testing.assert_close(h, expected, atol=1e-5, rtol=0)


def test_token_entropy_matches_float64_reference() -> None:
    logits = torch.randn(3, 4, 11, generator=torch.Generator().manual_seed(1)) * 5
    p = torch.softmax(logits.double(), -1)
    ref = -(p * p.log()).sum(-1)
    torch.testing.assert_close(token_entropy(logits).double(), ref, atol=1e-5, rtol=0)


# --- argument errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: group_advantages(torch.zeros(6)), id="rewards-1d"),
        pytest.param(
            lambda: group_advantages(torch.zeros(2, 3), torch.ones(3, 2, dtype=torch.bool)),
            id="valid-shape",
        ),
        pytest.param(lambda: group_advantages(torch.zeros(2, 3), scale="mad"), id="scale"),
        pytest.param(lambda: kl_k3(torch.zeros(2, 3), torch.zeros(2, 4)), id="kl-shape"),
        pytest.param(
            lambda: clipped_surrogate(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(2, 1)),
            id="adv-2d",
        ),
        pytest.param(
            lambda: clipped_surrogate(
                torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(2), clip_low=-0.1
            ),
            id="clip-negative",
        ),
        pytest.param(lambda: aggregate(torch.zeros(2, 3), torch.ones(2, 4)), id="mask-shape"),
        pytest.param(lambda: aggregate(torch.zeros(2, 3), torch.ones(2, 3), "seq"), id="mode"),
        pytest.param(
            lambda: grpo_loss(
                torch.zeros(2, 3),
                torch.zeros(2, 3),
                torch.zeros(2),
                torch.ones(2, 3),
                sample_valid=torch.ones(3, dtype=torch.bool),
            ),
            id="sample-valid-length",
        ),
        pytest.param(
            lambda: grpo_loss(
                torch.zeros(2, 3), torch.zeros(3, 2), torch.zeros(2), torch.ones(2, 3)
            ),
            id="old-logp-shape",
        ),
        pytest.param(
            lambda: grpo_loss(
                torch.zeros(2, 3),
                torch.zeros(2, 3),
                torch.zeros(2),
                torch.ones(2, 3),
                ref_logp=torch.zeros(2, 2),
            ),
            id="ref-shape",
        ),
        pytest.param(
            lambda: grpo_loss(
                torch.zeros(2, 3),
                torch.zeros(2, 3),
                torch.zeros(2),
                torch.ones(2, 3),
                aggregation="mean",
            ),
            id="aggregation",
        ),
        pytest.param(
            lambda: grpo_loss(
                torch.zeros(2, 3),
                torch.zeros(2, 3),
                torch.zeros(2),
                torch.ones(2, 3),
                kl_coef=-1.0,
            ),
            id="kl-coef",
        ),
        pytest.param(lambda: token_entropy(torch.zeros(2, 3)), id="entropy-2d"),
    ],
)
def test_bad_arguments_raise_config_error(call: Callable[[], object]) -> None:
    with pytest.raises(ConfigError):
        call()


def test_shape_error_message_names_the_tensor() -> None:
    with pytest.raises(ConfigError, match=r"sample_valid has shape \(3,\).*\(2,\)"):
        grpo_loss(
            torch.zeros(2, 3),
            torch.zeros(2, 3),
            torch.zeros(2),
            torch.ones(2, 3),
            sample_valid=torch.ones(3, dtype=torch.bool),
        )

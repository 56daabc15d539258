"""Verifiable rewards: math equivalence, format shaping (code judging comes later).

Rewards return :class:`RewardResult` data and never raise on model output.
"""

from rlvr_gym.rewards.types import RewardResult, Status

__all__ = ["RewardResult", "Status"]

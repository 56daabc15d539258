"""rlvr-gym: verifiable rewards for R1-style reinforcement learning of language models.

The top-level import stays light on purpose: trainers import this package inside data
loaders and worker processes, so it must not pull in torch, docker or grpc. Heavy
pieces live in sub-packages that are imported on demand.
"""

from rlvr_gym.errors import RlvrGymError
from rlvr_gym.rewards.types import RewardResult, Status

__version__ = "0.1.0"

__all__ = ["RewardResult", "RlvrGymError", "Status", "__version__"]

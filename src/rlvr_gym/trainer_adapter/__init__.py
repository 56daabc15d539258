"""GRPO for verifiable rewards: pure tensor functions, a small trainer, framework adapters.

Needs the ``torch`` extra (``pip install rlvr-gym[torch]``); the TRL adapter needs
``trl``. Importing this package stays cheap: submodules import torch themselves.

- :mod:`~rlvr_gym.trainer_adapter.grpo`: advantages, clipped surrogate, k3 KL, loss
  aggregation and masking of samples whose reward failed (``infra_error``/``timeout``).
- :mod:`~rlvr_gym.trainer_adapter.trainer`: :class:`GRPOTrainer`, a readable trainer for a
  Hugging Face causal LM, scoring in-process or through the gRPC service.
- :mod:`~rlvr_gym.trainer_adapter.adapters`: reward functions for TRL, verl and OpenRLHF.
"""

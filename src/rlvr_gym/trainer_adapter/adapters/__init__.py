"""Reward functions in the shapes TRL, verl and OpenRLHF call, local or through the service.

- :mod:`~rlvr_gym.trainer_adapter.adapters.trl`: ``reward_funcs(...)`` for ``GRPOTrainer``.
- :mod:`~rlvr_gym.trainer_adapter.adapters.verl`: ``compute_score`` for
  ``custom_reward_function``.
- :mod:`~rlvr_gym.trainer_adapter.adapters.openrlhf`: ``reward_func`` for ``--remote_rm_url``.

Each masks samples whose reward failed on our side (``infra_error``/``timeout``) in the
way its framework supports; the module docstrings say how, and what that framework does
with a value it cannot use.
"""

"""``rlvr-gym train``: GRPO from the command line (settings: ``TrainConfig``)."""

from __future__ import annotations

import argparse
import json

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``train`` on the CLI's subcommands."""
    train = sub.add_parser(
        "train",
        help="GRPO-train a causal LM on a verifiable-reward env (needs the torch extra)",
        description="Sample G completions per prompt, score them (in-process or --remote), "
        "update with GRPO; logs, plots and checkpoints go to --output-dir. Settings: "
        "TrainConfig defaults, then --config (TOML), then these flags.",
    )
    train.add_argument("--config", metavar="FILE.toml", help="training settings")
    train.add_argument("--model", help="HF model directory, or 'smollm2' (default)")
    train.add_argument("--steps", type=int, help="optimiser steps")
    train.add_argument("--remote", metavar="HOST:PORT", help="score through a reward server")
    train.add_argument("--output-dir", help="logs, plots, checkpoints")
    train.add_argument("--device", choices=("auto", "cpu", "cuda"))
    train.add_argument("--resume", action="store_true", help="continue from the checkpoint")


def run(args: argparse.Namespace) -> int:
    """Train; prints the final held-out accuracy as JSON."""
    from rlvr_gym.trainer_adapter.config import TrainConfig
    from rlvr_gym.trainer_adapter.trainer import GRPOTrainer

    overrides = {"model": args.model, "steps": args.steps, "remote": args.remote,
                 "output_dir": args.output_dir, "device": args.device}  # fmt: skip
    if args.config:
        config = TrainConfig.from_toml(args.config, **overrides)
    else:
        config = TrainConfig.from_dict({k: v for k, v in overrides.items() if v is not None})
    trainer = GRPOTrainer(config)
    try:
        trainer.train(resume=args.resume)
    finally:
        trainer.close()
    first, last = trainer.evals[0], trainer.evals[-1]
    summary = {"step": last.step, "accuracy": last.accuracy, "stderr": last.stderr,
               "start_accuracy": first.accuracy, "output_dir": config.output_dir}  # fmt: skip
    print(json.dumps(summary))
    return 0

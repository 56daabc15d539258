"""GRPO in one file: a language model learns arithmetic from a verified reward.

Read it top to bottom; every step of DeepSeek-R1's recipe is here and nothing else:
sample G answers per problem, grade each with rlvr-gym's math reward (sympy-checked),
normalise rewards within each group, and push up the log-probability of the answers that
beat their group. The library's trainer (``rlvr_gym.trainer_adapter.trainer``) does the
same with logging, evaluation, LoRA, KL and checkpoints.

    python examples/grpo_minimal.py                  # SmolLM2-135M-Instruct on the CPU
    python examples/grpo_minimal.py --model DIR      # any Hugging Face causal LM
"""

import argparse
import random

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from rlvr_gym.envs.generators import ProceduralMathSource
from rlvr_gym.rewards.math.reward import MathReward
from rlvr_gym.trainer_adapter import grpo
from rlvr_gym.trainer_adapter.models import smollm2_path

parser = argparse.ArgumentParser(description="minimal GRPO on rlvr-gym's math env")
parser.add_argument("--model", default="smollm2", help="HF model directory or 'smollm2'")
parser.add_argument("--steps", type=int, default=50)
parser.add_argument("--prompts", type=int, default=4, help="problems per step (B)")
parser.add_argument("--group", type=int, default=8, help="answers per problem (G)")
parser.add_argument("--max-new-tokens", type=int, default=96)
parser.add_argument("--lr", type=float, default=5e-6)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()
random.seed(args.seed)
torch.manual_seed(args.seed)

# 1. The policy: a causal LM and its tokenizer (left padding for batched generation).
directory, gguf = smollm2_path() if args.model == "smollm2" else (args.model, None)
extra = {"gguf_file": gguf} if gguf else {}
tokenizer = AutoTokenizer.from_pretrained(directory, **extra)
model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32, **extra)
tokenizer.padding_side = "left"
tokenizer.pad_token = tokenizer.pad_token or tokenizer.eos_token
optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)

# 2. The environment's tasks and its verifiable reward.
tasks = ProceduralMathSource(seed=args.seed, kinds=["arithmetic"], difficulty=1)
reward = MathReward(workers=1)


def prompt_of(problem: str) -> str:
    """The chat-formatted prompt for one problem."""
    text = f"{problem}\nPut the final answer in \\boxed{{}}."
    if tokenizer.chat_template:
        return tokenizer.apply_chat_template(
            [{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True
        )
    return text + "\n"


for step in range(1, args.steps + 1):
    # 3. Sample G completions for each of B problems.
    batch = [tasks[random.randrange(len(tasks))] for _ in range(args.prompts)]
    enc = tokenizer([prompt_of(t.prompt) for t in batch], return_tensors="pt", padding=True,
                    add_special_tokens=False)  # fmt: skip
    with torch.no_grad():
        out = model.generate(**enc, do_sample=True, temperature=1.0, top_k=0,
                             max_new_tokens=args.max_new_tokens,
                             num_return_sequences=args.group,
                             pad_token_id=tokenizer.pad_token_id)  # fmt: skip
    prompt_len = enc["input_ids"].shape[1]
    completion = out[:, prompt_len:]  # [N, T]
    ended = (completion == tokenizer.eos_token_id).long()
    mask = ((ended.cumsum(1) - ended) == 0).long()  # up to and including the first EOS
    texts = [tokenizer.decode(c[: int(m.sum())], skip_special_tokens=True)
             for c, m in zip(completion, mask)]  # fmt: skip

    # 4. Grade every completion; infra failures are masked, never trained on.
    results = reward.score_batch(texts, [t.answer for t in batch for _ in range(args.group)])
    rewards = torch.tensor([r.reward for r in results]).view(args.prompts, args.group)
    valid = grpo.sample_mask([r.status.value for r in results])

    # 5. Group-relative advantages: how much better than its siblings each answer was.
    advantages = grpo.group_advantages(rewards, valid.view(args.prompts, args.group)).view(-1)

    # 6. One policy-gradient step on the clipped surrogate (on-policy: old = current).
    attention = torch.cat([enc["attention_mask"].repeat_interleave(args.group, 0), mask], 1)
    positions = (attention.cumsum(1) - 1).clamp(min=0)
    logits = model(input_ids=out, attention_mask=attention, position_ids=positions).logits
    logp = logits[:, prompt_len - 1 : -1].float().log_softmax(-1)
    logp = logp.gather(-1, completion.unsqueeze(-1)).squeeze(-1)  # [N, T]
    loss, stats = grpo.grpo_loss(logp, logp.detach(), advantages, mask, sample_valid=valid)
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()

    accuracy = sum(r.status.value == "correct" for r in results) / len(results)
    length = mask.sum(1).float().mean()
    print(f"step {step:3d}  reward {rewards.mean():.3f}  accuracy {accuracy:.3f}  "
          f"length {length:.1f}  loss {stats.loss:+.4f}", flush=True)  # fmt: skip

reward.close()

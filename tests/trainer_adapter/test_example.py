"""examples/grpo_minimal.py stays in sync with the library: it runs for a few steps."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.trainer_adapter.tiny import tiny_model, tiny_tokenizer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "grpo_minimal.py"


def test_minimal_example_runs_a_few_steps(tmp_path: Path) -> None:
    tok = tiny_tokenizer()
    tiny_model(tok).save_pretrained(tmp_path / "model")
    tok.save_pretrained(tmp_path / "model")
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE), "--model", str(tmp_path / "model"), "--steps", "3",
         "--prompts", "2", "--group", "4", "--max-new-tokens", "4"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    steps = [line for line in proc.stdout.splitlines() if line.startswith("step ")]
    assert len(steps) == 3 and all("reward" in s and "accuracy" in s for s in steps)

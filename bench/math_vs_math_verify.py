"""Benchmark: rlvr-gym's math reward against HuggingFace math-verify 0.9.0, in one run.

Why this exists: the design promises a math reward that is at least as *right* as the
peer everyone uses and fast enough that GPUs never wait for it. Both claims are measured
here side by side on the same machine and the same data, and printed as ratios.

What it measures (data: real Qwen2.5-Math chain-of-thought responses with the labels of
Qwen's grader, ``../shared/data/math/qwen25math_cot_labeled.jsonl``):

1. Agreement with the labels on 800 (gold, response) pairs, for us and for math-verify,
   and every disagreement with the label listed for review.
2. Throughput on ``800 x --copies`` responses, each made unique by a sentence inserted at
   its start so no cache keyed by response text can help:
   a. whole process (start-up included): ``rlvr-gym score --workers 1`` against a
      one-process math-verify script that parses the gold per pair, as its users do;
   b. scaling: ``rlvr-gym score --workers <cpu count>`` against ``--workers 1``;
   c. in-process: pairs/s and p50/p99 per-pair latency.

math-verify must never become a dependency of the project, so the script keeps its own
virtualenv, ``.bench-venv`` at the repo root (this repo installed editable, plus
``math-verify==0.9.0`` and matplotlib), and re-executes itself inside it.

Run (from anywhere; the first run creates the venv and needs PyPI)::

    python bench/math_vs_math_verify.py            # 16 000 responses, several minutes
    python bench/math_vs_math_verify.py --quick    # 1 600 responses, a smoke test

Outputs: a table on stdout, ``bench/out/math_vs_math_verify.json`` and
``bench/out/math_throughput.png``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_VENV = ROOT / ".bench-venv"
DATA = ROOT.parent / "shared" / "data" / "math" / "qwen25math_cot_labeled.jsonl"
OUT_DIR = ROOT / "bench" / "out"
ENV_ID = "rlvr_gym/Math-v0"
BENCH_PINS = ["math-verify==0.9.0", "matplotlib"]
_REEXEC_FLAG = "RLVR_GYM_BENCH_REEXEC"

# The peer, as its users run it: one process, gold parsed per pair, default settings.
MV_SCRIPT = """\
import json, logging, sys
logging.disable(logging.WARNING)
from math_verify import parse, verify
n = correct = 0
with open(sys.argv[1], encoding="utf-8") as f:
    for line in f:
        rec = json.loads(line)
        try:
            correct += bool(verify(parse("$" + rec["answer"] + "$"), parse(rec["response"])))
        except Exception:
            pass
        n += 1
print(json.dumps({"n": n, "correct": correct}))
"""


# --------------------------------------------------------------------------- venv


def _venv_python() -> Path:
    return BENCH_VENV / "bin" / "python"


def _in_bench_venv() -> bool:
    return Path(sys.prefix).resolve() == BENCH_VENV.resolve()


def ensure_bench_venv() -> None:
    """Create/refresh ``.bench-venv`` and re-execute this script inside it."""
    if _in_bench_venv():
        return
    if os.environ.get(_REEXEC_FLAG):
        sys.exit(f"bench: re-executed but still not inside {BENCH_VENV} (sys.prefix={sys.prefix})")
    py = _venv_python()
    if not py.exists():
        print(f"[bench] creating {BENCH_VENV}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
    pyproject = (ROOT / "pyproject.toml").read_bytes()
    want = hashlib.sha256(pyproject + "\n".join(BENCH_PINS).encode()).hexdigest()
    stamp = BENCH_VENV / ".bench-installed"
    if not stamp.exists() or stamp.read_text().strip() != want:
        print(f"[bench] installing rlvr-gym (editable) + {' '.join(BENCH_PINS)}", file=sys.stderr)
        subprocess.run(
            [str(py), "-m", "pip", "install", "-q", "-e", str(ROOT), *BENCH_PINS], check=True
        )
        stamp.write_text(want)
    env = dict(os.environ, **{_REEXEC_FLAG: "1"})
    os.execve(str(py), [str(py), str(Path(__file__).resolve()), *sys.argv[1:]], env)


# --------------------------------------------------------------------------- data


def load_pairs() -> list[dict[str, Any]]:
    """The 800 labelled (gold, response) pairs, flattened problem-major."""
    if not DATA.exists():
        sys.exit(f"bench: data file not found: {DATA}")
    pairs: list[dict[str, Any]] = []
    with DATA.open(encoding="utf-8") as f:
        for row in map(json.loads, f):
            for j, (resp, label) in enumerate(zip(row["code"], row["score"], strict=True)):
                pairs.append(
                    {
                        "q": row["idx"],
                        "j": j,
                        "gold": str(row["gt"]),
                        "response": resp,
                        "label": bool(label),
                    }
                )
    return pairs


def make_unique(
    pairs: list[dict[str, Any]], copies: int, tag: str = "Attempt"
) -> list[tuple[str, str]]:
    """``copies`` copies of every pair, each response prefixed by a distinct sentence.

    A different ``tag`` gives a set no earlier measurement has seen, so a cache keyed by
    response text (in the peer or in us) never turns a later measurement into lookups.
    """
    out = []
    for c in range(copies):
        for i, p in enumerate(pairs):
            out.append((f"({tag} {c + 1} of sample {i}.) {p['response']}", p["gold"]))
    return out


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


# --------------------------------------------------------------------------- 1. agreement


def mv_verdict(gold: str, response: str) -> tuple[bool, str]:
    from math_verify import parse, verify

    try:
        g = parse("$" + gold + "$")
        p = parse(response)
        return bool(verify(g, p)), (str(p[-1]) if p else "")
    except Exception as exc:  # the peer raising counts as "not verified"
        return False, f"error: {type(exc).__name__}: {exc}"


def agreement(pairs: list[dict[str, Any]]) -> dict[str, Any]:
    from tqdm import tqdm

    from rlvr_gym.rewards.math.config import MathConfig
    from rlvr_gym.rewards.math.reward import MathReward

    mv: list[tuple[bool, str]] = [
        mv_verdict(p["gold"], p["response"]) for p in tqdm(pairs, desc="math-verify", ncols=80)
    ]
    print("[bench] rlvr-gym scoring the same pairs ...", file=sys.stderr)
    with MathReward(MathConfig(), workers=1) as reward:
        ours = reward.score_batch([p["response"] for p in pairs], [p["gold"] for p in pairs])

    rows = []
    for i, (p, r, (mv_ok, mv_parsed)) in enumerate(zip(pairs, ours, mv, strict=True)):
        our_ok = r.status.value == "correct"
        rows.append(
            {
                "i": i,
                **p,
                "ours": our_ok,
                "status": r.status.value,
                "extracted": r.extracted,
                "detail": r.detail,
                "mv": mv_ok,
                "mv_parsed": mv_parsed,
            }
        )
    n = len(rows)
    res = {
        "n": n,
        "ours_agree_label": sum(r["ours"] == r["label"] for r in rows),
        "mv_agree_label": sum(r["mv"] == r["label"] for r in rows),
        "ours_agree_mv": sum(r["ours"] == r["mv"] for r in rows),
        "ours_correct": sum(r["ours"] for r in rows),
        "mv_correct": sum(r["mv"] for r in rows),
        "label_correct": sum(r["label"] for r in rows),
        "disagreements": [],
    }
    print(f"\n=== 1. agreement with Qwen's labels on {n} pairs ===")
    print(f"rlvr-gym     agrees with label: {res['ours_agree_label']}/{n}")
    print(f"math-verify  agrees with label: {res['mv_agree_label']}/{n}")
    print(f"rlvr-gym and math-verify agree: {res['ours_agree_mv']}/{n}")
    print(
        f"marked correct: label {res['label_correct']}, rlvr-gym {res['ours_correct']}, "
        f"math-verify {res['mv_correct']}"
    )
    for r in rows:
        if r["ours"] == r["label"] and r["mv"] == r["label"]:
            continue
        if r["ours"] == r["mv"]:
            judgement = "label likely wrong (both verifiers disagree)"
        elif r["ours"] != r["label"]:
            judgement = "rlvr-gym disagrees with label; math-verify agrees with label"
        else:
            judgement = "math-verify disagrees with label; rlvr-gym agrees with label"
        r["judgement"] = judgement
        res["disagreements"].append(
            {
                k: r[k]
                for k in (
                    "i",
                    "q",
                    "j",
                    "gold",
                    "extracted",
                    "status",
                    "detail",
                    "ours",
                    "mv",
                    "mv_parsed",
                    "label",
                    "judgement",
                )
            }
        )
    print(f"\n--- {len(res['disagreements'])} pairs where a verifier disagrees with the label ---")
    for d in res["disagreements"]:
        print(
            f"[#{d['i']} problem {d['q']} sample {d['j']}] label={d['label']} "
            f"rlvr-gym={d['ours']} math-verify={d['mv']}"
        )
        print(f"    gold:        {d['gold']}")
        print(f"    ours:        extracted={d['extracted']!r} status={d['status']}")
        print(f"    our detail:  {_one_line(d['detail'], 300)}")
        print(f"    math-verify: {_one_line(d['mv_parsed'], 120)}")
        print(f"    judgement:   {d['judgement']}")
    return res


def _one_line(text: Any, width: int) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


# --------------------------------------------------------------------------- 2. throughput


def _timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"bench: command failed with exit {proc.returncode}: {' '.join(cmd)}")
    return wall


def whole_process(path: Path, n: int, tmp: Path) -> dict[str, Any]:
    cli = str(Path(sys.executable).with_name("rlvr-gym"))
    score = [cli, "score", "--env", ENV_ID, "--input", str(path), "--output", os.devnull]
    mv_script = tmp / "mv_score.py"
    mv_script.write_text(MV_SCRIPT)
    cpus = os.cpu_count() or 1

    print(
        f"\n[bench] 2a. whole process, {n} responses: rlvr-gym score --workers 1", file=sys.stderr
    )
    ours_s = _timed([*score, "--workers", "1"])
    print(
        f"[bench] 2a. whole process, {n} responses: math-verify script (one process)",
        file=sys.stderr,
    )
    mv_s = _timed([sys.executable, str(mv_script), str(path)])
    print(f"[bench] 2b. rlvr-gym score --workers {cpus}", file=sys.stderr)
    ours_n_s = _timed([*score, "--workers", str(cpus)])
    return {
        "n": n,
        "cpus": cpus,
        "ours_w1_s": ours_s,
        "ours_w1_rps": n / ours_s,
        "mv_s": mv_s,
        "mv_rps": n / mv_s,
        "speedup_w1_vs_mv": mv_s / ours_s,
        "ours_wN_s": ours_n_s,
        "ours_wN_rps": n / ours_n_s,
        "scaling_wN_vs_w1": ours_s / ours_n_s,
    }


def in_process(pairs: list[dict[str, Any]], copies: int) -> dict[str, Any]:
    from math_verify import parse, verify
    from tqdm import tqdm

    from rlvr_gym.rewards.math.config import MathConfig
    from rlvr_gym.rewards.math.reward import MathReward

    items = make_unique(pairs, copies, "In-process attempt")
    n = len(items)
    mv_lat: list[float] = []
    t_all = time.perf_counter()
    for resp, gold in tqdm(items, desc="2c math-verify", ncols=80):
        t0 = time.perf_counter()
        with contextlib.suppress(Exception):  # same policy as the whole-process script
            verify(parse("$" + gold + "$"), parse(resp))
        mv_lat.append(time.perf_counter() - t0)
    mv_wall = time.perf_counter() - t_all

    batch_items = make_unique(pairs, copies, "Batch attempt")
    latency_items = make_unique(pairs, copies, "Latency attempt")
    with MathReward(MathConfig(), workers=1) as reward:
        # Worker start-up is measured in 2a; here it is paid before the clock starts.
        reward.score("(Warm-up.) \\boxed{1}", "1")
        print("[bench] 2c rlvr-gym score_batch over everything ...", file=sys.stderr)
        t0 = time.perf_counter()
        reward.score_batch([r for r, _ in batch_items], [g for _, g in batch_items])
        our_batch_wall = time.perf_counter() - t0
        our_lat: list[float] = []
        for resp, gold in tqdm(latency_items, desc="2c rlvr-gym score()", ncols=80):
            t0 = time.perf_counter()
            reward.score(resp, gold)
            our_lat.append(time.perf_counter() - t0)

    # Scaling of the pool itself (no CLI, no start-up): every core vs one worker.
    cores = os.cpu_count() or 1
    scale_items = make_unique(pairs, copies, "Scaling attempt")
    with MathReward(MathConfig(), workers=cores) as reward:
        reward.score_batch(["(Warm-up.) \\boxed{1}"] * cores * 4, ["1"] * cores * 4)
        t0 = time.perf_counter()
        reward.score_batch([r for r, _ in scale_items], [g for _, g in scale_items])
        our_batch_wall_n = time.perf_counter() - t0

    mv_lat.sort()
    our_lat.sort()
    res = {
        "cores": cores,
        "ours_batch_pps_all_cores": n / our_batch_wall_n,
        "pool_scaling_all_cores_vs_1": our_batch_wall / our_batch_wall_n,
        "n": n,
        "mv_pps": n / mv_wall,
        "mv_p50_ms": percentile(mv_lat, 50) * 1e3,
        "mv_p99_ms": percentile(mv_lat, 99) * 1e3,
        "ours_score_pps": n / sum(our_lat),
        "ours_p50_ms": percentile(our_lat, 50) * 1e3,
        "ours_p99_ms": percentile(our_lat, 99) * 1e3,
        "ours_batch_pps": n / our_batch_wall,
    }
    res["speedup_batch_vs_mv"] = res["ours_batch_pps"] / res["mv_pps"]
    res["speedup_p50"] = res["mv_p50_ms"] / res["ours_p50_ms"]
    res["speedup_p99"] = res["mv_p99_ms"] / res["ours_p99_ms"]
    return res


# --------------------------------------------------------------------------- report


def print_table(agree: dict[str, Any], wp: dict[str, Any], ip: dict[str, Any]) -> None:
    n_a, n = agree["n"], wp["n"]
    rows = [
        (
            "agreement with labels",
            f"{agree['mv_agree_label']}/{n_a}",
            f"{agree['ours_agree_label']}/{n_a}",
            "",
        ),
        (f"whole process, {n} resp: seconds", f"{wp['mv_s']:.2f}", f"{wp['ours_w1_s']:.2f}", ""),
        (
            "whole process, 1 worker: resp/s",
            f"{wp['mv_rps']:.1f}",
            f"{wp['ours_w1_rps']:.1f}",
            f"{wp['speedup_w1_vs_mv']:.2f}x",
        ),
        (
            f"whole process, {wp['cpus']} workers: resp/s",
            "",
            f"{wp['ours_wN_rps']:.1f}",
            f"{wp['scaling_wN_vs_w1']:.2f}x vs 1 worker",
        ),
        (
            "in-process throughput: pairs/s",
            f"{ip['mv_pps']:.1f}",
            f"{ip['ours_batch_pps']:.1f}",
            f"{ip['speedup_batch_vs_mv']:.2f}x",
        ),
        (
            f"in-process, {ip['cores']} workers: pairs/s",
            "",
            f"{ip['ours_batch_pps_all_cores']:.1f}",
            f"{ip['pool_scaling_all_cores_vs_1']:.2f}x vs 1 worker",
        ),
        (
            "in-process latency p50: ms",
            f"{ip['mv_p50_ms']:.2f}",
            f"{ip['ours_p50_ms']:.2f}",
            f"{ip['speedup_p50']:.2f}x",
        ),
        (
            "in-process latency p99: ms",
            f"{ip['mv_p99_ms']:.2f}",
            f"{ip['ours_p99_ms']:.2f}",
            f"{ip['speedup_p99']:.2f}x",
        ),
    ]
    head = ("measure", "math-verify 0.9.0", "rlvr-gym", "speedup (ours vs peer)")
    widths = [max(len(str(r[k])) for r in [head, *rows]) for k in range(4)]
    print("\n=== summary ===")
    for r in [head, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    print(
        "(latency of rlvr-gym is MathReward.score() one call at a time, IPC to a worker "
        "included; throughput is score_batch over everything with 1 worker.)"
    )


def plot(wp: dict[str, Any], ip: dict[str, Any], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    labels = [
        "math-verify\n(process)",
        "rlvr-gym\n1 worker",
        f"rlvr-gym\n{wp['cpus']} workers",
        "math-verify\n(in-process)",
        "rlvr-gym\nscore_batch",
    ]
    values = [
        wp["mv_rps"],
        wp["ours_w1_rps"],
        wp["ours_wN_rps"],
        ip["mv_pps"],
        ip["ours_batch_pps"],
    ]
    colors = ["#999999", "#1f77b4", "#1f77b4", "#bbbbbb", "#2ca02c"]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    bars = ax.bar(labels, values, color=colors)
    ax.bar_label(bars, fmt="%.0f")
    ax.set_ylabel("responses / s (higher is better)")
    ax.set_title(
        f"Math reward throughput, {wp['n']} unique responses "
        f"({platform.machine()}, {wp['cpus']} CPUs)"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--copies", type=int, default=20, help="copies of each of the 800 pairs")
    parser.add_argument("--quick", action="store_true", help="--copies 2, for a smoke test")
    args = parser.parse_args()
    copies = 2 if args.quick else args.copies
    if copies < 1:
        parser.error("--copies must be >= 1")
    ensure_bench_venv()

    import logging

    logging.disable(logging.WARNING)  # math-verify logs every timeout and parse failure
    from importlib.metadata import version

    meta = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "math_verify": version("math-verify"),
        "rlvr_gym": version("rlvr-gym"),
        "copies": copies,
        "data": str(DATA.relative_to(ROOT.parent)),
    }
    print(f"[bench] {json.dumps(meta)}", file=sys.stderr)
    pairs = load_pairs()
    agree = agreement(pairs)

    items = make_unique(pairs, copies)
    with tempfile.TemporaryDirectory(prefix="rlvr-bench-") as tmp_s:
        tmp = Path(tmp_s)
        path = tmp / "responses.jsonl"
        with path.open("w", encoding="utf-8") as f:
            for resp, gold in items:
                f.write(json.dumps({"response": resp, "answer": gold}, ensure_ascii=False) + "\n")
        wp = whole_process(path, len(items), tmp)
    ip = in_process(pairs, copies)

    print_table(agree, wp, ip)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    out_json = OUT_DIR / "math_vs_math_verify.json"
    out_json.write_text(
        json.dumps(
            {"meta": meta, "agreement": agree, "whole_process": wp, "in_process": ip}, indent=2
        )
    )
    print(f"\nwrote {out_json.relative_to(ROOT)}")
    png = OUT_DIR / "math_throughput.png"
    if plot(wp, ip, png):
        print(f"wrote {png.relative_to(ROOT)}")
    else:
        print("matplotlib not importable: no chart")


if __name__ == "__main__":
    main()

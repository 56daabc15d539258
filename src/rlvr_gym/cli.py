"""Command-line interface: ``rlvr-gym score | envs | demo | sandbox build | sandbox run``.

The CLI only parses arguments, opens files and prints; scoring rules live in
:mod:`rlvr_gym.scoring` so the same behaviour is available from Python.

Exit codes (why they are few): bad *data* is the normal state of model output, so a run
over a file with malformed lines still exits 0 — every such line is reported in the
output with ``status: "error"`` and its line number, and counted in the summary. A
non-zero code means the run itself could not be trusted:

- ``0``: every input line has an output line (some may be ``error`` lines).
- ``1``: the scorer failed (its lines are marked ``infra_error``), or output could not be
  written.
- ``2``: usage error: bad arguments, unknown env id, unreadable input, unwritable output.
- ``130``: interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import sys
from collections.abc import Sequence
from importlib import resources
from typing import IO, TYPE_CHECKING, Any

from rlvr_gym import __version__
from rlvr_gym._text import clip
from rlvr_gym.errors import RlvrGymError

if TYPE_CHECKING:
    from rlvr_gym.scoring import Fields, ScorerFactory, Summary

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

DEMO_ENV = "rlvr_gym/Math-v0"
DEMO_RESOURCE = "data/demo_math.jsonl"


class _UsageError(RlvrGymError):
    """A problem with what the user asked for; reported without a traceback."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text}")
    return value


def _eprint(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed so docs and tests can inspect it)."""
    parser = argparse.ArgumentParser(
        prog="rlvr-gym",
        description="Verifiable rewards for R1-style RL: score model responses offline.",
        epilog="Exit codes: 0 ok (bad input lines are reported, not fatal), 1 scorer or "
        "output failure, 2 usage error, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"rlvr-gym {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    score = sub.add_parser(
        "score",
        help="score a JSONL file of responses",
        description="Score each JSONL line (an object with a response and a gold answer) "
        "and write it back with reward, status, extracted and detail added. Output order "
        "is input order; a bad line yields {status: 'error', line: N, error: ...} instead "
        "of stopping the run.",
    )
    score.add_argument("--env", required=True, metavar="ENV_ID", help="e.g. rlvr_gym/Math-v0")
    score.add_argument("--input", required=True, metavar="IN.jsonl", help="input file, or -")
    score.add_argument("--output", metavar="OUT.jsonl", help="output file (default: stdout)")
    score.add_argument(
        "--workers", type=_positive_int, help="grading processes (code envs: containers)"
    )
    score.add_argument(
        "--answer-field",
        help="gold field (default: answer; code envs: task_id, else an inline task object)",
    )
    score.add_argument(
        "--data", metavar="FILE", help="code envs: the dataset file task_id values refer to"
    )
    score.add_argument(
        "--backend",
        choices=("auto", "docker", "process"),
        default="auto",
        help="code envs: sandbox backend (default: auto)",
    )
    score.add_argument(
        "--response-field", default="response", help="response field (default: response)"
    )
    score.add_argument("--deadline", type=_positive_float, metavar="S", help="seconds/response")
    score.add_argument(
        "--remote",
        metavar="HOST:PORT[,HOST:PORT...]",
        help="grade on reward servers (rlvr-gym serve) instead of locally; several "
        "addresses, or dns:///name:port, are balanced round robin",
    )
    score.add_argument("--token", help="bearer token for --remote (default: $RLVR_GYM_TOKEN)")
    score.add_argument(
        "--batch-size", type=_positive_int, default=512, help="lines per batch (default: 512)"
    )

    sub.add_parser("envs", help="list env ids and what they do")

    serve = sub.add_parser(
        "serve",
        help="run the gRPC reward service",
        description="Serve RewardService, EnvService and SandboxService (plus gRPC health "
        "and reflection) until SIGTERM/SIGINT, then finish in-flight calls and exit. "
        "Prints 'rlvr-gym: serving on HOST:PORT' once ready. Settings: embedded defaults, "
        "then --config (TOML, see ServerConfig), then these flags.",
    )
    serve.add_argument("--address", metavar="HOST:PORT", help="default 0.0.0.0:50051")
    serve.add_argument("--config", metavar="FILE.toml", help="server settings file")
    serve.add_argument("--log-level", choices=("debug", "info", "warning", "error"))
    serve.add_argument(
        "--metrics-address", metavar="HOST:PORT", help="Prometheus /metrics ('' turns it off)"
    )

    demo = sub.add_parser(
        "demo",
        help="start the gRPC service, score sample math and code responses, print a table",
        description="Start `rlvr-gym serve` on its defaults (a free loopback port), score "
        "the built-in math samples and right/wrong programs for the built-in code tasks "
        "over gRPC, print a table, and stop the server. --local scores the math samples "
        "in-process instead.",
    )
    demo.add_argument("--remote", metavar="HOST:PORT", help="use this running server instead")
    demo.add_argument(
        "--local", action="store_true", help="in-process math only: no server, no Docker"
    )
    demo.add_argument("--workers", type=_positive_int, help="grading processes (--local)")

    from rlvr_gym.trainer_adapter.cli import add_parser as add_train_parser

    add_train_parser(sub)

    deploy = sub.add_parser("deploy", help="build the service image (see deploy/README.md)")
    deploy_sub = deploy.add_subparsers(dest="deploy_command", required=True, metavar="ACTION")
    image = deploy_sub.add_parser(
        "build-image",
        help="build rlvr-gym-service:latest without a registry and print its tag",
        description="Build the service image from the sandbox's Debian rootfs with this "
        "source tree installed (wheels made on the host, no network in the build); an image "
        "whose content hash is unchanged is reused. Prints the tag, progress on stderr.",
    )
    image.add_argument("--force", action="store_true", help="rebuild even if cached")

    sandbox = sub.add_parser("sandbox", help="manage the code-execution sandbox")
    sandbox_sub = sandbox.add_subparsers(dest="sandbox_command", required=True, metavar="ACTION")
    build = sandbox_sub.add_parser(
        "build",
        help="build the sandbox Docker image (no registry needed) and print its tag",
        description="Build the sandbox image from a Debian rootfs (debootstrap, needs root "
        "the first time), import it and add the supervisor; an image whose content hash "
        "is unchanged is reused. Prints the image tag on stdout, progress on stderr.",
    )
    build.add_argument(
        "--force", action="store_true", help="rebuild from scratch even if the image exists"
    )
    run = sandbox_sub.add_parser(
        "run",
        help="run program files in the sandbox, one JSON result per line",
        description="Run each FILE in turn through one warm sandbox pool and print one "
        "JSON object per file (status, exit_code, stdout, stderr, cpu_s, wall_s, ...). "
        "The pool is torn down on exit, also on Ctrl-C or SIGTERM. Exit code 1 when a "
        "run hit an infra_error (the sandbox failed, not the program).",
    )
    run.add_argument("files", nargs="+", metavar="FILE", help="program source files")
    run.add_argument("--language", default="python", help="python or cpp (default: python)")
    run.add_argument("--stdin", metavar="F", help="file fed to every program's stdin")
    run.add_argument("--cpu-s", type=_positive_float, default=2.0, metavar="S")
    run.add_argument("--wall-s", type=_positive_float, default=5.0, metavar="S")
    run.add_argument("--memory-mb", type=_positive_int, default=512, metavar="M")
    run.add_argument("--pool-size", type=_positive_int, metavar="N", help="containers")
    run.add_argument(
        "--backend", choices=("docker", "process", "auto"), default="auto", help="(default: auto)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for ``rlvr-gym``; returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "score":
            return _cmd_score(args)
        if args.command == "envs":
            return _cmd_envs()
        if args.command == "serve":
            return _cmd_serve(args)
        if args.command == "train":
            from rlvr_gym.trainer_adapter.cli import run as run_train

            return run_train(args)
        if args.command == "deploy":
            from rlvr_gym.server.image import build_service_image

            print(build_service_image(force=args.force), flush=True)
            return EXIT_OK
        if args.command == "sandbox" and args.sandbox_command == "run":
            return _cmd_sandbox_run(args)
        if args.command == "sandbox":
            return _cmd_sandbox_build(args)
        return _cmd_demo(args)
    except _UsageError as exc:
        _eprint(f"rlvr-gym: error: {exc}")
        return EXIT_USAGE
    except RlvrGymError as exc:
        _eprint(f"rlvr-gym: error: {exc}")
        return EXIT_FAILURE
    except KeyboardInterrupt:
        _eprint("rlvr-gym: interrupted")
        return EXIT_INTERRUPTED


def _resolve(env_id: str) -> ScorerFactory:
    from rlvr_gym.errors import ConfigError
    from rlvr_gym.scoring import resolve_scorer

    try:
        return resolve_scorer(env_id)
    except ConfigError as exc:
        raise _UsageError(str(exc)) from None


def _remote_factory(args: argparse.Namespace) -> ScorerFactory:
    from rlvr_gym.server.remote_scorer import RemoteScorer

    text = args.remote
    target: str | list[str] = text if "," not in text else [a.strip() for a in text.split(",")]
    token = args.token or os.environ.get("RLVR_GYM_TOKEN") or None
    return lambda options: RemoteScorer(args.env, target, token)


def _open_input(path: str) -> IO[bytes]:
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except OSError as exc:
        raise _UsageError(f"cannot read input file {path!r}: {exc.strerror or exc}") from None


def _open_output(path: str | None, input_path: str) -> IO[bytes]:
    if path is None or path == "-":
        return sys.stdout.buffer
    with contextlib.suppress(OSError):
        if input_path != "-" and os.path.samefile(path, input_path):
            raise _UsageError(f"--output {path!r} is the input file; it would be overwritten")
    try:
        return open(path, "wb")
    except OSError as exc:
        raise _UsageError(f"cannot write output file {path!r}: {exc.strerror or exc}") from None


def _cmd_score(args: argparse.Namespace) -> int:
    factory = _remote_factory(args) if args.remote else _resolve(args.env)
    try:
        summary = _score_files(args, factory)
    except BrokenPipeError:
        # Downstream closed early (`| head`): stop quietly, no traceback, and keep the
        # interpreter's final flush of stdout from raising again.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURE
    except OSError as exc:  # e.g. disk full while writing or closing the output
        raise RlvrGymError(f"reading input or writing output failed: {exc}") from None
    _eprint(summary.format())
    return EXIT_FAILURE if summary.scorer_failures else EXIT_OK


def _score_files(args: argparse.Namespace, factory: ScorerFactory) -> Summary:
    from tqdm import tqdm

    from rlvr_gym.scoring import ScorerOptions, score_stream

    with contextlib.ExitStack() as stack:
        source = _open_input(args.input)
        if source is not sys.stdin.buffer:
            stack.enter_context(source)
        sink = _open_output(args.output, args.input)
        if sink is not sys.stdout.buffer:
            stack.enter_context(sink)
        total = os.fstat(source.fileno()).st_size if source.seekable() else None
        bar = stack.enter_context(
            tqdm(
                total=total or None,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc="scoring",
                file=sys.stderr,
                disable=None,  # no bar when stderr is not a terminal (logs, CI)
                leave=False,
            )
        )
        done = 0

        def progress(lines: int, nbytes: int) -> None:
            nonlocal done
            done += lines
            bar.set_postfix_str(f"{done} records", refresh=False)
            bar.update(nbytes)

        options = ScorerOptions(args.workers, args.deadline, args.data, args.backend)
        scorer = stack.enter_context(contextlib.closing(factory(options)))
        return score_stream(
            scorer,
            source,
            sink,
            fields=_fields(args),
            batch_size=args.batch_size,
            on_batch=progress,
        )


def _fields(args: argparse.Namespace) -> Fields:
    from rlvr_gym.scoring import CODE_ENV_IDS, Fields

    if args.answer_field is not None:
        return Fields(args.response_field, args.answer_field, objects=args.env in CODE_ENV_IDS)
    if args.env in CODE_ENV_IDS:
        return Fields(args.response_field, "task_id", alternatives=("task",), objects=True)
    return Fields(args.response_field, "answer")


def _env_descriptions() -> dict[str, str]:
    try:
        import rlvr_gym.envs as envs
    except ImportError as exc:  # the envs extra may be broken; still list scorers
        _eprint(f"rlvr-gym: warning: could not import rlvr_gym.envs ({exc})")
        return {}
    descriptions = getattr(envs, "ENV_DESCRIPTIONS", {})
    return dict(descriptions) if isinstance(descriptions, dict) else {}


def _cmd_envs() -> int:
    from rlvr_gym.scoring import scorer_ids

    descriptions = _env_descriptions()
    scorable = set(scorer_ids())
    ids = sorted(set(descriptions) | scorable)
    width = max(len(i) for i in ids)
    for env_id in ids:
        text = descriptions.get(env_id, "(no description)")
        mark = "" if env_id in scorable else "  [no offline scorer yet]"
        print(f"{env_id:<{width}}  {text}{mark}")
    return EXIT_OK


def _cmd_serve(args: argparse.Namespace) -> int:
    import asyncio

    from rlvr_gym.server.app import serve
    from rlvr_gym.server.config import load_config
    from rlvr_gym.server.logs import setup_logging

    config = load_config(
        args.config,
        address=args.address,
        metrics_address=args.metrics_address,
        log_level=args.log_level,
    )
    setup_logging(config.log_format, config.log_level)
    try:
        asyncio.run(serve(config))
    except OSError as exc:
        raise RlvrGymError(f"cannot serve: {exc}") from None
    return EXIT_OK


def _cmd_sandbox_build(args: argparse.Namespace) -> int:
    from rlvr_gym.sandbox.image import ensure_image

    print(ensure_image(force=args.force), flush=True)
    return EXIT_OK


def _on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through `with Sandbox`, which removes the pool


def _read_file(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise _UsageError(f"cannot read {path!r}: {exc.strerror or exc}") from None


def _cmd_sandbox_run(args: argparse.Namespace) -> int:
    from rlvr_gym.errors import ConfigError
    from rlvr_gym.sandbox.api import LANGUAGES, Sandbox
    from rlvr_gym.sandbox.types import ExecutionLimits

    if args.language not in LANGUAGES:
        raise _UsageError(f"unknown --language {args.language!r}; known: {', '.join(LANGUAGES)}")
    sources = [(path, _read_file(path)) for path in args.files]  # fail before starting a pool
    stdin = _read_file(args.stdin) if args.stdin else b""
    try:
        limits = ExecutionLimits(
            cpu_s=args.cpu_s, wall_s=args.wall_s, memory_bytes=args.memory_mb * 1024 * 1024
        )
    except ConfigError as exc:
        raise _UsageError(str(exc)) from None
    main_file = LANGUAGES[args.language].file_name
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    failed = False
    try:
        with Sandbox(args.backend, pool_size=args.pool_size, limits=limits) as sandbox:
            for path, source in sources:
                result = sandbox.run({main_file: source}, language=args.language, stdin=stdin)
                failed |= result.status == "infra_error"
                print(json.dumps({"file": path, **result.to_json()}), flush=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
    return EXIT_FAILURE if failed else EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    if not args.local:
        from rlvr_gym.server.demo import run_demo

        return run_demo(args.remote)
    return _cmd_local_demo(args)


def _cmd_local_demo(args: argparse.Namespace) -> int:
    from rlvr_gym.scoring import Fields, ScorerOptions, Summary, score_lines

    raw = resources.files("rlvr_gym").joinpath(DEMO_RESOURCE).read_bytes()
    lines = list(enumerate(raw.splitlines(keepends=True), start=1))
    summary = Summary()  # starts the clock: worker start-up is part of the wall time
    factory = _resolve(DEMO_ENV)
    with contextlib.closing(factory(ScorerOptions(workers=args.workers))) as scorer:
        records, failed = score_lines(scorer, lines, Fields())
    for rec in records:
        summary.add(rec)
    summary.scorer_failures = int(failed)
    summary.finish()

    cols = shutil.get_terminal_size((120, 24)).columns
    problem_w = max(20, cols - 3 - 14 - 18 - 12 - 7 - 22 - 12)
    header = (
        f"{'#':>3} {'problem':<{problem_w}} {'gold':<14} {'extracted':<18} "
        f"{'status':<12} {'reward':>6}  {'as expected?':<22}"
    )
    print(header)
    print("-" * len(header))
    matches = 0
    for rec in records:
        expect = rec.get("expect")
        ok = expect == rec.get("status")
        matches += ok
        reward = rec.get("reward")
        reward_s = f"{reward:.2f}" if isinstance(reward, int | float) else "-"
        print(
            f"{rec.get('id', ''):>3} {clip(rec.get('problem'), problem_w):<{problem_w}} "
            f"{clip(rec.get('answer'), 14):<14} {clip(rec.get('extracted'), 18):<18} "
            f"{clip(rec.get('status'), 12):<12} {reward_s:>6}  "
            f"{'yes' if ok else f'NO (want {expect})':<22}"
        )
    print()
    print(summary.format())
    print(f"as expected: {matches}/{len(records)} (expected statuses are in {DEMO_RESOURCE})")
    return EXIT_FAILURE if failed else EXIT_OK


if __name__ == "__main__":  # pragma: no cover - `python -m rlvr_gym.cli`
    sys.exit(main())

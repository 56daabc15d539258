"""The transport floor for ``grpc_load.py``: what the gRPC hop alone costs per response.

Why this exists: on a machine where the client, the server and the graders share the
same cores, every CPU microsecond the hop costs is taken from grading, so the hop's cost
bounds the service / in-process ratio whatever the server does. This module runs a
*canned* ``RewardService``: a ``grpc.aio`` server in its own process that answers
``ScoreBatch`` with one fixed score per response (built and encoded exactly as the real
server encodes its scores) and grades nothing. Driving it with the same calls, clients
and concurrency as the real service measures the CPU of the client and of the server
spent on the wire (protobuf, HTTP/2, ``grpc.aio``), which no server implementation in
Python gRPC can avoid.

Run by ``grpc_load.py`` (``--no-floor`` skips it); standalone, ``python
bench/_grpc_floor.py --serve 127.0.0.1:0`` serves until SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import grpc

from rlvr_gym.proto.v1 import reward_service_pb2 as rpb
from rlvr_gym.proto.v1 import reward_service_pb2_grpc as rgrpc
from rlvr_gym.rewards.types import RewardResult, Status
from rlvr_gym.server.client import AsyncRewardClient, MathGold
from rlvr_gym.server.columns import columns_to_proto
from rlvr_gym.server.convert import scores_to_proto

CANNED = RewardResult(
    1.0, Status.CORRECT, "420", {"accuracy": 1.0}, "identical to gold after normalisation (boxed)"
)
"""A typical math score: the reply is as large as the real server's."""
MAX_MESSAGE = 64 << 20


class CannedRewards(rgrpc.RewardServiceServicer):
    """``ScoreBatch`` without grading: one :data:`CANNED` score per response."""

    async def ScoreBatch(
        self, request: rpb.ScoreBatchRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> rpb.ScoreBatchResponse:
        """Answer at once, in the form asked for, encoded as the real server does."""
        reply = rpb.ScoreBatchResponse()
        results = [CANNED] * len(request.responses)
        if request.columnar:
            columns_to_proto(results, reply.columns)
        else:
            scores_to_proto(results, reply.scores)
        return reply


async def serve(address: str) -> None:
    """Serve until SIGTERM; prints ``serving on HOST:PORT`` once ready."""
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE),
            ("grpc.max_send_message_length", MAX_MESSAGE),
        ]
    )
    rgrpc.add_RewardServiceServicer_to_server(CannedRewards(), server)
    port = server.add_insecure_port(address)
    await server.start()
    print(f"canned server: serving on {address.rpartition(':')[0]}:{port}", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await server.stop(1.0)


@contextlib.contextmanager
def canned_server() -> Iterator[tuple[int, str]]:
    """The canned server in a subprocess; yields its pid and ``HOST:PORT``."""
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--serve", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # the server prints it once listening
        if "serving on" not in line:
            raise RuntimeError(f"the canned server did not start (exit {proc.poll()})")
        yield proc.pid, line.strip().rpartition(" ")[2]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def cpu_seconds(pid: int) -> float:
    """CPU seconds of one process's live threads, to the nanosecond (Linux schedstat).

    Why not ``/proc/PID/stat``: it counts in 10 ms ticks, too coarse for a floor of a few
    microseconds per response over a few seconds.
    """
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += int((task / "schedstat").read_text().split()[0])
    return total / 1e9


async def drive(
    address: str, calls: Sequence[tuple[list[MathGold], list[str]]], clients: int
) -> tuple[int, float]:
    """Send ``calls`` as ``ScoreBatch`` from ``clients`` concurrent tasks on one channel.

    Returns the responses scored and the wall seconds taken.
    """
    queue: asyncio.Queue[tuple[list[MathGold], list[str]]] = asyncio.Queue()
    for call in calls:
        queue.put_nowait(call)
    scored = 0
    async with AsyncRewardClient(address, timeout_s=300.0) as client:
        await client.score_batch("rlvr_gym/Math-v0", MathGold("1"), ["1"])  # connected

        async def one() -> None:
            nonlocal scored
            while not queue.empty():
                tasks, responses = queue.get_nowait()
                results = await client.score_batch("rlvr_gym/Math-v0", tasks, responses)
                scored += len(results)  # not `scored += len(await ...)`: that reads first

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(clients)))
        return scored, time.perf_counter() - started


def measure(calls: Sequence[tuple[list[MathGold], list[str]]], clients: int) -> dict[str, float]:
    """CPU microseconds per response of the client and the canned server, and throughput."""
    with canned_server() as (pid, address):
        me = os.getpid()
        client0, server0 = cpu_seconds(me), cpu_seconds(pid)
        scored, elapsed = asyncio.run(drive(address, calls, clients))
        client_s, server_s = cpu_seconds(me) - client0, cpu_seconds(pid) - server0
    return {
        "responses": scored,
        "responses_per_s": round(scored / elapsed, 1) if elapsed else 0.0,
        "client_us_per_response": round(1e6 * client_s / scored, 2) if scored else 0.0,
        "server_us_per_response": round(1e6 * server_s / scored, 2) if scored else 0.0,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--serve", metavar="HOST:PORT", required=True, help="serve here")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.serve))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``RewardService``: Score, ScoreBatch, ScoreStream, ListEnvs, DescribeEnv.

Every response passes the admission bound before it is graded; the time it waited is
reported (``Timing.queue_ms``) and never counted against the grading deadline, which
starts when a worker or container starts the response. A call whose deadline passes, or
whose client goes away, is cancelled by gRPC; the cancellation reaches the graders, which
kill the worker processes or containers still running its responses.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from operator import attrgetter
from typing import Any

import grpc

from rlvr_gym.errors import ConfigError
from rlvr_gym.proto.v1 import reward_service_pb2 as rpb
from rlvr_gym.proto.v1 import reward_service_pb2_grpc as rgrpc
from rlvr_gym.proto.v1 import score_pb2 as pb
from rlvr_gym.rewards.types import RewardResult, Status
from rlvr_gym.server._rpc import log, status_of, unary
from rlvr_gym.server.admission import Admission, OverloadedError
from rlvr_gym.server.columns import columns_to_proto
from rlvr_gym.server.config import ServerConfig
from rlvr_gym.server.convert import TaskRef, score_to_proto, scores_to_proto, task_from_proto
from rlvr_gym.server.graders import Graders, NotFoundError
from rlvr_gym.server.metrics import ServerMetrics

_STATUS = attrgetter("status")

__all__ = ["RewardServicer"]

Context = grpc.aio.ServicerContext[Any, Any]


class RewardServicer(rgrpc.RewardServiceServicer):
    """Scores responses with the server's shared graders."""

    def __init__(
        self, config: ServerConfig, graders: Graders, admission: Admission, metrics: ServerMetrics
    ) -> None:
        self.config, self.graders, self.admission, self.metrics = (
            config, graders, admission, metrics)  # fmt: skip

    async def score(
        self,
        env_id: str,
        tasks: Sequence[TaskRef],
        responses: Sequence[str],
        fields: Sequence[str] | None = None,
        index: Sequence[int] | None = None,
    ) -> tuple[list[RewardResult], float, float]:
        """Admit and grade: the heart of every scoring RPC.

        Response ``i`` is graded against ``tasks[index[i]]`` (``tasks[i]`` without an
        index). Returns the results, then the milliseconds spent queued and grading.
        """
        self.graders.check_env(env_id, scorable=True)
        try:
            async with self.admission.admit(len(responses)) as waited_s:
                self.metrics.queue_wait.observe(waited_s)
                started = time.perf_counter()
                results = await self.graders.grade(env_id, tasks, responses, fields, index)
                grading_ms = (time.perf_counter() - started) * 1e3
        except OverloadedError:
            self.metrics.rejected.inc(len(responses))
            raise
        for status, count in Counter(map(_STATUS, results)).items():  # counted in C
            self.metrics.scores.labels(env_id, status.value).inc(count)
        return results, waited_s * 1e3, grading_ms

    async def score_one(self, env_id: str, task: TaskRef, response: str) -> pb.Score:
        """One response's score, in wire form."""
        results, queue_ms, grading_ms = await self.score(env_id, [task], [response], ["task"])
        return score_to_proto(results[0], queue_ms, grading_ms)

    @unary("Score")
    async def Score(self, request: rpb.ScoreRequest, context: Context) -> rpb.ScoreResponse:
        """Score one response."""
        task = task_from_proto(request.task)
        score = await self.score_one(request.env_id, task, request.response)
        return rpb.ScoreResponse(score=score)

    @unary("ScoreBatch")
    async def ScoreBatch(
        self, request: rpb.ScoreBatchRequest, context: Context
    ) -> rpb.ScoreBatchResponse:
        """Score many responses in parallel."""
        tasks, index = self._batch_tasks(request)
        fields = ["task"] if request.HasField("task") else None
        results, queue_ms, grading_ms = await self.score(
            request.env_id, tasks, request.responses, fields, index
        )
        reply = rpb.ScoreBatchResponse()
        if request.columnar:
            columns_to_proto(results, reply.columns, queue_ms, grading_ms)
        else:
            scores_to_proto(results, reply.scores, queue_ms, grading_ms)
        return reply

    def _batch_tasks(
        self, request: rpb.ScoreBatchRequest
    ) -> tuple[list[TaskRef], Sequence[int] | None]:
        """The request's distinct tasks, and per response the index of its task."""
        n = len(request.responses)
        if n > self.config.max_batch:
            raise ConfigError(
                f"responses: {n} responses, more than max_batch {self.config.max_batch}"
            )
        index = request.task_index
        if request.HasField("task"):
            if request.tasks or index:
                raise ConfigError(
                    "task and tasks/task_index: give one task for all responses, or a list"
                )
            return [task_from_proto(request.task)], [0] * n
        if index:
            if len(index) != n:
                raise ConfigError(
                    f"task_index: {len(index)} entries for {n} responses; give one per response"
                )
            if max(index) >= len(request.tasks):
                i = next(i for i, j in enumerate(index) if j >= len(request.tasks))
                raise ConfigError(
                    f"task_index[{i}]: {index[i]} is out of range ({len(request.tasks)} tasks)"
                )
        elif len(request.tasks) != n:
            raise ConfigError(
                f"tasks: {len(request.tasks)} tasks for {n} responses; give one task for all "
                "(field task), one per response, or a list and task_index"
            )
        tasks = [task_from_proto(t, f"tasks[{i}]") for i, t in enumerate(request.tasks)]
        return tasks, (index or None)

    async def ScoreStream(
        self, request_iterator: AsyncIterator[rpb.ScoreStreamRequest], context: Context
    ) -> AsyncIterator[rpb.ScoreStreamResponse]:
        """Scores in completion order; reading pauses while a window of them is graded.

        Why the window: it is the stream's backpressure. A client that sends faster than
        the server grades is slowed by HTTP/2 flow control instead of filling memory.
        A response the admission queue cannot take comes back as ``infra_error`` with a
        ``RESOURCE_EXHAUSTED`` detail (masked by trainers), so the rest of the stream goes on.
        A bad request (``INVALID_ARGUMENT``, an unknown task id's ``NOT_FOUND``) ends the
        stream with that status naming its ``request_id``, as it would fail a unary call.
        """
        out: asyncio.Queue[rpb.ScoreStreamResponse | BaseException | None] = asyncio.Queue()
        window = asyncio.Semaphore(self.config.max_inflight)
        pending: set[asyncio.Task[None]] = set()

        async def one(request: rpb.ScoreStreamRequest, task: TaskRef) -> None:
            try:
                score = await self.score_one(request.env_id, task, request.response)
            except OverloadedError as exc:
                why = f"RESOURCE_EXHAUSTED: {exc}"
                score = score_to_proto(RewardResult(0.0, Status.INFRA_ERROR, None, {}, why))
            except (ConfigError, NotFoundError) as exc:  # the client's error: end the stream
                await out.put(type(exc)(f"request_id {request.request_id!r}: {exc}"))
                return
            except Exception as exc:
                code, message = status_of(exc)
                if code is grpc.StatusCode.INTERNAL:
                    log.exception("internal error in ScoreStream")
                why = f"{code.name}: {message}"
                score = score_to_proto(RewardResult(0.0, Status.INFRA_ERROR, None, {}, why))
            finally:
                window.release()
            await out.put(rpb.ScoreStreamResponse(request_id=request.request_id, score=score))

        async def read() -> None:
            try:
                async for request in request_iterator:
                    try:
                        task = task_from_proto(request.task)
                        self.graders.check_env(request.env_id, scorable=True)
                    except ConfigError as exc:
                        raise ConfigError(f"request_id {request.request_id!r}: {exc}") from None
                    await window.acquire()
                    job = asyncio.create_task(one(request, task))
                    pending.add(job)
                    job.add_done_callback(pending.discard)
                while pending:
                    await asyncio.gather(*list(pending))
                await out.put(None)
            except Exception as exc:
                await out.put(exc)

        started, code = time.perf_counter(), grpc.StatusCode.OK
        reader = asyncio.create_task(read())
        try:
            while (item := await out.get()) is not None:
                if isinstance(item, BaseException):
                    code, message = status_of(item)
                    await context.abort(code, message)
                yield item
        except asyncio.CancelledError:
            code = grpc.StatusCode.CANCELLED
            raise
        finally:
            reader.cancel()
            for job in list(pending):
                job.cancel()  # the graders stop the work of responses still running
            with contextlib.suppress(BaseException):
                await asyncio.gather(reader, *pending, return_exceptions=True)
            self.metrics.requests.labels("ScoreStream", code.name).inc()
            self.metrics.latency.labels("ScoreStream").observe(time.perf_counter() - started)

    @unary("ListEnvs")
    async def ListEnvs(
        self, request: rpb.ListEnvsRequest, context: Context
    ) -> rpb.ListEnvsResponse:
        """The served envs."""
        return rpb.ListEnvsResponse(envs=[self._info(e) for e in self.graders.env_ids])

    @unary("DescribeEnv")
    async def DescribeEnv(
        self, request: rpb.DescribeEnvRequest, context: Context
    ) -> rpb.DescribeEnvResponse:
        """One env, with its task count."""
        info = self._info(request.env_id)
        count = await asyncio.to_thread(self.graders.num_tasks, request.env_id)
        return rpb.DescribeEnvResponse(env=info, num_tasks=count)

    def _info(self, env_id: str) -> rpb.EnvInfo:
        facts = self.graders.facts(env_id)
        return rpb.EnvInfo(
            env_id=facts.env_id,
            description=facts.description,
            scorable=facts.scorable,
            multi_turn=facts.multi_turn,
        )

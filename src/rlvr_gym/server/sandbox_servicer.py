"""``SandboxService.Execute``: run a program on inputs in the server's sandbox pool.

The raw "run this code" use case (tool use, custom judges). It shares the code graders'
containers and admission bound, so it cannot starve scoring unnoticed: one request holds
one admission slot, like one graded response.
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc

from rlvr_gym.cancel import CancelToken, cancel_scope
from rlvr_gym.errors import ConfigError
from rlvr_gym.proto.v1 import sandbox_service_pb2 as spb
from rlvr_gym.proto.v1 import sandbox_service_pb2_grpc as sgrpc
from rlvr_gym.sandbox.api import LANGUAGES
from rlvr_gym.server._rpc import unary
from rlvr_gym.server.admission import Admission
from rlvr_gym.server.config import ServerConfig
from rlvr_gym.server.convert import limits_from_proto, run_to_proto
from rlvr_gym.server.graders import Graders
from rlvr_gym.server.metrics import ServerMetrics

__all__ = ["SandboxServicer"]

Context = grpc.aio.ServicerContext[Any, Any]


class SandboxServicer(sgrpc.SandboxServiceServicer):
    """Runs programs in the shared sandbox pool."""

    def __init__(
        self, config: ServerConfig, graders: Graders, admission: Admission, metrics: ServerMetrics
    ) -> None:
        self.config, self.graders, self.admission, self.metrics = (
            config, graders, admission, metrics)  # fmt: skip

    @unary("Execute")
    async def Execute(self, request: spb.ExecuteRequest, context: Context) -> spb.ExecuteResponse:
        """Compile once and run on every input."""
        language = request.language or "python"
        if language not in LANGUAGES:
            raise ConfigError(f"language: {language!r}; use one of {', '.join(sorted(LANGUAGES))}")
        main = LANGUAGES[language].file_name
        if main not in request.files:
            raise ConfigError(f"files: the main file {main!r} is missing")
        inputs = list(request.stdin) or [b""]
        async with self.admission.admit(1):
            code = await asyncio.to_thread(self.graders.code)
            sandbox = code.sandbox
            limits = limits_from_proto(request.limits, sandbox.limits)
            token = CancelToken()

            def run() -> list[Any]:
                with cancel_scope(token):
                    return sandbox.run_batch(
                        dict(request.files),
                        inputs,
                        language=language,
                        limits=limits,
                        stop_on_first_failure=request.stop_on_first_failure,
                    )

            try:
                results = await asyncio.to_thread(run)
            except asyncio.CancelledError:
                token.cancel()
                raise
        return spb.ExecuteResponse(results=[run_to_proto(r) for r in results])

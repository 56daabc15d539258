"""The servicer edge: domain errors become status codes, every call is counted and logged.

Why one decorator: the mapping from the library's errors to gRPC codes is the API's
contract (``INVALID_ARGUMENT`` names the field, ``RESOURCE_EXHAUSTED`` means "back off",
``INTERNAL`` is our bug), and it must be the same for every method.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

import grpc
from gymnasium.error import InvalidAction

from rlvr_gym.errors import ConfigError, RlvrGymError
from rlvr_gym.server.admission import OverloadedError
from rlvr_gym.server.graders import NotFoundError
from rlvr_gym.server.metrics import ServerMetrics

__all__ = ["ERROR_KEY", "log", "status_of", "unary"]

ERROR_KEY = "rlvr-error"
"""Trailing metadata key naming the library exception behind a failed call."""

log = logging.getLogger("rlvr_gym.server")

Req = TypeVar("Req")
Resp = TypeVar("Resp")


def status_of(exc: BaseException) -> tuple[grpc.StatusCode, str]:
    """The gRPC status for an exception raised while serving a call."""
    if isinstance(exc, ConfigError | InvalidAction):
        return grpc.StatusCode.INVALID_ARGUMENT, str(exc)
    if isinstance(exc, NotFoundError):
        return grpc.StatusCode.NOT_FOUND, str(exc)
    if isinstance(exc, OverloadedError):
        return grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc)
    if isinstance(exc, RlvrGymError):  # data not loadable, server shutting down, ...
        return grpc.StatusCode.FAILED_PRECONDITION, str(exc)
    return grpc.StatusCode.INTERNAL, f"internal error ({type(exc).__name__}); see server logs"


class _Servicer(Protocol):
    @property
    def metrics(self) -> ServerMetrics: ...


S = TypeVar("S", bound=_Servicer)
Handler = Callable[[S, Req, grpc.aio.ServicerContext[Any, Any]], Awaitable[Resp]]


def unary(method: str) -> Callable[[Handler[S, Req, Resp]], Handler[S, Req, Resp]]:
    """Wrap a unary handler: map errors to codes, record metrics, log one line per call."""

    def wrap(fn: Handler[S, Req, Resp]) -> Handler[S, Req, Resp]:
        @functools.wraps(fn)
        async def handler(
            self: S, request: Req, context: grpc.aio.ServicerContext[Any, Any]
        ) -> Resp:
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            try:
                return await fn(self, request, context)
            except asyncio.CancelledError:
                code = grpc.StatusCode.CANCELLED  # deadline passed or the client went away
                raise
            except grpc.aio.AbortError:
                code = context.code() or grpc.StatusCode.UNKNOWN
                raise
            except Exception as exc:
                code, message = status_of(exc)
                if code is grpc.StatusCode.INTERNAL:
                    log.exception("internal error in %s", method, extra={"method": method})
                else:  # lets a remote env raise the class a local one raises
                    context.set_trailing_metadata(((ERROR_KEY, type(exc).__name__),))
                await context.abort(code, message)
                raise  # unreachable: abort raises
            finally:
                elapsed = time.perf_counter() - started
                self.metrics.requests.labels(method, code.name).inc()
                self.metrics.latency.labels(method).observe(elapsed)
                level = logging.DEBUG if code is grpc.StatusCode.OK else logging.INFO
                if log.isEnabledFor(level):  # the fields cost more than the call at load
                    fields = {"method": method, "code": code.name,
                              "ms": round(elapsed * 1e3, 3), "peer": context.peer()}  # fmt: skip
                    log.log(level, "%s %s", method, code.name, extra=fields)

        return handler

    return wrap

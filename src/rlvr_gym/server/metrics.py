"""Prometheus metrics of one server: requests, latency, statuses, queue and pool use.

Why a registry per server: tests (and a process serving on two ports) run several servers
in one interpreter, and the global default registry refuses duplicate metric names.
Utilisation gauges are read at scrape time from the live pools (a collector), so they are
never stale and cost nothing between scrapes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = ["ServerMetrics"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class _PoolCollector(Collector):
    """Reads admission and pool state when Prometheus scrapes."""

    def __init__(
        self,
        admission: Callable[[], tuple[int, int]],
        pools: Callable[[], dict[str, tuple[int, int]]],
        sessions: Callable[[], int],
    ) -> None:
        self._admission, self._pools, self._sessions = admission, pools, sessions

    def collect(self) -> Iterator[GaugeMetricFamily]:
        inflight, waiting = self._admission()
        yield GaugeMetricFamily(
            "rlvr_gym_queue_depth", "Responses waiting for a grader", value=waiting
        )
        yield GaugeMetricFamily("rlvr_gym_inflight", "Responses being graded", value=inflight)
        yield GaugeMetricFamily(
            "rlvr_gym_env_sessions", "Open env sessions", value=self._sessions()
        )
        busy = GaugeMetricFamily(
            "rlvr_gym_pool_busy", "Busy workers or containers", labels=["pool"]
        )
        size = GaugeMetricFamily("rlvr_gym_pool_size", "Workers or containers", labels=["pool"])
        for pool, (n_busy, n_total) in self._pools().items():
            busy.add_metric([pool], n_busy)
            size.add_metric([pool], n_total)
        yield busy
        yield size


class ServerMetrics:
    """Counters and histograms the servicers update, plus scrape-time gauges."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "rlvr_gym_requests",
            "RPCs handled, by method and gRPC status code",
            ["method", "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "rlvr_gym_request_latency_seconds",
            "RPC latency, by method",
            ["method"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.scores = Counter(
            "rlvr_gym_scores",
            "Responses scored, by env and status",
            ["env", "status"],
            registry=self.registry,
        )
        self.queue_wait = Histogram(
            "rlvr_gym_queue_wait_seconds",
            "Time a request waited for admission",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.rejected = Counter(
            "rlvr_gym_rejected",
            "Responses refused because the admission queue was full",
            registry=self.registry,
        )

    def watch(
        self,
        admission: Callable[[], tuple[int, int]],
        pools: Callable[[], dict[str, tuple[int, int]]],
        sessions: Callable[[], int],
    ) -> None:
        """Publish queue depth, in-flight count, sessions and pool use at scrape time."""
        self.registry.register(_PoolCollector(admission, pools, sessions))

    def serve_http(self, address: str) -> int:
        """Expose ``/metrics`` on ``HOST:PORT`` (port 0: a free one); returns the port."""
        host, _, port = address.rpartition(":")
        server, _thread = start_http_server(
            int(port), addr=host or "0.0.0.0", registry=self.registry
        )
        self._http = server
        return int(server.server_port)

    def close(self) -> None:
        """Stop the HTTP endpoint if one was started."""
        http = getattr(self, "_http", None)
        if http is not None:
            http.shutdown()
            http.server_close()

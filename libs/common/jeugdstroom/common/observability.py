"""Logging and Prometheus metrics shared by the services, and the operational HTTP routes.

Metric names carry the service as prefix (``jeugdstroom_<service>_…``); labels are bounded
(topic, partition, type, reason class): never ids or pseudonyms.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest


def setup_logging(level: str = "INFO", service: str = "jeugdstroom") -> None:
    fmt = f"%(asctime)s %(levelname)s {service} %(name)s: %(message)s"
    logging.basicConfig(level=level.upper(), format=fmt, stream=sys.stderr, force=True)
    logging.getLogger("aiokafka").setLevel(logging.WARNING)


@dataclass(frozen=True)
class ConsumerMetrics:
    processed: Counter
    duplicates: Counter
    deadlettered: Counter
    batch_seconds: Histogram
    lag: Gauge
    retries: Counter


@cache
def consumer_metrics(service: str) -> ConsumerMetrics:
    p = f"jeugdstroom_{service}"
    return ConsumerMetrics(
        processed=Counter(f"{p}_records_processed_total", "Records applied (first delivery)", ["topic"]),
        duplicates=Counter(f"{p}_records_duplicate_total", "Records skipped as already processed", ["topic"]),
        deadlettered=Counter(f"{p}_records_deadlettered_total", "Records sent to the dead-letter topic",
                             ["topic", "reason"]),
        batch_seconds=Histogram(f"{p}_batch_seconds", "Time to apply one batch in PostgreSQL",
                                buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)),
        lag=Gauge(f"{p}_consumer_lag", "Records behind the partition end", ["topic", "partition"]),
        retries=Counter(f"{p}_batch_retries_total", "Batches retried after a transient fault"),
    )


@dataclass(frozen=True)
class OutboxMetrics:
    published: Counter
    backlog: Gauge
    oldest_age: Gauge
    publish_errors: Counter


@cache
def outbox_metrics(service: str) -> OutboxMetrics:
    p = f"jeugdstroom_{service}"
    return OutboxMetrics(
        published=Counter(f"{p}_outbox_published_total", "Outbox rows published and confirmed", ["topic"]),
        backlog=Gauge(f"{p}_outbox_backlog", "Outbox rows not yet published"),
        oldest_age=Gauge(f"{p}_outbox_oldest_unpublished_age_seconds", "Age of the oldest unpublished row"),
        publish_errors=Counter(f"{p}_outbox_publish_errors_total", "Failed publish attempts (retried)"),
    )


#: The outcome of the last ``/readyz`` check (Docker's healthcheck calls it every 10 s); the job is the service.
READY = Gauge("jeugdstroom_ready", "1 when the last /readyz found the dependencies reachable, 0 when not")


def add_ops_routes(app: FastAPI, ready: Callable[[], Awaitable[bool]]) -> None:
    """``/healthz`` (process alive), ``/readyz`` (dependencies reachable), ``/metrics`` (Prometheus)."""

    @app.get("/healthz", tags=["operations"], summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], summary="Readiness: the database is reachable",
             responses={503: {"description": "Not ready"}})
    async def readyz(response: Response) -> dict[str, str]:
        ok = False
        try:
            ok = await ready()
        except Exception:
            ok = False
        READY.set(1 if ok else 0)
        if not ok:
            response.status_code = 503
        return {"status": "ready" if ok else "not ready"}

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

"""``/metrics`` for Prometheus: requests per route, and gauges read from the read models per scrape.

Served without a token: it holds counts and positions only, no ticket ids and no personal data,
and no figure per desk unless the scrape sends a token (see ``tickets_sla_tickets`` below);
the engine binds 127.0.0.1 by default, so exposing it further is a deliberate choice.

- ``tickets_http_requests_total{method,route,status}``, ``tickets_http_request_seconds{method,route}``
- ``tickets_events_applied_total{projection}``, ``tickets_timers_fired_total{outcome}``: bumped by
  the feed and the scheduler through ``tickets.metrics``
- ``tickets_projection_position{projection}``, ``tickets_event_log_position``,
  ``tickets_projection_lag_events{projection}``: ticket events in the log after the projection's
  position (counted up to ``LAG_CAP``; the log's own last position also counts command receipts,
  which no projection applies, so "log position minus projection position" would never reach 0)
- ``tickets_read_model_offset{partition}``: under ``tickets serve``, the consumer group's next
  offset per partition of ``tickets.events``, as stored with the read models it writes (there the
  group, not a feed, moves them, and ``projection_positions`` stays empty); the lag behind the
  topic's end is the group's, which Kafka's own tools read from its committed offsets
- ``tickets_timers_due``: SLA timer actions due now (``next_action_at <= now``)
- ``tickets_sla_tickets{desk,severity,state}``: tickets by worst SLA clock (met, at_risk, breached,
  running), as the dashboard counts them; only for a scrape with a token that may read (a
  dashboard, agent or auditor token), and only that token's desks. Without a token no series
  carries a desk.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import structlog
from fastapi import APIRouter, Request, Response
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tickets.domain.scope import DeskScope
from tickets.domain.ticket import TICKET_TOPICS
from tickets.http.auth import reader_if_any
from tickets.http.context import HttpContext, context_of
from tickets.http.positions import positions
from tickets.projections.dashboard import figures_cached
from tickets.wire.envelope import format_time

log = structlog.get_logger("tickets.http")
REQUESTS = Counter("tickets_http_requests", "HTTP requests answered.", ["method", "route", "status"])
LATENCY = Histogram(
    "tickets_http_request_seconds", "Time to answer an HTTP request (streams: their whole life).",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
)
router = APIRouter(tags=["metrics"])
#: Lag is counted up to this many events; a lag this large reads as "at least".
LAG_CAP = 10_000


class RequestMetrics:
    """Pure ASGI middleware (it must not buffer the server-sent event stream)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            elapsed = time.perf_counter() - started
            LATENCY.labels(scope["method"], route).observe(elapsed)
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            log.debug("http_request", method=scope["method"], route=route, status=status,
                      ms=round(elapsed * 1000, 2))


class ReadModelCollector(Collector):
    """Gauges computed at scrape time from the read models and the event log."""

    def __init__(self, ctx: HttpContext) -> None:
        self.ctx = ctx

    def collect(self) -> Iterator[Metric]:
        marks = positions(self.ctx.store)
        log_position = self.ctx.desk.recorder.max_notification_id() or 0
        behind = self._ticket_positions_after(min(marks.values())) if marks else []
        position = GaugeMetricFamily("tickets_projection_position",
                                     "The last event position a projection applied.", labels=["projection"])
        lag = GaugeMetricFamily("tickets_projection_lag_events",
                                "Events in the log that a projection has not applied yet.",
                                labels=["projection"])
        for name, value in sorted(marks.items()):
            position.add_metric([name], value)
            lag.add_metric([name], sum(1 for p in behind if p > value))
        yield position
        yield lag
        yield GaugeMetricFamily("tickets_event_log_position", "The event store's last position.",
                                value=log_position)
        offsets = GaugeMetricFamily(
            "tickets_read_model_offset",
            "The next tickets.events offset the consumer group applies to these read models.",
            labels=["partition"])
        for partition, offset in sorted(self.ctx.reads.offsets(self.ctx.reads.marks()).items()):
            offsets.add_metric([str(partition)], offset)
        yield offsets
        now = self.ctx.clock.now()
        due = self.ctx.store.read("SELECT COUNT(*) FROM sla_timers WHERE next_action_at <= ?",
                                  (format_time(now),))
        yield GaugeMetricFamily("tickets_timers_due", "SLA timer actions due now and not yet done.",
                                value=int(due[0][0]))


    def _ticket_positions_after(self, position: int) -> list[int]:
        """Positions of ticket events after ``position`` (at most ``LAG_CAP``; receipts and
        editor registries are in the log too, but no projection waits for them)."""
        found = self.ctx.desk.recorder.select_notifications(
            start=position + 1, limit=LAG_CAP, topics=TICKET_TOPICS)
        return [n.id for n in found]


class DeskFiguresCollector(Collector):
    """``tickets_sla_tickets`` for one scrape's desks."""

    def __init__(self, ctx: HttpContext, desks: DeskScope) -> None:
        self.ctx = ctx
        self.desks = desks

    def collect(self) -> Iterator[Metric]:
        sla = GaugeMetricFamily("tickets_sla_tickets", "Tickets by their worst SLA clock.",
                                labels=["desk", "severity", "state"])
        reads = self.ctx.reads  # at scale the group's offsets, not the projection positions, move
        position = reads.position(reads.marks())
        for figure in figures_cached(self.ctx.store, self.ctx.clock.now(), position).sla:
            if self.desks.covers(figure.desk):
                for state in ("met", "at_risk", "breached", "running"):
                    sla.add_metric([figure.desk, figure.severity, state], getattr(figure, state))
        yield sla


def registry_for(ctx: HttpContext) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ReadModelCollector(ctx))
    return registry


@router.get("/metrics", summary="Prometheus metrics (no token: counts only, no personal data)")
def metrics_route(request: Request) -> Response:
    own: CollectorRegistry = request.app.state.metrics_registry
    body = generate_latest(REGISTRY) + generate_latest(own)
    reader = reader_if_any(request)
    if reader is not None:
        desks = CollectorRegistry(auto_describe=False)
        desks.register(DeskFiguresCollector(context_of(request), reader.desks))
        body += generate_latest(desks)
    return Response(body, media_type=CONTENT_TYPE_LATEST)

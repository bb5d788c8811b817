"""The change stream (server-sent events), the server's start and stop, and ``/metrics``."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from tests.unit.http_rig import HttpRig, make_rig
from tickets import metrics
from tickets.domain.catalogue import Catalogue
from tickets.http import create_app, start_http
from tickets.http.stream import changes


@pytest.fixture
def rig(catalogue: Catalogue, tmp_path: Path) -> HttpRig:
    return make_rig(catalogue, tmp_path)


async def _next(stream: AsyncIterator[str]) -> str:
    return await asyncio.wait_for(stream.__anext__(), timeout=5)


def test_the_stream_says_which_projections_moved_and_when_the_minute_turns(rig: HttpRig) -> None:
    rig.ctx.stream_heartbeat = 0.1

    async def follow() -> list[str]:
        stream = changes(rig.ctx)
        seen = [await _next(stream)]
        rig.open("o365", "A")
        seen.append(await _next(stream))
        rig.clock.advance(timedelta(minutes=1))
        seen.append(await _next(stream))
        seen.append(await _next(stream))  # nothing moves: a heartbeat
        rig.ctx.closing.set()
        with pytest.raises(StopAsyncIteration):
            await _next(stream)
        return seen

    hello, moved, minute, heartbeat = asyncio.run(follow())
    assert hello.startswith("id: 0\nevent: position\ndata: ")
    assert moved.startswith("id: 1\nevent: position\n")
    assert '"moved":["audit_trail","dashboard","escalation_queues","sla_timers"]' in moved
    assert '"position":1' in moved and moved.endswith("\n\n")
    assert minute.startswith("id: 1\nevent: clock\n") and '"as_of":"2026-11-16T09:01:00Z"' in minute
    assert heartbeat == ": still here\n\n"


def test_the_server_streams_over_a_real_socket_and_stops_cleanly(rig: HttpRig) -> None:
    handle = start_http(create_app(rig.ctx), "127.0.0.1", 0)
    try:
        assert handle.port > 0 and handle.url == f"http://127.0.0.1:{handle.port}"
        assert httpx.get(f"{handle.url}/api/stream", timeout=5).status_code == 401
        with httpx.stream("GET", f"{handle.url}/api/stream", headers=rig.auth("dashboard"),
                          timeout=5) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            lines = response.iter_lines()
            assert next(lines) == "id: 0"
            assert next(lines) == "event: position"
            rig.open("o365", "A")
            for line in lines:
                if line.startswith("data:") and '"position":1' in line:
                    break
            handle.stop()  # the open stream ends; the server does not wait for it
            assert not handle.thread.is_alive()
    finally:
        handle.stop()


def test_the_server_socket_is_tcp_so_that_responses_are_not_held_back(rig: HttpRig) -> None:
    """asyncio sets TCP_NODELAY only on sockets that name their protocol (uvloop on every TCP
    socket); without it a response written as headers then body waits for the client's delayed
    ACK (about 40 ms a request)."""
    handle = start_http(create_app(rig.ctx), "127.0.0.1", 0)
    try:
        [listening] = handle.server.servers[0].sockets
        probe = socket.socket(fileno=os.dup(listening.fileno()))  # the protocol as the kernel says
        try:
            assert probe.proto == socket.IPPROTO_TCP
        finally:
            probe.close()
        with httpx.Client(base_url=handle.url, headers=rig.auth("dashboard")) as client:
            timings = []
            for _ in range(9):
                began = time.perf_counter()
                assert client.get("/api/dashboard").status_code == 200
                timings.append(time.perf_counter() - began)
        assert sorted(timings)[4] < 0.039  # the median: well under a delayed ACK
    finally:
        handle.stop()


def test_the_server_parses_http_with_httptools_on_uvloop(rig: HttpRig) -> None:
    """h11 and asyncio's own loop cost a polled answer about four times the CPU
    (docs/performance.md)."""
    import uvloop

    handle = start_http(create_app(rig.ctx), "127.0.0.1", 0)
    try:
        assert isinstance(handle.loop, uvloop.Loop)
        assert handle.server.config.http_protocol_class.__name__ == "HttpToolsProtocol"
    finally:
        handle.stop()


def test_a_second_server_on_a_taken_port_fails_at_once(rig: HttpRig) -> None:
    handle = start_http(create_app(rig.ctx), "127.0.0.1", 0)
    try:
        with pytest.raises(OSError):
            start_http(create_app(rig.ctx), "127.0.0.1", handle.port)
    finally:
        handle.stop()


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_count_requests_per_route_and_read_the_read_models(rig: HttpRig) -> None:
    rig.open("o365", "A")
    rig.open("o365", "A", project=False)  # logged, not yet projected: lag 1
    rig.get("/api/tickets")
    rig.get("/api/tickets?desk=o365")
    rig.clock.advance(timedelta(minutes=65))
    samples = _samples(rig.client.get("/metrics", headers=rig.auth("dashboard")).text)
    route = (("method", "GET"), ("route", "/api/tickets"), ("status", "200"))
    assert samples[("tickets_http_requests_total", route)] >= 2
    assert samples[("tickets_http_request_seconds_count", route[:2])] >= 2
    assert samples[("tickets_projection_position", (("projection", "dashboard"),))] == 1
    assert samples[("tickets_projection_lag_events", (("projection", "sla_timers"),))] == 1
    assert samples[("tickets_event_log_position", ())] == 2
    assert not any(name == "tickets_read_model_offset" for name, _ in samples)  # no group here
    # o365 promises no automatic escalation: the breach is counted for people, never a timer.
    assert samples[("tickets_timers_due", ())] == 0
    breached = (("desk", "o365"), ("severity", "A"), ("state", "breached"))
    assert samples[("tickets_sla_tickets", breached)] == 1
    rig.feed.catch_up()
    samples = _samples(rig.client.get("/metrics", headers=rig.auth("dashboard")).text)
    assert samples[("tickets_projection_lag_events", (("projection", "sla_timers"),))] == 0
    assert samples[("tickets_sla_tickets", breached)] == 2
    assert samples[("tickets_timers_due", ())] == 0


def test_the_hooks_for_the_feed_and_the_scheduler_count_into_the_same_metrics(rig: HttpRig) -> None:
    def value(name: str, labels: dict[str, str]) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    applied = value("tickets_events_applied_total", {"projection": "hook-test"})
    fired = value("tickets_timers_fired_total", {"outcome": "refused:sla_clock_state"})
    metrics.events_applied("hook-test", 3)
    metrics.events_applied("hook-test", 0)
    metrics.timer_fired("refused:sla_clock_state")
    assert value("tickets_events_applied_total", {"projection": "hook-test"}) == applied + 3
    assert value("tickets_timers_fired_total", {"outcome": "refused:sla_clock_state"}) == fired + 1
    assert 'projection="hook-test"' in rig.client.get("/metrics").text

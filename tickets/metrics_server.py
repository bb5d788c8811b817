"""``--metrics-port``: the Prometheus counters of a process that serves no HTTP, at ``/metrics``.

``tickets consume``, ``intake``, ``schedule`` and ``publish`` count what they do (events applied,
timers fired, records parked, ...) in prometheus-client's default registry (``tickets.metrics``);
with ``--metrics-port PORT`` they also serve it, with prometheus-client's own small HTTP server in
a daemon thread, on ``--metrics-host`` (127.0.0.1 unless told otherwise: the counters name
consumer groups and desks, so they are not offered to the network by default).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from threading import Thread
from wsgiref.simple_server import WSGIServer

import structlog
from prometheus_client import start_http_server

from tickets.cli_errors import Failure
from tickets.metrics_args import DEFAULT_HOST

log = structlog.get_logger("tickets.metrics")


@dataclass
class MetricsServer:
    """A running ``/metrics`` server."""

    server: WSGIServer
    thread: Thread

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def serve_metrics(port: int, host: str = DEFAULT_HOST) -> MetricsServer:
    """Serve the default registry at ``http://host:port/metrics`` (``port`` 0: any free port)."""
    try:
        server, thread = start_http_server(port, addr=host)
    except OSError as error:  # in use, not ours to bind, an unknown host
        raise Failure(f"cannot serve metrics on {host}:{port}: {error.strerror or error}",
                      field="metrics_port", rule="listen") from None
    served = MetricsServer(server, thread)
    log.info("metrics_serving", host=host, port=served.port)
    return served


def serve_requested(args: argparse.Namespace) -> MetricsServer | None:
    """The server ``--metrics-port`` asks for, started; None without it."""
    port: int | None = getattr(args, "metrics_port", None)
    return None if port is None else serve_metrics(port, args.metrics_host)

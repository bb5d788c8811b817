"""``--metrics-port`` and ``--metrics-host``, the options of the processes that serve no HTTP
(``tickets.metrics_server`` serves what they ask for)."""

from __future__ import annotations

import argparse

from tickets.cli_types import PORT

DEFAULT_HOST = "127.0.0.1"


def add_metrics_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--metrics-port", type=PORT, default=None, metavar="PORT",
                        help="serve the Prometheus metrics at http://HOST:PORT/metrics (default: not served)")
    parser.add_argument("--metrics-host", default=DEFAULT_HOST, metavar="HOST",
                        help=f"the address the metrics are served on ({DEFAULT_HOST}; 0.0.0.0 for "
                             "a scraper on another machine)")

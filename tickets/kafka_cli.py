"""The Kafka processes on the command line: ``tickets publish``, ``tickets consume``, ``tickets schedule``.

Each runs until SIGTERM or SIGINT, then finishes its current batch, leaves its group (or frees the
publisher's lock) and exits 0. Configuration comes from the environment (``tickets.config``):
``KAFKA_BOOTSTRAP_SERVERS``, ``TICKETS_DATABASE_URL``, ``TICKETS_READ_MODEL_URL``,
``TICKETS_KAFKA_TOPIC_PREFIX``. ``--metrics-port PORT`` serves their Prometheus counters at
``/metrics`` (``tickets.metrics_server``). See docs/kafka.md.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable
from typing import Any

from tickets.collector import freeze_startup_objects
from tickets.config import Settings
from tickets.domain.errors import ValidationError
from tickets.engine import install_stop_signals
from tickets.logs import configure_logging
from tickets.metrics_server import serve_requested


def require_kafka(settings: Settings) -> None:
    if not settings.kafka_bootstrap_servers:
        raise ValidationError("set KAFKA_BOOTSTRAP_SERVERS to the Kafka brokers",
                              field="KAFKA_BOOTSTRAP_SERVERS", rule="required")


def _run(args: argparse.Namespace, settings: Settings, build: Callable[[], Any]) -> None:
    require_kafka(settings)
    configure_logging(settings.log_format)
    metrics = serve_requested(args)
    stop = threading.Event()
    restore = install_stop_signals(stop)
    try:
        member = build()
        freeze_startup_objects()
        member.run(stop)
    finally:
        restore()
        if metrics is not None:
            metrics.close()


def cmd_publish(args: argparse.Namespace, settings: Settings) -> Any:
    from tickets.kafka_wiring import build_publisher

    _run(args, settings, lambda: build_publisher(settings, batch_size=args.batch))


def cmd_consume(args: argparse.Namespace, settings: Settings) -> Any:
    from tickets.kafka_wiring import build_consumer, select_projections

    try:
        select_projections(settings, args.projection or ())
    except ValueError as error:
        raise ValidationError(str(error), field="projection", rule="known_projection") from None
    _run(args, settings, lambda: build_consumer(settings, args.group, args.projection or ()))


def cmd_schedule(args: argparse.Namespace, settings: Settings) -> Any:
    from tickets.kafka_wiring import build_scheduler_member

    _run(args, settings, lambda: build_scheduler_member(settings, group=args.group, tick_every=args.tick)[0])



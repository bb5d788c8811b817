"""``tickets intake`` (the intake consumer) and ``tickets health`` (can this process reach its servers?).

``tickets intake`` runs until SIGTERM or SIGINT, finishes its batch, leaves its group and exits 0.
It reads ``KAFKA_BOOTSTRAP_SERVERS``, ``TICKETS_DATABASE_URL``, ``TICKETS_KAFKA_TOPIC_PREFIX`` and
``TICKETS_INTAKE_SERVICES_FILE`` (``tickets.config``). ``tickets health`` exits 0 when every check
passes and 1 otherwise, printing one line (or a JSON object) per check.
"""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any

from tickets import metrics
from tickets.collector import freeze_startup_objects
from tickets.config import Settings, intake_services_of
from tickets.consumers.intake import INTAKE_GROUP, Intake
from tickets.consumers.kafka_settings import KafkaSettings
from tickets.consumers.staging import StagingDesk
from tickets.domain.errors import ValidationError
from tickets.engine import install_stop_signals
from tickets.health import check_database, check_kafka, healthy
from tickets.logs import configure_logging
from tickets.metrics_server import serve_requested
from tickets.output import dumps
from tickets.wiring import build_desk_of


def build_staging_desk(settings: Settings, attempts: int = 5) -> StagingDesk:
    """The intake's desk (retrying a table-creation race, see ``tickets.wiring.build_desk``)."""
    return build_desk_of(StagingDesk, settings, attempts=attempts)


def build_intake(settings: Settings, *, group: str = INTAKE_GROUP, max_records: int = 500,
                 **overrides: Any) -> Intake:
    """The intake on ``settings``; ``overrides`` go to ``KafkaSettings`` (e.g. ``session_timeout_ms``)."""
    if not settings.kafka_bootstrap_servers:
        raise ValidationError("set KAFKA_BOOTSTRAP_SERVERS to the Kafka brokers",
                              field="KAFKA_BOOTSTRAP_SERVERS", rule="required")
    desk = build_staging_desk(settings)
    try:
        allowed = intake_services_of(desk.catalogue)
    except ValidationError:
        desk.close()
        raise
    return Intake(desk, KafkaSettings.of(settings, **overrides), allowed=allowed, group=group,
                  max_records=max_records, on_parked=metrics.record_parked)


def cmd_intake(args: argparse.Namespace, settings: Settings) -> Any:
    configure_logging(settings.log_format)
    metrics = serve_requested(args)
    try:
        intake = build_intake(settings, group=args.group or INTAKE_GROUP, max_records=args.batch)
        freeze_startup_objects()
        stop = threading.Event()
        restore = install_stop_signals(stop)
        try:
            intake.run(stop)
        finally:
            restore()
            intake.desk.close()
    finally:
        if metrics is not None:
            metrics.close()
    return None


def cmd_health(args: argparse.Namespace, settings: Settings) -> Any:
    checks = []
    if not args.no_database:
        checks.append(check_database("event_store", settings.database_url, args.timeout))
        if settings.read_model_url != settings.database_url:
            checks.append(check_database("read_models", settings.read_model_url, args.timeout))
    if not args.no_kafka:
        topics = KafkaSettings.of(settings).topics.all() if args.topics and \
            settings.kafka_bootstrap_servers else ()
        checks.append(check_kafka(settings.kafka_bootstrap_servers, topics, args.timeout))
    ok = healthy(checks)
    if args.json:
        print(dumps({"ok": ok, "checks": [c.as_map() for c in checks]}))
    else:
        for check in checks:
            print(f"{check.name:<12} {'ok' if check.ok else 'FAIL':<5} {check.detail}")
    if not ok:
        sys.exit(1)
    return None



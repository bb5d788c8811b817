"""How the CLI says what went wrong: one line on stderr and exit code 1, never a traceback.

A refused command (``TicketError``, including a bad setting's ``ConfigError``) names the field and
the rule. What is left (the operating system, a database, the broker) is named with what it was
about. An unexpected error says its type and message in one line too; ``TICKETS_DEBUG=1`` lets its
traceback through, for bug reports.
"""

from __future__ import annotations

import os
import sqlite3
import sys

from eventsourcing.persistence import PersistenceError

from tickets.domain.errors import TicketError
from tickets.output import dumps

DEBUG = "TICKETS_DEBUG"


class Failure(TicketError):
    """What went wrong outside the desk's rules (the OS, a server), in the CLI's error shape."""

    code = "failure"


def one_line(text: object) -> str:
    return " ".join(str(text).split())


def as_ticket_error(error: Exception) -> TicketError | None:
    """``error`` as the CLI reports it; ``None`` for an unexpected error under ``TICKETS_DEBUG``."""
    if isinstance(error, TicketError):
        return error
    if isinstance(error, OSError):
        where = f" ({error.filename})" if error.filename else ""
        return Failure(one_line(f"{error.strerror or error}{where}"), field="path", rule="os_error")
    if _is_kafka_error(error):
        return Failure(one_line(f"the Kafka brokers: {type(error).__name__}: {error}"),
                       field="KAFKA_BOOTSTRAP_SERVERS", rule="broker")
    if _is_database_error(error):
        return Failure(one_line(f"a database: {type(error).__name__}: {error}"),
                       field="TICKETS_DATABASE_URL/TICKETS_READ_MODEL_URL", rule="database")
    if os.environ.get(DEBUG, "").strip() not in ("", "0"):
        return None
    return Failure(one_line(f"unexpected {type(error).__name__}: {error} "
                            f"(set {DEBUG}=1 to see the traceback)"), rule="unexpected")


def report(error: TicketError, as_json: bool) -> int:
    """Print ``error`` on stderr (JSON with ``--json``); the exit code."""
    if as_json:
        print(dumps(error.as_dict() | {"message": str(error)}), file=sys.stderr)
    else:
        print(f"error: {error}", file=sys.stderr)
    return 1


def _is_kafka_error(error: Exception) -> bool:
    from kafka.errors import KafkaError

    return isinstance(error, KafkaError)


def _is_database_error(error: Exception) -> bool:
    if isinstance(error, PersistenceError | sqlite3.Error):
        return True
    psycopg = sys.modules.get("psycopg")  # only loaded when PostgreSQL is in use
    return psycopg is not None and isinstance(error, psycopg.Error)

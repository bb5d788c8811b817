"""Configuration, read in one place from ``TICKETS_``-prefixed environment variables.

- ``TICKETS_HOME``: the data directory (default ``~/.local/share/tickets``).
- ``TICKETS_DATABASE_URL``: where events live: ``sqlite:///path`` (default ``HOME/events.sqlite3``),
  ``postgresql://user:password@host:port/dbname``, or ``memory:`` (tests).
- ``TICKETS_READ_MODEL_URL``: where projections live (default ``sqlite:///HOME/read_models.sqlite3``,
  or the database URL when that is PostgreSQL).
- ``TICKETS_POLICY_DIRS``: extra policy directories, separated by ``:``.
- ``KAFKA_BOOTSTRAP_SERVERS``: the Kafka brokers (no broker: the embedded feed).
- ``TICKETS_KAFKA_TOPIC_PREFIX``: put before every topic name (default none; tests use unique ones).
- ``TICKETS_KAFKA_SESSION_TIMEOUT_MS``: consumer group session timeout (default 10000).
- ``TICKETS_KAFKA_COMMIT_INTERVAL_MS``: Kafka offset commits at most this often (default 1000; 0:
  after every batch).
- ``TICKETS_SQLITE_SYNCHRONOUS``: ``NORMAL`` (default) or ``FULL`` for the SQLite event store.
- ``TICKETS_LOG_FORMAT``: ``json`` or ``console`` (default: console on a terminal, else json).
- ``TICKETS_INTAKE_SERVICES``: services allowed on the intake topic, comma-separated (default: any).
- ``TICKETS_SIGNING_KEYS``: the keys that sign and verify records on ``tickets.events``,
  ``ID:HEXSECRET`` separated by commas (secrets of 32 bytes or more); unset: records are neither
  signed nor checked for a signature (see consumers/signing.py, docs/kafka.md).
- ``TICKETS_SIGNING_KEY_ID``: the key id the publisher signs with (default: the first listed).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from consumers.signing import SigningKeys, parse_keys
from domain.errors import ValidationError


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    read_model_url: str
    policy_dirs: tuple[Path, ...] = ()
    kafka_bootstrap_servers: str | None = None
    log_format: str | None = None
    kafka_topic_prefix: str = ""
    kafka_session_timeout_ms: int = 10_000
    kafka_commit_interval_ms: int = 1_000
    #: Records on ``tickets.events`` are signed and checked with these (None: not at all).
    signing_keys: SigningKeys | None = None

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgresql://", "postgres://"))

    def event_store_env(self) -> dict[str, str]:
        """The ``eventsourcing`` environment for the event store."""
        return persistence_env(self.database_url)


def persistence_env(url: str) -> dict[str, str]:
    if url == "memory:":
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if url.startswith("sqlite:///"):
        return {
            "PERSISTENCE_MODULE": "tickets.sqlite_store:TicketsSQLiteFactory",
            "SQLITE_DBNAME": url.removeprefix("sqlite:///"),
            "SQLITE_LOCK_TIMEOUT": "30",
            "SQLITE_SYNCHRONOUS": os.environ.get("TICKETS_SQLITE_SYNCHRONOUS", "NORMAL"),
        }
    if url.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(url)
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": parts.path.lstrip("/"),
            "POSTGRES_HOST": parts.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
        }
        query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
        if "schema" in query:
            env["POSTGRES_SCHEMA"] = query["schema"]
        return env
    raise ValidationError(
        "TICKETS_DATABASE_URL must be sqlite:///PATH, postgresql://... or memory:",
        field="TICKETS_DATABASE_URL", rule="database_url_scheme",
    )


def load_settings(environ: Mapping[str, str] | None = None, home: str | None = None) -> Settings:
    env = os.environ if environ is None else environ
    home_dir = Path(
        home or env.get("TICKETS_HOME") or Path.home() / ".local" / "share" / "tickets"
    ).expanduser()
    database_url = env.get("TICKETS_DATABASE_URL") or f"sqlite:///{home_dir / 'events.sqlite3'}"
    persistence_env(database_url)  # fail early on a malformed URL
    default_read = (
        database_url if database_url.startswith("postgres")
        else f"sqlite:///{home_dir / 'read_models.sqlite3'}"
    )
    dirs = tuple(Path(p) for p in env.get("TICKETS_POLICY_DIRS", "").split(":") if p)
    return Settings(
        home=home_dir,
        database_url=database_url,
        read_model_url=env.get("TICKETS_READ_MODEL_URL") or default_read,
        policy_dirs=dirs,
        kafka_bootstrap_servers=env.get("KAFKA_BOOTSTRAP_SERVERS") or None,
        log_format=env.get("TICKETS_LOG_FORMAT") or None,
        kafka_topic_prefix=env.get("TICKETS_KAFKA_TOPIC_PREFIX", ""),
        kafka_session_timeout_ms=int(env.get("TICKETS_KAFKA_SESSION_TIMEOUT_MS") or 10_000),
        kafka_commit_interval_ms=_milliseconds(env, "TICKETS_KAFKA_COMMIT_INTERVAL_MS", 1_000),
        signing_keys=_signing_keys(env),
    )


def _signing_keys(env: Mapping[str, str]) -> SigningKeys | None:
    text = env.get("TICKETS_SIGNING_KEYS", "").strip()
    if not text:
        if env.get("TICKETS_SIGNING_KEY_ID", "").strip():
            raise ValueError("TICKETS_SIGNING_KEY_ID: set, but TICKETS_SIGNING_KEYS is not")
        return None
    return parse_keys(text, env.get("TICKETS_SIGNING_KEY_ID", "").strip() or None)


def _milliseconds(env: Mapping[str, str], name: str, default: int) -> int:
    """A whole number of milliseconds, 0 or more, from ``name`` (``default`` when unset)."""
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{name}: must be a whole number of milliseconds, got {text!r}") from None
    if value < 0:
        raise ValueError(f"{name}: must be 0 or more, got {value}")
    return value


# ---- the intake's allow-list ---------------------------------------------------------------------

def intake_services(environ: Mapping[str, str] | None = None) -> frozenset[str] | None:
    """``TICKETS_INTAKE_SERVICES``: the services that may send commands to the intake topic,
    separated by commas; unset or empty: any service the broker lets write (see consumers/intake_messages.py).
    """
    env = os.environ if environ is None else environ
    names = frozenset(n.strip() for n in env.get("TICKETS_INTAKE_SERVICES", "").split(",") if n.strip())
    return names or None

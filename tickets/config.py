"""Configuration, read and checked in one place from ``TICKETS_``-prefixed environment variables.

Every variable has a rule; a value that breaks it is refused at start-up with a ``ConfigError``
naming the variable and the rule (``TICKETS_KAFKA_SESSION_TIMEOUT_MS: must be a whole number from
1000 to 1800000 milliseconds, got 'abc'``). Unset or empty means the default. Text must be valid
UTF-8 everywhere.

- ``TICKETS_HOME``: the data directory (default ``~/.local/share/tickets``); a directory, or a path
  one can be created at (``--home`` overrides it).
- ``TICKETS_DATABASE_URL``: where events live: ``sqlite:///PATH`` (default ``HOME/events.sqlite3``),
  ``postgresql://user:password@host:port/dbname``, or ``memory:`` (tests).
- ``TICKETS_DATABASE_CONNECT_TIMEOUT``: seconds to wait for a PostgreSQL connection, 1 to 600
  (default 10).
- ``TICKETS_READ_MODEL_URL``: where projections live: ``sqlite:///PATH`` or ``postgresql://...``
  (default ``sqlite:///HOME/read_models.sqlite3``, or the database URL when that is PostgreSQL).
- ``TICKETS_POLICY_DIRS``: extra policy directories, separated by ``:``; each must exist.
- ``KAFKA_BOOTSTRAP_SERVERS``: the Kafka brokers, ``host:port`` separated by commas (no broker:
  the embedded feed).
- ``TICKETS_KAFKA_TOPIC_PREFIX``: put before every topic name: letters, digits, ``.``, ``_``, ``-``,
  at most 200 (default none; tests use unique ones).
- ``TICKETS_KAFKA_SESSION_TIMEOUT_MS``: consumer group session timeout, 1000 to 1800000 (default 10000).
- ``TICKETS_KAFKA_COMMIT_INTERVAL_MS``: Kafka offset commits at most this often, 0 to 3600000
  (default 1000; 0: after every batch).
- ``TICKETS_SQLITE_SYNCHRONOUS``: ``NORMAL`` (default), ``FULL``, ``EXTRA`` or ``OFF`` for the SQLite
  event store (any case).
- ``TICKETS_LOG_FORMAT``: ``json`` or ``console`` (default: console on a terminal, else json).
- ``TICKETS_INTAKE_SERVICES_FILE``: a TOML file naming each service allowed on the intake topic
  and the desks it serves (``tickets.intake_services``; each desk one of the catalogue's, checked
  when the intake starts). Default: any service, on every desk.
- ``TICKETS_INTAKE_SERVICES``: the older form, comma-separated service ids, each on every desk;
  refused together with ``TICKETS_INTAKE_SERVICES_FILE``.
- ``TICKETS_DEBUG``: ``1`` lets the CLI print the traceback of an unexpected error (``tickets.cli``).
- ``TICKETS_SIGNING_KEYS``: the keys that sign and verify records on ``tickets.events``,
  ``ID:HEXSECRET`` separated by commas (secrets of 32 bytes or more); unset: records are neither
  signed nor checked for a signature (see consumers/signing.py, docs/kafka.md).
- ``TICKETS_SIGNING_KEY_ID``: the key id the publisher signs with (default: the first listed).
- ``TICKETS_PRIVACY_MASTER_KEY``: 64 hex digits (a 32-byte key) that wrap the data subjects' keys
  in the key table ``HOME/keys.sqlite3`` (unset: the keys are stored unwrapped; docs/privacy.md).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import unquote, urlsplit

from tickets.consumers.signing import SigningKeys, parse_keys
from tickets.domain.actor import Actor
from tickets.domain.catalogue import Catalogue
from tickets.domain.errors import ValidationError
from tickets.domain.scope import DeskScope
from tickets.intake_services import every_desk_for, read_services_file
from tickets.rules import Number, OneOf, RuleError, valid_text

T = TypeVar("T")


class ConfigError(ValidationError, ValueError):
    """A setting breaks its rule: ``field`` is the variable (or option), ``rule`` the rule."""

    code = "config"


SESSION_TIMEOUT_MS = Number(int, 1_000, 1_800_000, "milliseconds")
COMMIT_INTERVAL_MS = Number(int, 0, 3_600_000, "milliseconds")
CONNECT_TIMEOUT_S = Number(int, 1, 600, "seconds")
SQLITE_SYNCHRONOUS = OneOf(("OFF", "NORMAL", "FULL", "EXTRA"))
LOG_FORMAT = OneOf(("json", "console"))
_TOPIC_PREFIX = re.compile(r"[A-Za-z0-9._-]{0,200}")
_SERVER = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(:[0-9]{1,5})?")


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
    sqlite_synchronous: str = "NORMAL"
    database_connect_timeout: int = 10
    #: Where ``home`` came from: ``--home`` or ``TICKETS_HOME`` (errors about it name this).
    home_source: str = "TICKETS_HOME"
    #: Records on ``tickets.events`` are signed and checked with these (None: not at all).
    signing_keys: SigningKeys | None = None
    #: Wraps the data subjects' keys in the key table (None: stored unwrapped).
    privacy_master_key: bytes | None = None

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgresql://", "postgres://"))

    @property
    def uses_home(self) -> bool:
        """Whether a store lives in the data directory (SQLite)."""
        return any(url.startswith("sqlite:///") for url in (self.database_url, self.read_model_url))

    def event_store_env(self) -> dict[str, str]:
        """The ``eventsourcing`` environment for the event store."""
        return persistence_env(self.database_url, sqlite_synchronous=self.sqlite_synchronous,
                               connect_timeout=self.database_connect_timeout)

    def ensure_home(self) -> Path:
        """Create the data directory if need be; a ``ConfigError`` naming its source if it cannot be."""
        try:
            self.home.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ConfigError(f"{self.home_source}: cannot create the data directory {self.home}: "
                              f"{error.strerror or error}", field=self.home_source,
                              rule="creatable_directory") from None
        return self.home


def setting(env: Mapping[str, str], name: str, parse: Callable[[str], T], default: T) -> T:
    """``name`` from ``env`` read by ``parse`` (``default`` when unset or empty)."""
    text = env.get(name, "")
    if not text.strip():
        return default
    return checked(name, parse, text)


def checked(name: str, parse: Callable[[str], T], text: str) -> T:
    """``parse(text)``, a ``RuleError`` turned into a ``ConfigError`` naming ``name``."""
    try:
        return parse(text)
    except RuleError as error:
        raise ConfigError(f"{name}: {error.message}", field=name, rule=error.rule) from None


def persistence_env(url: str, *, sqlite_synchronous: str | None = None,
                    connect_timeout: int | None = None) -> dict[str, str]:
    """The ``eventsourcing`` environment for the store at ``url`` (unset levels: from the environment)."""
    if url == "memory:":
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if url.startswith("sqlite:///") and url.removeprefix("sqlite:///").strip():
        level = sqlite_synchronous or setting(
            os.environ, "TICKETS_SQLITE_SYNCHRONOUS", SQLITE_SYNCHRONOUS.parse, "NORMAL")
        return {
            "PERSISTENCE_MODULE": "tickets.sqlite_store:TicketsSQLiteFactory",
            "SQLITE_DBNAME": url.removeprefix("sqlite:///"),
            "SQLITE_LOCK_TIMEOUT": "30",
            "SQLITE_SYNCHRONOUS": level,
        }
    if url.startswith(("postgresql://", "postgres://")):
        host, port = postgres_address(url, "TICKETS_DATABASE_URL")
        parts = urlsplit(url)
        timeout = connect_timeout or setting(
            os.environ, "TICKETS_DATABASE_CONNECT_TIMEOUT", CONNECT_TIMEOUT_S.parse_int, 10)
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": parts.path.lstrip("/"),
            "POSTGRES_HOST": host,
            "POSTGRES_PORT": str(port),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_CONNECT_TIMEOUT": str(timeout),
        }
        query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
        if "schema" in query:
            env["POSTGRES_SCHEMA"] = query["schema"]
        return env
    raise ConfigError(
        "TICKETS_DATABASE_URL: must be sqlite:///PATH, postgresql://... or memory:",
        field="TICKETS_DATABASE_URL", rule="database_url_scheme",
    )


def postgres_address(url: str, name: str) -> tuple[str, int]:
    """The host and port of a PostgreSQL URL (for connecting and for messages: no password)."""
    parts = urlsplit(url)
    try:
        port = parts.port or 5432
    except ValueError:
        raise ConfigError(f"{name}: the port must be a whole number from 1 to 65535",
                          field=name, rule="port") from None
    return parts.hostname or "127.0.0.1", port


def _read_model_url(text: str) -> str:
    if text.startswith("sqlite:///") and text.removeprefix("sqlite:///").strip():
        return text
    if text.startswith(("postgresql://", "postgres://")):
        postgres_address(text, "TICKETS_READ_MODEL_URL")
        return text
    raise RuleError("read_model_url_scheme", "must be sqlite:///PATH or postgresql://...")


def home_directory(text: str) -> Path:
    """A directory, or a path where one can be created (checked without creating it)."""
    path = Path(valid_text(text)).expanduser()
    if path.exists():
        if not path.is_dir():
            raise RuleError("directory", f"{path} exists and is not a directory")
        return path
    ancestor = next(p for p in path.absolute().parents if p.exists())
    if not ancestor.is_dir():
        raise RuleError("directory", f"cannot create {path}: {ancestor} is not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise RuleError("writable", f"cannot create {path}: {ancestor} is not writable")
    return path


def _policy_dirs(text: str) -> tuple[Path, ...]:
    dirs = tuple(Path(p) for p in valid_text(text).split(":") if p)
    for folder in dirs:
        if not folder.is_dir():
            raise RuleError("existing_directory", f"{folder} is not a directory")
    return dirs


def _servers(text: str) -> str:
    for server in valid_text(text).split(","):
        found = _SERVER.fullmatch(server.strip())
        if not found or (found.group(2) and not 1 <= int(found.group(2)[1:]) <= 65_535):
            raise RuleError("host_port", f"must be host:port separated by commas, got {server!r}")
    return text


def _topic_prefix(text: str) -> str:
    if not _TOPIC_PREFIX.fullmatch(valid_text(text)):
        raise RuleError("topic_name", "must be at most 200 letters, digits, '.', '_' or '-'")
    return text


def _service_ids(text: str) -> frozenset[str]:
    names = frozenset(n.strip() for n in valid_text(text).split(",") if n.strip())
    for name in names:
        try:
            Actor("service", name)
        except ValidationError:
            raise RuleError("service_id", f"{name!r} is not a service id (letters, digits and "
                                          "._@+-, at most 128)") from None
    return names


def _signing_keys(env: Mapping[str, str]) -> SigningKeys | None:
    """The signing keys, or None when ``TICKETS_SIGNING_KEYS`` is unset."""
    text = checked("TICKETS_SIGNING_KEYS", valid_text, env.get("TICKETS_SIGNING_KEYS", "")).strip()
    key_id = checked("TICKETS_SIGNING_KEY_ID", valid_text,
                     env.get("TICKETS_SIGNING_KEY_ID", "")).strip() or None
    if not text:
        if key_id:
            raise ConfigError("TICKETS_SIGNING_KEY_ID: set, but TICKETS_SIGNING_KEYS is not",
                              field="TICKETS_SIGNING_KEY_ID", rule="signing_key")
        return None
    try:
        return parse_keys(text, key_id)
    except ValueError as error:
        name = str(error).split(":", 1)[0]
        raise ConfigError(str(error), field=name, rule="signing_key") from None


def _master_key(text: str) -> bytes:
    if not re.fullmatch(r"[0-9a-fA-F]{64}", valid_text(text).strip()):
        raise RuleError("master_key", "must be 64 hex digits (a 32-byte key)")
    return bytes.fromhex(text.strip())


def load_settings(environ: Mapping[str, str] | None = None, home: str | None = None) -> Settings:
    """The settings from ``environ`` (default ``os.environ``); ``home`` is ``--home`` if given."""
    env = os.environ if environ is None else environ
    source = "--home" if home else "TICKETS_HOME"
    explicit = home or env.get("TICKETS_HOME")
    home_text = explicit or str(Path.home() / ".local" / "share" / "tickets")
    home_dir = Path(checked(source, valid_text, home_text)).expanduser()
    database_url = setting(env, "TICKETS_DATABASE_URL", valid_text,
                           f"sqlite:///{home_dir / 'events.sqlite3'}")
    default_read = database_url if database_url.startswith("postgres") else \
        f"sqlite:///{home_dir / 'read_models.sqlite3'}"
    settings = Settings(
        home=home_dir,
        home_source=source,
        database_url=database_url,
        read_model_url=setting(env, "TICKETS_READ_MODEL_URL", _read_model_url, default_read),
        policy_dirs=setting(env, "TICKETS_POLICY_DIRS", _policy_dirs, ()),
        kafka_bootstrap_servers=setting(env, "KAFKA_BOOTSTRAP_SERVERS", _servers, None),
        log_format=setting(env, "TICKETS_LOG_FORMAT", LOG_FORMAT.parse, None),
        kafka_topic_prefix=setting(env, "TICKETS_KAFKA_TOPIC_PREFIX", _topic_prefix, ""),
        kafka_session_timeout_ms=setting(
            env, "TICKETS_KAFKA_SESSION_TIMEOUT_MS", SESSION_TIMEOUT_MS.parse_int, 10_000),
        kafka_commit_interval_ms=setting(
            env, "TICKETS_KAFKA_COMMIT_INTERVAL_MS", COMMIT_INTERVAL_MS.parse_int, 1_000),
        sqlite_synchronous=setting(env, "TICKETS_SQLITE_SYNCHRONOUS", SQLITE_SYNCHRONOUS.parse,
                                   "NORMAL"),
        database_connect_timeout=setting(
            env, "TICKETS_DATABASE_CONNECT_TIMEOUT", CONNECT_TIMEOUT_S.parse_int, 10),
        signing_keys=_signing_keys(env),
        privacy_master_key=setting(env, "TICKETS_PRIVACY_MASTER_KEY", _master_key, None),
    )
    if explicit or settings.uses_home:  # a default home no store lives in is never looked at
        checked(source, home_directory, home_text)
    settings.event_store_env()  # fail early on a malformed database URL
    intake_services(env)
    return settings


# ---- the intake's services and their desks -------------------------------------------------------

SERVICES_FILE = "TICKETS_INTAKE_SERVICES_FILE"


def intake_services(environ: Mapping[str, str] | None = None) -> dict[str, DeskScope] | None:
    """The services that may send commands to the intake topic, each with its desks.

    From ``TICKETS_INTAKE_SERVICES_FILE``, or the older ``TICKETS_INTAKE_SERVICES`` list (each
    service on every desk); neither set: None, any service the broker lets write, on every desk
    (see consumers/intake_messages.py).
    """
    env = os.environ if environ is None else environ
    listed = setting(env, "TICKETS_INTAKE_SERVICES", _service_ids, frozenset[str]())
    filed = setting(env, SERVICES_FILE, read_services_file, None)
    if filed is not None and listed:
        raise ConfigError("TICKETS_INTAKE_SERVICES: set, and so is TICKETS_INTAKE_SERVICES_FILE; "
                          "name the services in the file only", field="TICKETS_INTAKE_SERVICES",
                          rule="one_services_setting")
    if filed is not None:
        return filed
    return every_desk_for(listed) if listed else None


def intake_services_of(catalogue: Catalogue, environ: Mapping[str, str] | None = None
                       ) -> dict[str, DeskScope] | None:
    """``intake_services``, each desk checked against the catalogue."""
    services = intake_services(environ)
    known = sorted(d.id for d in catalogue.desks())
    for name, desks in sorted((services or {}).items()):
        for desk in sorted(desks.desks or ()):
            if desk not in known:
                raise ConfigError(f"{SERVICES_FILE}: services.{name}.desks: {desk!r} is not a desk "
                                  f"of the catalogue; known desks: {', '.join(known)}",
                                  field=SERVICES_FILE, rule="known_desk")
    return services

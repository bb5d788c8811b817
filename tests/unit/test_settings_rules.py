"""Every ``TICKETS_*`` setting is checked at start-up: a ``ConfigError`` naming it and its rule."""

from __future__ import annotations

import json
import re
import socket
import time
from pathlib import Path

import pytest

import tickets.config
from tickets import cli, wiring
from tickets.config import ConfigError, load_settings

UNDECODABLE = b"bad\xffbyte".decode("utf-8", "surrogateescape")

#: Values each setting refuses, and the rule it names.
BAD: dict[str, list[tuple[str, str]]] = {
    "TICKETS_HOME": [("/etc/passwd", "directory"), ("/etc/passwd/below", "directory"),
                     (UNDECODABLE, "valid_text")],
    "TICKETS_DATABASE_URL": [("mysql://h/db", "database_url_scheme"), ("sqlite:///", "database_url_scheme"),
                             ("postgresql://u@h:99999/db", "port"), (UNDECODABLE, "valid_text")],
    "TICKETS_DATABASE_CONNECT_TIMEOUT": [("abc", "number"), ("0", "range"), ("601", "range"),
                                         ("1.5", "number")],
    "TICKETS_READ_MODEL_URL": [("memory:", "read_model_url_scheme"),
                               ("mysql://h/db", "read_model_url_scheme"), ("postgresql://h:0x/db", "port")],
    "TICKETS_POLICY_DIRS": [("/no/such/dir", "existing_directory"), ("/etc/passwd", "existing_directory")],
    "KAFKA_BOOTSTRAP_SERVERS": [("host:99999", "host_port"), ("a b:9092", "host_port"),
                                ("h:9092,", "host_port"), (UNDECODABLE, "valid_text")],
    "TICKETS_KAFKA_TOPIC_PREFIX": [("has space.", "topic_name"), ("x" * 201, "topic_name")],
    "TICKETS_KAFKA_SESSION_TIMEOUT_MS": [("abc", "number"), ("-1", "range"), ("999", "range"),
                                         ("1800001", "range"), ("9" * 40, "range")],
    "TICKETS_KAFKA_COMMIT_INTERVAL_MS": [("abc", "number"), ("-5", "range"), ("3600001", "range")],
    "TICKETS_SQLITE_SYNCHRONOUS": [("BOGUS", "one_of"), ("NORMAL;", "one_of"), (UNDECODABLE, "valid_text")],
    "TICKETS_LOG_FORMAT": [("xml", "one_of")],
    "TICKETS_INTAKE_SERVICES": [("web form", "service_id"), ("ok,sys:tem", "service_id")],
    # The file's contents are tried in test_intake_services_file.py.
    "TICKETS_INTAKE_SERVICES_FILE": [("/no/such/services.toml", "readable_file"), ("/", "readable_file"),
                                     ("/etc/passwd", "toml"), (UNDECODABLE, "valid_text")],
    "TICKETS_SIGNING_KEYS": [("k1", "signing_key"), ("k1:zz" + "0" * 62, "signing_key"),
                             ("k1:" + "ab" * 31, "signing_key"),
                             (f"k1:{'ab' * 32},k1:{'cd' * 32}", "signing_key"),
                             ("bad id:" + "ab" * 32, "signing_key"), (UNDECODABLE, "valid_text")],
    # Alone (no keys) it names a key that is not there.
    "TICKETS_SIGNING_KEY_ID": [("k9", "signing_key"), (UNDECODABLE, "valid_text")],
    "TICKETS_PRIVACY_MASTER_KEY": [("ab" * 31, "master_key"), ("zz" * 32, "master_key"),
                                   ("ab" * 33, "master_key"), (UNDECODABLE, "valid_text")],
}


def documented_settings() -> set[str]:
    """The variables ``tickets/config.py`` documents (all but the CLI's debug switch)."""
    doc = tickets.config.__doc__ or ""
    return set(re.findall(r"``((?:TICKETS|KAFKA)_[A-Z_]+)``", doc)) - {"TICKETS_DEBUG"}


def test_every_documented_setting_has_bad_values_tried_here() -> None:
    assert documented_settings() == set(BAD)


@pytest.mark.parametrize(("name", "value", "rule"),
                         [(n, v, r) for n, cases in BAD.items() for v, r in cases])
def test_a_bad_setting_is_refused_naming_the_variable_and_the_rule(
    tmp_path: Path, name: str, value: str, rule: str,
) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings({"TICKETS_HOME": str(tmp_path), name: value})
    assert refused.value.field == name and refused.value.rule == rule
    assert str(refused.value).startswith(f"{name}: ")


def test_good_settings_are_read_with_their_types(tmp_path: Path) -> None:
    settings = load_settings({
        "TICKETS_HOME": str(tmp_path / "new" / "home"), "TICKETS_SQLITE_SYNCHRONOUS": "full",
        "TICKETS_KAFKA_SESSION_TIMEOUT_MS": " 6000 ", "TICKETS_DATABASE_CONNECT_TIMEOUT": "3",
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092,[::1]:9093,broker", "TICKETS_LOG_FORMAT": "JSON",
        "TICKETS_KAFKA_TOPIC_PREFIX": "t1-a_b.",
    })
    assert settings.sqlite_synchronous == "FULL"
    assert settings.event_store_env()["SQLITE_SYNCHRONOUS"] == "FULL"
    assert settings.kafka_session_timeout_ms == 6000 and settings.database_connect_timeout == 3
    assert settings.log_format == "json" and not (tmp_path / "new").exists()  # checked, not created


def test_empty_means_the_default(tmp_path: Path) -> None:
    settings = load_settings({"TICKETS_HOME": str(tmp_path), "TICKETS_KAFKA_SESSION_TIMEOUT_MS": "",
                              "TICKETS_SQLITE_SYNCHRONOUS": " "})
    assert settings.kafka_session_timeout_ms == 10_000 and settings.sqlite_synchronous == "NORMAL"


def test_the_postgres_wait_is_the_configured_timeout(tmp_path: Path) -> None:
    env = load_settings({"TICKETS_HOME": str(tmp_path), "TICKETS_DATABASE_URL": "postgresql://u@h/db",
                         "TICKETS_DATABASE_CONNECT_TIMEOUT": "7"}).event_store_env()
    assert env["POSTGRES_CONNECT_TIMEOUT"] == "7"


@pytest.mark.parametrize(("name", "value"), [
    ("TICKETS_KAFKA_SESSION_TIMEOUT_MS", "abc"), ("TICKETS_KAFKA_COMMIT_INTERVAL_MS", "abc"),
    ("TICKETS_SQLITE_SYNCHRONOUS", "BOGUS"), ("TICKETS_HOME", "/etc/passwd"),
    ("TICKETS_DATABASE_URL", "postgresql://u@h:99999/db"),
])
def test_the_cli_says_a_bad_setting_in_one_line_with_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    name: str, value: str,
) -> None:
    monkeypatch.setenv("TICKETS_HOME", str(tmp_path))
    monkeypatch.setenv(name, value)
    assert cli.main(["list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {name}: ") and err.count("\n") == 1 and "Traceback" not in err


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_database_is_waited_for_as_configured_and_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    port = closed_port()
    monkeypatch.setenv("TICKETS_HOME", str(tmp_path))
    monkeypatch.setenv("TICKETS_DATABASE_URL", f"postgresql://u:secret@127.0.0.1:{port}/db")
    monkeypatch.setenv("TICKETS_DATABASE_CONNECT_TIMEOUT", "2")
    monkeypatch.setattr(wiring, "SLOW_CONNECT_NOTE_S", 0.2)
    started = time.monotonic()
    assert cli.main(["list"]) == 1
    waited = time.monotonic() - started
    err = capsys.readouterr().err
    assert waited < 10
    note = json.loads(err.splitlines()[0])  # logs are JSON when stderr is not a terminal
    assert note["event"] == "event_store_waiting" and note["timeout_s"] == 2
    assert note["address"] == f"127.0.0.1:{port}"
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"error: cannot use the event store at 127.0.0.1:{port} (a connection is "
                           "waited for 2 s at most, TICKETS_DATABASE_CONNECT_TIMEOUT)")
    assert "field=TICKETS_DATABASE_URL" in last and "secret" not in err


def test_a_default_home_no_store_lives_in_is_not_looked_at(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/etc/passwd")  # the default home would be below a file
    settings = load_settings({"TICKETS_DATABASE_URL": "postgresql://u@h/db"})
    assert not settings.uses_home
    with pytest.raises(ConfigError, match="TICKETS_HOME: cannot create"):
        load_settings({})  # SQLite, in that home

"""``tickets health``: each store and the broker answer, or the check fails naming only the error type."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import pytest

from tickets.cli import main
from tickets.health import check_database, check_kafka, healthy


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_sqlite_and_memory_stores_pass(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    assert check_database("event_store", f"sqlite:///{path}").ok  # not created yet: fine
    sqlite3.connect(path).close()
    assert check_database("event_store", f"sqlite:///{path}").detail == "sqlite"
    assert check_database("event_store", "memory:").ok


def test_an_unreachable_postgres_fails_without_telling_the_password() -> None:
    check = check_database("event_store", f"postgresql://u:s3cret@127.0.0.1:{closed_port()}/db",
                           timeout=1)
    assert not check.ok and "s3cret" not in check.detail
    assert check.detail.startswith("unreachable: ")
    assert not healthy([check])


def test_an_unreachable_broker_fails_and_no_broker_means_embedded() -> None:
    assert check_kafka(None).ok
    assert not check_kafka(f"127.0.0.1:{closed_port()}", timeout=1).ok


def test_the_command_exits_1_when_a_check_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TICKETS_DATABASE_URL", f"postgresql://u:p@127.0.0.1:{closed_port()}/db")
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    with pytest.raises(SystemExit) as exited:
        main(["health", "--home", str(tmp_path), "--timeout", "1", "--json"])
    assert exited.value.code == 1
    assert '"ok": false' in capsys.readouterr().out
    monkeypatch.setenv("TICKETS_DATABASE_URL", f"sqlite:///{tmp_path / 'e.sqlite3'}")
    monkeypatch.setenv("TICKETS_READ_MODEL_URL", f"sqlite:///{tmp_path / 'r.sqlite3'}")
    assert main(["health", "--home", str(tmp_path)]) == 0

"""``--metrics-port``: the processes without HTTP serve their Prometheus counters at /metrics."""

from __future__ import annotations

import socket
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tickets import cli, intake_cli, kafka_wiring, metrics
from tickets.metrics_server import serve_metrics


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def scrape(port: int, host: str = "127.0.0.1") -> str:
    with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5) as answer:
        return str(answer.read().decode("utf-8"))


class ScrapingMember:
    """Stands for a publisher, group member or intake: scrapes its own process's /metrics, stops."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.scraped: str | None = None
        self.desk = self  # the intake closes its desk

    def run(self, stop: threading.Event) -> None:
        metrics.record_parked("walked-group")
        self.scraped = scrape(self.port)

    def close(self) -> None:
        pass


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("TICKETS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")
    for variable in ("TICKETS_DATABASE_URL", "TICKETS_READ_MODEL_URL", "TICKETS_POLICY_DIRS"):
        monkeypatch.delenv(variable, raising=False)
    yield


BUILDERS: dict[str, tuple[Any, str, Any]] = {
    "publish": (kafka_wiring, "build_publisher", lambda member: member),
    "consume": (kafka_wiring, "build_consumer", lambda member: member),
    "schedule": (kafka_wiring, "build_scheduler_member", lambda member: (member, None)),
    "intake": (intake_cli, "build_intake", lambda member: member),
}


@pytest.mark.parametrize("command", sorted(BUILDERS))
def test_each_process_without_http_serves_its_counters_while_it_runs(
    command: str, environment: None, monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = free_port()
    member = ScrapingMember(port)
    module, name, shape = BUILDERS[command]
    monkeypatch.setattr(module, name, lambda *args, **kwargs: shape(member))
    assert cli.main([command, "--metrics-port", str(port)]) == 0
    assert member.scraped is not None
    assert 'tickets_records_parked_total{group="walked-group"}' in member.scraped
    with pytest.raises(OSError):  # and stops serving when the process ends
        scrape(port)


def test_the_counters_are_served_on_localhost_by_default_on_an_ephemeral_port() -> None:
    served = serve_metrics(0)
    try:
        assert served.server.server_address[0] == "127.0.0.1"
        metrics.record_parked("ephemeral-group")
        text = scrape(served.port)
    finally:
        served.close()
    assert 'tickets_records_parked_total{group="ephemeral-group"}' in text
    assert "tickets_events_applied" in text


@pytest.mark.parametrize("command", sorted(BUILDERS))
def test_a_port_already_taken_is_one_line_naming_the_option_before_anything_starts(
    command: str, environment: None, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    module, name, _ = BUILDERS[command]
    monkeypatch.setattr(module, name, lambda *args, **kwargs: pytest.fail("started"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = cli.main([command, "--metrics-port", str(port)])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert f"127.0.0.1:{port}" in err and "field=metrics_port" in err and "rule=listen" in err


def test_an_unknown_metrics_host_is_one_line_naming_the_option(
    environment: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(kafka_wiring, "build_consumer", lambda *args, **kwargs: pytest.fail("started"))
    code = cli.main(["consume", "--metrics-port", str(free_port()), "--metrics-host", "no-such-host.invalid"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and "field=metrics_port" in err and "no-such-host.invalid" in err

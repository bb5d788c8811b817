"""docker-compose.yml, read since Docker does not run here: commands real, dependencies known, ports local."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tickets.cli import build_parser
from tickets.consumers.kafka_settings import DLQ, EVENTS, INTAKE, INTAKE_RESULTS

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]
ENGINE_PROCESSES = {"publish", "consume", "schedule", "intake", "serve"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def tickets_commands(services: dict[str, dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """Every ``tickets ...`` command line: the services' commands and their health checks."""
    lines = []
    for name, service in services.items():
        command = service.get("command")
        if isinstance(command, list) and command[:1] == ["tickets"]:
            lines.append((name, command))
        test = service.get("healthcheck", {}).get("test", [])
        if test[:2] == ["CMD", "tickets"]:
            lines.append((f"{name} healthcheck", test[1:]))
    return lines


def test_every_tickets_command_is_a_real_subcommand_with_valid_options(
    services: dict[str, dict[str, Any]],
) -> None:
    lines = tickets_commands(services)
    assert {command[1] for _, command in lines} >= ENGINE_PROCESSES | {"health"}
    parser = build_parser()
    for where, command in lines:
        try:
            parser.parse_args(command[1:])
        except SystemExit:
            pytest.fail(f"{where}: {' '.join(command)} is not a valid tickets command line")


def test_every_dependency_exists_and_waits_for_health_or_completion(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            condition = rule["condition"]
            assert condition in ("service_healthy", "service_completed_successfully"), name
            if condition == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency} has no health check"


def test_the_engine_starts_after_the_servers_and_the_topics(services: dict[str, dict[str, Any]]) -> None:
    engine = [n for n, s in services.items() if (s.get("command") or [None])[0] == "tickets"]
    assert len(engine) == 5
    for name in engine:
        service = services[name]
        assert set(service["depends_on"]) == {"postgres", "kafka", "topics"}, name
        assert service["depends_on"]["topics"]["condition"] == "service_completed_successfully"
        assert "healthcheck" in service, name
        assert service["build"]["dockerfile"] == "docs/deploy/Dockerfile"
        env = service["environment"]
        assert env["TICKETS_DATABASE_URL"].startswith("postgresql://")
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:19092"
    advertised = services["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert "//kafka:19092" in advertised


def test_published_ports_bind_to_localhost_only(services: dict[str, dict[str, Any]]) -> None:
    published = [(name, port) for name, s in services.items() for port in s.get("ports", [])]
    assert published, "nothing published"
    for name, port in published:
        assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"


def test_the_topics_service_creates_every_topic_the_engine_uses(
    services: dict[str, dict[str, Any]],
) -> None:
    script = "\n".join(services["topics"]["command"])
    created = set(re.findall(r"^\s*create (\S+) ", script, flags=re.MULTILINE))
    assert created == {EVENTS, INTAKE, INTAKE_RESULTS, DLQ}
    assert services["topics"]["restart"] == "no"


def test_the_image_holds_every_package_the_project_installs() -> None:
    dockerfile = (ROOT / "docs" / "deploy" / "Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (\w+) ", dockerfile, flags=re.MULTILINE))
    assert copied == {"domain", "projections", "consumers", "replay", "tickets"}
    assert "pip install ." in dockerfile


def test_the_api_serves_the_consumer_groups_read_models_with_replicas(
    services: dict[str, dict[str, Any]],
) -> None:
    api = services["api"]
    assert api["command"][:2] == ["tickets", "serve"]
    assert "run" not in {command[1] for _, command in tickets_commands(services)}
    assert api["deploy"]["replicas"] >= 2
    assert api["environment"]["TICKETS_READ_MODEL_URL"] == services["consumer"]["environment"][
        "TICKETS_READ_MODEL_URL"]
    [published] = api["ports"]
    host_ports = str(published).split(":")[1]
    low, _, high = host_ports.partition("-")
    assert high and int(high) - int(low) + 1 >= api["deploy"]["replicas"]  # a port per replica
    assert "tickets_api" not in (ROOT / "docker-compose.yml").read_text()
    assert not (ROOT / "docs" / "deploy" / "initdb").exists()


def test_the_kafka_cluster_id_is_a_base64_uuid(services: dict[str, dict[str, Any]]) -> None:
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", services["kafka"]["environment"]["CLUSTER_ID"])

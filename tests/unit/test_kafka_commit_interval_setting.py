"""TICKETS_KAFKA_COMMIT_INTERVAL_MS: how often the Kafka loops commit offsets."""

from __future__ import annotations

from pathlib import Path

import pytest

from tickets.config import load_settings
from tickets.consumers.kafka_settings import KafkaSettings


def settings_with(tmp_path: Path, **env: str) -> KafkaSettings:
    environ = {"TICKETS_DATABASE_URL": "memory:", "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092", **env}
    return KafkaSettings.of(load_settings(environ, home=str(tmp_path)))


def test_commits_are_paced_to_one_a_second_unless_told_otherwise(tmp_path: Path) -> None:
    assert settings_with(tmp_path).commit_interval_ms == 1000
    assert settings_with(tmp_path, TICKETS_KAFKA_COMMIT_INTERVAL_MS="0").commit_interval_ms == 0
    assert settings_with(tmp_path, TICKETS_KAFKA_COMMIT_INTERVAL_MS="250").commit_interval_ms == 250


@pytest.mark.parametrize("text", ["soon", "-5", "1.5", "3600001"])
def test_a_bad_interval_is_refused_naming_the_variable_and_the_rule(
    tmp_path: Path, text: str,
) -> None:
    rule = "must be a whole number from 0 to 3600000 milliseconds"
    with pytest.raises(ValueError, match=f"TICKETS_KAFKA_COMMIT_INTERVAL_MS: {rule}"):
        load_settings({"TICKETS_KAFKA_COMMIT_INTERVAL_MS": text}, home=str(tmp_path))

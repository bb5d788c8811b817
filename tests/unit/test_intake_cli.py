"""``tickets intake`` and its desk: registered on the command line, table-creation races retried."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError, InternalError

from tickets import intake_cli, wiring
from tickets.cli import build_parser
from tickets.config import load_settings
from tickets.consumers.staging import StagingDesk
from tickets.domain.errors import ValidationError


def test_the_commands_are_registered_with_their_options() -> None:
    args = build_parser().parse_args(["intake", "--batch", "50", "--group", "intake-b"])
    assert (args.command, args.batch, args.group) == ("intake", 50, "intake-b")
    assert build_parser().parse_args(["health", "--topics"]).topics is True


def test_the_intake_needs_a_broker(tmp_path: Path) -> None:
    settings = load_settings({"TICKETS_DATABASE_URL": "memory:"}, home=str(tmp_path))
    with pytest.raises(ValidationError) as refused:
        intake_cli.build_intake(settings)
    assert refused.value.field == "KAFKA_BOOTSTRAP_SERVERS"


@pytest.mark.parametrize("race", [
    IntegrityError('duplicate key value violates unique constraint "pg_type_typname_nsp_index"; '
                   'Key (typname, typnamespace)=(tickets_events, 2200) already exists.'),
    InternalError("tuple concurrently updated"),
])
def test_a_table_creation_race_is_tried_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, race: Exception,
) -> None:
    settings = load_settings({"TICKETS_DATABASE_URL": "memory:"}, home=str(tmp_path))
    original = StagingDesk.__init__
    failures: list[int] = []

    def racing(self: StagingDesk, *args: Any, **kwargs: Any) -> None:
        if not failures:
            failures.append(1)
            raise race
        original(self, *args, **kwargs)

    monkeypatch.setattr(StagingDesk, "__init__", racing)
    monkeypatch.setattr(wiring.time, "sleep", lambda seconds: None)
    desk = intake_cli.build_staging_desk(settings)
    assert failures == [1] and isinstance(desk, StagingDesk) and desk.name == "tickets"


def test_other_store_errors_are_not_tried_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings({"TICKETS_DATABASE_URL": "memory:"}, home=str(tmp_path))
    calls: list[int] = []

    def broken(self: StagingDesk, *args: Any, **kwargs: Any) -> None:
        calls.append(1)
        raise InternalError("could not open relation")

    monkeypatch.setattr(StagingDesk, "__init__", broken)
    monkeypatch.setattr(wiring.time, "sleep", lambda seconds: None)
    with pytest.raises(InternalError, match="could not open relation"):
        intake_cli.build_staging_desk(settings)
    assert calls == [1]

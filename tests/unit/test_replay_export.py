"""The audit export: events of a ticket, a desk or a time range, with the hash chain, as files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.unit.conftest import at
from tests.unit.replay_week import project, sqlite_desk, write_week
from tickets.application.desk import TicketDesk
from tickets.domain.catalogue import Catalogue
from tickets.domain.errors import EntitlementError, TicketNotFoundError, ValidationError
from tickets.projections.audit_trail import trail
from tickets.projections.readstore import ReadStore
from tickets.replay import export as export_module
from tickets.replay.export import Scope, export
from tickets.replay.personal import may_unmask
from tickets.wire.envelope import GENESIS, chained_hash


@pytest.fixture
def week(tmp_path: Path, catalogue: Catalogue) -> tuple[TicketDesk, list[str]]:
    desk = sqlite_desk(tmp_path / "events.sqlite3", catalogue)
    return desk, write_week(desk, tickets=24)


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def content(row: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in row.items() if k not in ("prev_hash", "hash", "masked")}


def test_a_ticket_export_holds_every_event_with_a_hash_chain_that_verifies(
    week: tuple[TicketDesk, list[str]], tmp_path: Path
) -> None:
    desk, numbers = week
    out = tmp_path / "ticket.jsonl"
    count = export(desk, Scope(ticket=numbers[3]), [out], unmask=True)
    rows = lines(out)
    assert count == len(rows) == len(desk.history(numbers[3]))
    assert [r["version"] for r in rows] == list(range(1, len(rows) + 1))
    prev = GENESIS
    for row in rows:
        assert row["prev_hash"] == prev
        assert row["hash"] == chained_hash(prev, content(row))
        prev = str(row["hash"])


def test_the_exported_hashes_are_the_ones_the_audit_trail_recorded(
    week: tuple[TicketDesk, list[str]], tmp_path: Path
) -> None:
    desk, numbers = week
    store = ReadStore(f"sqlite:///{tmp_path / 'rm.sqlite3'}")
    project(desk, store)
    out = tmp_path / "all.jsonl"
    export(desk, Scope(), [out])
    recorded = {(e.ticket_id, e.version): e.hash for n in numbers
                for e in trail(store, ticket_id=desk.ticket_id(n))}
    assert {(r["ticket_id"], r["version"]): r["hash"] for r in lines(out)} == recorded


def test_personal_data_is_masked_unless_an_auditor_asks(
    week: tuple[TicketDesk, list[str]], tmp_path: Path
) -> None:
    desk, _ = week
    out = tmp_path / "web.jsonl"
    export(desk, Scope(desk="web"), [out])
    opened = [r for r in lines(out) if r["type"] == "Opened"]
    assert opened and all(r["masked"] for r in opened)
    fields = opened[0]["payload"]["fields"]  # type: ignore[index]
    assert fields["contact_email"] == "***" and fields["site_id"] != "***"
    assert may_unmask(True, "auditor") is True
    assert may_unmask(False, "agent") is False
    with pytest.raises(EntitlementError) as refused:
        may_unmask(True, "agent")
    assert (refused.value.field, refused.value.rule) == ("role", "unmask_personal_data")
    with pytest.raises(ValidationError):
        may_unmask(True, "boss")


def test_a_desk_and_a_time_range_select_by_desk_and_occurred_at(
    week: tuple[TicketDesk, list[str]], tmp_path: Path
) -> None:
    desk, _ = week
    out = tmp_path / "zoom.csv"
    since, until = at("2026-11-17T00:00:00+00:00"), at("2026-11-19T00:00:00+00:00")
    export(desk, Scope(desk="zoom", since=since, until=until), [out])
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and {r["desk"] for r in rows} == {"zoom"}
    assert all("2026-11-17" <= r["occurred_at"] < "2026-11-19" for r in rows)
    assert all(json.loads(r["payload"]) is not None for r in rows)


def test_exporting_the_same_store_twice_gives_byte_identical_files(
    week: tuple[TicketDesk, list[str]], tmp_path: Path
) -> None:
    desk, _ = week
    first = [tmp_path / "a.jsonl", tmp_path / "a.csv"]
    second = [tmp_path / "b.jsonl", tmp_path / "b.csv"]
    export(desk, Scope(), first)
    export(desk, Scope(), second)
    for one, two in zip(first, second, strict=True):
        assert one.read_bytes() == two.read_bytes()
        assert one.stat().st_size > 1000


def test_a_path_that_cannot_be_written_is_refused_and_nothing_is_left_behind(
    week: tuple[TicketDesk, list[str]], tmp_path: Path
) -> None:
    desk, _ = week
    with pytest.raises(ValidationError) as caught:
        export(desk, Scope(), [tmp_path / "missing" / "out.jsonl"])
    assert (caught.value.field, caught.value.rule) == ("out", "writable_path")
    with pytest.raises(ValidationError) as bad_format:
        export(desk, Scope(), [tmp_path / "out.xlsx"])
    assert bad_format.value.rule == "known_format"
    assert not list(tmp_path.glob("*out*"))


def test_a_failure_half_way_leaves_the_previous_file_whole(
    week: tuple[TicketDesk, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk, _ = week
    out = tmp_path / "trail.jsonl"
    out.write_text("the previous export\n", encoding="utf-8")
    written = 0
    real = export_module.row_of

    def failing(*args: object, **kwargs: object) -> dict[str, object]:
        nonlocal written
        written += 1
        if written > 5:
            raise OSError(28, "No space left on device")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(export_module, "row_of", failing)
    with pytest.raises(ValidationError):
        export(desk, Scope(), [out])
    assert out.read_text(encoding="utf-8") == "the previous export\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_an_unknown_ticket_or_desk_is_refused(week: tuple[TicketDesk, list[str]], tmp_path: Path) -> None:
    desk, _ = week
    with pytest.raises(TicketNotFoundError):
        export(desk, Scope(ticket="WEB-000000"), [tmp_path / "x.jsonl"])
    with pytest.raises(ValidationError) as bad_range:
        export(desk, Scope(since=at("2026-11-18T00:00:00+00:00"), until=at("2026-11-17T00:00:00+00:00")),
               [tmp_path / "x.jsonl"])
    assert bad_range.value.rule == "after_since"
    assert not (tmp_path / "x.jsonl").exists()

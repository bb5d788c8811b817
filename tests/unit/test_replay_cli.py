"""``tickets replay ...`` on a home directory: each tool, its JSON, its errors and exit codes."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.unit.replay_week import WEEK_END, WEEK_START, project, sqlite_desk, write_week
from tickets.cli import main
from tickets.domain.catalogue import Catalogue
from tickets.projections.readstore import ReadStore


@pytest.fixture
def home(tmp_path: Path, catalogue: Catalogue) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    desk = sqlite_desk(home / "events.sqlite3", catalogue)
    write_week(desk, tickets=15)
    store = ReadStore(f"sqlite:///{home / 'read_models.sqlite3'}")
    project(desk, store)
    store.close()
    desk.close()
    return home


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def first_ticket(capsys: pytest.CaptureFixture[str], home: Path) -> str:
    code, out, _ = run(capsys, "list", "--home", str(home), "--json")
    assert code == 0
    return str(json.loads(out)[0]["number"])


def test_as_of_prints_the_events_and_clocks_and_refuses_a_time_before_the_ticket(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    n = first_ticket(capsys, home)
    code, out, _ = run(capsys, "replay", "as-of", n, "--version", "2", "--home", str(home), "--json")
    assert code == 0
    shown = json.loads(out)
    assert shown["number"] == n and [e["version"] for e in shown["events"]] == [1, 2]
    assert all("calendar_version" in c and "policy_version" in c for c in shown["sla"])
    code, out, _ = run(capsys, "replay", "as-of", n, "--at", WEEK_END.isoformat(), "--home", str(home))
    assert code == 0 and out.startswith(f"{n} as of") and "SLA:" in out
    code, _, err = run(capsys, "replay", "as-of", n, "--at", "2026-01-01T00:00:00Z", "--home", str(home),
                       "--json")
    assert code == 1 and json.loads(err)["rule"] == "not_before_opening"


def test_export_writes_both_formats_and_only_an_auditor_sees_personal_data(
    home: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_jsonl, out_csv = tmp_path / "week.jsonl", tmp_path / "week.csv"
    code, out, _ = run(capsys, "replay", "export", "--out", str(out_jsonl), "--out", str(out_csv),
                       "--since", WEEK_START.isoformat(), "--home", str(home), "--json")
    assert code == 0 and json.loads(out)["personal_data"] == "masked"
    assert len(out_jsonl.read_text().splitlines()) == json.loads(out)["rows"]
    assert len(out_csv.read_text().splitlines()) == json.loads(out)["rows"] + 1
    code, _, err = run(capsys, "replay", "export", "--out", str(out_jsonl), "--show-personal",
                       "--role", "dashboard", "--home", str(home))
    assert code == 1 and "rule=unmask_personal_data" in err
    code, out, _ = run(capsys, "replay", "export", "--desk", "web", "--out", str(out_jsonl),
                       "--show-personal", "--role", "auditor", "--home", str(home), "--json")
    assert code == 0 and json.loads(out)["personal_data"] == "shown"


def test_verify_exits_non_zero_when_a_stored_event_was_altered(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "replay", "verify", "--home", str(home), "--json")
    assert code == 0 and json.loads(out)["ok"] is True
    with sqlite3.connect(home / "events.sqlite3") as conn:
        conn.execute("UPDATE stored_events SET state = "
                     "CAST(replace(state, 'agent:a-7', 'agent:a-8') AS BLOB) WHERE originator_version = 2")
    code, out, err = run(capsys, "replay", "verify", "--home", str(home))
    assert code == 1 and "BROKEN" in out and "rule=hash_chain_intact" in err
    assert "v2 altered: differs in actor" in out


def test_rebuild_then_verify_against_the_live_read_model(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "replay", "rebuild", "--parts", "1", "--no-progress", "--verify",
                       "--home", str(home), "--json")
    assert code == 0
    report = json.loads(out)
    assert report["complete"] and all(t["same"] for t in report["tables"])
    code, _, err = run(capsys, "replay", "rebuild", "--into", f"sqlite:///{home / 'read_models.sqlite3'}",
                       "--home", str(home))
    assert code == 1 and "rule=not_the_live_database" in err


def test_what_if_reports_changed_outcomes_and_a_policy_file_that_does_not_parse(
    home: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    policy = tmp_path / "zoom.toml"
    shipped = (Path(__file__).resolve().parents[2] / "domain" / "policies" / "zoom.toml").read_text()
    policy.write_text(shipped.replace('within = "4 hours"', 'within = "1 minute"'))
    code, out, _ = run(capsys, "replay", "what-if", str(policy), "--since", WEEK_START.isoformat(),
                       "--until", WEEK_END.isoformat(), "--home", str(home), "--json")
    assert code == 0
    result = json.loads(out)
    assert result["totals"]["tickets"] >= 1 and result["desk"] == "zoom"
    broken = tmp_path / "broken.toml"
    broken.write_text("[desk]\nid = 3\n")
    code, _, err = run(capsys, "replay", "what-if", str(broken), "--since", WEEK_START.isoformat(),
                       "--home", str(home))
    assert code == 1 and str(broken) in err


def test_the_demo_week_exports_byte_identical_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "demo"
    code, _, _ = run(capsys, "demo", "--home", str(home), "--tickets", "25", "--days", "7",
                     "--step", "60")
    assert code == 0
    files = []
    for name in ("a", "b"):
        outs = [tmp_path / f"{name}.jsonl", tmp_path / f"{name}.csv"]
        code, _, _ = run(capsys, "replay", "export", "--out", str(outs[0]), "--out", str(outs[1]),
                         "--home", str(home))
        assert code == 0
        files.append([p.read_bytes() for p in outs])
    assert files[0] == files[1] and len(files[0][0]) > 10_000
    code, out, _ = run(capsys, "replay", "verify", "--home", str(home), "--json")
    assert code == 0 and json.loads(out)["ok"]


def test_rebuilding_from_kafka_without_a_broker_address_says_which_setting_is_missing(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    code, _, err = run(capsys, "replay", "rebuild", "--from", "kafka", "--no-progress", "--home", str(home))
    assert code == 1 and "field=KAFKA_BOOTSTRAP_SERVERS" in err and "rule=required" in err


def test_a_swap_that_would_rewrite_recorded_history_is_refused_unless_accepted(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with sqlite3.connect(home / "events.sqlite3") as conn:
        conn.execute("UPDATE stored_events SET state = "
                     "CAST(replace(state, 'agent:a-7', 'agent:a-8') AS BLOB) WHERE originator_version = 2")
    live = home / "read_models.sqlite3"
    before = live.read_bytes()
    code, _, err = run(capsys, "replay", "rebuild", "--parts", "1", "--no-progress", "--swap",
                       "--home", str(home))
    assert code == 1 and "field=swap, rule=audit_history_kept" in err
    assert live.read_bytes() == before  # the recorded history stays the live one
    code, _, err = run(capsys, "replay", "verify", "--home", str(home))
    assert code == 1 and "rule=hash_chain_intact" in err
    code, out, err = run(capsys, "replay", "rebuild", "--parts", "1", "--no-progress", "--swap",
                         "--accept-changed-history", "--home", str(home), "--json")
    assert code == 0, err
    history = json.loads(out)["history"]
    assert not history["kept"] and history["rewritten"] > 0 and history["removed"] == 0
    code, _, _ = run(capsys, "replay", "verify", "--home", str(home))
    assert code == 0  # the live trail now holds the store as it is, on request


def test_accept_changed_history_goes_only_with_swap(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "replay", "rebuild", "--accept-changed-history", "--home", str(home))
    assert code == 1 and "field=accept_changed_history, rule=with_swap" in err

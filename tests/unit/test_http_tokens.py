"""API tokens: shown once, stored as a hash, one live token per name; ``tickets token`` on the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tickets.cli import main
from tickets.domain.errors import LifecycleError, TicketNotFoundError, ValidationError
from tickets.domain.scope import EVERY_DESK, DeskScope
from tickets.http.tokens import TokenStore, token_hash
from tickets.projections.readstore import ReadStore


@pytest.fixture
def store(tmp_path: Path) -> ReadStore:
    return ReadStore(f"sqlite:///{tmp_path / 'read_models.sqlite3'}")


def test_a_token_is_stored_only_as_its_hash(store: ReadStore, tmp_path: Path) -> None:
    token = TokenStore(store).create("webform", "service", EVERY_DESK)
    assert token.startswith("tkt_") and len(token) == 47
    [(stored, name, role)] = store.read("SELECT token_hash, name, role FROM http_tokens")
    assert (stored, name, role) == (token_hash(token), "webform", "service")
    store.close()
    assert token.encode() not in (tmp_path / "read_models.sqlite3").read_bytes()


def test_a_name_holds_one_live_token_and_a_revoked_one_stays_on_record(store: ReadStore) -> None:
    tokens = TokenStore(store)
    first = tokens.create("wallboard", "dashboard", EVERY_DESK)
    with pytest.raises(LifecycleError) as refused:
        tokens.create("wallboard", "dashboard", EVERY_DESK)
    assert refused.value.rule == "one_live_token"
    tokens.revoke("wallboard")
    found = tokens.find(first)
    assert found is not None and not found.live
    second = tokens.create("wallboard", "auditor", EVERY_DESK)
    assert second != first
    assert [(t.name, t.role, t.live) for t in tokens.all()] == [
        ("wallboard", "dashboard", False), ("wallboard", "auditor", True)]
    with pytest.raises(TicketNotFoundError):
        tokens.revoke("nobody")


@pytest.mark.parametrize(("name", "role", "field"), [
    ("has space", "service", "actor"), ("", "service", "actor"), ("ok", "admin", "role"),
])
def test_names_and_roles_are_checked(store: ReadStore, name: str, role: str, field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        TokenStore(store).create(name, role, EVERY_DESK)
    assert refused.value.field == field


def test_the_cli_prints_a_new_token_once_and_lists_without_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TICKETS_READ_MODEL_URL", raising=False)
    monkeypatch.delenv("TICKETS_DATABASE_URL", raising=False)
    home = ["--home", str(tmp_path / "home")]
    desks = ["--desk", "web", "--desk", "zoom"]
    assert main(["token", "create", "--name", "webform", "--role", "service", *desks, *home]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("tkt_")
    assert main(["token", "list", "--json", *home]) == 0
    listed = capsys.readouterr().out
    assert token not in listed
    [row] = json.loads(listed)
    assert (row["name"], row["role"], row["revoked_at"], row["desks"]) == (
        "webform", "service", None, ["web", "zoom"])
    assert main(["token", "create", "--name", "webform", "--role", "service", "--all-desks",
                 *home]) == 1
    assert "one_live_token" in capsys.readouterr().err
    assert main(["token", "revoke", "--name", "webform", *home]) == 0
    assert "revoked webform" in capsys.readouterr().out
    assert main(["token", "create", "--name", "webform", *home]) == 1  # no role
    with pytest.raises(SystemExit) as exit_code:
        main(["token", "create", "--name", "x", "--role", "root", *home])
    assert exit_code.value.code == 2


@pytest.mark.parametrize(("options", "rule"), [
    ([], "desks_required"),
    (["--desk", "nowhere"], "known_desk"),
    (["--desk", "web", "--desk", "Web"], "known_desk"),
    (["--desk", "web", "--all-desks"], "desks_or_all_desks"),
])
def test_token_create_refuses_desks_not_said_or_not_in_the_catalogue(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    options: list[str], rule: str,
) -> None:
    monkeypatch.delenv("TICKETS_READ_MODEL_URL", raising=False)
    monkeypatch.delenv("TICKETS_DATABASE_URL", raising=False)
    home = ["--home", str(tmp_path / "home")]
    assert main(["token", "create", "--name", "wall", "--role", "dashboard", *options, *home]) == 1
    error = capsys.readouterr().err
    assert "--desk" in error and rule in error and "Traceback" not in error
    assert main(["token", "list", "--json", *home]) == 0
    assert json.loads(capsys.readouterr().out) == []  # nothing was issued


def test_all_desks_is_said_explicitly_and_listed_as_a_star(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TICKETS_READ_MODEL_URL", raising=False)
    monkeypatch.delenv("TICKETS_DATABASE_URL", raising=False)
    home = ["--home", str(tmp_path / "home")]
    assert main(["token", "create", "--name", "audit", "--role", "auditor", "--all-desks", "--json",
                 *home]) == 0
    assert json.loads(capsys.readouterr().out)["desks"] == ["*"]
    assert main(["token", "list", *home]) == 0
    assert "desks *" in capsys.readouterr().out


def test_token_create_help_shows_the_desk_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["token", "create", "--help"])
    shown = capsys.readouterr().out
    assert "--desk DESK" in shown and "--all-desks" in shown


def test_a_token_table_from_before_desks_gains_the_column_and_its_tokens_name_no_desks(
    store: ReadStore,
) -> None:
    with store.transaction() as tx:
        tx.execute("""CREATE TABLE http_tokens (
            token_hash TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,
            created_at TEXT NOT NULL, revoked_at TEXT NULL)""")
        tx.execute("INSERT INTO http_tokens VALUES (?, 'old', 'dashboard', "
                   "'2026-11-16T09:00:00.000000Z', NULL)", (token_hash("tkt_old"),))
    tokens = TokenStore(store)
    old = tokens.find("tkt_old")
    assert old is not None and old.live and old.desks is None
    TokenStore(store)  # a second start finds the column there
    tokens.revoke("old")
    new = tokens.create("old", "dashboard", DeskScope(frozenset({"web"})))
    found = tokens.find(new)
    assert found is not None and found.desks == DeskScope(frozenset({"web"}))

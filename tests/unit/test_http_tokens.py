"""API tokens: shown once, stored as a hash, one live token per name; ``tickets token`` on the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tickets.cli import main
from tickets.domain.errors import LifecycleError, TicketNotFoundError, ValidationError
from tickets.domain.scope import EVERY_DESK
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
    assert main(["token", "create", "--name", "webform", "--role", "service", *home]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("tkt_")
    assert main(["token", "list", "--json", *home]) == 0
    listed = capsys.readouterr().out
    assert token not in listed
    [row] = json.loads(listed)
    assert (row["name"], row["role"], row["revoked_at"]) == ("webform", "service", None)
    assert main(["token", "create", "--name", "webform", "--role", "service", *home]) == 1
    assert "one_live_token" in capsys.readouterr().err
    assert main(["token", "revoke", "--name", "webform", *home]) == 0
    assert "revoked webform" in capsys.readouterr().out
    assert main(["token", "create", "--name", "webform", *home]) == 1  # no role
    with pytest.raises(SystemExit) as exit_code:
        main(["token", "create", "--name", "x", "--role", "root", *home])
    assert exit_code.value.code == 2

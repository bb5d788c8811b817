"""Done means, on the embedded default: after erasing a requester, no byte anywhere holds their data.

Tickets with distinctive contact details are opened through the command line, projected by the
engine, published as envelopes (the embedded feed's messages), exported and shown over HTTP; then
one requester is erased. Their name, e-mail address and phone number must then occur in no byte of
the data directory (event store, key table, read models, an export written after the erasure), of
any envelope, of anything logged, nor of any API answer; the other requester's data is intact, the
hash chains verify, and the SLA figures are what they were. A changed ciphertext still fails.
"""

from __future__ import annotations

import json
import sqlite3
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tickets import cli
from tickets.config import Settings, load_settings
from tickets.consumers.store_reader import StoreReader
from tickets.domain.scope import EVERY_DESK
from tickets.engine import build_engine
from tickets.http import create_app, make_context
from tickets.projections.readstore import ReadStore
from tickets.wiring import build_desk

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)
    from fastapi.testclient import TestClient

ANNA = {"contact_name": "Annaliese Quorndeval", "contact_email": "annaliese.q@quorndeval-mail.nl",
        "contact_phone": "+31 6 9137 2468"}
BOB = {"contact_name": "Bartholomew Yxenstierna", "contact_email": "bart.yx@yxenstierna.se",
       "contact_phone": "+46 70 864 2097"}
AT = "2026-11-16T10:00:00+01:00"
O365 = Path(__file__).parents[2] / "domain" / "policies" / "o365.toml"
NOW = "2026-11-16T15:00:00+01:00"


class Run:
    def __init__(self, home: Path, capfd: pytest.CaptureFixture[str]) -> None:
        self.home = home
        self.capfd = capfd
        self.logged: list[str] = []  # everything logged (stderr), by every step
        self.printed: list[str] = []  # every answer printed (stdout)

    def cli(self, *args: str, code: int = 0) -> str:
        result = cli.main([*args, "--home", str(self.home)])
        out, err = self.capfd.readouterr()
        self.printed.append(out)
        self.logged.append(err)
        assert result == code, err
        return out

    def json(self, *args: str) -> Any:
        return json.loads(self.cli(*args, "--json"))


def open_ticket(run: Run, requester: str, contact: dict[str, str], desk: str = "o365",
                extra: tuple[str, ...] = ()) -> str:
    fields = [f"--field={k}={v}" for k, v in contact.items()]
    role = {"o365": "admin", "web": "editor"}[desk]
    return str(run.json("open", "--desk", desk, "--requester", requester, "--role", role,
                        "--title", "Mail stopped", *fields, *extra, "--at", AT)["number"])


def figures(run: Run, numbers: list[str]) -> dict[str, Any]:
    return {n: run.json("show", n, "--now", NOW)["sla"] for n in numbers}


def every_byte(root: Path) -> Iterator[tuple[Path, bytes]]:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            yield path, path.read_bytes()


def api_answers(settings: Settings, numbers: list[str]) -> list[bytes]:
    desk = build_desk(settings)
    store = ReadStore(settings.read_model_url)
    ctx = make_context(desk, store)
    client = TestClient(create_app(ctx), raise_server_exceptions=False)
    tokens = {role: ctx.tokens.create(f"{role}-e2e", role, EVERY_DESK) for role in ("agent", "auditor",
                                                                         "dashboard")}
    bodies = []
    for token in tokens.values():
        head = {"Authorization": f"Bearer {token}"}
        for path in ("/api/tickets", "/api/queues", "/api/dashboard",
                     *(f"/api/tickets/{n}" for n in numbers),
                     *(f"/api/tickets/{n}/audit" for n in numbers)):
            answer = client.get(path, headers=head)
            assert answer.status_code in (200, 403), (path, answer.text)
            bodies.append(answer.content)
    store.close()
    desk.close()
    return bodies


def envelopes(settings: Settings) -> list[bytes]:
    desk = build_desk(settings)
    messages = [e.encode() for e in StoreReader(desk).read(0, 10_000)]
    desk.close()
    return messages


def test_an_erased_requesters_data_is_in_no_byte_and_the_history_still_proves_itself(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    run = Run(home, capfd)
    settings = load_settings({}, home=str(home))
    run.cli("editors", "add", "--desk", "web", "--site", "4711", "--editor", "c-anna")
    anna = open_ticket(run, "c-anna", ANNA)
    anna_web = open_ticket(run, "c-anna", ANNA, desk="web", extra=(
        "--field=site_id=4711", "--field=title=Mail stopped", "--field=url=https://example.be",
        f"--field=error_message=Mailbox of {ANNA['contact_name']} is full"))
    bob = open_ticket(run, "c-bob", BOB)
    numbers = [anna, anna_web, bob]
    run.cli("respond", anna, "--at", "2026-11-16T10:20:00+01:00")
    engine = build_engine(settings, log_batches=True)
    engine.catch_up()
    engine.close()

    before = figures(run, numbers)
    what_if = ("replay", "what-if", str(O365), "--since", "2026-11-16T00:00:00+01:00", "--until", NOW)
    what_if_before = run.json(*what_if)
    shown = run.json("replay", "as-of", anna, "--version", "1", "--show-personal", "--role",
                     "auditor")
    assert ANNA["contact_email"] in json.dumps(shown)  # an auditor sees it, opened at read time
    outside = tmp_path / "downloaded-before.jsonl"  # a copy that left the system: out of reach
    run.cli("replay", "export", "--out", str(outside), "--show-personal", "--role", "auditor")
    assert ANNA["contact_phone"].encode() in outside.read_bytes()
    messages_before = envelopes(settings)

    answered_before = len(run.printed)
    erased = run.json("privacy", "erase", "--requester", "c-anna", "--basis",
                      "GDPR art. 17 request of 2026-11-20", "--asked-by", "auditor:dpo")
    assert erased["requester"] == "c-anna"

    engine = build_engine(settings)  # a restart: the feed and the scheduler's housekeeping
    engine.catch_up()
    engine.scheduler.tick()
    engine.close()
    run.cli("replay", "export", "--out", str(home / "after.jsonl"), "--out",
            str(home / "after.csv"), "--show-personal", "--role", "auditor")
    run.cli("replay", "verify")
    assert "[erased]" in run.cli("audit", anna, "--show-personal")
    assert BOB["contact_email"] in run.cli("audit", bob, "--show-personal")
    run.printed.pop()  # bob's, shown on purpose
    run.cli("replay", "rebuild", "--verify", "--no-progress")
    after = figures(run, numbers)
    assert after == before
    assert run.json(*what_if) == what_if_before
    bodies = api_answers(settings, numbers)
    messages = messages_before + envelopes(settings)

    anywhere = [(str(path), b) for path, b in every_byte(home)] + [
        ("api", b) for b in bodies] + [("envelope", m) for m in messages] + [
        ("log", s.encode()) for s in run.logged] + [
        ("answer", s.encode()) for s in run.printed[answered_before:]]
    for value in ANNA.values():
        found = [where for where, blob in anywhere if value.encode() in blob]
        assert not found, (value, found)
    assert any(BOB["contact_email"].encode() in body for body in bodies)  # the other is intact
    assert b"[erased]" in (home / "after.jsonl").read_bytes()
    for value in BOB.values():
        assert not any(value.encode() in m for m in messages)  # never in plaintext on the topic

    run.cli("privacy", "erase", "--requester", "c-anna", "--basis", "again", code=1)
    assert "already_erased" in run.logged[-1]

    with sqlite3.connect(home / "events.sqlite3") as db:  # change one sealed byte of bob's opening
        rowid, state = next((rowid, state) for rowid, state in db.execute(
            "SELECT rowid, state FROM stored_events") if b'"requester":"c-bob"' in state)
        text = state.decode()
        cut = text.index("sealed:v1:") + 60
        changed = text[:cut] + ("A" if text[cut] != "A" else "B") + text[cut + 1:]
        db.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (changed.encode(), rowid))
    run.cli("replay", "verify", code=1)

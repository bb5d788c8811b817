"""A crash between destroying a requester's key and recording the erasure is completed later."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tickets import cli
from tickets.config import load_settings
from tickets.domain.actor import Actor
from tickets.domain.errors import LifecycleError
from tickets.engine import build_engine
from tickets.privacy.keys import KeyTable
from tickets.wiring import build_desk

REPO = Path(__file__).resolve().parents[2]


def killed_after_destroying_the_key(home: Path, requester: str) -> None:
    child = subprocess.Popen([sys.executable, "-m", "tests.e2e.erasure_child", str(home), requester],
                             cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "destroyed"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL


def open_for(home: Path, requester: str) -> str:
    desk = build_desk(load_settings({}, home=str(home)))
    number = desk.open(desk="o365", requester=requester, requester_role="admin", title="T",
                       fields={"contact_email": f"{requester}@example.org"}, severity="A",
                       actor=Actor("service", "webform")).number
    desk.close()
    return number


def test_the_next_erase_completes_an_erasure_killed_after_the_key_was_destroyed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    number = open_for(home, "c-anna")
    killed_after_destroying_the_key(home, "c-anna")

    desk = build_desk(load_settings({}, home=str(home)))
    assert desk.erasure("c-anna") is None  # killed before the event was stored
    keys = desk.personal
    assert isinstance(keys, KeyTable) and [p.subject for p in keys.pending()] == ["c-anna"]
    assert keys.open("contact_email", desk.get(number).fields["contact_email"]) == "[erased]"
    with pytest.raises(LifecycleError) as pending:  # no new key until the erasure is complete
        keys.seal("c-anna", {"contact_email": "again@example.org"})
    assert pending.value.rule == "erasure_pending"
    desk.close()

    code = cli.main(["privacy", "erase", "--requester", "c-anna", "--basis", "a second ask",
                     "--home", str(home), "--json"])
    answer = json.loads(capsys.readouterr().out)
    assert code == 0 and answer["completed_interrupted_erasure"] is True
    assert answer["basis"] == "GDPR art. 17 (interrupted)"  # the basis of the erasure it completes
    desk = build_desk(load_settings({}, home=str(home)))
    record = desk.erasure("c-anna")
    assert record is not None and len(record.erasures) == 1
    assert isinstance(desk.personal, KeyTable) and desk.personal.pending() == []


def test_the_engines_scheduler_completes_an_interrupted_erasure_on_its_own(tmp_path: Path) -> None:
    home = tmp_path / "home"
    open_for(home, "c-bob")
    killed_after_destroying_the_key(home, "c-bob")
    engine = build_engine(load_settings({}, home=str(home)), log_batches=False)
    engine.scheduler.tick()
    record = engine.desk.erasure("c-bob")
    engine.close()
    assert record is not None and record.erasures[0][2] == "auditor:dpo"

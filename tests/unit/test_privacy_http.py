"""An auditor erases a requester over HTTP; every answer shows the fields as erased from then on."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.http_rig import CONTACT, HttpRig, make_rig
from tickets.domain.catalogue import Catalogue
from tickets.domain.personal import ERASED
from tickets.privacy.keys import KeyTable
from tickets.projections.audit_entry import MASK


@pytest.fixture
def rig(catalogue: Catalogue, tmp_path: Path) -> HttpRig:
    return make_rig(catalogue, tmp_path, keys=KeyTable(tmp_path / "keys.sqlite3"))


def erase(rig: HttpRig, requester: str, role: str = "auditor") -> tuple[int, dict[str, object]]:
    answer = rig.client.post("/api/privacy/erasures", headers=rig.auth(role),
                             json={"requester": requester, "basis": "GDPR art. 17 request"})
    return answer.status_code, answer.json()


def test_an_erasure_reaches_the_ticket_the_trail_and_bodies_built_before_it(rig: HttpRig) -> None:
    number = rig.open()  # requester c-0
    other = rig.open()  # requester c-1
    shown = rig.get(f"/api/tickets/{number}", role="agent").json()
    assert shown["fields"] == {**CONTACT, "product": "mail"}
    assert rig.get(f"/api/tickets/{number}").json()["fields"]["contact_email"] == MASK
    trail = rig.get(f"/api/tickets/{number}/audit", role="auditor").json()["entries"]
    assert trail[0]["payload"]["fields"]["contact_email"] == CONTACT["contact_email"]

    status, answer = erase(rig, "c-0")
    assert status == 200 and answer["requester"] == "c-0"

    after = rig.get(f"/api/tickets/{number}", role="agent").json()
    assert {after["fields"][k] for k in CONTACT} == {ERASED}
    assert after["sla"] == shown["sla"] and after["fields"]["product"] == "mail"
    trail = rig.get(f"/api/tickets/{number}/audit", role="auditor").json()["entries"]
    assert trail[0]["payload"]["fields"]["contact_email"] == ERASED
    assert all(entry["verified"] for entry in trail)  # the stored (sealed) entry still verifies
    assert rig.get(f"/api/tickets/{other}", role="agent").json()["fields"]["contact_email"] == \
        CONTACT["contact_email"]


def test_erasing_twice_an_unknown_requester_and_without_the_right_are_refused(rig: HttpRig) -> None:
    rig.open()
    assert erase(rig, "c-0", role="agent")[0] == 403
    assert erase(rig, "c-0", role="dashboard")[0] == 403
    assert erase(rig, "c-0")[0] == 200
    status, twice = erase(rig, "c-0")
    assert (status, twice["rule"]) == (409, "already_erased")
    status, unknown = erase(rig, "c-nobody")
    assert (status, unknown["rule"]) == (404, "known_requester")
    refused = rig.client.post("/api/privacy/erasures", headers=rig.auth("auditor"),
                              json={"requester": "c-0"})
    assert (refused.status_code, refused.json()["field"]) == (400, "basis")


def test_an_auditor_of_some_desks_may_not_erase_and_learns_nothing(rig: HttpRig) -> None:
    from tickets.domain.scope import DeskScope

    rig.open()
    rig.tokens["auditor@web"] = rig.ctx.tokens.create("auditor-web", "auditor",
                                                      DeskScope(frozenset({"web"})))
    for requester in ("c-0", "nobody-known"):
        status, answer = erase(rig, requester, role="auditor@web")
        assert (status, answer["rule"]) == (403, "erase_every_desk")
    assert erase(rig, "c-0")[0] == 200  # the auditor of every desk still may

"""Every envelope field is checked against docs/envelope.md before a projection sees it."""

from __future__ import annotations

import typing
from typing import Any

import msgpack
import pytest

from tests.unit.legacy_events import store_v1_opened
from tests.unit.test_envelope_decoding import sample_maps
from tickets.application.desk import TicketDesk
from tickets.consumers.store_reader import StoreReader
from tickets.domain.ticket import Ticket
from tickets.wire.envelope import EnvelopeError, decode
from tickets.wire.envelope_schema import MAX_DEPTH, OPTIONAL, PAYLOADS

SAMPLES = sample_maps()
DESKS = frozenset(m["desk"] for m in SAMPLES)
OPENED = next(m for m in SAMPLES if m["type"] == "Opened")

#: For each envelope field, values the schema refuses (each one alone in an otherwise valid envelope).
BROKEN: dict[str, list[Any]] = {
    "ticket_id": [None, 5, "not-a-uuid", "672E4940-4DD6-5BCF-8CB4-9AE0F13981D7",
                  "672e49404dd65bcf8cb49ae0f13981d7", "{672e4940-4dd6-5bcf-8cb4-9ae0f13981d7}"],
    "ticket_number": [None, 7, "", b"VIA-1", ["VIA-1"], "VIA-\x001"],
    "desk": [None, 3, "", "nosuch", "vianet\x00"],
    "type": [None, 1, "", "Deleted", "opened"],
    "version": [None, "1", 0, -1, 1.0, True],
    "schema": [None, 2, "1", True, 1.0],
    "occurred_at": [None, 0, "2026-03-02", "2026-03-02T08:00:00Z", "2026-03-02T08:00:00.000000+00:00",
                    "2026-13-02T08:00:00.000000Z", "\uff12\uff10\uff12\uff16-03-02T08:00:00.000000Z"],
    "recorded_at": [None, 1.5, "yesterday", "2026-03-02 08:00:00.000000Z"],
    "position": [None, "24", -1, True, 2.0],
    "actor": [None, 5, "", "agent", "boss:a-1", "agent:", "agent:a b", {"role": "agent"}],
    "channel": [None, 1, "", "carrier-pigeon"],
    "payload": [None, [], "x", {b"bin-key": "x"}, {"fields": b"bin"}],
    "prev_hash": [None, 5, "", "0" * 63, "0" * 65, "G" * 64, "A" * 64, b"0" * 64],
    "hash": [None, "x" * 64, "0x" + "0" * 62, " " + "0" * 63],
}


def refusal(fields: dict[str, Any], desks: frozenset[str] | None = DESKS) -> str:
    data = msgpack.packb(fields, use_bin_type=True)
    with pytest.raises(EnvelopeError) as refused:
        decode(data, desks)
    return refused.value.reason


@pytest.mark.parametrize(("name", "value"), [(n, v) for n, vs in BROKEN.items() for v in vs])
def test_each_broken_field_is_refused_naming_the_field(name: str, value: Any) -> None:
    reason = refusal({**OPENED, name: value})
    expected = "unsupported schema" if name == "schema" else name
    if name == "payload" and isinstance(value, dict):
        expected = "payload"
    assert expected in reason


def test_every_sample_envelope_passes_the_schema_with_the_desks_known() -> None:
    for fields in SAMPLES:
        data = msgpack.packb(fields, use_bin_type=True)
        assert decode(data, DESKS).as_map() == fields


def test_a_desk_is_checked_only_against_the_desks_a_consumer_knows() -> None:
    other = {**OPENED, "desk": "nosuch"}
    assert decode(msgpack.packb(other), None).desk == "nosuch"
    assert "not a desk of this catalogue" in refusal(other)


def payload_cases() -> list[tuple[str, str, Any]]:
    """Per event type: each documented payload field missing, then of a wrong kind."""
    cases: list[tuple[str, str, Any]] = []
    for event_type, fields in PAYLOADS.items():
        for name, _ in fields:
            cases.append((event_type, name, "missing"))
            cases.append((event_type, name, {"nested": "map"} if name != "fields" else {"k": 1}))
    return cases


@pytest.mark.parametrize(("event_type", "name", "bad"), payload_cases())
def test_each_payload_field_of_each_event_type_is_checked(event_type: str, name: str, bad: Any) -> None:
    good = {field: value for field, value in _valid_payload(event_type).items()}
    data = {**OPENED, "type": event_type, "payload": good}
    decode(msgpack.packb(data), DESKS)  # the valid payload passes
    payload = {k: v for k, v in good.items() if k != name} if bad == "missing" else {**good, name: bad}
    reason = refusal({**data, "payload": payload})
    assert f"payload.{name}" in reason and event_type in reason


def test_a_field_added_later_may_be_absent_and_is_checked_when_present() -> None:
    """``Opened.level`` joined the payload later: events written before it have none."""
    without = {k: v for k, v in OPENED["payload"].items() if k != "level"}
    decode(msgpack.packb({**OPENED, "payload": without}), DESKS)
    decode(msgpack.packb({**OPENED, "payload": {**without, "level": "level_2"}}), DESKS)
    for bad in (2, None, "", "l\x00"):
        reason = refusal({**OPENED, "payload": {**without, "level": bad}})
        assert reason.startswith("payload.level must be") and "Opened" in reason


def test_unknown_payload_fields_are_allowed_but_must_be_plain_json() -> None:
    extra = {**OPENED, "payload": {**OPENED["payload"], "later": {"a": [1, 2.5, None, True, "x"]}}}
    decode(msgpack.packb(extra), DESKS)
    deep: Any = "leaf"
    for _ in range(MAX_DEPTH + 1):
        deep = {"d": deep}
    for bad in ({"later": b"bytes"}, {"later": {b"bin-key": "x"}}, {"later": deep}, {"later": [[b"x"]]}):
        reason = refusal({**OPENED, "payload": {**OPENED["payload"], **bad}})
        assert reason.startswith("payload must hold only")


def test_nul_is_refused_in_text_kept_in_columns_and_allowed_in_free_text() -> None:
    """PostgreSQL's text cannot hold NUL; inside the payload's JSON it is written \\u0000."""
    free = {**OPENED, "payload": {**OPENED["payload"], "title": "a\x00b", "fields": {"k": "v\x00"},
                                  "later": ["\x00"]}}
    assert decode(msgpack.packb(free), DESKS).payload["title"] == "a\x00b"
    for name in ("severity", "requester", "plan"):
        reason = refusal({**OPENED, "payload": {**OPENED["payload"], name: "B\x00"}})
        assert reason.startswith(f"payload.{name} must be a str without NUL")


def test_the_schema_names_every_event_of_the_ticket_and_its_own_fields() -> None:
    """Cross-checked with the domain's event classes: a new event or field must reach the schema."""
    own = {"occurred_at", "actor", "channel", "originator_id", "originator_version", "timestamp",
           "originator_topic", "originator_id_type"}
    for name in PAYLOADS:
        event_class = getattr(Ticket, name)
        hints = set(typing.get_type_hints(event_class)) - own
        documented = PAYLOADS[name] + OPTIONAL.get(name, ())
        assert hints == {field for field, _ in documented}, name
    classes = {n for n, v in vars(Ticket).items() if isinstance(v, type) and hasattr(v, "class_version")}
    assert classes - {"Event", "Created"} == set(PAYLOADS)


def _valid_payload(event_type: str) -> dict[str, Any]:
    samples = {m["type"]: m["payload"] for m in SAMPLES}
    if event_type in samples:
        return dict(samples[event_type])
    made: dict[str, Any] = {"InfoRequested": {"replaces": None},
                            "AutoCloseWarned": {"closes_at": "2026-03-09T08:00:00.000000Z"},
                            "Reopened": {"reason": "customer"}, "Closed": {"reason": "resolved"},
                            "SeveritySet": {"severity": "B", "previous": "C", "reason": "triage"},
                            "Assigned": {"agent": "a-1", "level": "L1"},
                            "Escalated": {"level": "L2", "previous": "L1", "reason": "rule", "target": None}}
    return made.get(event_type, {})


def test_an_event_an_older_version_stored_passes_the_schema_once_sealed(desk: TicketDesk) -> None:
    """Upcast before sealing, a v1 ``Opened`` (contact details as fields of their own) is a valid
    envelope of today's schema: the consumers never dead-letter old history."""
    store_v1_opened(desk)
    envelopes = StoreReader(desk).read(0, 10)
    assert [e.type for e in envelopes] == ["Opened"]
    known = frozenset(d.id for d in desk.catalogue.desks())
    data = envelopes[0].encode()
    assert decode(data, known).payload["fields"]["contact_name"] == "Ann"

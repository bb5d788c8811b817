"""``decode`` gives the envelope its fields build, with the history entry in place, and refuses
every broken check."""

from __future__ import annotations

import random
from typing import Any

import msgpack
import pytest

from tickets.application.clock import VirtualClock
from tickets.application.desk import TicketDesk
from tickets.application.policy_files import load_catalogue
from tickets.consumers.store_reader import StoreReader
from tickets.sample_lives import desk_clock_start, register_editors, write_lives
from tickets.wire.envelope import Envelope, EnvelopeError, decode


def sample_maps() -> list[dict[str, Any]]:
    desk = TicketDesk(load_catalogue(), clock=VirtualClock(desk_clock_start()),
                      env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, rng=random.Random(5))
    register_editors(desk)
    written = write_lives(desk, 6, interleave=3)
    maps = [e.as_map() for e in StoreReader(desk).read(0, written)]
    desk.close()
    return maps


def outcome(decoder: Any, data: bytes) -> Any:
    try:
        envelope = decoder(data)
    except EnvelopeError as error:
        return ("refused", error.reason)
    return ("decoded", envelope, envelope.history_entry)


def test_every_sample_envelope_decodes_to_the_envelope_of_its_fields_and_its_entry() -> None:
    for fields in sample_maps():
        data = msgpack.packb(fields, use_bin_type=True)
        decoded = outcome(decode, data)
        assert decoded[1] == Envelope(**fields)
        assert decoded[2] == decoded[1].entry() == Envelope(**fields).history_entry
        assert decoded[1].encode() == data


def spoiled(fields: dict[str, Any]) -> list[Any]:
    """Maps (or other values) every check of ``decode`` refuses, one check at a time."""
    variants: list[Any] = [[fields], "text", 7]
    for name in fields:
        variants.append({k: v for k, v in fields.items() if k != name})
    for name, value in [("schema", 2), ("version", "1"), ("version", True), ("position", None),
                        ("payload", []), ("type", 3), ("ticket_id", "not-a-uuid"),
                        ("occurred_at", "2026-01-01"), ("recorded_at", 5), ("hash", b"x"),
                        ("prev_hash", None)]:
        variants.append({**fields, name: value})
    return variants


@pytest.mark.parametrize("index", range(3))
def test_spoiled_envelopes_are_refused(index: int) -> None:
    fields = sample_maps()[index]
    for variant in spoiled(fields):
        data = msgpack.packb(variant, use_bin_type=True)
        assert outcome(decode, data)[0] == "refused"
    for data in (b"\xc1", b"", msgpack.packb(fields)[:-3]):
        assert outcome(decode, data)[0] == "refused"

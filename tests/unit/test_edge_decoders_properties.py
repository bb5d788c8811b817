"""Whatever arrives on a topic, the decoders answer with their documented refusal, never another error.

Random bytes, random msgpack values and near-valid messages with one part broken are fed to the
envelope decoder (``EnvelopeError``, or an envelope whose history entry is its own) and to the
intake's reader (``read_record`` returns a ``Command`` or a ``Refusal``, it never raises).
"""

from __future__ import annotations

from typing import Any

import msgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.test_envelope_decoding import sample_maps
from tests.unit.test_intake_apply import change, opening
from tickets.consumers.intake_messages import Command, IntakeRecord, Refusal, read_record
from tickets.domain.scope import EVERY_DESK
from tickets.wire.envelope import FIELDS, Envelope, EnvelopeError, decode

SAMPLES = sample_maps()
DESKS = frozenset(m["desk"] for m in SAMPLES)
EXAMPLES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64 - 1)
           | st.floats() | st.text(max_size=40) | st.binary(max_size=40))
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=12) | st.binary(max_size=4), inner, max_size=4),
    max_leaves=12)
#: Values that look like the real ones (times, ids, hashes, actors) with small changes.
lookalikes = st.sampled_from([
    "2026-03-02T08:00:00.000000Z", "2026-03-02T08:00:00.00000Z", "2026-02-30T08:00:00.000000Z",
    "672e4940-4dd6-5bcf-8cb4-9ae0f13981d7", "672e4940-4dd6-5bcf-8cb4-9ae0f13981d", "0" * 64,
    "f" * 64, "agent:a-1", "system:scheduler", "nosuch:x", "api", "vianet", "Opened", "Closed",
    0, 1, -1, 2**63 - 1, True, "", {}, [],
])
anything = values | lookalikes


def outcome(decoder: Any, data: bytes) -> Any:
    try:
        envelope = decoder(data, DESKS)
    except EnvelopeError as error:
        return ("refused", error.reason)
    assert isinstance(envelope, Envelope)
    assert envelope.history_entry == envelope.entry()
    return ("decoded", envelope)


def decoded_or_refused(data: bytes) -> None:
    outcome(decode, data)


@EXAMPLES
@given(st.binary(max_size=3000))
def test_random_bytes_are_refused_or_decoded_never_an_other_error(data: bytes) -> None:
    decoded_or_refused(data)
    read_record(IntakeRecord("tickets.intake", 0, 1, data, [("service", b"webform")]), None)


@EXAMPLES
@given(values)
def test_random_msgpack_values_are_refused_never_an_other_error(value: Any) -> None:
    data = msgpack.packb(value, use_bin_type=True)
    decoded_or_refused(data)
    assert isinstance(read_record(IntakeRecord("tickets.intake", 0, 1, data, [("service", b"w")]), None),
                      Command | Refusal)


@st.composite
def near_envelopes(draw: st.DrawFn) -> dict[str, Any]:
    """A real envelope with one field (or one payload field) replaced, removed, or added."""
    fields = dict(draw(st.sampled_from(SAMPLES)))
    payload = dict(fields["payload"])
    where = draw(st.sampled_from([*FIELDS, *[f"payload.{k}" for k in payload], "extra"]))
    remove = draw(st.booleans())
    value = draw(anything)
    if where.startswith("payload."):
        name = where.removeprefix("payload.")
        payload.pop(name) if remove else payload.__setitem__(name, value)
        fields["payload"] = payload
    elif where == "extra":
        fields[draw(st.text(max_size=10))] = value
    elif remove:
        fields.pop(where)
    else:
        fields[where] = value
    return fields


@EXAMPLES
@given(near_envelopes())
def test_envelopes_with_one_part_broken_are_refused_never_an_other_error(fields: dict[str, Any]) -> None:
    decoded_or_refused(msgpack.packb(fields, use_bin_type=True))


@st.composite
def near_commands(draw: st.DrawFn) -> tuple[dict[Any, Any], list[tuple[str, bytes]]]:
    """A well-formed intake command with one field replaced, removed or added, and headers."""
    message: dict[Any, Any] = draw(st.sampled_from([
        opening("o-1"), change("c-1", "close", "VIA-84G7ZW", 5, reason="resolved"),
        change("e-1", "escalate", "VIA-84G7ZW", 6, reason="complaint"),
        change("a-1", "assign", "VIA-84G7ZW", 7, agent="a-2", level="L1"),
    ]))
    message = dict(message)
    where = draw(st.sampled_from([*message, "extra"]))
    value = draw(anything)
    if where == "extra":
        message[draw(st.text(max_size=10) | st.binary(max_size=4))] = value
    elif draw(st.booleans()):
        message.pop(where)
    else:
        message[where] = value
    service = draw(st.sampled_from([b"webform", b"", b"\xff\xfe", b"a b", b"x" * 200])
                   | st.binary(max_size=8))
    headers = draw(st.sampled_from([[("service", service)], [], [("service", b"a"), ("service", b"b")]]))
    return message, headers


@EXAMPLES
@given(near_commands())
def test_commands_with_one_part_broken_are_refused_never_an_other_error(
    case: tuple[dict[Any, Any], list[tuple[str, bytes]]],
) -> None:
    message, headers = case
    record = IntakeRecord("tickets.intake", 0, 1, msgpack.packb(message, use_bin_type=True), headers)
    for allowed in (None, {"webform": EVERY_DESK}):
        read = read_record(record, allowed)
        assert isinstance(read, Command | Refusal)
        if isinstance(read, Refusal):
            assert read.field and read.rule and isinstance(read.error()["message"], str)

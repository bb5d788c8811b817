"""The audit trail's hash check builds the canonical text around the payload text it stores."""

from __future__ import annotations

import json
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from tickets.projections.audit_entry import payload_text
from tickets.projections.audit_hash import canonical_text, envelope_content, envelope_hash
from tickets.wire.envelope import GENESIS, Envelope, chained_hash

ENVELOPE = Envelope(
    ticket_id="0b6f3c1e-4a7d-4f5e-9c1a-2d3e4f5a6b7c", ticket_number="O365-000001", desk="o365",
    type="Opened", version=1, occurred_at="2026-11-16T09:00:00.000000Z",
    recorded_at="2026-11-16T09:00:00.000001Z", position=7, actor="service:web", channel="web",
    payload={"title": "Mail is down", "fields": {"contact_name": "Zoë"}}, prev_hash=GENESIS,
    hash="",
)
TEXT = st.text(st.characters(blacklist_categories=("Cs",)))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)


def canonical(envelope: Envelope) -> str:
    return json.dumps(envelope_content(envelope), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)


@given(payload=st.dictionaries(TEXT, JSON, max_size=4), actor=TEXT, number=TEXT,
       version=st.integers(min_value=0))
def test_the_text_is_what_json_dumps_gives(
    payload: dict[str, object], actor: str, number: str, version: int
) -> None:
    envelope = replace(ENVELOPE, payload=payload, actor=actor, ticket_number=number,
                       version=version)
    assert canonical_text(envelope, payload_text(payload)) == canonical(envelope)
    assert envelope_hash(envelope, payload_text(payload)) == chained_hash(
        envelope.prev_hash, envelope_content(envelope))


def test_a_field_that_is_not_text_takes_the_general_path() -> None:
    odd = replace(ENVELOPE, actor=None, version=True)  # type: ignore[arg-type]
    payload = payload_text(odd.payload)
    assert canonical_text(odd, payload) is None
    assert envelope_hash(odd, payload) == chained_hash(odd.prev_hash, envelope_content(odd))

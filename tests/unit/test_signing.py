"""Signed records (``consumers.signing``): the publisher's headers, the consumers' refusals, rotation."""

from __future__ import annotations

from collections import namedtuple

import pytest

from tickets.config import load_settings
from tickets.consumers.kafka_batch import sort_records
from tickets.consumers.signing import KEY_ID_HEADER, SIGNATURE_HEADER, SigningKeys, parse_keys

OLD, NEW = "11" * 32, "22" * 32
Record = namedtuple("Record", "topic partition offset timestamp key value headers")
Partition = namedtuple("Partition", "topic partition")


def keys(text: str, signing: str | None = None) -> SigningKeys:
    return parse_keys(text, signing)


def test_a_signed_record_verifies_and_names_its_key() -> None:
    signing = keys(f"k1:{OLD}")
    headers = signing.sign(b"value")
    assert [name for name, _ in headers] == [KEY_ID_HEADER, SIGNATURE_HEADER]
    assert dict(headers)[KEY_ID_HEADER] == b"k1"
    assert signing.refusal(b"value", headers) is None


@pytest.mark.parametrize(("headers", "reason"), [
    (None, "unsigned record: no signature-key or signature header"),
    ([("type", b"Closed")], "unsigned record: no signature-key or signature header"),
    ([(KEY_ID_HEADER, b"k1")], "unsigned record: no signature-key or signature header"),
    ([(KEY_ID_HEADER, b"k9"), (SIGNATURE_HEADER, b"00")], "signed under an unknown key id b'k9'"),
    ([(KEY_ID_HEADER, b"\xff"), (SIGNATURE_HEADER, b"00")], "signed under an unknown key id b'\\xff'"),
    ([(KEY_ID_HEADER, b"k1"), (SIGNATURE_HEADER, b"00" * 32)], "bad signature under key id 'k1'"),
])
def test_a_record_not_signed_by_a_known_key_is_refused_with_the_reason(
    headers: list[tuple[str, bytes]] | None, reason: str
) -> None:
    assert keys(f"k1:{OLD}").refusal(b"value", headers) == reason


def test_a_signature_over_other_bytes_or_under_another_secret_is_refused() -> None:
    signing = keys(f"k1:{OLD}")
    assert signing.refusal(b"valuf", signing.sign(b"value")) == "bad signature under key id 'k1'"
    impostor = keys(f"k1:{'33' * 32}")
    assert signing.refusal(b"value", impostor.sign(b"value")) == "bad signature under key id 'k1'"


def test_during_a_rotation_the_new_key_signs_and_the_old_one_still_verifies() -> None:
    before = keys(f"k1:{OLD}")
    during = keys(f"k2:{NEW},k1:{OLD}")
    after = keys(f"k2:{NEW}")
    assert during.signing == "k2"
    old_record, new_record = before.sign(b"v"), during.sign(b"v")
    assert during.refusal(b"v", old_record) is None and during.refusal(b"v", new_record) is None
    assert before.refusal(b"v", new_record) == "signed under an unknown key id b'k2'"
    assert after.refusal(b"v", old_record) == "signed under an unknown key id b'k1'"
    assert keys(f"k1:{OLD},k2:{NEW}", "k2").signing == "k2"


@pytest.mark.parametrize(("text", "signing", "message"), [
    ("", None, "TICKETS_SIGNING_KEYS: no key given"),
    (OLD, None, "TICKETS_SIGNING_KEYS: each key must be ID:HEXSECRET"),
    (f"k 1:{OLD}", None, "TICKETS_SIGNING_KEYS: each key must be ID:HEXSECRET"),
    ("k1:zz", None, "TICKETS_SIGNING_KEYS: the secret of key 'k1' must be hexadecimal"),
    ("k1:abcd", None, "TICKETS_SIGNING_KEYS: the secret of key 'k1' must be at least 32 bytes"),
    (f"k1:{OLD},k1:{NEW}", None, "TICKETS_SIGNING_KEYS: key id 'k1' is given twice"),
    (f"k1:{OLD}", "k2", "TICKETS_SIGNING_KEY_ID: 'k2' is not a key id"),
])
def test_a_malformed_key_setting_is_refused_naming_the_setting_and_the_rule(
    text: str, signing: str | None, message: str
) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        parse_keys(text, signing)


def test_the_settings_read_the_keys_once_and_the_id_that_signs() -> None:
    env = {"TICKETS_HOME": "/tmp/x", "TICKETS_SIGNING_KEYS": f"k1:{OLD}, k2:{NEW}",
           "TICKETS_SIGNING_KEY_ID": "k2"}
    signing = load_settings(env).signing_keys
    assert signing is not None and signing.signing == "k2" and set(signing.keys) == {"k1", "k2"}
    assert load_settings({"TICKETS_HOME": "/tmp/x"}).signing_keys is None
    with pytest.raises(ValueError, match="TICKETS_SIGNING_KEY_ID: set, but TICKETS_SIGNING_KEYS is not"):
        load_settings({"TICKETS_HOME": "/tmp/x", "TICKETS_SIGNING_KEY_ID": "k2"})


def test_with_keys_a_polled_batch_sends_what_it_does_not_verify_to_the_dead_letters() -> None:
    signing = keys(f"k1:{OLD}")
    signed = Record("t", 0, 0, 1, b"k", b"\x80", signing.sign(b"\x80"))  # signed, an empty map
    unsigned = Record("t", 0, 1, 1, b"k", b"\x80", [])
    forged = Record("t", 0, 2, 1, b"k", b"\x81", signing.sign(b"\x80"))
    batch = sort_records({Partition("t", 0): [signed, unsigned, forged]}, signing=signing)
    assert [(d.offset, d.reason.split(":")[0]) for d in batch.dead] == [
        (0, "missing fields"), (1, "unsigned record"), (2, "bad signature under key id 'k1'")]
    assert batch.next_offsets == {0: 3}
    unchecked = sort_records({Partition("t", 0): [unsigned]})
    assert [d.reason.split(":")[0] for d in unchecked.dead] == ["missing fields"]

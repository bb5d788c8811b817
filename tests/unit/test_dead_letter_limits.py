"""A dead letter is always writable: never over its limit, whatever the poison's size, key or headers."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kafka.errors import KafkaTimeoutError, MessageSizeTooLargeError, NotLeaderForPartitionError

from tickets.consumers import dead_letter_replay, parking
from tickets.consumers.dead_letters import MAX_HEADERS, MAX_KEY, DeadLetter, decode_dead_letter
from tickets.consumers.kafka_settings import RECORD_OVERHEAD, KafkaSettings

LIMIT = 1_000_000
TICKET_KEY = b"672e4940-4dd6-5bcf-8cb4-9ae0f13981d7"


def letter(value: bytes | None, key: bytes | None = TICKET_KEY,
           headers: list[tuple[str, bytes]] | None = None) -> DeadLetter:
    return DeadLetter(reason="not msgpack: ExtraData", topic="tickets.events", partition=2, offset=41,
                      timestamp_ms=7, key=key, value=value, headers=headers or [("type", b"Opened")])


def poison(size: int) -> bytes:
    return bytes(i % 251 for i in range(size))


@pytest.mark.parametrize("size", [0, 1_000, 990_000, 1_048_000, 1_048_450, 1_100_000, 5_000_000])
def test_a_dead_letter_keeps_what_fits_and_says_what_the_rest_was(size: int) -> None:
    original = poison(size)
    sent = letter(original).record("projections", LIMIT)
    kept = decode_dead_letter(sent.value)
    assert sent.size() <= LIMIT
    assert original.startswith(kept["value"])
    assert kept["value_truncated"] is (len(kept["value"]) < size)
    assert (kept["value_size"], kept["value_sha256"]) == (size, hashlib.sha256(original).hexdigest())
    assert (kept["topic"], kept["partition"], kept["offset"]) == ("tickets.events", 2, 41)
    assert sent.key == TICKET_KEY and kept["key"] == TICKET_KEY and not kept["key_truncated"]
    if size <= 900_000:
        assert kept["value"] == original  # small poison is kept whole


def test_a_huge_key_is_cut_in_the_letter_and_not_used_as_its_key() -> None:
    key = poison(2_000_000)
    sent = letter(poison(2_000_000), key=key).record("g", LIMIT)
    kept = decode_dead_letter(sent.value)
    assert sent.key is None and sent.size() <= LIMIT
    assert kept["key_truncated"] and key.startswith(kept["key"]) and len(kept["key"]) <= MAX_KEY
    assert kept["key_sha256"] == hashlib.sha256(key).hexdigest() and kept["key_size"] == len(key)


def test_headers_are_kept_in_order_while_they_fit_and_the_rest_counted() -> None:
    headers = [(f"h{i}", poison(30_000)) for i in range(10)] + [("type", b"Opened")]
    sent = letter(poison(1_100_000), headers=headers).record("g", LIMIT)
    kept = decode_dead_letter(sent.value)
    originals = [h for h in sent.headers if h[0] not in ("content-type", "dlq-reason")]
    assert originals == headers[:len(originals)]
    assert sum(len(n) + len(v) for n, v in originals) <= MAX_HEADERS
    assert kept["headers_dropped"] == len(headers) - len(originals) > 0
    assert sent.size() <= LIMIT


@pytest.mark.parametrize("limit", [32 * 1024, 64 * 1024, 300_000, 1_000_000])
def test_every_limit_holds_for_a_tombstone_a_small_and_a_large_poison(limit: int) -> None:
    for value in (None, b"\xc1", poison(3 * limit)):
        sent = letter(value).record("g", limit)
        assert sent.size() <= limit
        kept = decode_dead_letter(sent.value)
        assert kept["value_size"] == (None if value is None else len(value))


def test_a_parked_letter_holds_no_original_bytes_only_where_and_what_it_was() -> None:
    original = poison(5_000_000)
    headers = [("big", poison(500_000)), ("type", b"Opened")]
    sent = letter(original, headers=headers).parked("intake", attempts=4)
    kept = decode_dead_letter(sent.value)
    assert sent.size() < 4096
    assert kept["parked"] is True and kept["attempts"] == 4 and kept["value"] == b""
    assert kept["value_truncated"] and kept["value_sha256"] == hashlib.sha256(original).hexdigest()
    assert (kept["topic"], kept["partition"], kept["offset"], kept["headers_dropped"]) == (
        "tickets.events", 2, 41, 2)
    assert dict(sent.headers)["dlq-parked"] == b"true"


def test_a_long_reason_is_cut_in_the_value_and_the_header() -> None:
    long = DeadLetter("x" * 50_000, "t", 0, 1, None, None, b"v", [])
    sent = long.record("g", LIMIT)
    assert len(decode_dead_letter(sent.value)["reason"]) == 1000
    assert len(dict(sent.headers)["dlq-reason"]) == 1000


def test_settings_refuse_a_dead_letter_limit_the_producer_could_not_send() -> None:
    with pytest.raises(ValueError, match="dead_letter_max_bytes"):
        KafkaSettings("k:9092", dead_letter_max_bytes=1_048_576)
    with pytest.raises(ValueError, match="dead_letter_max_bytes"):
        KafkaSettings("k:9092", dead_letter_max_bytes=1_000)
    with pytest.raises(ValueError, match="park_after_attempts"):
        KafkaSettings("k:9092", park_after_attempts=0)
    settings = KafkaSettings("k:9092", max_request_size=2_000_000, dead_letter_max_bytes=1_500_000)
    assert settings.producer_config()["max_request_size"] == 2_000_000
    assert KafkaSettings("k:9092").dead_letter_max_bytes <= 1_048_576 - RECORD_OVERHEAD


def test_waits_double_and_are_capped_and_never_start_over() -> None:
    waits = [parking.backoff(n, 0.5) for n in range(1, 10)]
    assert waits[:4] == [0.5, 1.0, 2.0, 4.0]
    assert waits == sorted(waits) and waits[-1] == parking.MAX_BACKOFF_S


def test_only_a_refusal_of_the_record_itself_parks_it_and_only_after_the_attempts() -> None:
    too_large = MessageSizeTooLargeError()
    assert not parking.should_park(too_large, 3, 4)
    assert parking.should_park(too_large, 4, 4)
    for broker_away in (KafkaTimeoutError(), NotLeaderForPartitionError(), ConnectionError()):
        assert not parking.should_park(broker_away, 100, 4)


def test_a_whole_dead_letter_gives_back_its_original_and_a_cut_one_needs_its_topic() -> None:
    whole = letter(b"\xc1 poison", headers=[("type", b"Opened"), ("content-type", b"x")]).record("g")
    found = dead_letter_replay.original(decode_dead_letter(whole.value), whole.headers)
    assert (found.topic, found.partition, found.offset) == ("tickets.events", 2, 41)
    assert (found.key, found.value, found.headers) == (TICKET_KEY, b"\xc1 poison", [("type", b"Opened")])
    cut = letter(poison(2_000_000)).record("g", LIMIT)
    with pytest.raises(dead_letter_replay.ReplayError, match="not whole"):
        dead_letter_replay.original(decode_dead_letter(cut.value), cut.headers)
    parked = letter(b"small").parked("g", 4)
    with pytest.raises(dead_letter_replay.ReplayError, match="not whole"):
        dead_letter_replay.original(decode_dead_letter(parked.value), parked.headers)


def test_an_original_that_does_not_match_the_digest_is_refused() -> None:
    sent = letter(b"\xc1 poison").record("g")
    kept = decode_dead_letter(sent.value) | {"value": b"\xc1 changed"}
    with pytest.raises(dead_letter_replay.ReplayError, match="value digest differs"):
        dead_letter_replay.original(kept, sent.headers)


def test_a_refused_dead_letter_is_sent_again_then_parked_and_given_up_only_for_the_broker() -> None:
    too_large, away = MessageSizeTooLargeError(), KafkaTimeoutError()
    decide = parking.next_try
    assert [decide(too_large, n, 4, parked=False) for n in (1, 2, 3, 4)] == ["again"] * 3 + ["park"]
    assert decide(too_large, 1, 4, parked=True) == "give_up"  # not even the parked letter
    assert [decide(away, n, 4, parked=False) for n in (1, 3, 4)] == ["again", "again", "give_up"]


@settings(max_examples=200, deadline=None)
@given(value=st.integers(0, 3_000_000) | st.none(), key=st.integers(0, 200_000) | st.none(),
       headers=st.lists(st.tuples(st.text(max_size=20), st.integers(0, 300_000)), max_size=12),
       limit=st.integers(32 * 1024, 1_000_000))
def test_no_dead_letter_exceeds_its_limit_whatever_the_sizes(
    value: int | None, key: int | None, headers: list[tuple[str, int]], limit: int,
) -> None:
    original = letter(None if value is None else b"v" * value, None if key is None else b"k" * key,
                      [(name, b"h" * size) for name, size in headers] or [("type", b"Opened")])
    sent = original.record("g", limit)
    kept = decode_dead_letter(sent.value)
    assert sent.size() <= limit
    assert kept["value_size"] == value and kept["key_size"] == key
    assert (kept["value"] is None) == (value is None)

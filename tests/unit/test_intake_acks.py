"""Intake offsets are committed only behind acknowledged answers, in order, and never past a refusal.
A refused answer is handed back to be sent again on its own; its batch waits for it.

The futures are kafka-python's own (what ``KafkaProducer.send`` returns), completed by the test
the way the producer's sender completes them when the broker answers.
"""

from __future__ import annotations

import threading

import pytest
from kafka import OffsetAndMetadata, TopicPartition
from kafka.errors import KafkaTimeoutError, NotLeaderForPartitionError
from kafka.producer.future import FutureProduceResult, FutureRecordMetadata

from tickets.consumers.intake_acks import SendRefused, UnacknowledgedBatches

P0, P1 = TopicPartition("tickets.intake", 0), TopicPartition("tickets.intake", 1)


def offset(n: int) -> OffsetAndMetadata:
    return OffsetAndMetadata(n, "", -1)


class Sent:
    """One answer handed to the producer: its future, and the broker's reply to give it."""

    def __init__(self) -> None:
        self.batch = FutureProduceResult(P0)
        self.future = FutureRecordMetadata(self.batch, 0, -1, None, 1, 1, 0)

    def acknowledge(self) -> None:
        self.batch.success((17, -1, None))

    def refuse(self, error: Exception) -> None:
        self.batch.failure(error)


def future() -> FutureRecordMetadata:
    return Sent().future


def acked() -> FutureRecordMetadata:
    sent = Sent()
    sent.acknowledge()
    return sent.future


def refused(error: Exception) -> FutureRecordMetadata:
    sent = Sent()
    sent.refuse(error)
    return sent.future


def test_offsets_come_back_once_every_answer_of_the_batch_is_acknowledged() -> None:
    batches = UnacknowledgedBatches()
    first = Sent()
    batches.add([first.future, acked()], {P0: offset(5)})
    assert batches.settle() == {} and len(batches) == 1
    first.acknowledge()
    assert batches.settle() == {P0: offset(5)} and len(batches) == 0


def test_a_later_batch_acknowledged_first_waits_for_the_earlier_one() -> None:
    batches = UnacknowledgedBatches()
    early = Sent()
    batches.add([early.future], {P0: offset(3)})
    batches.add([acked()], {P0: offset(7), P1: offset(2)})
    assert batches.settle() == {}
    early.acknowledge()
    assert batches.settle() == {P0: offset(7), P1: offset(2)}  # the latest offset per partition


def test_a_batch_without_answers_to_wait_for_is_settled_in_turn() -> None:
    batches = UnacknowledgedBatches()
    batches.add([], {P1: offset(4)})
    assert batches.settle() == {P1: offset(4)}


def test_a_refused_answer_is_handed_back_with_what_settled_before_it_and_nothing_past_it() -> None:
    batches = UnacknowledgedBatches()
    batches.add([acked()], {P0: offset(2)}, ["a"])
    batches.add([acked(), refused(NotLeaderForPartitionError())], {P0: offset(4)}, ["b", "c"])
    batches.add([acked()], {P0: offset(6)}, ["d"])
    with pytest.raises(SendRefused) as refusal:
        batches.settle()
    assert refusal.value.settled == {P0: offset(2)} and refusal.value.sent.outgoing == "c"
    assert isinstance(refusal.value.error, NotLeaderForPartitionError)
    assert len(batches) == 2  # the refused batch and the one after it are kept
    with pytest.raises(SendRefused):
        batches.settle()  # nothing past the refusal while it stands
    again = Sent()
    refusal.value.sent.future = again.future  # sent again: only the refused record
    assert batches.settle() == {}
    again.acknowledge()
    assert batches.settle() == {P0: offset(6)} and len(batches) == 0


def test_forgetting_drops_every_batch_kept() -> None:
    batches = UnacknowledgedBatches()
    batches.add([refused(NotLeaderForPartitionError())], {P0: offset(4)})
    batches.forget()
    assert len(batches) == 0 and batches.settle() == {}


def test_waiting_for_the_oldest_batches_blocks_until_they_are_acknowledged() -> None:
    batches = UnacknowledgedBatches()
    pending = Sent()
    batches.add([pending.future], {P0: offset(9)})
    batches.add([future()], {P0: offset(12)})
    threading.Timer(0.05, pending.acknowledge).start()
    assert batches.settle(wait_for=1) == {P0: offset(9)} and len(batches) == 1


def test_waiting_past_the_timeout_hands_back_the_answer_still_under_way_and_keeps_its_batch() -> None:
    batches = UnacknowledgedBatches()
    batches.add([future()], {P0: offset(1)})
    with pytest.raises(SendRefused) as refusal:
        batches.settle(wait_for=1, timeout=0.01)
    assert isinstance(refusal.value.error, KafkaTimeoutError)
    assert not refusal.value.sent.future.is_done and len(batches) == 1

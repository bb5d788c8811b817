"""Kafka offset commits paced to one per interval."""

from __future__ import annotations

import pytest
from kafka import OffsetAndMetadata, TopicPartition

from tickets.consumers.commit_pacing import PacedCommits


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def at(offset: int) -> OffsetAndMetadata:
    return OffsetAndMetadata(offset, "", -1)


P0, P1 = TopicPartition("t", 0), TopicPartition("t", 1)


def test_the_first_offsets_are_due_at_once_and_later_ones_wait_for_the_interval() -> None:
    clock = Clock()
    paced = PacedCommits(1.0, clock)
    paced.add({P0: at(5)})
    assert paced.due() == {P0: at(5)}
    paced.add({P0: at(9)})
    clock.now += 0.5
    assert paced.due() == {}
    assert paced  # still waiting
    clock.now += 0.5
    assert paced.due() == {P0: at(9)}
    assert not paced


def test_a_partitions_latest_offset_replaces_the_earlier_ones_of_the_interval() -> None:
    clock = Clock()
    paced = PacedCommits(1.0, clock)
    paced.take()
    for offset in (3, 7, 12):
        paced.add({P0: at(offset), P1: at(offset + 1)})
    clock.now += 1.0
    assert paced.due() == {P0: at(12), P1: at(13)}


def test_offsets_of_partitions_no_longer_owned_are_dropped() -> None:
    paced = PacedCommits(1.0, Clock())
    paced.add({P0: at(4), P1: at(8)})
    assert paced.due(owned=[P1]) == {P1: at(8)}
    assert not paced


def test_take_hands_everything_over_whatever_the_interval() -> None:
    clock = Clock()
    paced = PacedCommits(10.0, clock)
    paced.add({P0: at(1)})
    assert paced.due() == {P0: at(1)}
    paced.add({P0: at(2)})
    assert paced.due() == {}
    assert paced.take() == {P0: at(2)}
    assert paced.take() == {}


def test_an_interval_of_zero_commits_every_batch() -> None:
    paced = PacedCommits(0.0, Clock())
    for offset in (1, 2, 3):
        paced.add({P0: at(offset)})
        assert paced.due() == {P0: at(offset)}


def test_a_negative_interval_is_refused_naming_the_rule() -> None:
    with pytest.raises(ValueError, match="commit interval: must be 0 or more seconds"):
        PacedCommits(-1.0)

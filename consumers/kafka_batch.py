"""One polled batch, sorted: envelopes to apply, dead letters, and each partition's next offset.

The pure part of the consumer loop (no I/O): records in, decisions out. Records of one partition
stay in offset order, which keeps each ticket's events in order (a ticket lives on one partition).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tickets.consumers.dead_letters import DeadLetter
from tickets.consumers.signing import SigningKeys
from tickets.wire.envelope import Envelope, EnvelopeError, decode


@dataclass
class PolledBatch:
    envelopes: list[Envelope] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    #: partition -> the offset after the last record seen (what a restart reads next)
    next_offsets: dict[int, int] = field(default_factory=dict)
    records: int = 0
    #: (partition, offset) of each envelope, in the same order as ``envelopes``
    origins: list[tuple[int, int]] = field(default_factory=list)


def sort_records(
    polled: Mapping[Any, Sequence[Any]], decode: Callable[[bytes], Envelope] = decode,
    signing: SigningKeys | None = None,
) -> PolledBatch:
    """Decode every record of a ``KafkaConsumer.poll`` result (``{TopicPartition: [records]}``)
    with ``decode`` (the envelope decoder, given the consumer's desks); with ``signing``, a record
    it does not verify is a dead letter before it is decoded."""
    batch = PolledBatch()
    for tp, records in polled.items():
        if not records:
            continue
        for record in records:
            if record.value is None:
                batch.dead.append(DeadLetter.of(record, "no value (a tombstone)"))
                continue
            refused = None if signing is None else signing.refusal(record.value, record.headers)
            if refused is not None:
                batch.dead.append(DeadLetter.of(record, refused))
                continue
            try:
                batch.envelopes.append(decode(record.value))
                batch.origins.append((tp.partition, record.offset))
            except EnvelopeError as error:
                batch.dead.append(DeadLetter.of(record, error.reason))
        batch.next_offsets[tp.partition] = records[-1].offset + 1
        batch.records += len(records)
    return batch

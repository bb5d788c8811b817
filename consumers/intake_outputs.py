"""What the intake writes for a batch of records: answers and dead letters, as plain values.

``answers_for`` is the whole transform ``records -> records to send`` (Kafka I/O stays in
``consumers.intake``). Every record gets exactly one answer on ``tickets.intake.results``, keyed
by its command id (or ``partition:offset`` when it has none), its value ``Answer.as_map()`` in
msgpack, with headers ``content-type``, ``status`` and the sender's ``service`` header repeated,
so a service can pick its own answers. A record that is not a well-formed command from an allowed
service, or that broke in an unexpected way, is also kept on ``tickets.dlq`` (see
``consumers.dead_letters``) with the reason, the original bytes, topic, partition and offset.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import msgpack

from consumers.dead_letters import DeadLetter
from consumers.intake_apply import Applied, apply_commands
from consumers.intake_messages import (
    SERVICE_HEADER,
    Command,
    Headers,
    IntakeRecord,
    Refusal,
    answer_key,
    read_record,
)
from consumers.kafka_settings import CONTENT_TYPE_HEADER, Topics
from consumers.staging import StagingDesk
from domain.commands import Answer

ANSWER_CONTENT_TYPE = "application/msgpack; schema=intake-answer-v1"
STATUS_HEADER = "status"


@dataclass(frozen=True)
class Outgoing:
    topic: str
    key: bytes | None
    value: bytes
    headers: Headers


@dataclass
class BatchOutcome:
    outgoing: list[Outgoing] = field(default_factory=list)
    accepted: int = 0
    rejected: int = 0
    dead_letters: list[DeadLetter] = field(default_factory=list)


def answer_record(topic: str, record: IntakeRecord, answer: Answer) -> Outgoing:
    status = "accepted" if answer.accepted else "rejected"
    headers: Headers = [(CONTENT_TYPE_HEADER, ANSWER_CONTENT_TYPE.encode("ascii")),
                        (STATUS_HEADER, status.encode("ascii"))]
    headers += [(name, value) for name, value in record.headers if name == SERVICE_HEADER][:1]
    key = answer_key(record, answer.command_id).encode("utf-8")
    return Outgoing(topic, key, msgpack.packb(answer.as_map(), use_bin_type=True), headers)


def dead_letter(record: IntakeRecord, reason: str) -> DeadLetter:
    return DeadLetter(reason=reason, topic=record.topic, partition=record.partition,
                      offset=record.offset, timestamp_ms=record.timestamp_ms, key=record.key,
                      value=record.value, headers=list(record.headers))


def dead_letter_record(topic: str, letter: DeadLetter, group_id: str) -> Outgoing:
    return Outgoing(topic, letter.key, letter.value_bytes(group_id), letter.dlq_headers())


def _refused(refusal: Refusal) -> Answer:
    return Answer(refusal.command_id, False, error=refusal.error())


def answers_for(
    desk: StagingDesk, records: Sequence[IntakeRecord], topics: Topics, group_id: str,
    allowed: frozenset[str] | None,
) -> BatchOutcome:
    """Apply the batch's commands and say what to send, in the records' order."""
    read = [read_record(record, allowed) for record in records]
    applied = iter(apply_commands(desk, [r for r in read if isinstance(r, Command)]))
    outcome = BatchOutcome()
    for item in read:
        letter: DeadLetter | None = None
        if isinstance(item, Refusal):
            answer = _refused(item)
            letter = dead_letter(item.record, f"{item.field}: {item.rule}: {item.reason}")
        else:
            done: Applied = next(applied)
            answer = done.answer
            if done.dead_letter_reason is not None:
                letter = dead_letter(item.record, done.dead_letter_reason)
        outcome.outgoing.append(answer_record(topics.intake_results, item.record, answer))
        if letter is not None:
            outcome.dead_letters.append(letter)
            outcome.outgoing.append(dead_letter_record(topics.dlq, letter, group_id))
        if answer.accepted:
            outcome.accepted += 1
        else:
            outcome.rejected += 1
    return outcome

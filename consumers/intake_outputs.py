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
from typing import Any

import msgpack

from tickets.application.commands import Answer
from tickets.consumers.dead_letters import DEAD_LETTER_MAX_BYTES, DeadLetter
from tickets.consumers.intake_apply import Applied, apply_commands
from tickets.consumers.intake_messages import (
    SERVICE_HEADER,
    Allowed,
    Command,
    Headers,
    IntakeRecord,
    Refusal,
    answer_key,
    read_record,
)
from tickets.consumers.kafka_settings import CONTENT_TYPE_HEADER, Topics
from tickets.consumers.staging import StagingDesk

ANSWER_CONTENT_TYPE = "application/msgpack; schema=intake-answer-v1"
STATUS_HEADER = "status"
#: A longer ``service`` header cannot be a service id (1-128 characters): it is not repeated.
MAX_SERVICE_HEADER = 512
#: Error texts in answers are cut to this many characters (they may quote what was sent).
MAX_ERROR_TEXT = 1000


@dataclass(frozen=True)
class Outgoing:
    topic: str
    key: bytes | None
    value: bytes
    headers: Headers
    #: The record this is about, and the dead letter's reason (None: an answer), for parking.
    record: IntakeRecord | None = None
    reason: str | None = None
    parked: bool = False


@dataclass
class BatchOutcome:
    outgoing: list[Outgoing] = field(default_factory=list)
    accepted: int = 0
    rejected: int = 0
    dead_letters: list[DeadLetter] = field(default_factory=list)


def answer_record(topic: str, record: IntakeRecord, answer: Answer) -> Outgoing:
    """The answer's record; never larger than a few KiB, whatever the command carried (the
    ``service`` header is repeated only when it can be a service id, an error message is cut)."""
    status = "accepted" if answer.accepted else "rejected"
    headers: Headers = [(CONTENT_TYPE_HEADER, ANSWER_CONTENT_TYPE.encode("ascii")),
                        (STATUS_HEADER, status.encode("ascii"))]
    headers += [(name, value) for name, value in record.headers
                if name == SERVICE_HEADER and len(value) <= MAX_SERVICE_HEADER][:1]
    key = answer_key(record, answer.command_id).encode("utf-8")
    return Outgoing(topic, key, msgpack.packb(_bounded(answer.as_map()), use_bin_type=True), headers,
                    record)


def _bounded(answer: dict[str, Any]) -> dict[str, Any]:
    error = answer.get("error")
    if isinstance(error, dict) and any(isinstance(v, str) and len(v) > MAX_ERROR_TEXT
                                       for v in error.values()):
        answer["error"] = {k: v[:MAX_ERROR_TEXT] if isinstance(v, str) else v for k, v in error.items()}
    return answer


def dead_letter(record: IntakeRecord, reason: str) -> DeadLetter:
    return DeadLetter(reason=reason, topic=record.topic, partition=record.partition,
                      offset=record.offset, timestamp_ms=record.timestamp_ms, key=record.key,
                      value=record.value, headers=list(record.headers))


def dead_letter_record(topic: str, letter: DeadLetter, group_id: str, record: IntakeRecord,
                       max_bytes: int = DEAD_LETTER_MAX_BYTES) -> Outgoing:
    sent = letter.record(group_id, max_bytes)
    return Outgoing(topic, sent.key, sent.value, sent.headers, record, letter.reason)


def parked_record(dlq: str, refused: Outgoing, group_id: str, attempts: int, error: str) -> Outgoing:
    """In place of ``refused`` (an answer or a dead letter the broker would not take): the parked
    dead letter of its record (``DeadLetter.parked``), saying what was refused and why."""
    if refused.record is None:
        raise ValueError("only what is about an intake record can be parked")
    what = "answer" if refused.reason is None else f"dead letter ({refused.reason})"
    letter = dead_letter(refused.record, f"parked: its {what} was refused {attempts} times: {error}")
    sent = letter.parked(group_id, attempts)
    return Outgoing(dlq, sent.key, sent.value, sent.headers, refused.record, letter.reason, parked=True)


def _refused(refusal: Refusal) -> Answer:
    return Answer(refusal.command_id, False, error=refusal.error())


def answers_for(
    desk: StagingDesk, records: Sequence[IntakeRecord], topics: Topics, group_id: str,
    allowed: Allowed, dead_letter_max_bytes: int = DEAD_LETTER_MAX_BYTES,
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
            outcome.outgoing.append(dead_letter_record(topics.dlq, letter, group_id, item.record,
                                                       dead_letter_max_bytes))
        if answer.accepted:
            outcome.accepted += 1
        else:
            outcome.rejected += 1
    return outcome

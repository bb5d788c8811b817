"""The record that a data subject's personal data was erased: who asked, when, on which basis.

One ``PersonalDataErasure`` aggregate per data subject, its id ``uuid5`` of the subject's id, so
"was this requester erased?" is one read, and recording the same erasure twice (a run that
completes an erasure a crash interrupted) is refused by the store instead of written twice. A
requester who comes back after an erasure gets a new key; erasing them again appends a second
``PersonalDataErased``. The event holds no personal data: the destroyed key's id, the actor who
asked, the legal basis as given, and the time.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from tickets.domain.numbers import NAMESPACE


def erasure_id(subject: str) -> UUID:
    return uuid5(NAMESPACE, f"erasure/{subject}")


def new_erasure(subject: str, at: datetime) -> PersonalDataErasure:
    """The subject's erasure record (the subject's id names it; no event carries the id)."""
    return PersonalDataErasure._create(PersonalDataErasure.Started, id=erasure_id(subject),
                                       occurred_at=at)


class PersonalDataErasure(Aggregate):
    class Started(Aggregate.Created):
        occurred_at: datetime

    class PersonalDataErased(Aggregate.Event):
        occurred_at: datetime
        key_id: str
        asked_by: str
        basis: str

    @event(Started)
    def __init__(self, occurred_at: datetime) -> None:
        self.erasures: list[tuple[str, datetime, str, str]] = []  # key id, at, asked by, basis

    @event(PersonalDataErased)
    def record(self, occurred_at: datetime, key_id: str, asked_by: str, basis: str) -> None:
        self.erasures.append((key_id, occurred_at, asked_by, basis))

    def erased(self, key_id: str) -> bool:
        return any(found == key_id for found, *_ in self.erasures)

    @property
    def last_erased_at(self) -> datetime | None:
        return self.erasures[-1][1] if self.erasures else None

"""What is personal data, declared once, and how it travels: sealed under its data subject's key.

The data subject of a ticket is its requester (``Opened.requester``, a pseudonymous id such as a
customer number, never a name: ``domain.actor``); the id stays readable, since it names the key.
Personal are the contact fields every desk may carry (``CONTACT_FIELDS``) and any field a desk marks
``personal = true`` in its policy file (``title`` and free text such as an error message included).

Before the Opened event is recorded, the desk seals each personal value with the subject's key
(``Sealer``): the event holds a ``SEALED_PREFIX`` text carrying the key id, the nonce and the
ciphertext, never the key. Everything that applies events (the aggregate, the SLA clocks, every
projection) works on what is stored and never needs the plaintext; only what shows a ticket to a
person opens the values (``Opener``), at read time, so destroying the key erases them everywhere at
once. Events stored before sealing keep their plaintext values and read as they always did.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from tickets.domain.policy import Desk

#: The requester's contact details: personal on every desk.
CONTACT_FIELDS = frozenset({"contact_name", "contact_email", "contact_phone"})
#: A sealed value starts with this: ``sealed:v1:<key id>:<nonce>:<ciphertext>`` (base64url).
SEALED_PREFIX = "sealed:v1:"
#: What a sealed value reads as once its subject's key is destroyed.
ERASED = "[erased]"
#: What a sealed value reads as where no key table is at hand (a consumer that holds no keys).
SEALED = "[sealed]"
#: What a sealed value reads as when it does not open under its key (it was changed after sealing).
UNREADABLE = "[unreadable]"


def is_sealed(value: object) -> bool:
    return type(value) is str and value.startswith(SEALED_PREFIX)


def personal_fields(desk: Desk) -> frozenset[str]:
    """The names of this desk's personal fields (``title`` among them if the desk marks it)."""
    marked = frozenset(name for name, rule in desk.required_fields.items() if rule.personal)
    return CONTACT_FIELDS | marked


class Sealer(Protocol):
    """Seals values under a data subject's key (creating the key on the subject's first use)."""

    def seal(self, subject: str, values: Mapping[str, str]) -> dict[str, str]: ...


class Opener(Protocol):
    """Opens a sealed value: its plaintext, or ``ERASED`` when the subject's key is destroyed."""

    def open(self, name: str, value: str) -> str: ...


class SubjectKeys(Sealer, Opener, Protocol):
    """The key table as the desk sees it."""

    def holds(self, subject: str) -> bool:
        """Whether the subject has a live key (personal data of theirs can still be read)."""
        ...

    def generation(self) -> int:
        """A number that changes whenever a key may have been destroyed (answers built before
        it may show what is now erased)."""
        ...


class NoKeys:
    """No key table: nothing is sealed, and sealed values stay sealed (``SEALED``)."""

    def seal(self, subject: str, values: Mapping[str, str]) -> dict[str, str]:
        return dict(values)

    def open(self, name: str, value: str) -> str:
        return SEALED if is_sealed(value) else value

    def holds(self, subject: str) -> bool:
        return True

    def generation(self) -> int:
        return 0


def seal_opening(sealer: Sealer, desk: Desk, requester: str, title: str,
                 fields: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """The title and fields with the desk's personal values sealed under the requester's key."""
    names = personal_fields(desk)
    wanted = {k: v for k, v in fields.items() if k in names and v}
    if "title" in names:
        wanted["title"] = title
    if not wanted:
        return title, dict(fields)
    sealed = sealer.seal(requester, wanted)
    title = sealed.pop("title", title)
    return title, {**fields, **sealed}


def open_values(opener: Opener, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with every sealed value opened (plaintext, or ``ERASED``)."""
    return {k: opener.open(k, v) if is_sealed(v) else v for k, v in values.items()}


def open_payload(opener: Opener, payload: Mapping[str, Any]) -> Mapping[str, Any]:
    """An event payload with its sealed title and fields opened; other payloads as they are."""
    fields = payload.get("fields")
    title = payload.get("title")
    if not is_sealed(title) and not (
            isinstance(fields, Mapping) and any(is_sealed(v) for v in fields.values())):
        return payload
    opened = dict(payload)
    if isinstance(title, str) and is_sealed(title):
        opened["title"] = opener.open("title", title)
    if isinstance(fields, Mapping):
        opened["fields"] = open_values(opener, fields)
    return opened


def hidden(name: str, value: object) -> bool:
    """Whether a reader without the right to personal data must not see this field's value."""
    return name in CONTACT_FIELDS or is_sealed(value)

"""Human ticket numbers: short, unique, quotable on the phone, and resolvable to the ticket id.

A number is the desk's prefix and six Crockford base-32 characters (no I, L, O or U, so nothing
is misheard), e.g. ``WEB-7K3M9Q``. The ticket id is ``uuid5`` of the number, so resolving a
number needs no index, and the event store's unique (id, version) key makes numbers unique:
a colliding number fails to save and a new one is drawn.
"""

from __future__ import annotations

import random
import re
from functools import lru_cache
from uuid import UUID, uuid5

from tickets.domain.errors import ValidationError

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
NAMESPACE = UUID("8d6b2f7e-3c1a-5e4f-9a0b-7c2d1e6f5a43")
_NUMBER = re.compile(r"[A-Z]{2,4}-[0-9A-HJKMNP-TV-Z]{6}")


def new_number(prefix: str, rng: random.Random) -> str:
    return prefix + "-" + "".join(rng.choice(ALPHABET) for _ in range(6))


def normalise_number(text: str) -> str:
    """Accept what people type: lower case, spaces, and the look-alikes O→0, I/L→1."""
    cleaned = text.strip().upper().replace(" ", "")
    head, sep, tail = cleaned.partition("-")
    if sep:
        cleaned = head + "-" + tail.replace("O", "0").replace("I", "1").replace("L", "1")
    if not _NUMBER.fullmatch(cleaned):
        raise ValidationError(
            f"{text!r} is not a ticket number (like WEB-7K3M9Q)",
            field="ticket", rule="ticket_number_format",
        )
    return cleaned


@lru_cache(maxsize=65_536)
def ticket_id_for(number: str) -> UUID:
    """The ticket id of a number (memoized: a ticket's number is resolved for each of its commands)."""
    return uuid5(NAMESPACE, number)


def looks_like_number(text: str) -> bool:
    try:
        normalise_number(text)
    except ValidationError:
        return False
    return True

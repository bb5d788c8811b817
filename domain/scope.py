"""Desk scopes: the desks a token or an intake service serves; other desks' tickets do not exist for it.

A scope is a set of desk ids, or every desk (said explicitly when a token is issued, never assumed).
``covers`` answers for a desk, ``covers_number`` for a ticket number (its prefix names the desk, so
no ticket is loaded). A scope is stored as text: ``*`` for every desk, else the desk ids sorted and
separated by commas (desk ids are lower-case letters, digits and ``-``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tickets.domain.catalogue import Catalogue
from tickets.domain.errors import ValidationError

EVERY = "*"


@dataclass(frozen=True)
class DeskScope:
    """``desks`` None: every desk; otherwise exactly these (never empty)."""

    desks: frozenset[str] | None = None

    @property
    def every(self) -> bool:
        return self.desks is None

    def covers(self, desk_id: str) -> bool:
        return self.desks is None or desk_id in self.desks

    def covers_number(self, number: str | None, catalogue: Catalogue) -> bool:
        """Whether a ticket number's desk is covered (its prefix is the desk's ``ticket_prefix``)."""
        if self.desks is None:
            return True
        prefix = (number or "").split("-", 1)[0].upper()
        return any(d.ticket_prefix == prefix for d in catalogue.desks() if d.id in self.desks)

    def within(self, desk_ids: Iterable[str]) -> list[str]:
        """The given desk ids this scope covers, in their order."""
        return [d for d in desk_ids if self.covers(d)]

    def text(self) -> str:
        return EVERY if self.desks is None else ",".join(sorted(self.desks))

    def names(self) -> list[str]:
        """For people and JSON: ``["*"]`` or the desk ids, sorted."""
        return [EVERY] if self.desks is None else sorted(self.desks)

    @classmethod
    def from_text(cls, text: str) -> DeskScope:
        if text == EVERY:
            return EVERY_DESK
        return cls(frozenset(d for d in text.split(",") if d))


EVERY_DESK = DeskScope()


def check_desk_within(desk: str, desks: DeskScope) -> None:
    """Refuse a new ticket on a desk outside ``desks``, alike for a desk that is not there at all.

    The refusal lists the scope's own desks only, so it tells nothing of the others.
    """
    if not desks.covers(desk):
        raise ValidationError(f"desk {desk!r} is not one of this sender's desks: "
                              f"{', '.join(desks.names())}", field="desk", rule="desk_in_scope")


def scope_of(catalogue: Catalogue, desks: Sequence[str] | None, every: bool, *,
             field: str = "desk", every_field: str = "all_desks") -> DeskScope:
    """The scope asked for: some desks of the catalogue, or every desk, exactly one of the two.

    Refusals name ``field`` (the option or key that lists desks) and the rule.
    """
    if every and desks:
        raise ValidationError(f"give either {field} or {every_field}, not both", field=field,
                              rule="desks_or_all_desks")
    if every:
        return EVERY_DESK
    if not desks:
        raise ValidationError(f"{field} is required: name one or more desks, or say {every_field}",
                              field=field, rule="desks_required")
    known = sorted(d.id for d in catalogue.desks())
    for desk in desks:
        if desk not in known:
            raise ValidationError(f"{field} {desk!r} is not a desk of the catalogue; known desks: "
                                  f"{', '.join(known)}", field=field, rule="known_desk")
    return DeskScope(frozenset(desks))

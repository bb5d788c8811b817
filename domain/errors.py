"""The ``TicketError`` family: every refusal names the ticket (where there is one), the field and the rule."""

from __future__ import annotations


class TicketError(Exception):
    """A command was refused. ``field`` and ``rule`` say what was wrong, for people and for machines."""

    code = "invalid"

    def __init__(
        self, message: str, *, field: str | None = None, rule: str | None = None,
        ticket: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.rule = rule
        self.ticket = ticket

    def as_dict(self) -> dict[str, str | None]:
        return {
            "error": self.code,
            "message": self.message,
            "field": self.field,
            "rule": self.rule,
            "ticket": self.ticket,
        }

    def __str__(self) -> str:
        where = f"ticket {self.ticket}: " if self.ticket else ""
        detail = ", ".join(
            f"{k}={v}" for k, v in (("field", self.field), ("rule", self.rule)) if v
        )
        return f"{where}{self.message}" + (f" ({detail})" if detail else "")


class ValidationError(TicketError):
    """A field is missing or malformed."""

    code = "validation"


class LifecycleError(TicketError):
    """The command does not fit the ticket's current state (closed, already pending, ...)."""

    code = "lifecycle"


class TimeOrderError(TicketError):
    """``occurred_at`` is in the future or before the ticket's previous event."""

    code = "time_order"


class EntitlementError(TicketError):
    """The actor may not do this under the desk's policy or the contract."""

    code = "entitlement"


class ConcurrencyError(TicketError):
    """Another command changed the ticket first; reload and try again."""

    code = "concurrency"


class TicketNotFoundError(TicketError):
    """No ticket has this id or number."""

    code = "not_found"


def ticket_not_found(ref: object) -> TicketNotFoundError:
    """The one refusal for a ticket that is not there, or not there for this caller's desks."""
    return TicketNotFoundError(f"no ticket {ref}", field="ticket", rule="known_ticket", ticket=str(ref))


class PolicyError(TicketError):
    """A policy file, calendar or desk name is unknown or invalid: names file, key and reason."""

    code = "policy"

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None) -> None:
        super().__init__(message, field=key, rule="policy")
        self.file = file
        self.key = key

    def __str__(self) -> str:
        where = ": ".join(p for p in (self.file, self.key) if p)
        return f"{where}: {self.message}" if where else self.message

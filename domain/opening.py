"""What a new ticket must carry: title, the desk's required fields, and well-formed values."""

from __future__ import annotations

import re
from collections.abc import Mapping

from tickets.domain.errors import ValidationError
from tickets.domain.personal import CONTACT_FIELDS, SEALED_PREFIX
from tickets.domain.policy import Desk

_FIELD_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
MAX_TITLE = 200
MAX_VALUE = 10_000
MAX_FIELDS = 50

#: Fields that hold personal data on every desk: masked in exports and responses unless a role may
#: see them, and sealed before they are stored (declared in ``domain.personal``).
PERSONAL_FIELDS = CONTACT_FIELDS


def check_title(title: object) -> str:
    if not isinstance(title, str) or not title.strip():
        raise ValidationError("a title is required", field="title", rule="required")
    _check_not_sealed("title", title)
    if len(title) > MAX_TITLE:
        raise ValidationError(
            f"the title is {len(title)} characters; at most {MAX_TITLE}",
            field="title", rule="max_length",
        )
    return title.strip()


def _check_not_sealed(name: str, value: str) -> None:
    """A sender's value never looks sealed: a copy of another requester's sealed value, sent in
    a field of one's own, would otherwise be opened for whoever reads one's ticket."""
    if value.lstrip().startswith(SEALED_PREFIX):
        raise ValidationError(
            f"{name} may not start with {SEALED_PREFIX!r} (kept for sealed personal data)",
            field=name, rule="not_sealed_text")


def check_fields(desk: Desk, fields: Mapping[str, object]) -> dict[str, str]:
    """Return the fields as strings, or refuse the first missing or malformed one."""
    if len(fields) > MAX_FIELDS:
        raise ValidationError(f"at most {MAX_FIELDS} fields", field="fields", rule="max_fields")
    checked: dict[str, str] = {}
    for name, value in fields.items():
        if not isinstance(name, str) or not _FIELD_NAME.fullmatch(name):
            raise ValidationError(
                f"field name {name!r} must be lower-case letters, digits and _ (at most 40)",
                field=f"fields.{name}", rule="field_name_format",
            )
        if not isinstance(value, str):
            raise ValidationError(
                f"{name} must be text, not {type(value).__name__}",
                field=name, rule="text",
            )
        _check_not_sealed(name, value)
        if len(value) > MAX_VALUE:
            raise ValidationError(
                f"{name} is longer than {MAX_VALUE} characters", field=name, rule="max_length"
            )
        checked[name] = value.strip()
    for name, rule in desk.required_fields.items():
        value = checked.get(name, "")
        if not value:
            raise ValidationError(
                f"{name} is required by desk {desk.id}: {rule.description}",
                field=name, rule="required",
            )
        if rule.pattern is not None and not re.fullmatch(rule.pattern, value):
            raise ValidationError(
                f"{name} must be {rule.description}", field=name, rule="format"
            )
    return checked

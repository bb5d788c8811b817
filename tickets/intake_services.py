"""The intake's services file (``TICKETS_INTAKE_SERVICES_FILE``): each service and the desks it serves.

```toml
[services.webform]
desks = ["web", "zoom"]      # opens tickets and acts for requesters on these desks only

[services.mail-gw]
all_desks = true             # every desk, said explicitly
```

Each service says exactly one of ``desks`` (one or more desk ids) or ``all_desks = true``; any
other key is refused, so a misspelt one is never silently ignored. The file's shape is checked
when the settings are read (a ``RuleError`` naming the key and the rule); that each desk is one
of the catalogue's is checked when the intake starts (``tickets.config.intake_services_of``),
where the catalogue is.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tickets.domain.actor import Actor
from tickets.domain.errors import ValidationError
from tickets.domain.scope import EVERY_DESK, DeskScope
from tickets.rules import RuleError, valid_text

#: A service name → the desks it serves.
Services = Mapping[str, DeskScope]
MAX_FILE_BYTES = 1024 * 1024


def read_services_file(text: str) -> dict[str, DeskScope]:
    path = Path(valid_text(text).strip())
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise RuleError("readable_file", f"cannot read {path}: {error.strerror}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise RuleError("max_bytes", f"{path} is larger than {MAX_FILE_BYTES} bytes")
    try:
        document = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise RuleError("toml", f"{path} is not TOML: {error}") from None
    return services_of(document, path)


def services_of(document: Mapping[str, Any], path: Path) -> dict[str, DeskScope]:
    unknown = sorted(set(document) - {"services"})
    if unknown:
        raise RuleError("known_key", f"{path}: unknown key {unknown[0]!r}; the file holds [services.NAME]")
    services = document.get("services")
    if not isinstance(services, dict) or not services:
        raise RuleError("services_table", f"{path}: name one or more services as [services.NAME]")
    return {name: _service(name, entry, path) for name, entry in services.items()}


def _service(name: str, entry: Any, path: Path) -> DeskScope:
    where = f"{path}: services.{name}"
    try:
        Actor("service", name)
    except ValidationError:
        raise RuleError("service_id", f"{where}: not a service id (letters, digits and ._@+-, "
                                      "at most 128)") from None
    if not isinstance(entry, dict):
        raise RuleError("service_table", f"{where} must be a table with desks or all_desks")
    unknown = sorted(set(entry) - {"desks", "all_desks"})
    if unknown:
        raise RuleError("known_key", f"{where}: unknown key {unknown[0]!r}; use desks or all_desks")
    desks, every = entry.get("desks"), entry.get("all_desks", False)
    if not isinstance(every, bool):
        raise RuleError("all_desks", f"{where}.all_desks must be true or false")
    if every and desks is not None:
        raise RuleError("desks_or_all_desks", f"{where}: give desks or all_desks = true, not both")
    if every:
        return EVERY_DESK
    if not isinstance(desks, list) or not desks or not all(isinstance(d, str) and d for d in desks):
        raise RuleError("desks_required", f"{where}.desks must list one or more desk ids "
                                          "(or say all_desks = true)")
    return DeskScope(frozenset(desks))


def every_desk_for(names: frozenset[str]) -> dict[str, DeskScope]:
    """The older ``TICKETS_INTAKE_SERVICES`` list: each named service on every desk."""
    return dict.fromkeys(names, EVERY_DESK)


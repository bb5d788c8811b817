"""Policy files: read the TOML files that describe desks, validate them, and look desks up.

A desk is one file (the format is in ``docs/policies.md``). The shipped desks live in
``domain/policies/``; a user adds a desk by dropping a file into a directory passed to
:func:`load_catalogue`. Every mistake in a file is a :class:`PolicyError` naming the file, the
dotted key and the reason, so a typo never passes silently. The reading is done by
``policy_toml`` (typed tables), ``desk_loader`` and ``policy_calendars`` (the desk and its
calendars) and ``durations`` (durations as written).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from domain.desk_loader import read_desk
from domain.durations import parse_duration
from domain.errors import PolicyError, ValidationError
from domain.policy import Desk
from domain.policy_toml import Location, read_toml

__all__ = [
    "Catalogue", "Location", "load_catalogue", "load_desk", "parse_duration", "shipped_policies",
]


def load_desk(path: Location) -> Desk:
    """Read and validate one policy file; raise :class:`PolicyError` naming file, key and reason."""
    return read_desk(read_toml(path))


# ---------------------------------------------------------------- the catalogue


class Catalogue:
    """The desks known to the engine, by id. Refuses two desks with one id or one ticket prefix."""

    def __init__(self, desks: Iterable[Desk] = ()) -> None:
        self._desks: dict[str, Desk] = {}
        prefixes: dict[str, Desk] = {}
        for desk in desks:
            for seen, value, key in ((self._desks, desk.id, "id"),
                                     (prefixes, desk.ticket_prefix, "ticket_prefix")):
                if value in seen:
                    raise PolicyError(
                        f"desk {key} {value!r} is already used by {seen[value].source}",
                        file=desk.source, key=f"desk.{key}")
            self._desks[desk.id] = prefixes[desk.ticket_prefix] = desk

    def desk(self, desk_id: str) -> Desk:
        try:
            return self._desks[desk_id]
        except KeyError:
            raise ValidationError(
                f"no desk {desk_id!r}; known desks: {', '.join(sorted(self._desks))}",
                field="desk", rule="known_desk",
            ) from None

    def desks(self) -> Iterator[Desk]:
        return iter(self._desks.values())

    def __contains__(self, desk_id: object) -> bool:
        return desk_id in self._desks

    def __len__(self) -> int:
        return len(self._desks)


def shipped_policies() -> Traversable:
    """The directory of policy files that ships with the package."""
    return resources.files("domain").joinpath("policies")


def load_catalogue(
    directory: Location | None = None, extra_dirs: Iterable[Location] = ()
) -> Catalogue:
    """Load every ``*.toml`` in ``directory`` (default: the shipped desks) and in ``extra_dirs``."""
    folders = [shipped_policies() if directory is None else directory, *extra_dirs]
    return Catalogue(load_desk(file) for folder in folders for file in _policy_files(folder))


def _policy_files(folder: Location) -> list[Traversable]:
    where = folder if isinstance(folder, Traversable) else Path(folder)
    if not where.is_dir():
        raise PolicyError("policy directory does not exist", file=str(folder))
    return sorted(
        (f for f in where.iterdir()
         if f.is_file() and f.name.endswith(".toml") and not f.name.startswith(".")),
        key=lambda f: f.name,
    )

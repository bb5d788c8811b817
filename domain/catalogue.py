"""Policy files: read the TOML files that describe desks, validate them, and look desks up.

Each version of a desk is one file (the format is in ``docs/policies.md``). The shipped desks
live in ``domain/policies/``, the versions they superseded in ``domain/policies/superseded/``
(kept so the tickets opened under them keep their figures); a user adds a desk by dropping a file
into a directory passed to :func:`load_catalogue`. Every mistake in a file is a
:class:`PolicyError` naming the file, the dotted key and the reason, so a typo never passes
silently. The reading is done by ``policy_toml`` (typed tables), ``desk_loader`` and
``policy_calendars`` (the desk and its calendars) and ``durations`` (durations as written).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from tickets.domain.desk_loader import read_desk
from tickets.domain.durations import parse_duration
from tickets.domain.errors import PolicyError, ValidationError
from tickets.domain.policy import Desk
from tickets.domain.policy_toml import Location, read_toml

#: The folder, inside a policy directory, that holds the superseded versions of its desks.
SUPERSEDED = "superseded"

__all__ = [
    "Catalogue", "Location", "load_catalogue", "load_desk", "parse_duration", "shipped_policies",
]


def load_desk(path: Location) -> Desk:
    """Read and validate one policy file; raise :class:`PolicyError` naming file, key and reason."""
    return read_desk(read_toml(path))


# ---------------------------------------------------------------- the catalogue


class Catalogue:
    """The desks known to the engine: every version of each, by id and version.

    A desk's current version is its highest; new tickets open under it. A ticket opened under an
    older version keeps it (``Opened`` records ``policy_version``), so its clocks are computed
    with the rules and holiday dates it ran under: ``desk(id, facts.policy_version)``. Refuses
    two files with one id and version, and one ticket prefix used by two desks (the versions of
    one desk share theirs).
    """

    def __init__(self, desks: Iterable[Desk] = ()) -> None:
        self._current: dict[str, Desk] = {}
        self._versions: dict[tuple[str, int], Desk] = {}
        prefixes: dict[str, Desk] = {}
        for desk in desks:
            if (seen := self._versions.get((desk.id, desk.version))) is not None:
                raise PolicyError(
                    f"desk id {desk.id!r} version {desk.version} is already used by "
                    f"{seen.source}; a changed file needs a higher version",
                    file=desk.source, key="desk.version")
            if (owner := prefixes.get(desk.ticket_prefix, desk)).id != desk.id:
                raise PolicyError(
                    f"desk ticket_prefix {desk.ticket_prefix!r} is already used by {owner.source}",
                    file=desk.source, key="desk.ticket_prefix")
            prefixes[desk.ticket_prefix] = self._versions[desk.id, desk.version] = desk
            current = self._current.get(desk.id)
            if current is None or desk.version > current.version:
                self._current[desk.id] = desk

    def desk(self, desk_id: str, version: int | None = None) -> Desk:
        """The desk's current version, or exactly ``version`` (a ticket's ``policy_version``)."""
        found = (self._current.get(desk_id) if version is None
                 else self._versions.get((desk_id, version)))
        if found is not None:
            return found
        if desk_id not in self._current:
            raise ValidationError(
                f"no desk {desk_id!r}; known desks: {', '.join(sorted(self._current))}",
                field="desk", rule="known_desk",
            )
        raise ValidationError(
            f"desk {desk_id} has no policy version {version!r}; known versions: "
            f"{', '.join(str(d.version) for d in self.versions(desk_id))}",
            field="policy_version", rule="known_policy_version",
        )

    def desks(self) -> Iterator[Desk]:
        """The current version of every desk."""
        return iter(self._current.values())

    def versions(self, desk_id: str) -> list[Desk]:
        """Every version of the desk, oldest first (the last is the current one)."""
        self.desk(desk_id)
        return sorted((d for (i, _), d in self._versions.items() if i == desk_id),
                      key=lambda d: d.version)

    def __contains__(self, desk_id: object) -> bool:
        return desk_id in self._current

    def __len__(self) -> int:
        return len(self._current)


def shipped_policies() -> Traversable:
    """The directory of policy files that ships with the package (superseded versions in its
    ``superseded/`` folder)."""
    return resources.files("tickets.domain").joinpath("policies")


def load_catalogue(
    directory: Location | None = None, extra_dirs: Iterable[Location] = ()
) -> Catalogue:
    """Load every ``*.toml`` in ``directory`` (default: the shipped desks) and in ``extra_dirs``,
    and in each one's ``superseded/`` folder if it has one (older versions of its desks)."""
    folders = [shipped_policies() if directory is None else directory, *extra_dirs]
    return Catalogue(load_desk(file) for folder in folders for file in _policy_files(folder))


def _policy_files(folder: Location) -> list[Traversable]:
    where = folder if isinstance(folder, Traversable) else Path(folder)
    if not where.is_dir():
        raise PolicyError("policy directory does not exist", file=str(folder))
    superseded = where.joinpath(SUPERSEDED)
    return _toml_files(where) + (_toml_files(superseded) if superseded.is_dir() else [])


def _toml_files(where: Traversable) -> list[Traversable]:
    return sorted(
        (f for f in where.iterdir()
         if f.is_file() and f.name.endswith(".toml") and not f.name.startswith(".")),
        key=lambda f: f.name,
    )

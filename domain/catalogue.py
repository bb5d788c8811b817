"""The desks the engine knows: every version of each, looked up by id and version.

The files that describe them are read by ``application.policy_files``; the tables become desks in
``desk_loader`` and ``policy_calendars``, with durations as written read by ``durations``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from tickets.domain.errors import PolicyError, ValidationError
from tickets.domain.policy import Desk

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



"""The editor registry of a site: at most N editors may open tickets for it.

One small aggregate per (desk, site). Two people registering the last free place at once both
load version N and try to save version N+1; the store accepts one and the other is retried
against the new state, where it finds the registry full. So the limit holds under concurrency.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from tickets.domain.errors import EntitlementError, LifecycleError
from tickets.domain.numbers import NAMESPACE


def registry_id(desk: str, site_id: str) -> UUID:
    return uuid5(NAMESPACE, f"editors/{desk}/{site_id}")


class SiteEditors(Aggregate):
    class Registered(Aggregate.Created):
        desk: str
        site_id: str
        limit: int
        occurred_at: datetime

    class EditorAdded(Aggregate.Event):
        editor: str
        occurred_at: datetime

    class EditorRemoved(Aggregate.Event):
        editor: str
        occurred_at: datetime

    @staticmethod
    def create_id(desk: str, site_id: str) -> UUID:
        return registry_id(desk, site_id)

    @event(Registered)
    def __init__(self, desk: str, site_id: str, limit: int, occurred_at: datetime) -> None:
        self.desk = desk
        self.site_id = site_id
        self.limit = limit
        self.editors: list[str] = []

    def add(self, editor: str, at: datetime, limit: int) -> None:
        if editor in self.editors:
            raise LifecycleError(
                f"{editor} is already an editor of site {self.site_id}",
                field="editor", rule="already_editor",
            )
        if len(self.editors) >= limit:
            raise EntitlementError(
                f"site {self.site_id} already has {limit} editors, the most allowed; "
                "remove one first",
                field="editor", rule="max_editors_per_site",
            )
        self._added(editor=editor, occurred_at=at)

    @event(EditorAdded)
    def _added(self, editor: str, occurred_at: datetime) -> None:
        self.editors.append(editor)

    def remove(self, editor: str, at: datetime) -> None:
        if editor not in self.editors:
            raise LifecycleError(
                f"{editor} is not an editor of site {self.site_id}",
                field="editor", rule="known_editor",
            )
        self._removed(editor=editor, occurred_at=at)

    @event(EditorRemoved)
    def _removed(self, editor: str, occurred_at: datetime) -> None:
        self.editors.remove(editor)

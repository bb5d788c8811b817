"""What the ``tickets serve`` tests share: a change-stream reader in a thread, and a token."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx

from tickets.domain.scope import EVERY_DESK, DeskScope
from tickets.http.tokens import TokenStore
from tickets.projections.readstore import ReadStore


def token(read_model_url: str, name: str, role: str, desks: DeskScope = EVERY_DESK) -> str:
    store = ReadStore(read_model_url)
    try:
        return TokenStore(store).create(name, role, desks)
    finally:
        store.close()


class StreamReader:
    """Reads ``GET /api/stream`` in a thread and keeps every ``change`` event's data, in order."""

    def __init__(self, url: str, bearer: str) -> None:
        self.changes: list[dict[str, Any]] = []
        self.opened = threading.Event()
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(url, bearer), daemon=True)
        self._thread.start()
        if not self.opened.wait(10):
            raise AssertionError(f"the stream of {url} did not open")

    def _read(self, url: str, bearer: str) -> None:
        event = ""
        try:
            with httpx.stream("GET", f"{url}/api/stream", headers={"Authorization": f"Bearer {bearer}"},
                              timeout=httpx.Timeout(5, read=None)) as response:
                response.raise_for_status()
                for line in response.iter_lines():
                    if line.startswith("event: "):
                        event = line.removeprefix("event: ")
                    elif line.startswith("data: "):
                        if event == "change":
                            self.changes.append(json.loads(line.removeprefix("data: ")))
                        self.opened.set()
                    if self._stop.is_set():
                        return
        except BaseException as error:  # reported by the test
            if not self._stop.is_set():
                self.error = error
            self.opened.set()

    def versions(self) -> set[tuple[str, int]]:
        return {(c["ticket_id"], c["version"]) for c in list(self.changes)}

    def in_ticket_order(self) -> bool:
        """Each ticket's changes came with versions rising by one."""
        last: dict[str, int] = {}
        for change in list(self.changes):
            ticket, version = change["ticket_id"], change["version"]
            if version != last.get(ticket, version - 1) + 1:
                return False
            last[ticket] = version
        return True

    def close(self) -> None:
        self._stop.set()

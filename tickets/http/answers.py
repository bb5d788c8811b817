"""The answers the write API gave, kept per command id with the token name that asked.

A service that lost an answer (a timeout, a crash) reads it back with ``GET /api/commands/{id}``
instead of sending the command again; it sees only its own answers (auditors see all). The table
lives in the read-model database beside the tokens; the command's effect itself is in the event
store, applied once by its receipt, so this table is a convenience, never the record.
"""

from __future__ import annotations

import json
from typing import Any

from consumers.envelope import format_time
from consumers.readstore import ReadStore
from domain.clock import Clock

DDL = (
    """CREATE TABLE IF NOT EXISTS http_answers (
        command_id TEXT PRIMARY KEY, token_name TEXT NOT NULL, status TEXT NOT NULL,
        answer TEXT NOT NULL, answered_at TEXT NOT NULL)""",
)


class AnswerStore:
    def __init__(self, store: ReadStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        with store.transaction() as tx:
            for statement in DDL:
                tx.execute(statement)

    def keep(self, token_name: str, answer: dict[str, Any]) -> None:
        command_id = answer.get("command_id")
        if not isinstance(command_id, str) or not command_id:
            return
        with self.store.transaction() as tx:
            tx.execute(
                "INSERT INTO http_answers (command_id, token_name, status, answer, answered_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (command_id) DO UPDATE SET "
                "token_name = excluded.token_name, status = excluded.status, "
                "answer = excluded.answer, answered_at = excluded.answered_at",
                (command_id, token_name, answer["status"], json.dumps(answer, sort_keys=True),
                 format_time(self.clock.now())),
            )

    def find(self, command_id: str) -> tuple[str, dict[str, Any]] | None:
        """(token name, answer) of the last answer to ``command_id``."""
        rows = self.store.read("SELECT token_name, answer FROM http_answers WHERE command_id = ?",
                               (command_id,))
        return (rows[0][0], json.loads(rows[0][1])) if rows else None

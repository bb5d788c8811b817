"""The answers the write API gave, kept per sender (token name) and command id.

A service that lost an answer (a timeout, a crash) reads it back with ``GET /api/commands/{id}``
instead of sending the command again; it sees only its own answers (auditors see all, and may
name the sender with ``?sender=``). A command id belongs to its sender: another token's command with
the same id is another command, with an answer of its own. The table lives in the read-model
database beside the tokens; the command's effect itself is in the event store, applied once by
its receipt, so this table is a convenience, never the record.

``http_answers`` is where earlier versions kept one answer per command id, whoever sent it; it is
still read (only the sender it names sees its row), never written.
"""

from __future__ import annotations

import json
from typing import Any

from tickets.application.clock import Clock
from tickets.projections.readstore import ReadStore
from tickets.wire.envelope import format_time

DDL = (
    """CREATE TABLE IF NOT EXISTS http_command_answers (
        token_name TEXT NOT NULL, command_id TEXT NOT NULL, status TEXT NOT NULL,
        answer TEXT NOT NULL, answered_at TEXT NOT NULL, PRIMARY KEY (token_name, command_id))""",
    "CREATE INDEX IF NOT EXISTS http_command_answers_id ON http_command_answers (command_id)",
    """CREATE TABLE IF NOT EXISTS http_answers (
        command_id TEXT PRIMARY KEY, token_name TEXT NOT NULL, status TEXT NOT NULL,
        answer TEXT NOT NULL, answered_at TEXT NOT NULL)""",
)
_FIND = ("SELECT token_name, answer FROM {table} WHERE command_id = ?{mine} "
         "ORDER BY answered_at DESC, token_name LIMIT 1")


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
                "INSERT INTO http_command_answers (token_name, command_id, status, answer, "
                "answered_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (token_name, command_id) DO UPDATE "
                "SET status = excluded.status, answer = excluded.answer, "
                "answered_at = excluded.answered_at",
                (token_name, command_id, answer["status"], json.dumps(answer, sort_keys=True),
                 format_time(self.clock.now())),
            )

    def find(self, command_id: str, sender: str | None) -> tuple[str, dict[str, Any]] | None:
        """(token name, answer) of the last answer to ``sender``'s ``command_id``.

        ``sender`` None: anyone's (the latest), for the roles that may read every answer.
        """
        mine, params = ("", (command_id,)) if sender is None else (" AND token_name = ?",
                                                                   (command_id, sender))
        for table in ("http_command_answers", "http_answers"):
            rows = self.store.read(_FIND.format(table=table, mine=mine), params)
            if rows:
                return rows[0][0], json.loads(rows[0][1])
        return None

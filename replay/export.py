"""The audit export: every event of a ticket, a desk or a time range, with its hash chain, as files.

Rows come from the event store, sealed as the envelope defines (``prev_hash``, ``hash``), in log
order (one ticket: version order). Personal data is masked unless the caller may see it; a masked
row says so (``masked``) and no longer verifies against its hash. The output holds nothing that
depends on when it was made, so exporting the same store twice gives byte-identical files:
JSON Lines with sorted keys, and CSV with fixed columns and the payload as canonical JSON.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from tickets.application.desk import TicketDesk
from tickets.consumers.store_reader import envelopes_of_ticket
from tickets.domain.errors import ValidationError
from tickets.domain.personal import NoKeys, Opener
from tickets.replay.atomic import atomic_files
from tickets.replay.personal import shown_payload
from tickets.replay.source import StoreSource
from tickets.wire.envelope import Envelope, format_time

COLUMNS = (
    "ticket_id", "ticket_number", "desk", "version", "type", "occurred_at", "recorded_at", "actor",
    "channel", "payload", "prev_hash", "hash", "masked",
)
FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}
_READ = 5000


@dataclass(frozen=True)
class Scope:
    """Which events: all that match every filter given (none given: every event)."""

    ticket: str | None = None
    desk: str | None = None
    since: datetime | None = None  # inclusive, on occurred_at
    until: datetime | None = None  # exclusive, on occurred_at

    def check(self, app: TicketDesk) -> None:
        if self.desk is not None:
            app.catalogue.desk(self.desk)
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise ValidationError("until must be after since", field="until", rule="after_since")


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def row_of(envelope: Envelope, unmask: bool, opener: Opener | None = None) -> dict[str, Any]:
    """The export's row; ``masked`` says the payload shown is not the one stored (masked, or
    sealed values opened), so the row does not verify against its hash."""
    payload, masked = shown_payload(envelope.payload, unmask, opener or NoKeys())
    return {
        "ticket_id": envelope.ticket_id, "ticket_number": envelope.ticket_number,
        "desk": envelope.desk, "version": envelope.version, "type": envelope.type,
        "occurred_at": envelope.occurred_at, "recorded_at": envelope.recorded_at,
        "actor": envelope.actor, "channel": envelope.channel, "payload": payload,
        "prev_hash": envelope.prev_hash, "hash": envelope.hash, "masked": masked,
    }


def _matches(envelope: Envelope, scope: Scope, since: str | None, until: str | None) -> bool:
    return (
        (scope.desk is None or envelope.desk == scope.desk)
        and (since is None or envelope.occurred_at >= since)
        and (until is None or envelope.occurred_at < until)
    )


def envelopes(app: TicketDesk, scope: Scope) -> Iterator[Envelope]:
    """The matching envelopes: one ticket's by version, otherwise in log order."""
    since = format_time(scope.since) if scope.since else None
    until = format_time(scope.until) if scope.until else None
    if scope.ticket is not None:
        ticket_id = app.ticket_id(scope.ticket)
        app.history(ticket_id, until_version=1)  # an unknown ticket is refused by name
        yield from (e for e in envelopes_of_ticket(app, ticket_id) if _matches(e, scope, since, until))
        return
    source = StoreSource(app)
    after = 0
    while (batch := source.read(after, _READ)).end > after:
        yield from (e for e in batch.envelopes if _matches(e, scope, since, until))
        after = batch.end


class _Writer:
    def __init__(self, handle: IO[str], fmt: str) -> None:
        self.handle = handle
        self.csv = csv.writer(handle, lineterminator="\n") if fmt == "csv" else None
        if self.csv is not None:
            self.csv.writerow(COLUMNS)

    def write(self, row: dict[str, Any]) -> None:
        if self.csv is None:
            self.handle.write(_canonical(row) + "\n")
        else:
            self.csv.writerow([_canonical(row[c]) if c == "payload" else _cell(row[c]) for c in COLUMNS])


def _cell(value: Any) -> Any:
    return ("true" if value else "false") if isinstance(value, bool) else value


def format_of(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValidationError(
            f"{path.name}: name the file .jsonl or .csv to choose the format",
            field="out", rule="known_format",
        )
    return fmt


def export(app: TicketDesk, scope: Scope, outputs: Sequence[Path], *, unmask: bool = False) -> int:
    """Write the scope's rows to every output (format by suffix), atomically; return the row count."""
    if not outputs:
        raise ValidationError("name at least one output file", field="out", rule="required")
    formats = [format_of(path) for path in outputs]
    scope.check(app)
    rows = 0
    with atomic_files(outputs) as handles:
        writers = [_Writer(handle, fmt) for handle, fmt in zip(handles, formats, strict=True)]
        for envelope in envelopes(app, scope):
            row = row_of(envelope, unmask, app.personal)
            for writer in writers:
                writer.write(row)
            rows += 1
    return rows

"""The notification log read for a rebuild: raw rows, only the part's tickets decoded, sealed cheaply.

``replay.source.StoreSource`` reads the log through the event store's recorder and mapper and
seals each event into an ``Envelope``, as the live feed does. A rebuild reads the whole log once
per part and needs less: for each of its own tickets' events, the history entry the fold reads and
the audit trail's row (hash chain included). This source gets the same results cheaper:

- one SQL query per batch straight on the store's table (SQLite or PostgreSQL; any other
  recorder is read through ``select_notifications``), with the part's tickets picked by
  ``id % parts`` before anything is decoded (on SQLite, in the query itself when ``parts``
  divides 16: the last hex digit of the stored id decides);
- the stored JSON decoded once, with times turned straight into the envelope's wire text (what
  ``projections.envelope.wire_value`` gives), so the payload is already as it travels;
- the payload's canonical JSON built once: the audit row stores it and the hash covers it, the
  rest of the hashed text is put around it (``projections.audit_hash.canonical_text``'s shape).

Anything the fast decoding does not know (a class version that needs upcasting, a cipher or a
compressor, a transcoded type other than times and ids) goes through the mapper and
``projections.envelope``'s own functions, so the result is always the same. Tests hold the rows and
hashes equal to ``projections.envelope.seal``'s, event by event.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from tickets.application.desk import TicketDesk
from tickets.consumers.store_reader import StoreReader
from tickets.consumers.stored_entries import KNOWN, NeedsMapper
from tickets.domain.errors import ValidationError
from tickets.domain.history import HistoryEntry, entry_of
from tickets.domain.ticket import TICKET_TOPICS
from tickets.projections.audit_entry import payload_text
from tickets.projections.facts_state import LIMIT as TEXTS_LIMIT
from tickets.projections.facts_state import TEXTS, id_text
from tickets.replay.source import SourcedEnvelope
from tickets.wire.envelope import (
    GENESIS,
    SCHEMA,
    Envelope,
    chained_hash,
    format_time,
    iso_wire_time,
    wire_value,
)

_HEX = "0123456789abcdef"


def _special(obj: dict[str, Any]) -> Any:
    """A transcoded value (``{"_type_": ..., "_data_": ...}``) as it travels."""
    kind = obj["_type_"]
    if len(obj) == 2:
        if kind == "datetime_iso":
            return iso_wire_time(obj["_data_"])
        if kind == "uuid_hex":
            return str(UUID(obj["_data_"]))
    raise NeedsMapper(kind)


def _walk(value: Any) -> Any:
    """A payload value as it travels: transcoded values inside maps and lists replaced."""
    if type(value) is dict:
        if "_type_" in value:
            return _special(value)
        return {k: _walk(v) for k, v in value.items()}
    if type(value) is list:
        return [_walk(v) for v in value]
    return value


_scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_parse = datetime.fromisoformat


def _decode(text: str) -> dict[str, Any]:
    """The stored JSON (the C scanner on its own: the decoder's wrapper checks for whitespace)."""
    try:
        value, end = _scan(text, 0)
    except StopIteration:
        value, end = None, -1
    if end != len(text) or type(value) is not dict:
        value = json.loads(text)  # raises for what is not JSON
        if type(value) is not dict:
            raise NeedsMapper("not a map")
    return value


_ENCODE: Any = (
    None if c_make_encoder is None else
    c_make_encoder(None, json.JSONEncoder().default, encode_basestring, None, ":", ",", True, False,
                   True)
)


def canonical_payload(payload: Mapping[str, Any]) -> str:
    """``projections.audit_entry.payload_text``: the same C encoder, made once instead of per call."""
    if _ENCODE is None:
        return payload_text(payload)
    return "".join(_ENCODE(payload, 0))


def _entry(ticket_id: UUID, version: int, type_: str, occurred: datetime, recorded: datetime,
           actor: str, channel: str, payload: Mapping[str, Any]) -> HistoryEntry:
    """A ``HistoryEntry`` without the frozen dataclass's ``__init__`` (a hot path here)."""
    entry = object.__new__(HistoryEntry)
    entry.__dict__.update(ticket_id=ticket_id, version=version, type=type_, occurred_at=occurred,
                          recorded_at=recorded, actor=actor, channel=channel, payload=payload)
    return entry


def sealed_row(ticket_id: str, version: int, number: str, desk: str, type_: str, occurred: str,
               recorded: str, actor: str, channel: str, payload: Mapping[str, Any], prev_hash: str,
               position: int) -> tuple[Any, ...]:
    """The audit trail's row of one event (``projections.audit_entry.COLUMNS`` order), hash included.

    The hash is ``projections.envelope.chained_hash`` of ``hashed_content``: the same canonical JSON,
    written around the payload's text, which the row stores as it is. ``ticket_id``, the times and
    ``type_`` are written unescaped: a canonical id, wire times and an event class's name.
    """
    text = canonical_payload(payload)
    if type(actor) is str and type(channel) is str and type(number) is str and type(desk) is str:
        q = encode_basestring  # the id, the times and the type are quoted as they are: they were
        canonical = (           # made here, or parsed as times, and need no escaping
            f'{{"actor":{q(actor)},"channel":{q(channel)},"desk":{q(desk)},'
            f'"occurred_at":"{occurred}","payload":{text},'
            f'"recorded_at":"{recorded}","ticket_id":"{ticket_id}",'
            f'"ticket_number":{q(number)},"type":"{type_}","version":{int.__repr__(version)}}}'
        )
        hash_ = hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()
    else:
        hash_ = chained_hash(prev_hash, {
            "ticket_id": ticket_id, "ticket_number": number, "desk": desk, "type": type_,
            "version": version, "occurred_at": occurred, "recorded_at": recorded, "actor": actor,
            "channel": channel, "payload": payload})
    return (ticket_id, version, number, desk, type_, occurred, recorded, actor, channel,
            text, prev_hash, hash_, position)


class Sealed:
    """One event of the part's tickets: the entry the fold reads and the audit trail's row."""

    __slots__ = ("entry", "row")

    def __init__(self, entry: HistoryEntry, row: tuple[Any, ...]) -> None:
        self.entry = entry  # payload as it travels (times and ids as text), times as datetimes
        self.row = row  # projections.audit_entry.COLUMNS

    @classmethod
    def of(cls, envelope: Envelope) -> Sealed:
        """An envelope from elsewhere (a Kafka source), as its audit row carries it."""
        e = envelope
        return cls(e.entry(), (e.ticket_id, e.version, e.ticket_number, e.desk, e.type, e.occurred_at,
                               e.recorded_at, e.actor, e.channel, payload_text(e.payload),
                               e.prev_hash, e.hash, e.position))

    @property
    def ticket_id(self) -> str:
        return str(self.row[0])

    @property
    def position(self) -> int:
        return int(self.row[12])

    def envelope(self, *, sealed_here: bool = False) -> SourcedEnvelope:
        """The envelope ``projections.envelope.seal`` makes of this event, its payload's canonical
        text and its audit trail row already known (``audit_trail.entry_row``). ``sealed_here``:
        the row's hash was computed here from the event's content (``LogSource``), so it stands as
        the recomputed hash too (``projections.admission.recomputed_hash``); a hash that came with
        the event is checked."""
        r = self.row
        envelope = object.__new__(SourcedEnvelope)  # the frozen dataclass's ``__init__`` is dear here
        envelope.__dict__.update(
            ticket_id=r[0], ticket_number=r[2], desk=r[3], type=r[4], version=r[1],
            occurred_at=r[5], recorded_at=r[6], position=r[12], actor=r[7], channel=r[8],
            payload=self.entry.payload, prev_hash=r[10], hash=r[11], schema=SCHEMA,
            origin=self.entry, history_entry=self.entry, _payload_json=r[9], _audit_row=r,
        )
        if sealed_here:
            envelope.__dict__["_recomputed_hash"] = r[11]
        return envelope


class _Head:
    """What the chain needs of a ticket's previous event, and its id in both forms."""

    __slots__ = ("desk", "hash", "id", "number", "text", "version")

    def __init__(self, id_: UUID, version: int, number: str, desk: str, hash_: str) -> None:
        self.id, self.text = id_, id_text(id_)  # noted for the projections' rows too
        self.version, self.number, self.desk, self.hash = version, number, desk, hash_


class LogSource:
    """The notification log, sealed into ``Sealed`` events; ``partition=(k, n)``: ids with id % n == k."""

    def __init__(self, app: TicketDesk, partition: tuple[int, int] | None = None) -> None:
        self.app = app
        self.partition = partition
        self._heads: dict[Any, _Head] = {}  # by the stored originator id, as the store returns it
        self._reader = StoreReader(app, cache_size=1)
        self._mine: dict[Any, bool] = {}
        self._fast = app.mapper.cipher is None and app.mapper.compressor is None
        self._query, self._in_sql = self._statement()
        #: The last read found the end of the log (fewer rows than it asked for).
        self.at_end = False

    def max_position(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def read(self, after: int, limit: int) -> tuple[list[Sealed], int]:
        """The part's events among up to ``limit`` positions after ``after``; and the last position
        read (``after`` at the end of the log)."""
        rows = self._rows(after, limit)
        self.at_end = len(rows) < limit
        if not rows:
            return [], after
        events: list[Sealed] = []
        mine = self._mine
        partition = None if self._in_sql else self.partition
        for position, originator, version, topic, state in rows:
            if partition is not None:
                keep = mine.get(originator)
                if keep is None:
                    keep = mine[originator] = self._of_part(originator, partition)
                if not keep:
                    continue
            events.append(self._seal(position, originator, version, topic, state))
        return events, max(after, int(rows[-1][0]))

    @staticmethod
    def _of_part(originator: Any, partition: tuple[int, int]) -> bool:
        k, n = partition
        number = originator.int if isinstance(originator, UUID) else int(str(originator), 16)
        return bool(number % n == k)

    def _statement(self) -> tuple[Any, bool]:
        recorder: Any = self.app.recorder
        table = getattr(recorder, "events_table_name", None)
        module = type(recorder).__module__
        if module == "eventsourcing.sqlite" and table:
            where = ""
            in_sql = self.partition is not None and 16 % self.partition[1] == 0
            if in_sql and self.partition is not None:
                k, n = self.partition
                digits = {c for d in _HEX if int(d, 16) % n == k for c in (d, d.upper())}
                where = f"AND substr(originator_id, -1) IN ({', '.join(sorted(map(repr, digits)))}) "
            marks = ",".join("?" * len(TICKET_TOPICS))
            return ("sqlite", f"SELECT rowid, originator_id, originator_version, topic, state "
                              f"FROM {table} WHERE rowid > ? AND topic IN ({marks}) {where}"
                              "ORDER BY rowid LIMIT ?"), in_sql
        if module == "eventsourcing.postgres" and table:
            from psycopg.sql import SQL, Identifier

            return ("postgres", SQL(
                "SELECT notification_id, originator_id, originator_version, topic, state "
                "FROM {}.{} WHERE notification_id > %s AND topic = ANY(%s) "
                "ORDER BY notification_id LIMIT %s").format(
                    Identifier(recorder.datastore.schema), Identifier(table))), False
        return None, False

    def _rows(self, after: int, limit: int) -> list[tuple[Any, ...]]:
        recorder: Any = self.app.recorder
        if self._query is None:
            return [(n.id, n.originator_id, n.originator_version, n.topic, n.state)
                    for n in recorder.select_notifications(start=after + 1, limit=limit,
                                                           topics=TICKET_TOPICS)]
        dialect, sql = self._query
        with recorder.datastore.transaction(commit=False) as cursor:
            if dialect == "sqlite":
                cursor.execute(sql, (after, *TICKET_TOPICS, limit))
                return [tuple(row) for row in cursor.fetchall()]
            cursor.execute(sql, (after, list(TICKET_TOPICS), limit))
            return [(r["notification_id"], r["originator_id"], r["originator_version"], r["topic"],
                     bytes(r["state"])) for r in cursor.fetchall()]

    def _seal(self, position: int, originator: Any, version: int, topic: str, state: bytes) -> Sealed:
        """One event sealed: the fast way, written out in one function (it runs once per event)."""
        head = self._heads.get(originator)
        try:
            fields = _fast_fields(topic, state) if self._fast else None
            if fields is None:
                return self._seal_mapped(position, originator, version, topic, state, head)
            type_, occurred, recorded, actor, channel, payload = fields
            if head is None:
                head = self._head(originator, version)
            when = _parse(occurred)
            if len(TEXTS) >= TEXTS_LIMIT:
                TEXTS.clear()
            TEXTS[when] = occurred
            entry = object.__new__(HistoryEntry)
            entry.__dict__.update(ticket_id=head.id, version=version, type=type_, occurred_at=when,
                                  recorded_at=_parse(recorded), actor=actor, channel=channel,
                                  payload=payload)
            if version == 1:  # the ticket's number and desk come from its Opened event
                head.number, head.desk, head.hash = payload["number"], payload["desk"], GENESIS
            elif head.version != version - 1:
                head.number, head.desk, head.hash = self._reader.recompute_head(head.id, version - 1)
        except ValidationError:
            raise
        except Exception as error:  # the decoder and mapper raise several types for a damaged record
            raise _unreadable(position, error) from None
        row = sealed_row(head.text, version, head.number, head.desk, type_, occurred, recorded,
                         actor, channel, payload, head.hash, position)
        head.version, head.hash = version, row[11]
        return Sealed(entry, row)

    def _seal_mapped(self, position: int, originator: Any, version: int, topic: str, state: bytes,
                     head: _Head | None) -> Sealed:
        """The library's mapper and ``projections.envelope``'s functions, for what the fast way skips."""
        stored = StoredEvent(originator_id=originator, originator_version=version, topic=topic,
                             state=state)
        entry = entry_of(self.app.mapper.to_domain_event(stored))
        payload = wire_value(entry.payload)
        if head is None:
            head = self._head(originator, version)
        entry = _entry(head.id, entry.version, entry.type, entry.occurred_at, entry.recorded_at,
                       entry.actor, entry.channel, payload)
        return self._chain(head, entry, format_time(entry.occurred_at),
                           format_time(entry.recorded_at), position)

    def _chain(self, head: _Head, entry: HistoryEntry, occurred: str, recorded: str,
               position: int) -> Sealed:
        if entry.version == 1:  # the ticket's number and desk come from its Opened event
            head.number, head.desk, head.hash = entry.payload["number"], entry.payload["desk"], GENESIS
        elif head.version != entry.version - 1:
            head.number, head.desk, head.hash = self._reader.recompute_head(head.id, entry.version - 1)
        row = sealed_row(head.text, entry.version, head.number, head.desk, entry.type, occurred,
                         recorded, entry.actor, entry.channel, entry.payload, head.hash, position)
        head.version, head.hash = entry.version, row[11]
        return Sealed(entry, row)

    def _head(self, originator: Any, version: int) -> _Head:
        ticket_id = originator if isinstance(originator, UUID) else UUID(str(originator))
        head = _Head(ticket_id, version - 1, "", "", GENESIS)
        if version > 1:
            head.number, head.desk, head.hash = self._reader.recompute_head(ticket_id, version - 1)
        self._heads[originator] = head
        return head


def _fast_fields(topic: str, state: bytes) -> tuple[str, str, str, Any, Any, dict[str, Any]] | None:
    """(type, occurred, recorded, actor, channel, payload as it travels) of a stored event, or
    None when only the mapper can read it (``consumers.stored_entries.history_entry``'s rules)."""
    known = KNOWN.get(topic)
    if known is None:
        return None
    try:
        text = state.decode("utf-8")
        raw = _decode(text)
        if raw.pop("class_version", 1) != known[1]:
            return None
        occurred, recorded = raw.pop("occurred_at"), raw.pop("timestamp")
        if type(occurred) is not dict or occurred.get("_type_") != "datetime_iso" or len(occurred) != 2:
            return None
        if type(recorded) is not dict or recorded.get("_type_") != "datetime_iso" or len(recorded) != 2:
            return None
        occurred, recorded = iso_wire_time(occurred["_data_"]), iso_wire_time(recorded["_data_"])
        if text.count('"_type_"') > 2:  # a transcoded value in the payload too
            for key, value in raw.items():
                if type(value) is dict or type(value) is list:
                    raw[key] = _walk(value)
    except NeedsMapper:
        return None
    actor, channel = raw.pop("actor"), raw.pop("channel")
    raw.pop("originator_topic", None)
    return known[0], occurred, recorded, actor, channel, raw


def _unreadable(position: int, error: Exception) -> ValidationError:
    return ValidationError(
        f"the stored event at position {position} cannot be read: {error}; "
        "run `tickets replay verify` to see what was changed",
        field="position", rule="readable_event",
    )

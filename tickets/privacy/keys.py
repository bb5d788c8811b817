"""The key table: one AES-256 key per data subject, apart from the event store.

It lives in a SQLite file of its own or in a PostgreSQL schema of its own (``tickets.privacy.key_db``).

A row is ``(subject, key_id, material, erasing)``. ``material`` is the key, wrapped by the master
key when ``TICKETS_PRIVACY_MASTER_KEY`` is set (AES-GCM, the key id as associated data). Erasure
is two steps that survive a crash between them (``tickets.privacy.erase``): ``begin_erasure``
destroys the material and notes who asked in the same transaction; ``finish_erasure`` deletes the
row once the ``PersonalDataErased`` event is stored. On SQLite the connection runs with
``secure_delete``, and each step ends with a ``wal_checkpoint(TRUNCATE)``, so neither the file's
free pages nor its write-ahead log keep a copy of a destroyed key (what the file system itself
keeps is beyond the engine, and so is what PostgreSQL keeps: docs/privacy.md).

Keys are cached in memory; each erasure counts up ``key_table.generation``, and a process drops its
cache when it sees the count move (an erasure from the command line while the engine runs). It
looks at most every ``FRESH_S`` seconds: an erasure made by another process reaches this one
within that time, one made by this process at once. The calls that read keys look themselves, or,
once ``follow`` has started a thread that looks every ``FRESH_S`` seconds (``tickets serve``,
whose event loop must not wait for the key table's database), only when that thread's last look
began more than ``FOLLOWED_S`` ago (the thread held up by a slow database).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tickets.domain.errors import LifecycleError, ValidationError
from tickets.domain.personal import ERASED, UNREADABLE, is_sealed
from tickets.privacy.key_db import KeyDb, SqliteKeyDb
from tickets.privacy.sealing import NONCE_BYTES, key_id_of, open_value, seal_value

if TYPE_CHECKING:
    from tickets.every import Every

FILE_NAME = "keys.sqlite3"
FRESH_S = 0.05
#: With a thread following the count (``KeyTable.follow``), how old its last look may grow before
#: a call that reads keys looks itself.
FOLLOWED_S = 0.5
MASTER_SETTING = "TICKETS_PRIVACY_MASTER_KEY"
_BUMP = ("UPDATE key_table SET value = CAST(CAST(value AS BIGINT) + 1 AS TEXT) "
         "WHERE name = 'generation'")


@dataclass(frozen=True)
class PendingErasure:
    """A destroyed key whose ``PersonalDataErased`` event is not stored yet."""

    subject: str
    key_id: str
    asked_by: str
    basis: str
    at: datetime


class KeyTable:
    """Implements ``domain.personal.SubjectKeys`` over a SQLite file (``path``) or a ``KeyDb``."""

    def __init__(self, path: Path | KeyDb, master: bytes | None = None,
                 synchronous: str = "NORMAL") -> None:
        self._db: KeyDb = SqliteKeyDb(path, synchronous) if isinstance(path, Path) else path
        self.path = self._db.where
        self._lock = self._db.lock
        self._master = AESGCM(master) if master is not None else None
        self._check_wrapping(master is not None)
        self._by_subject: dict[str, tuple[str, AESGCM]] = {}
        self._by_id: dict[str, AESGCM | None] = {}
        with self._transaction():
            self._db.execute("INSERT INTO key_table (name, value) VALUES ('generation', '0') "
                             "ON CONFLICT (name) DO NOTHING")
        self._version = self._data_version()
        self._looked = time.monotonic()
        self._generation = 0
        self._followed = False

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ---- the Sealer and Opener ports -------------------------------------------------------

    def seal(self, subject: str, values: Mapping[str, str]) -> dict[str, str]:
        key_id, cipher = self._key_for(subject)
        return {name: seal_value(cipher, key_id, name, value) for name, value in values.items()}

    def open(self, name: str, value: str) -> str:
        if not is_sealed(value):
            return value
        key_id = key_id_of(value)
        cipher = self._key_by_id(key_id) if key_id else None
        if cipher is None:
            return ERASED
        opened = open_value(cipher, name, value)
        return UNREADABLE if opened is None else opened

    def generation(self) -> int:
        self._fresh()
        return self._generation

    def follow(self) -> Every:
        """Look for other processes' erasures every ``FRESH_S`` seconds in a thread of its own
        rather than in the calls that read keys; ``stop()`` the handle returned to end it."""
        from tickets.every import Every  # only servers follow: commands start without its logging

        self._followed = True
        return Every("key_table", FRESH_S, self._look).start()

    def holds(self, subject: str) -> bool:
        self._fresh()
        if subject in self._by_subject:
            return True
        with self._lock:
            row = self._db.execute("SELECT material FROM subject_keys WHERE subject = ?",
                                   (subject,)).fetchone()
        return row is not None and row[0] is not None

    # ---- erasure ---------------------------------------------------------------------------

    def begin_erasure(self, subject: str, asked_by: str, basis: str, at: datetime) -> str | None:
        """Destroy the subject's key, noting the erasure; its key id, or None if it has no key."""
        note = json.dumps({"asked_by": asked_by, "basis": basis, "at": at.isoformat()})
        with self._transaction():
            row = self._db.execute(
                "SELECT key_id FROM subject_keys WHERE subject = ? AND material IS NOT NULL",
                (subject,)).fetchone()
            if row is None:
                return None
            self._db.execute("UPDATE subject_keys SET material = NULL, erasing = ? WHERE subject = ?",
                             (note, subject))
            self._db.execute(_BUMP)
        self._forget()
        self._db.after_erasure()
        return str(row[0])

    def pending(self, subject: str | None = None) -> list[PendingErasure]:
        """Erasures begun and not finished (all, or the subject's)."""
        query = "SELECT subject, key_id, erasing FROM subject_keys WHERE material IS NULL"
        args: tuple[str, ...] = ()
        if subject is not None:
            query, args = query + " AND subject = ?", (subject,)
        with self._lock:
            rows = self._db.execute(query, args).fetchall()
        found = []
        for who, key_id, note in rows:
            told = json.loads(note)
            found.append(PendingErasure(who, key_id, told["asked_by"], told["basis"],
                                        datetime.fromisoformat(told["at"])))
        return found

    def finish_erasure(self, subject: str) -> None:
        with self._transaction():
            self._db.execute("DELETE FROM subject_keys WHERE subject = ? AND material IS NULL",
                             (subject,))
        self._db.after_erasure()

    def subjects(self) -> list[str]:
        """Every subject with a live key."""
        with self._lock:
            rows = self._db.execute(
                "SELECT subject FROM subject_keys WHERE material IS NOT NULL ORDER BY subject")
            return [row[0] for row in rows.fetchall()]

    def material_of(self, subject: str) -> bytes | None:
        """The stored (wrapped or raw) key material: for tests that look for copies of it."""
        with self._lock:
            row = self._db.execute("SELECT material FROM subject_keys WHERE subject = ?",
                                   (subject,)).fetchone()
        return None if row is None or row[0] is None else bytes(row[0])

    # ---- inside ----------------------------------------------------------------------------

    def _key_for(self, subject: str) -> tuple[str, AESGCM]:
        self._fresh()
        found = self._by_subject.get(subject)
        if found is not None:
            return found
        with self._lock:
            key_id, key = uuid.uuid4().hex, AESGCM.generate_key(bit_length=256)
            created = self._db.execute(
                "INSERT INTO subject_keys (subject, key_id, material, created_at) VALUES "
                "(?, ?, ?, ?) ON CONFLICT (subject) DO NOTHING",
                (subject, key_id, self._wrap(key_id, key), _now())).rowcount
            row = (key_id, None) if created else self._db.execute(
                "SELECT key_id, material FROM subject_keys WHERE subject = ?", (subject,)).fetchone()
            if created:
                cipher = AESGCM(key)
            elif row[1] is None:
                raise LifecycleError(
                    f"the erasure of requester {subject}'s personal data is not complete; run "
                    f"`tickets privacy erase --requester {subject}` again to complete it",
                    field="requester", rule="erasure_pending")
            else:
                cipher = AESGCM(self._unwrap(row[0], row[1]))
        self._by_subject[subject] = (str(row[0]), cipher)
        self._by_id[str(row[0])] = cipher
        return str(row[0]), cipher

    def _key_by_id(self, key_id: str) -> AESGCM | None:
        self._fresh()
        if key_id in self._by_id:
            return self._by_id[key_id]
        with self._lock:
            row = self._db.execute("SELECT material FROM subject_keys WHERE key_id = ?",
                                   (key_id,)).fetchone()
        cipher = None if row is None or row[0] is None else AESGCM(self._unwrap(key_id, row[0]))
        self._by_id[key_id] = cipher
        return cipher

    def _wrap(self, key_id: str, key: bytes) -> bytes:
        if self._master is None:
            return key
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._master.encrypt(nonce, key, key_id.encode("ascii"))

    def _unwrap(self, key_id: str, material: bytes) -> bytes:
        if self._master is None:
            return bytes(material)
        try:
            return self._master.decrypt(material[:NONCE_BYTES], material[NONCE_BYTES:],
                                        key_id.encode("ascii"))
        except InvalidTag:
            raise ValidationError(
                f"{MASTER_SETTING} does not open the keys in {self.path}: it is not the master "
                "key they were wrapped with", field=MASTER_SETTING, rule="opens_key_table") from None

    def _check_wrapping(self, wrapped: bool) -> None:
        with self._transaction():
            row = self._db.execute("SELECT value FROM key_table WHERE name = 'wrapped'").fetchone()
            if row is None:
                self._db.execute("INSERT INTO key_table (name, value) VALUES ('wrapped', ?)",
                                 ("yes" if wrapped else "no",))
                return
        if (row[0] == "yes") != wrapped:
            said = "wraps its keys with a master key: set" if row[0] == "yes" else \
                "was created without a master key: unset"
            raise ValidationError(f"the key table {self.path} {said} {MASTER_SETTING}",
                                  field=MASTER_SETTING, rule="matches_key_table")

    def _data_version(self) -> int:
        with self._lock:
            return int(self._db.execute(
                "SELECT value FROM key_table WHERE name = 'generation'").fetchone()[0])

    def _fresh(self) -> None:
        """Drop the cache if another connection changed the table since it was filled."""
        if time.monotonic() - self._looked >= (FOLLOWED_S if self._followed else FRESH_S):
            self._look()

    def _look(self) -> None:
        with self._lock:
            self._looked = time.monotonic()  # a failed look too: the next one is not sooner
            version = self._data_version()
            if version != self._version:
                self._forget()
                self._version = version

    def _forget(self) -> None:
        with self._lock:
            self._generation += 1
            self._by_subject.clear()
            self._by_id.clear()

    def _transaction(self) -> Any:
        return self._db.transaction()


def _now() -> str:
    """When a key was made (kept for people; nothing depends on it)."""
    return datetime.now(UTC).isoformat()

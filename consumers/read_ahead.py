"""Reading the next batch for the publisher while it sends the current one.

The publisher's work per event is two halves of about equal cost: reading and sealing the event
from the store, and kafka-python's ``send``. In one process they take turns on one core (the GIL),
so ``ProcessReadAhead`` reads and seals in a child process of its own while the parent sends: the
two halves run on two cores. ``ThreadReadAhead`` keeps everything in one process (the waits on
the database and the broker still overlap); it is what embedded stores and tests use.

A batch travels as a list of plain tuples ``(position, key, type, value)`` — the cheapest thing
to pickle (about 0.4 µs a record; a dataclass costs 25). The child holds the hash chain's cache;
if it dies, the parent's next ``result`` raises and the publisher stops without recording a
position past what the broker acknowledged. If the parent dies (killed, its pipe reset), the child
logs one line and exits.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import Future, ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Protocol

import structlog

from tickets.consumers.kafka_settings import ticket_key
from tickets.consumers.store_reader import StoreReader
from tickets.domain.catalogue import Catalogue

#: One event as the publisher sends it: (store position, record key, event type, envelope bytes).
Outgoing = tuple[int, bytes, str, bytes]

log = structlog.get_logger("tickets.publisher")


class ReadAhead(Protocol):
    def request(self, after: int, limit: int) -> None:
        """Start reading up to ``limit`` events after position ``after``."""

    def result(self) -> list[Outgoing]:
        """Wait for what the last ``request`` read."""

    def close(self) -> None: ...


def outgoing(reader: StoreReader, after: int, limit: int) -> list[Outgoing]:
    return [(r.position, ticket_key(r.ticket_id), r.type, r.value) for r in reader.read_records(after, limit)]


class ThreadReadAhead:
    """Reads in a worker thread of this process."""

    def __init__(self, reader: StoreReader) -> None:
        self.reader = reader
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="publisher-read")
        self._pending: Future[list[Outgoing]] | None = None

    def request(self, after: int, limit: int) -> None:
        self._pending = self._pool.submit(outgoing, self.reader, after, limit)

    def result(self) -> list[Outgoing]:
        if self._pending is None:
            raise RuntimeError("result() without request()")
        pending, self._pending = self._pending, None
        return pending.result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class ReadAheadFailed(RuntimeError):
    """The reading process stopped or reported an error; the publisher must stop."""


class ProcessReadAhead:
    """Reads in a child process with its own connection to the event store.

    The constructor returns once the child has opened the store (or raises ``ReadAheadFailed``).
    """

    def __init__(self, catalogue: Catalogue, store_env: dict[str, str]) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(child, catalogue, store_env), name="publisher-read", daemon=True)
        self._process.start()
        child.close()
        self._waiting = True  # the child's first word says it has opened the store
        self.result()

    def request(self, after: int, limit: int) -> None:
        try:
            self._conn.send((after, limit))
        except OSError as error:  # BrokenPipeError among them
            raise ReadAheadFailed(f"the reading process ended: {error!r}") from None
        self._waiting = True

    def result(self) -> list[Outgoing]:
        if not self._waiting:
            raise RuntimeError("result() without request()")
        self._waiting = False
        try:
            kind, value = self._conn.recv()
        except (EOFError, OSError) as error:
            raise ReadAheadFailed(f"the reading process ended: {error!r}") from None
        if kind == "error":
            raise ReadAheadFailed(value)
        return value  # type: ignore[no-any-return]

    def close(self) -> None:
        try:
            if self._waiting:
                self._conn.recv()
            self._conn.send(None)
        except (EOFError, OSError):
            pass
        self._conn.close()
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()


def _serve(conn: Connection, catalogue: Catalogue, store_env: dict[str, str]) -> None:
    """The child's loop: answer each (after, limit) with the sealed batch, until told to stop."""
    from tickets.application.desk import TicketDesk

    try:
        desk = TicketDesk(catalogue, env={**store_env, "CREATE_TABLE": "no"})
        desk.recorder.max_notification_id()  # connects: a store that cannot be read says so now
    except Exception as error:
        conn.send(("error", f"cannot open the event store: {type(error).__name__}: {error}"))
        return
    reader = StoreReader(desk)
    try:
        conn.send(("ok", []))
        while (request := conn.recv()) is not None:
            try:
                batch = outgoing(reader, *request)
            except Exception as error:  # reported to the parent, which stops publishing
                log.error("publisher_read_failed", error=type(error).__name__)
                conn.send(("error", f"{type(error).__name__}: {error}"))
                continue
            conn.send(("ok", batch))
    except (EOFError, OSError) as error:  # the parent closed the pipe or was killed
        log.info("publisher_read_parent_gone", error=type(error).__name__)
    finally:
        desk.close()

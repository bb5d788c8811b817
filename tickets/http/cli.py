"""``tickets token create|revoke|list`` and the HTTP options of ``tickets run``.

``create`` issues a token for ``--desk`` (repeated) or ``--all-desks``, each desk one of the
catalogue's, and prints it once; only its SHA-256 hash is stored, so a lost token is revoked
and replaced, never recovered.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tickets.config import Settings
from tickets.domain.errors import ValidationError
from tickets.domain.scope import scope_of
from tickets.engine import Engine
from tickets.http.tokens import TokenStore
from tickets.output import iso
from tickets.projections.readstore import ReadStore
from tickets.wiring import build_catalogue


def cmd_token(args: argparse.Namespace, settings: Settings) -> Any:
    store = ReadStore(settings.read_model_url)
    try:
        tokens = TokenStore(store)
        if args.action == "create":
            if not args.name or not args.role:
                raise ValidationError("token create needs --name and --role", field="name",
                                      rule="required")
            desks = scope_of(build_catalogue(settings), args.desks, args.all_desks,
                             field="--desk", every_field="--all-desks")
            token = tokens.create(args.name, args.role, desks)
            return ({"name": args.name, "role": args.role, "desks": desks.names(), "token": token}
                    if args.json else token)
        if args.action == "revoke":
            if not args.name:
                raise ValidationError("token revoke needs --name", field="name", rule="required")
            tokens.revoke(args.name)
            return {"name": args.name, "revoked": True} if args.json else f"revoked {args.name}"
        rows = [{"name": t.name, "role": t.role, "created_at": iso(t.created_at),
                 "revoked_at": iso(t.revoked_at), "desks": None if t.desks is None else t.desks.names()}
                for t in tokens.all()]
        if args.json:
            return rows
        return "\n".join(f"{r['name']:<24} {r['role']:<10} created {r['created_at']}"
                         + f"  desks {','.join(r['desks']) if r['desks'] else '(none: issue again)'}"
                         + (f"  revoked {r['revoked_at']}" if r["revoked_at"] else "")
                         for r in rows) or "(no tokens)"
    finally:
        store.close()


@contextmanager
def http_beside(engine: Engine, stop: threading.Event, args: argparse.Namespace
                ) -> Iterator[threading.Event]:
    """Serve HTTP beside the engine; yield the event the engine loop stops on.

    When ``stop`` is set, HTTP stops first (requests in flight finish), then the engine, so no
    request meets a closed desk.
    """
    if getattr(args, "no_http", False):
        yield stop
        return
    from tickets.http.server import serve_engine  # the web framework loads only for `run`

    try:
        handle = serve_engine(engine, args.http_host, args.http_port)
    except OSError as error:
        engine.close()
        raise ValidationError(f"cannot listen on {args.http_host}:{args.http_port}: {error.strerror}",
                              field="http_port", rule="free_port") from None
    engine_stop = threading.Event()

    def stop_in_order() -> None:
        stop.wait()
        handle.stop()
        engine_stop.set()

    watcher = threading.Thread(target=stop_in_order, name="http-stop", daemon=True)
    watcher.start()
    try:
        yield engine_stop
    finally:
        stop.set()
        watcher.join(30)

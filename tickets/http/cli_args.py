"""The command lines of ``tickets token`` and of ``tickets run``'s HTTP options (the handler and
the server are in ``tickets.http.cli``)."""

from __future__ import annotations

import argparse

from tickets.cli_lazy import AddParser, Handlers, lazy
from tickets.cli_types import PORT, positive_seconds
from tickets.http.roles import ROLES


def add_token_commands(add: AddParser, handlers: Handlers) -> None:
    handlers.update(lazy("tickets.http.cli", token="cmd_token"))
    p = add("token", "API tokens for the HTTP API: create (printed once), revoke, list")
    p.add_argument("action", choices=["create", "revoke", "list"])
    p.add_argument("--name", help="who holds it: a service or agent id (letters, digits, ._@+-)")
    p.add_argument("--role", choices=ROLES, help="service | agent | auditor | dashboard")
    p.add_argument("--desk", action="append", dest="desks", metavar="DESK",
                   help="create: a desk the token serves (repeat for several: --desk web --desk zoom); "
                        "its tickets are the only ones the token sees or acts on")
    p.add_argument("--all-desks", action="store_true",
                   help="create: the token serves every desk, those added later included")


def add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--http-port", type=PORT, default=8080, help="HTTP API and dashboard port (8080)")
    p.add_argument("--http-host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--no-http", action="store_true", help="run without the HTTP API and dashboard")


def add_serve_command(add: AddParser, handlers: Handlers) -> None:
    handlers.update(lazy("tickets.serve_cli", serve="cmd_serve"))
    p = add("serve", "the HTTP API and dashboard over the consumer group's read models "
                     "(PostgreSQL); no feed, no scheduler; run as many as you like")
    p.add_argument("--http-port", type=PORT, default=8080, help="HTTP API and dashboard port (8080)")
    p.add_argument("--http-host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--group", default="projections",
                   help="the consumer group whose read models to serve (the topic prefix goes first)")
    p.add_argument("--read-wait", type=positive_seconds(0.01, 30), default=2.0,
                   help="seconds a read naming a write (at_least) waits for it before 425 (2)")

"""``tickets privacy``: erase a requester's personal data, apply retention, migrate an old store."""

from __future__ import annotations

import argparse
from typing import Any

from tickets.application.desk import TicketDesk
from tickets.config import Settings
from tickets.domain.errors import ValidationError
from tickets.privacy.keys import KeyTable
from tickets.wiring import build_desk


def desk_with_keys(settings: Settings) -> tuple[TicketDesk, KeyTable]:
    desk = build_desk(settings)
    if not isinstance(desk.personal, KeyTable):
        raise ValidationError("this event store keeps no key table (TICKETS_DATABASE_URL is "
                              "memory:)", field="TICKETS_DATABASE_URL", rule="has_key_table")
    return desk, desk.personal


def cmd_privacy(args: argparse.Namespace, settings: Settings) -> Any:
    if args.privacy == "erase":
        return _erase(args, settings)
    if args.privacy == "retention":
        return _retention(args, settings)
    return _migrate(args, settings)


def _erase(args: argparse.Namespace, settings: Settings) -> Any:
    from tickets.privacy.erase import erase

    desk, keys = desk_with_keys(settings)
    done = erase(desk, keys, args.requester, asked_by=args.asked_by, basis=args.basis)
    if args.json:
        return done.as_json()
    how = "completed an erasure that was interrupted" if done.completed else "erased"
    return (f"{how}: requester {done.requester}'s personal data (key {done.key_id} destroyed at "
            f"{done.at.isoformat()}); it reads [erased] everywhere from now on")


def _retention(args: argparse.Namespace, settings: Settings) -> Any:
    from tickets.privacy.retention import apply_retention

    desk, keys = desk_with_keys(settings)
    done = apply_retention(desk, keys, desk.clock.now())
    if args.json:
        return {"erased": [d.as_json() for d in done]}
    return f"erased {len(done)} requesters' personal data whose retention period has passed"


def _migrate(args: argparse.Namespace, settings: Settings) -> Any:
    from tickets.privacy.migrate import migrate

    report = migrate(settings, args.source, args.target)
    return report.as_json() if args.json else report.text()

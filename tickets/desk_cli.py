"""The desk's own commands: open a ticket and move it through its life, show, list, history,
policies, editors, walkthrough. ``tickets.cli`` parses their command lines and calls these."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from tickets.application.desk import CommandResult, TicketDesk, summary
from tickets.cli_lazy import Handler
from tickets.config import Settings
from tickets.domain.actor import Actor
from tickets.domain.errors import ValidationError
from tickets.output import iso, plain, sla_json, sla_text
from tickets.wiring import build_desk


def parse_fields(pairs: Sequence[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise ValidationError(
                f"--field {pair!r} must be NAME=VALUE", field="fields", rule="name_equals_value"
            )
        fields[name.strip()] = value
    return fields


def _desk(settings: Settings) -> TicketDesk:
    return build_desk(settings)


def _at(args: argparse.Namespace) -> datetime | None:
    at: datetime | None = args.at  # checked by ISO_TIME_WITH_ZONE
    return at


def _result(args: argparse.Namespace, desk: TicketDesk, result: CommandResult) -> Any:
    ticket = desk.get(result.ticket_id)
    if args.json:
        return summary(ticket)
    return f"{ticket.number}  {ticket.status}  severity {ticket.severity}  version {ticket.version}"


def cmd_open(args: argparse.Namespace, settings: Settings) -> Any:
    desk = _desk(settings)
    result = desk.open(
        desk=args.desk, requester=args.requester, requester_role=args.role, title=args.title,
        fields=parse_fields(args.field), plan=args.plan, category=args.category,
        severity=args.severity, actor=Actor.parse(args.actor), channel=args.channel,
        at=_at(args),
    )
    return _result(args, desk, result)


def _simple(call: Callable[[TicketDesk, argparse.Namespace], CommandResult]) -> Handler:
    def handler(args: argparse.Namespace, settings: Settings) -> Any:
        desk = _desk(settings)
        return _result(args, desk, call(desk, args))
    return handler


def _common(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "actor": Actor.parse(args.actor), "channel": args.channel, "at": _at(args),
        "expected_version": args.expected_version,
    }


cmd_severity = _simple(lambda d, a: d.set_severity(a.ticket, a.severity, a.reason, **_common(a)))
cmd_assign = _simple(lambda d, a: d.assign(a.ticket, a.agent, a.level, **_common(a)))
cmd_respond = _simple(lambda d, a: d.respond(a.ticket, **_common(a)))
cmd_request_info = _simple(lambda d, a: d.request_info(a.ticket, replace=a.replace, **_common(a)))
cmd_reply = _simple(lambda d, a: d.customer_reply(a.ticket, **_common(a)))
cmd_escalate = _simple(lambda d, a: d.escalate(a.ticket, a.reason, a.level, **_common(a)))
cmd_close = _simple(lambda d, a: d.close_ticket(a.ticket, a.reason, **_common(a)))
cmd_reopen = _simple(lambda d, a: d.reopen(a.ticket, a.reason, **_common(a)))


def cmd_show(args: argparse.Namespace, settings: Settings) -> Any:
    desk = _desk(settings)
    ticket = desk.get(args.ticket)
    report = desk.sla(ticket.id, now=args.now, explain=True)
    policy = desk.catalogue.desk(ticket.desk, ticket.policy_version)
    title = desk.personal.open("title", ticket.title)  # a desk may mark the title personal
    if args.json:
        return {
            **summary(ticket), "title": title,
            "policy": {"desk": policy.id, "plan": ticket.plan, "version": policy.version,
                       "name": policy.name},
            "computed_at": iso(report.computed_at),
            "sla": sla_json(report),
        }
    head = (
        f"{ticket.number} — {title}\n"
        f"  desk {policy.id} (policy v{policy.version}), plan {ticket.plan}, "
        f"category {ticket.category}, severity {ticket.severity}\n"
        f"  status {ticket.status}, level {ticket.level}, agent {ticket.agent or '-'}\n"
        f"  opened {iso(ticket.opened_at)}; SLA as of {iso(report.computed_at)}:"
    )
    return head + "\n" + sla_text(report)


def cmd_list(args: argparse.Namespace, settings: Settings) -> Any:
    desk = _desk(settings)
    rows = []
    for ticket_id in desk.opened_ticket_ids():
        ticket = desk.get(ticket_id)
        if args.desk and ticket.desk != args.desk:
            continue
        if args.status and ticket.status != args.status:
            continue
        rows.append({**summary(ticket), "title": desk.personal.open("title", ticket.title)})
    if args.json:
        return rows
    return "\n".join(
        f"{r['number']:<12} {r['desk']:<10} {r['severity']:<3} {r['status']:<14} {r['title']}"
        for r in rows
    ) or "(no tickets)"


def cmd_history(args: argparse.Namespace, settings: Settings) -> Any:
    desk = _desk(settings)
    entries = desk.history(args.ticket)
    rows: list[dict[str, Any]] = [
        {"version": e.version, "type": e.type, "occurred_at": iso(e.occurred_at),
         "recorded_at": iso(e.recorded_at), "actor": e.actor, "channel": e.channel,
         "payload": plain({k: v for k, v in e.payload.items() if k != "fields"})}
        for e in entries
    ]
    if args.json:
        return rows
    return "\n".join(
        f"v{r['version']:<3} {r['occurred_at']}  {r['type']:<16} {r['actor']:<22} "
        + " ".join(f"{k}={v}" for k, v in r["payload"].items() if v is not None)
        for r in rows
    )


def cmd_policies(args: argparse.Namespace, settings: Settings) -> Any:
    from tickets.policy_view import describe_catalogue

    return describe_catalogue(build_desk(settings).catalogue, args.desk, as_json=args.json)


def cmd_editors(args: argparse.Namespace, settings: Settings) -> Any:
    if args.action in ("add", "remove") and args.editor is None:
        raise ValidationError(f"editors {args.action} needs --editor ID", field="editor",
                              rule="required")
    desk = _desk(settings)
    if args.action == "add":
        editors = desk.add_editor(args.desk, args.site, args.editor)
    elif args.action == "remove":
        editors = desk.remove_editor(args.desk, args.site, args.editor)
    else:
        editors = desk.editors(args.desk, args.site)
    return {"desk": args.desk, "site_id": args.site, "editors": editors} if args.json else (
        "\n".join(editors) or "(no editors)")


def cmd_walkthrough(args: argparse.Namespace, settings: Settings) -> Any:
    from tickets.walkthrough import walk

    return walk(settings, as_json=args.json)

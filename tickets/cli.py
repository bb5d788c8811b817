"""The ``tickets`` command line: every command of the desk, on the configured event store.

Errors go to stderr as one line with a non-zero exit and no traceback: 2 for a malformed command
line (the option and its rule, checked by the types in ``tickets.cli_types`` before anything runs),
1 for a refused command, a bad setting, an unreachable server or an operating-system error (the
message names the ticket, field or setting, and the rule; see ``tickets.cli_errors``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from domain.actor import Actor
from domain.desk import CommandResult, TicketDesk, summary
from domain.errors import ValidationError
from tickets import cli_errors
from tickets.cli_engine import HANDLERS as ENGINE_COMMANDS
from tickets.cli_engine import add_parsers as add_engine_parsers
from tickets.cli_types import ISO_TIME_WITH_ZONE, VERSION, TicketsParser
from tickets.config import Settings, load_settings
from tickets.dlq_cli import add_dlq_commands
from tickets.http.cli import HANDLERS as HTTP_COMMANDS
from tickets.http.cli import add_parsers as add_http_parsers
from tickets.intake_cli import add_intake_commands
from tickets.kafka_cli import add_kafka_commands
from tickets.logs import configure_logging
from tickets.output import dumps, iso, plain, sla_json, sla_text
from tickets.replay_cli import add_replay_commands
from tickets.wiring import build_desk

Handler = Callable[[argparse.Namespace, Settings], Any]
_COMMANDS: dict[str, Handler] = {}


def command(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        _COMMANDS[name] = fn
        return fn
    return register


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


@command("open")
def cmd_open(args: argparse.Namespace, settings: Settings) -> Any:
    desk = _desk(settings)
    result = desk.open(
        desk=args.desk, requester=args.requester, requester_role=args.role, title=args.title,
        fields=parse_fields(args.field), plan=args.plan, category=args.category,
        severity=args.severity, actor=Actor.parse(args.actor), channel=args.channel,
        at=_at(args),
    )
    return _result(args, desk, result)


def _simple(name: str, call: Callable[[TicketDesk, argparse.Namespace], CommandResult]) -> None:
    def handler(args: argparse.Namespace, settings: Settings) -> Any:
        desk = _desk(settings)
        return _result(args, desk, call(desk, args))
    _COMMANDS[name] = handler


def _common(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "actor": Actor.parse(args.actor), "channel": args.channel, "at": _at(args),
        "expected_version": args.expected_version,
    }


_simple("severity", lambda d, a: d.set_severity(a.ticket, a.severity, a.reason, **_common(a)))
_simple("assign", lambda d, a: d.assign(a.ticket, a.agent, a.level, **_common(a)))
_simple("respond", lambda d, a: d.respond(a.ticket, **_common(a)))
_simple("request-info", lambda d, a: d.request_info(a.ticket, replace=a.replace, **_common(a)))
_simple("reply", lambda d, a: d.customer_reply(a.ticket, **_common(a)))
_simple("escalate", lambda d, a: d.escalate(a.ticket, a.reason, a.level, **_common(a)))
_simple("close", lambda d, a: d.close_ticket(a.ticket, a.reason, **_common(a)))
_simple("reopen", lambda d, a: d.reopen(a.ticket, a.reason, **_common(a)))
_COMMANDS.update(ENGINE_COMMANDS)  # run, scheduler, queues, dashboard, audit, demo
_COMMANDS.update(HTTP_COMMANDS)  # token


@command("show")
def cmd_show(args: argparse.Namespace, settings: Settings) -> Any:
    desk = _desk(settings)
    ticket = desk.get(args.ticket)
    report = desk.sla(ticket.id, now=args.now, explain=True)
    policy = desk.catalogue.desk(ticket.desk, ticket.policy_version)
    if args.json:
        return {
            **summary(ticket),
            "policy": {"desk": policy.id, "plan": ticket.plan, "version": policy.version,
                       "name": policy.name},
            "computed_at": iso(report.computed_at),
            "sla": sla_json(report),
        }
    head = (
        f"{ticket.number} — {ticket.title}\n"
        f"  desk {policy.id} (policy v{policy.version}), plan {ticket.plan}, "
        f"category {ticket.category}, severity {ticket.severity}\n"
        f"  status {ticket.status}, level {ticket.level}, agent {ticket.agent or '-'}\n"
        f"  opened {iso(ticket.opened_at)}; SLA as of {iso(report.computed_at)}:"
    )
    return head + "\n" + sla_text(report)


@command("list")
def cmd_list(args: argparse.Namespace, settings: Settings) -> Any:
    desk = _desk(settings)
    rows = []
    for ticket_id in desk.opened_ticket_ids():
        ticket = desk.get(ticket_id)
        if args.desk and ticket.desk != args.desk:
            continue
        if args.status and ticket.status != args.status:
            continue
        rows.append(summary(ticket))
    if args.json:
        return rows
    return "\n".join(
        f"{r['number']:<12} {r['desk']:<10} {r['severity']:<3} {r['status']:<14} {r['title']}"
        for r in rows
    ) or "(no tickets)"


@command("history")
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


@command("policies")
def cmd_policies(args: argparse.Namespace, settings: Settings) -> Any:
    from tickets.policy_view import describe_catalogue

    return describe_catalogue(build_desk(settings).catalogue, args.desk, as_json=args.json)


@command("editors")
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


@command("walkthrough")
def cmd_walkthrough(args: argparse.Namespace, settings: Settings) -> Any:
    from tickets.walkthrough import walk

    return walk(settings, as_json=args.json)


def build_parser() -> argparse.ArgumentParser:
    parser = TicketsParser(prog="tickets", description=__doc__.splitlines()[0])
    common = TicketsParser(add_help=False)
    common.add_argument("--home", help="data directory (default: TICKETS_HOME)")
    common.add_argument("--json", action="store_true", help="machine-readable output")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str, *, records: bool = False,
            actor: str = "agent:cli") -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        if records:
            p.add_argument("--at", type=ISO_TIME_WITH_ZONE,
                           help="when it happened, ISO 8601 with a zone (default: now)")
            p.add_argument("--actor", default=actor, help=f"role:id (default {actor})")
            p.add_argument("--channel", default="cli")
            p.add_argument("--expected-version", type=VERSION, default=None,
                           help="refuse if the ticket has changed since this version")
        return p

    p = add("open", "open a ticket", records=True, actor="service:cli")
    p.add_argument("--desk", required=True)
    p.add_argument("--requester", required=True, help="the requester's pseudonymous id")
    p.add_argument("--role", required=True, help="the requester's role (admin, editor, ...)")
    p.add_argument("--title", required=True)
    p.add_argument("--field", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--plan")
    p.add_argument("--category")
    p.add_argument("--severity")
    p = add("severity", "set the severity", records=True)
    p.add_argument("ticket")
    p.add_argument("severity")
    p.add_argument("--reason", default="triage",
                   help="triage | customer_could_not_cooperate | reclassified")
    p = add("assign", "assign to an agent", records=True)
    p.add_argument("ticket")
    p.add_argument("agent")
    p.add_argument("--level", default="front_line")
    p = add("respond", "record an agent's reply", records=True)
    p.add_argument("ticket")
    p = add("request-info", "ask the customer for information (\"action needed\")", records=True)
    p.add_argument("ticket")
    p.add_argument("--replace", action="store_true",
                   help="replace a pending request and restart the auto-close countdown")
    p = add("reply", "record the customer's reply", records=True, actor="service:cli")
    p.add_argument("ticket")
    p = add("escalate", "escalate a level", records=True)
    p.add_argument("ticket")
    p.add_argument("--level")
    p.add_argument("--reason", default="by_hand",
                   help="rule | at_risk | breach | complaint | by_hand")
    p = add("close", "close a ticket", records=True)
    p.add_argument("ticket")
    p.add_argument("--reason", default="resolved",
                   help="resolved | closed_by_requester | no_reply")
    p = add("reopen", "reopen a closed ticket", records=True)
    p.add_argument("ticket")
    p.add_argument("--reason", required=True)
    p = add("show", "a ticket's state and SLA timeline")
    p.add_argument("ticket")
    p.add_argument("--now", type=ISO_TIME_WITH_ZONE,
                   help="compute the clocks as of this time (default: now)")
    p = add("list", "list tickets")
    p.add_argument("--desk")
    p.add_argument("--status")
    p = add("history", "a ticket's events")
    p.add_argument("ticket")
    p = add("policies", "the support desks and their SLA targets")
    p.add_argument("desk", nargs="?")
    p = add("editors", "the editor registry of a site")
    p.add_argument("action", choices=["list", "add", "remove"])
    p.add_argument("--desk", required=True)
    p.add_argument("--site", required=True, help="the site id, in the desk's format (web: 4 digits)")
    p.add_argument("--editor", help="the editor's id (add and remove)")
    add("walkthrough", "a scripted walk through one ticket's life, printing its SLA timeline")
    add_engine_parsers(add)
    add_http_parsers(add)
    add_kafka_commands(add, _COMMANDS)  # publish, consume, schedule
    add_dlq_commands(add, _COMMANDS)  # dlq list, dlq replay
    add_intake_commands(add, _COMMANDS)  # intake, health
    add_replay_commands(add, _COMMANDS)  # replay as-of, export, verify, rebuild, what-if
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # a malformed command line: one line naming the option, exit 2
    try:
        settings = load_settings(home=args.home)
        if args.home or settings.uses_home:
            settings.ensure_home()
        configure_logging(settings.log_format, logging.WARNING)  # stderr; `run` and others raise it
        output = _COMMANDS[args.command](args, settings)
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # one line and exit 1, whatever it was (see tickets.cli_errors)
        refusal = cli_errors.as_ticket_error(error)
        if refusal is None:
            raise
        return cli_errors.report(refusal, getattr(args, "json", False))
    if output is not None:
        try:
            print(output if isinstance(output, str) else dumps(output))
        except BrokenPipeError:  # the reader went away (| head): not an error of ours
            sys.stderr.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

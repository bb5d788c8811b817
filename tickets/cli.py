"""The ``tickets`` command line: every command of the desk, on the configured event store.

Errors go to stderr as one line with a non-zero exit and no traceback: 2 for a malformed command
line (the option and its rule, checked by the types in ``tickets.cli_types`` before anything runs),
1 for a refused command, a bad setting, an unreachable server or an operating-system error (the
message names the ticket, field or setting, and the rule; see ``tickets.cli_errors``).

``--home`` and ``--json`` go before the command or after it (``tickets --home DIR show N`` and
``tickets show N --home DIR``); given in both places, the one after the command wins.

Building the parser imports argparse and the option types only: each command's handler is named
by where it lives (``tickets.cli_lazy``) and loads its modules when that command runs, and each
command's parser is made when that command is the one parsed (``tickets.cli_subparsers``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tickets.cli_lazy import Handler, lazy
from tickets.cli_subparsers import LazySubParsers
from tickets.cli_types import ISO_TIME_WITH_ZONE, VERSION, TicketsParser, add_global_options
from tickets.dlq_args import add_dlq_commands
from tickets.engine_args import add_engine_commands
from tickets.http.cli_args import add_serve_command, add_token_commands
from tickets.intake_args import add_intake_commands
from tickets.kafka_args import add_kafka_commands
from tickets.privacy.cli_args import add_privacy_commands
from tickets.replay_args import add_replay_commands

_COMMANDS: dict[str, Handler] = lazy(
    "tickets.desk_cli", open="cmd_open", severity="cmd_severity", assign="cmd_assign",
    respond="cmd_respond", request_info="cmd_request_info", reply="cmd_reply",
    escalate="cmd_escalate", close="cmd_close", reopen="cmd_reopen", show="cmd_show",
    list="cmd_list", history="cmd_history", policies="cmd_policies", editors="cmd_editors",
    walkthrough="cmd_walkthrough",
)


def build_parser() -> argparse.ArgumentParser:
    parser = TicketsParser(prog="tickets", description=__doc__.splitlines()[0])
    add_global_options(parser, default=None)
    common = TicketsParser(add_help=False)
    add_global_options(common, default=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", action=LazySubParsers)

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
    add_engine_commands(add, _COMMANDS)  # run, scheduler, queues, dashboard, audit, demo
    add_token_commands(add, _COMMANDS)  # token
    add_serve_command(add, _COMMANDS)  # serve
    add_kafka_commands(add, _COMMANDS)  # publish, consume, schedule
    add_dlq_commands(add, _COMMANDS)  # dlq list, dlq replay
    add_intake_commands(add, _COMMANDS)  # intake, health
    add_replay_commands(add, _COMMANDS)  # replay as-of, export, verify, rebuild, what-if
    add_privacy_commands(add, _COMMANDS)  # privacy erase, retention, migrate
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # a malformed command line: one line naming the option, exit 2
    return run(args)


def run(args: argparse.Namespace) -> int:
    """Run the parsed command: settings, logging, the handler, its output or its one-line error."""
    import logging

    from tickets import cli_errors
    from tickets.config import load_settings
    from tickets.logs import configure_logging
    from tickets.output import dumps

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

"""The command lines of the engine's commands: run, scheduler run-once, queues, dashboard, audit,
demo (their handlers are in ``tickets.cli_engine``)."""

from __future__ import annotations

from tickets.cli_lazy import AddParser, Handlers, lazy
from tickets.cli_types import ISO_TIME_WITH_ZONE, positive_int, positive_seconds, whole
from tickets.http.cli_args import add_run_options


def add_engine_commands(add: AddParser, handlers: Handlers) -> None:
    """Add the engine's commands; ``add(name, help)`` makes a sub-parser with --home and --json."""
    handlers.update(lazy("tickets.cli_engine", run="cmd_run", scheduler="cmd_scheduler",
                         queues="cmd_queues", dashboard="cmd_dashboard", audit="cmd_audit",
                         demo="cmd_demo"))
    p = add("run", "run the engine: feed the projections and fire due timers until stopped")
    p.add_argument("--poll", type=positive_seconds(0.01, 60), default=0.2,
                   help="seconds between looks at the store (0.2)")
    add_run_options(p)
    p = add("scheduler", "the scheduler, once: catch the projections up and fire what is due")
    p.add_argument("action", choices=["run-once"])
    p.add_argument("--now", type=ISO_TIME_WITH_ZONE,
                   help="fire what is due at this time, on a clock set to it (default: now)")
    p = add("queues", "the escalation queues, per level")
    p.add_argument("--now", type=ISO_TIME_WITH_ZONE, help="as of this time (default: now)")
    p.add_argument("--limit", type=positive_int(100_000), default=100,
                   help="at most this many per level (100)")
    p = add("dashboard", "the dashboard figures")
    p.add_argument("--now", type=ISO_TIME_WITH_ZONE, help="as of this time (default: now)")
    p = add("audit", "a ticket's audit trail, with each entry's hash")
    p.add_argument("ticket")
    p.add_argument("--show-personal", action="store_true",
                   help="show contact details unmasked (for auditors entitled to see them)")
    p.add_argument("--limit", type=positive_int(1_000_000), default=1000,
                   help="at most this many entries (1000)")
    p = add("demo", "a simulated fortnight of a support desk on a virtual clock")
    p.add_argument("--seed", type=whole(0, 2**32 - 1), default=7, help="the random seed (7)")
    p.add_argument("--tickets", type=positive_int(100_000), default=300,
                   help="tickets to open (300)")
    p.add_argument("--days", type=positive_int(366), default=14, help="simulated days (14)")
    p.add_argument("--step", type=positive_int(1_440, "minutes"), default=10,
                   help="minutes per clock step (10)")

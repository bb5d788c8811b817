"""The command lines of ``tickets publish``, ``consume`` and ``schedule`` (their handlers are in
``tickets.kafka_cli``)."""

from __future__ import annotations

from tickets.cli_lazy import AddParser, Handlers, lazy
from tickets.cli_types import positive_int, positive_seconds
from tickets.metrics_args import add_metrics_options


def add_kafka_commands(add: AddParser, handlers: Handlers) -> None:
    """Register the commands: ``add(name, help)`` makes a sub-parser; ``handlers`` maps names to handlers."""
    p = add("publish", "publish the event store's events to Kafka (one leader, others stand by)")
    p.add_argument("--batch", type=positive_int(100_000), default=2000,
                   help="events per acknowledged batch (2000)")
    add_metrics_options(p)
    p = add("consume", "a consumer group member applying tickets.events to the projections")
    p.add_argument("--group", default="projections", help="consumer group (the topic prefix goes first)")
    p.add_argument("--projection", action="append", metavar="NAME",
                   help="sla_timers, escalation_queues, audit_trail or dashboard (repeat; default: all)")
    add_metrics_options(p)
    p = add("schedule", "a scheduler group member: fires the due timers of its partitions")
    p.add_argument("--group", default="scheduler")
    p.add_argument("--tick", type=positive_seconds(0.01, 3_600), default=1.0,
                   help="seconds between looks at due timers (1)")
    add_metrics_options(p)
    handlers.update(lazy("tickets.kafka_cli", publish="cmd_publish", consume="cmd_consume",
                         schedule="cmd_schedule"))

"""Text and JSON views of what the engine keeps: fired timers, queues, dashboard figures, audit trails.

JSON views use the CLI's conventions (``tickets.output.plain``: ISO 8601 UTC times, seconds for
durations). Text views are one line per item, widest columns first, for a terminal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tickets.consumers.scheduler import Fired
from tickets.output import iso, plain
from tickets.projections.audit_trail import AuditEntry
from tickets.projections.dashboard import Figures
from tickets.projections.escalation_queues import QueueEntry


def fired_json(fired: Sequence[Fired]) -> list[dict[str, Any]]:
    return [plain(f) for f in fired]


def fired_text(fired: Sequence[Fired]) -> str:
    if not fired:
        return "(nothing due)"
    return "\n".join(
        f"{f.ticket:<12} {f.kind:<15} {f.action:<17} due {iso(f.due)}  {f.outcome}" for f in fired
    )


def queues_json(queues: Mapping[str, Sequence[QueueEntry]]) -> dict[str, list[dict[str, Any]]]:
    return {level: [plain(e) for e in entries] for level, entries in queues.items()}


def queues_text(queues: Mapping[str, Sequence[QueueEntry]]) -> str:
    lines = []
    for level, entries in queues.items():
        lines.append(f"{level} ({len(entries)})")
        lines += [
            f"  {e.number:<12} {e.desk:<10} {e.severity:<7} {e.state:<10} {e.reason}"
            for e in entries
        ]
    return "\n".join(lines)


def figures_json(figures: Figures) -> dict[str, Any]:
    return {
        "as_of": iso(figures.as_of),
        "open": [row._asdict() for row in figures.open_by_desk_severity_status],
        "sla": [row._asdict() for row in figures.sla],
        "first_response": [row._asdict() for row in figures.first_response],
    }


def figures_text(figures: Figures) -> str:
    lines = [f"As of {iso(figures.as_of)}", "Open tickets (desk, severity, status):"]
    lines += [f"  {r.desk:<10} {r.severity:<7} {r.status:<15} {r.tickets:>5}"
              for r in figures.open_by_desk_severity_status] or ["  (none)"]
    lines.append("SLA (desk, severity): met, at risk, breached, running")
    lines += [f"  {r.desk:<10} {r.severity:<7} {r.met:>5} {r.at_risk:>5} {r.breached:>5} {r.running:>5}"
              for r in figures.sla] or ["  (none)"]
    lines.append("First response, business time used (desk, severity): tickets, p50, p90, p99")
    lines += [f"  {r.desk:<10} {r.severity:<7} {r.tickets:>5} {_hm(r.p50):>7} {_hm(r.p90):>7} "
              f"{_hm(r.p99):>7}" for r in figures.first_response] or ["  (none)"]
    return "\n".join(lines)


def _hm(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m"


def trail_json(entries: Sequence[AuditEntry]) -> list[dict[str, Any]]:
    return [plain(e) for e in entries]


def trail_text(entries: Sequence[AuditEntry]) -> str:
    if not entries:
        return "(no entries)"
    lines = []
    for e in entries:
        payload = " ".join(f"{k}={v}" for k, v in e.payload.items() if v not in (None, {}, []))
        lines.append(f"v{e.version:<3} {e.occurred_at}  {e.type:<16} {e.actor:<22} {e.channel:<9} "
                     f"{e.hash[:12]}  {payload}")
    return "\n".join(lines)


def totals(figures: Figures) -> dict[str, int]:
    """The dashboard's SLA counts summed over desks and severities."""
    return {
        "open": sum(r.tickets for r in figures.open_by_desk_severity_status),
        "met": sum(r.met for r in figures.sla),
        "at_risk": sum(r.at_risk for r in figures.sla),
        "breached": sum(r.breached for r in figures.sla),
        "running": sum(r.running for r in figures.sla),
    }

"""What the replay tools show: JSON-ready maps for ``--json`` and plain text for people.

Times are ISO 8601 in UTC (``Z``), durations in seconds; personal data has already been masked
by the tool that produced the result.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tickets.domain.sla import SlaReport, TargetClock
from tickets.replay.as_of import AsOf, state_of
from tickets.replay.compare import TableDiff
from tickets.replay.integrity import IntegrityReport
from tickets.replay.what_if import Side, WhatIf
from tickets.wire.envelope import wire_value


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def clock_json(clock: TargetClock) -> dict[str, Any]:
    return {
        "kind": clock.kind, "state": clock.state.value, "due": iso(clock.due),
        "at_risk_at": iso(clock.at_risk_at), "start": iso(clock.start),
        "stopped_at": iso(clock.stopped_at), "target": clock.target.total_seconds(),
        "used": clock.used.total_seconds(), "calendar": clock.calendar,
        "calendar_version": clock.calendar_version, "policy_version": clock.policy_version,
        "timeline": [{"start": iso(i.start), "end": iso(i.end), "counted": i.counted,
                      "reason": i.reason} for i in clock.timeline],
    }


def as_of_json(result: AsOf) -> dict[str, Any]:
    return {
        "ticket_id": str(result.ticket_id), "number": result.number, "as_of": iso(result.moment),
        "version": result.version, "policy_version": result.report.policy_version,
        "state": state_of(result.facts),
        "sla": [clock_json(c) for c in result.report.clocks],
        "events": [{
            "version": s.entry.version, "type": s.entry.type, "occurred_at": iso(s.entry.occurred_at),
            "recorded_at": iso(s.entry.recorded_at), "actor": s.entry.actor,
            "channel": s.entry.channel, "payload": wire_value(s.entry.payload),
            "changes": {k: {"before": b, "after": a} for k, (b, a) in s.changes.items()},
        } for s in result.steps],
    }


def _hours(seconds: float) -> str:
    total = int(seconds)
    return f"{total // 3600}h{total % 3600 // 60:02d}m"


def sla_text(report: SlaReport) -> list[str]:
    lines = []
    for c in report.clocks:
        lines.append(f"  {c.kind:<15} {c.state.value:<9} due {iso(c.due) or '(paused)':<28} "
                     f"used {_hours(c.used.total_seconds()):>8} of {_hours(c.target.total_seconds())} "
                     f"(calendar {c.calendar} v{c.calendar_version}, policy v{c.policy_version})")
        lines += [f"      {'+' if i.counted else ' '} {iso(i.start)} -> {iso(i.end)}  {i.reason}"
                  for i in c.timeline]
    return lines or ["  (no SLA targets for this severity)"]


def as_of_text(result: AsOf) -> str:
    f = result.facts
    lines = [f"{result.number} as of {iso(result.moment)} (version {result.version})",
             f"  desk {f.desk}, plan {f.plan}, severity {f.severity}, status {f.status}, "
             f"level {f.level}, agent {f.agent or '-'}", "events:"]
    for s in result.steps:
        e = s.entry
        lines.append(f"  v{e.version:<3} {iso(e.occurred_at)}  {e.type:<16} {e.actor}  via {e.channel}"
                     f"  (recorded {iso(e.recorded_at)})")
        lines += [f"        {k}: {_short(b)} -> {_short(a)}" for k, (b, a) in s.changes.items()
                  if k not in _SAID and (e.version > 1 or k in ("status", "severity", "plan", "desk"))]
    return "\n".join([*lines, "SLA:", *sla_text(result.report)])


#: Changes every event makes, already on the event's own line.
_SAID = frozenset({"version", "last_occurred_at"})


def _short(value: Any) -> str:
    text = "-" if value is None else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def integrity_json(report: IntegrityReport) -> dict[str, Any]:
    return {
        "ok": report.ok, "tickets_checked": len(report.tickets),
        "events_checked": sum(t.store_events for t in report.tickets),
        "not_yet_projected": report.pending,
        "broken": [{"ticket_id": t.ticket_id, "number": t.number, "broken_at": t.broken_at}
                   for t in report.broken],
        "findings": [f.__dict__ for f in report.findings],
        "pending": [{"ticket_id": t.ticket_id, "number": t.number, "versions": t.pending}
                    for t in report.tickets if t.pending],
    }


def integrity_text(report: IntegrityReport) -> str:
    head = (f"{len(report.tickets)} ticket(s), {sum(t.store_events for t in report.tickets)} "
            f"event(s) checked; {report.pending} not yet projected")
    lines = [head, "hash chains intact" if report.ok else f"BROKEN in {len(report.broken)} ticket(s):"]
    for t in report.broken:
        lines.append(f"  {t.number or t.ticket_id}: chain breaks at version {t.broken_at}")
        lines += [f"    v{f.version} {f.kind}: {f.detail}" for f in t.findings]
    return "\n".join(lines)


def _side(side: Side) -> dict[str, Any]:
    return {"state": side.state, "due": iso(side.due), "policy_version": side.policy_version,
            "calendar": side.calendar, "calendar_version": side.calendar_version}


def what_if_json(result: WhatIf) -> dict[str, Any]:
    return {
        "desk": result.desk, "policy_file": result.policy_file, "since": iso(result.since),
        "until": iso(result.until), "live_policy_version": result.live_version,
        "other_policy_version": result.other_version, "totals": result.totals(),
        "tickets": [{
            "ticket_id": str(t.ticket_id), "number": t.number, "plan": t.plan,
            "severity": t.severity, "not_compared": t.not_compared,
            "changes": [{"kind": o.kind, "before": _side(o.before), "after": _side(o.after)}
                        for o in t.changed],
        } for t in result.tickets if t.changed or t.not_compared],
    }


def what_if_text(result: WhatIf) -> str:
    totals = result.totals()
    lines = [f"desk {result.desk}: policy v{result.live_version} -> {result.policy_file} "
             f"v{result.other_version}, tickets opened {iso(result.since)} .. {iso(result.until)}, "
             f"clocks as of {iso(result.until)}"]
    for t in result.tickets:
        if t.not_compared:
            lines.append(f"  {t.number}: not compared: {t.not_compared}")
        for o in t.changed:
            lines.append(
                f"  {t.number} {o.kind:<15} {o.before.state} -> {o.after.state}; due "
                f"{iso(o.before.due) or '-'} -> {iso(o.after.due) or '-'} (policy "
                f"v{o.before.policy_version} -> v{o.after.policy_version}, calendar "
                f"{o.before.calendar} v{o.before.calendar_version} -> {o.after.calendar} "
                f"v{o.after.calendar_version})")
    lines.append(f"total: {totals['tickets_changed']} of {totals['tickets']} ticket(s) change, "
                 f"{totals['outcomes_changed']} outcome(s); breached {totals['breached_before']} "
                 f"-> {totals['breached_after']}")
    lines += [f"  {move}: {n}" for move, n in totals["changes"].items()]  # type: ignore[attr-defined]
    return "\n".join(lines)


def compare_json(diffs: list[TableDiff]) -> list[dict[str, Any]]:
    return [d.__dict__ | {"same": d.same} for d in diffs]


def compare_text(diffs: list[TableDiff]) -> str:
    lines = []
    for d in diffs:
        state = "same" if d.same else (f"{d.missing} missing, {d.extra} extra, {d.differing} differ")
        lines.append(f"  {d.projection:<18} {d.table:<22} {d.live_rows:>9} live "
                     f"{d.rebuilt_rows:>9} rebuilt  {state}")
        lines += [f"      {x['kind']} {x['key']} {' '.join(x['columns'])}" for x in d.examples]
    return "\n".join(lines)

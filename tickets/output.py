"""Rendering for the CLI: JSON for machines (ISO 8601 UTC times, seconds for durations) and text."""

from __future__ import annotations

import json
from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any
from uuid import UUID

from tickets.domain.sla import SlaReport, TargetClock


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def plain(value: Any) -> Any:
    """Turn domain values into JSON-ready ones."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        return plain(asdict(value))
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return value


def dumps(value: Any) -> str:
    return json.dumps(plain(value), indent=2, sort_keys=False, ensure_ascii=False)


def clock_json(clock: TargetClock) -> dict[str, Any]:
    return {
        "kind": clock.kind,
        "state": clock.state.value,
        "due": iso(clock.due),
        "at_risk_at": iso(clock.at_risk_at),
        "start": iso(clock.start),
        "stopped_at": iso(clock.stopped_at),
        "target": clock.target.total_seconds(),
        "target_text": clock.target_text,
        "used": clock.used.total_seconds(),
        "remaining": clock.remaining.total_seconds(),
        "calendar": clock.calendar,
        "calendar_version": clock.calendar_version,
        "policy_version": clock.policy_version,
        "pauses": [[iso(s), iso(e)] for s, e in clock.pauses],
        "timeline": [
            {"start": iso(i.start), "end": iso(i.end), "counted": i.counted, "reason": i.reason}
            for i in clock.timeline
        ],
    }


def sla_json(report: SlaReport) -> list[dict[str, Any]]:
    return [clock_json(c) for c in report.clocks]


def hours(delta: timedelta) -> str:
    total = int(delta.total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    return f"{sign}{total // 3600}h{total % 3600 // 60:02d}m"


def sla_text(report: SlaReport, tz: str = "UTC") -> str:
    lines = []
    for c in report.clocks:
        due = iso(c.due) or "(paused)"
        lines.append(
            f"  {c.kind:<15} {c.state.value:<9} due {due:<22} used {hours(c.used):>8} "
            f"of {hours(c.target):>8} ({c.target_text or '-'}, calendar {c.calendar})"
        )
        for interval in c.timeline:
            mark = "+" if interval.counted else " "
            lines.append(
                f"      {mark} {iso(interval.start)} → {iso(interval.end)}  {interval.reason}"
            )
    return "\n".join(lines) if lines else "  (no SLA targets for this severity)"

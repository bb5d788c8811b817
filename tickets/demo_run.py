"""What one run of ``tickets demo`` is: its fortnight on the calendar and what the simulation leaves.

The simulation (``tickets.demo``) makes a :class:`DemoRun`; the report (``tickets.demo_report``)
reads one. Both import it from here, so neither imports the other's module.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tickets.demo_world import World
from tickets.engine import Engine

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
START = datetime(2026, 4, 20, tzinfo=AMSTERDAM)
HOLIDAY = date(2026, 4, 27)  # King's Day


@dataclass
class DemoRun:
    home: Path
    seed: int
    tickets: int
    start: datetime
    end: datetime
    engine: Engine
    world: World
    fired: Counter[str]

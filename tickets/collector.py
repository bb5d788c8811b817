"""The cyclic garbage collector in the engine's long-running processes.

Start-up builds objects that live as long as the process: imported modules, kafka-python's
protocol tables, psycopg's adapters, the catalogue with its calendars and holidays. In a consumer
group that is about 150,000 objects, and every full collection walks them all again: about 190 ms
each (0.75 s of a 4 s run applying 20,000 events in ``benchmarks/bench_consumer.py``), a pause in
the middle of a batch that lands on the command-to-read-model latency's tail. ``gc.freeze()``
once start-up is done moves them where the collector never looks (full collections then took
about 24 ms); whatever the process makes afterwards is collected as before, with the default
thresholds, so reference cycles made while running are still freed.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> int:
    """Collect what start-up left behind, then freeze the rest; return how many objects are frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()

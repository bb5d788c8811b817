"""Exactly once across crashes: a feed killed between batches, or at random, then restarted, leaves
every projection table equal to a clean rebuild from position 0.

The feed runs in a child process on a SQLite event store and read store. In one test it ends
itself with ``os._exit`` right after every few committed batches (a crash between a projection's
write and the next event); in the other the test SIGKILLs it at random moments, which lands
inside transactions as well as between them. Each time it is simply started again.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tickets.config import Settings, load_settings
from tickets.demo import simulate
from tickets.domain.ticket import TICKET_TOPICS
from tickets.engine import build_engine

pytestmark = pytest.mark.integration

CHILD = """
import os, sys
from tickets.config import load_settings
from tickets.engine import build_engine

home, read_url, batch, exit_every = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
engine = build_engine(load_settings(environ={"TICKETS_READ_MODEL_URL": read_url}, home=home),
                      batch_size=batch, log_batches=False)
committed = 0

def after_commit(batch):
    global committed
    committed += 1
    if exit_every and committed % exit_every == 0:
        os._exit(17)  # the batch is committed; the next one never starts

engine.feed.on_batch = after_commit
print("ready", flush=True)
engine.feed.catch_up()
print("caught-up", flush=True)
"""


@pytest.fixture(scope="module")
def events_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite event store with a few hundred events of a simulated fortnight."""
    home = tmp_path_factory.mktemp("events")
    run = simulate(load_settings(environ={}, home=str(home)), seed=3, tickets=50, days=14, step=30,
                   progress=False)
    run.engine.close()
    return home


def child(home: Path, read_url: str, batch: int, exit_every: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(home), read_url, str(batch), str(exit_every)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def position(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT MIN(position) FROM projection_positions").fetchone()[0] or 0)
    except sqlite3.OperationalError:  # killed before it made its tables
        return 0
    finally:
        conn.close()


def snapshot(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}
    finally:
        conn.close()


def clean_rebuild(home: Path, path: Path) -> dict[str, list[tuple[Any, ...]]]:
    settings: Settings = load_settings(environ={"TICKETS_READ_MODEL_URL": f"sqlite:///{path}"},
                                       home=str(home))
    engine = build_engine(settings, log_batches=False)
    engine.catch_up()
    engine.close()
    return snapshot(path)


def assert_exactly_once(home: Path, crashed: Path, tmp_path: Path) -> None:
    got = snapshot(crashed)
    want = clean_rebuild(home, tmp_path / "clean.sqlite3")
    assert set(got) == set(want)
    for table in sorted(want):
        assert got[table] == want[table], f"table {table} differs from a clean rebuild"
    marks = ",".join("?" * len(TICKET_TOPICS))
    events = sqlite3.connect(home / "events.sqlite3").execute(
        f"SELECT COUNT(*) FROM stored_events WHERE topic IN ({marks})", TICKET_TOPICS).fetchone()[0]
    assert events > 0
    assert len(got["audit_trail"]) == events  # every event once: none lost, none twice
    assert got["set_aside"] == []


def test_a_feed_that_dies_after_committed_batches_resumes_exactly_once(
    events_home: Path, tmp_path: Path,
) -> None:
    crashed = tmp_path / "crashed.sqlite3"
    exits = 0
    for _ in range(200):
        proc = child(events_home, f"sqlite:///{crashed}", batch=10, exit_every=5)
        out, err = proc.communicate(timeout=60)
        if proc.returncode == 0:
            assert "caught-up" in out
            break
        assert proc.returncode == 17, err
        exits += 1
    else:
        pytest.fail("the feed never caught up")
    assert exits >= 3
    assert_exactly_once(events_home, crashed, tmp_path)


def test_a_feed_killed_at_random_moments_resumes_exactly_once(
    events_home: Path, tmp_path: Path,
) -> None:
    crashed = tmp_path / "crashed.sqlite3"
    rng = random.Random(11)
    progress: list[int] = []
    for _ in range(8):
        proc = child(events_home, f"sqlite:///{crashed}", batch=2, exit_every=0)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.12))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
        progress.append(position(crashed))
    assert progress == sorted(progress)
    killed_midway = {p for p in progress if 0 < p < progress[-1]}
    assert len(killed_midway) >= 2, progress
    final = child(events_home, f"sqlite:///{crashed}", batch=3, exit_every=0)
    out, err = final.communicate(timeout=120)
    assert final.returncode == 0 and "caught-up" in out, err
    assert_exactly_once(events_home, crashed, tmp_path)

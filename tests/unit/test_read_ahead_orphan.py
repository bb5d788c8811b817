"""The publisher's reading process outlives a killed publisher only long enough to notice it."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

#: A publisher that starts its reading process, asks for a batch it never reads, and waits to be
#: killed: the child's answer is left unread in the pipe, so the child's next read meets a reset
#: connection rather than a clean end of file.
PUBLISHER = textwrap.dedent("""
    import sys, time
    from tickets.consumers.read_ahead import ProcessReadAhead
    from tickets.application.policy_files import load_catalogue
    from tickets.application.desk import TicketDesk
    from tickets.config import persistence_env
    from tickets.sample_lives import write_lives

    env = persistence_env(sys.argv[1])
    desk = TicketDesk(load_catalogue(), env=env)
    write_lives(desk, 5, interleave=2)
    ahead = ProcessReadAhead(load_catalogue(), env)
    ahead.request(0, 1000)
    print(ahead._process.pid, flush=True)
    time.sleep(60)
""")


def gone(pid: int) -> bool:
    """Exited (a zombie nobody reaped counts: it runs no more code)."""
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in state


@pytest.mark.parametrize("attempt", range(3))
def test_a_killed_publisher_leaves_a_reading_process_that_exits_quietly(
    tmp_path: Path, attempt: int,
) -> None:
    publisher = subprocess.Popen(
        [sys.executable, "-c", PUBLISHER, f"sqlite:///{tmp_path / 'events.sqlite3'}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert publisher.stdout is not None
    child = int(publisher.stdout.readline())
    time.sleep(0.5)  # the child has answered into the pipe
    publisher.send_signal(signal.SIGKILL)
    publisher.wait(10)
    deadline = time.monotonic() + 20
    while not gone(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gone(child)
    out, err = publisher.communicate(timeout=10)  # the child held the same pipes until it exited
    said = (out + err).decode()
    lines = [line for line in said.splitlines() if line.strip()]
    assert "Traceback" not in said
    assert len(lines) <= 1 and all("publisher_read_parent_gone" in line for line in lines), said

"""A test server does not outlive the process that started it, however that process dies.

The owner here is a separate Python process that starts a server and is then killed with SIGKILL,
so none of its own clean-up runs: only the watchdog (``tests/servers/watchdog_process.py``) can
stop the server and remove its directory.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent.parent

#: The owner: starts the server named in argv[2], prints its pid and directory, waits to be killed.
OWNER = """
import sys
sys.path.insert(0, sys.argv[1])
from tests.servers import KafkaBroker, PostgresServer
server = {"kafka": KafkaBroker, "postgres": PostgresServer}[sys.argv[2]]()  # started by its constructor
print(server.pid, server.workdir, flush=True)
sys.stdin.read()
"""


def _running(pid: int) -> bool:
    """Whether the process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in "ZX"


@pytest.mark.parametrize("kind", ["kafka", "postgres"])
def test_a_server_stops_and_its_files_go_when_its_owner_is_killed(kind: str) -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(ROOT), kind],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert owner.stdout is not None
        pid_text, workdir_text = owner.stdout.readline().split()
        server_pid, workdir = int(pid_text), Path(workdir_text)
        assert _running(server_pid) and workdir.is_dir()  # it was up before the owner died

        os.kill(owner.pid, signal.SIGKILL)
        owner.wait(timeout=10)

        deadline = time.monotonic() + 20
        while (_running(server_pid) or workdir.exists()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _running(server_pid), "the server outlived its owner"
        assert not workdir.exists(), "the server's directory outlived its owner"
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()

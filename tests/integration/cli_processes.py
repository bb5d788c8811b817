"""``tickets COMMAND`` as a subprocess of a test: restartable, killable, its log kept in a file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from kafka_helpers import wait_until


class Process:
    """``tickets COMMAND`` as a subprocess, restartable, its log kept in a file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path, ready: tuple[str, ...]) -> None:
        self.args = args
        self.env = {**os.environ, **env}
        self.log = log
        self.ready = ready  # log events that say its stop signals are installed
        self.log_offset = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def is_running(self) -> bool:
        """The latest start has logged one of its ``ready`` events."""
        with self.log.open("rb") as log:
            log.seek(self.log_offset)
            text = log.read().decode(errors="replace")
        return any(f'"{event}"' in text for event in self.ready)

    def start(self) -> None:
        self.log_offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "tickets.cli", *self.args],
                                         env=self.env, stdout=out, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        assert self.proc is not None
        assert self.proc.poll() is None, f"{self.args[0]} died on its own; see {self.log}"
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        """SIGTERM once it is running (a signal during start-up would find no handler yet)."""
        assert self.proc is not None
        wait_until(self.is_running, 60, f"{self.args[0]} to start")
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(30)

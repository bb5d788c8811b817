"""A dev server process: started in a session of its own, watched, stopped at interpreter exit.

:class:`ManagedServer` is the base of the PostgreSQL and Kafka servers. It owns the server's
temporary directory, its log and its watchdog (``watchdog``), and stops everything at
``atexit`` unless it was stopped before.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from tests.servers.host import tail, temp_base
from tests.servers.watchdog import Watchdog


class ServerStartError(RuntimeError):
    """A server did not come up; the message carries the tail of its log."""


class ManagedServer:
    """A server process in a session of its own, watched, stopped at exit."""

    _stop_signal: int = signal.SIGTERM
    _grace: float = 10.0
    name = "server"

    def __init__(self) -> None:
        self._owner_pid = os.getpid()
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        self._watchdog: Watchdog | None = None
        self._stopped = False
        self.workdir: Path | None = None
        self.log_path: Path | None = None
        #: seconds from the start call until the server answered
        self.startup_seconds: float | None = None

    # -- lifecycle helpers for subclasses ------------------------------------------------------
    def _begin(self, prefix: str, memory: bool = True) -> Path:
        self.workdir = Path(tempfile.mkdtemp(prefix=prefix, dir=temp_base(memory)))
        self.log_path = self.workdir / f"{self.name}.log"
        self._watchdog = Watchdog(self.name, self._stop_signal, self._grace, [self.workdir])
        atexit.register(self.stop)
        return self.workdir

    def _spawn(self, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        assert self.log_path is not None and self._watchdog is not None
        if self._log_file is None:
            self._log_file = open(self.log_path, "ab")  # noqa: SIM115 - closed by stop()
        self._process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **kwargs,
        )
        self._watchdog.watch(self._process.pid)
        return self._process

    def _fail(self, message: str) -> ServerStartError:
        log = tail(self.log_path) if self.log_path else "(no log)"
        error = ServerStartError(f"{self.name}: {message}\n--- log ---\n{log}")
        self.stop()
        return error

    def _stop_process(self) -> None:
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(self._stop_signal)
            try:
                process.wait(timeout=self._grace)
            except subprocess.TimeoutExpired:
                # not reaped yet, so its process group is still its own: kill all of it
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=5)
        self._process = None

    def _start(self) -> None:
        raise NotImplementedError

    # -- public ---------------------------------------------------------------------------------
    def start(self) -> Any:
        """Start the server; returns it.  On any failure nothing is left behind."""
        if self._process is not None or self._stopped:
            raise RuntimeError(f"{self.name}: a server object starts once")
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        """Stop the server and remove its files.  Safe to call twice, and from ``atexit``."""
        if self._stopped or os.getpid() != self._owner_pid:
            return  # already stopped, or a forked child: the owner stops it
        self._stopped = True
        atexit.unregister(self.stop)
        try:
            self._stop_process()
        finally:
            if self._log_file is not None:
                self._log_file.close()
                self._log_file = None
            if self.workdir is not None:
                shutil.rmtree(self.workdir, ignore_errors=True)
            if self._watchdog is not None:
                self._watchdog.release()
                self._watchdog = None

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

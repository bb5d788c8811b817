"""The watchdog that stops a dev server when the process that started it dies, however it dies.

The watchdog is a small process of its own that holds the read end of a pipe from its owner; when
the pipe closes without the word ``done``, it stops the server and removes the server's files.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

#: The watchdog's program: a file of its own, run by path (see its docstring).
_PROGRAM = Path(__file__).resolve().with_name("watchdog_process.py")


class Watchdog:
    """The watchdog process of one server (its program: ``watchdog_process``)."""

    def __init__(self, name: str, sig: int, grace: float, paths: Sequence[Path]) -> None:
        read_end, self._write_end = os.pipe()
        try:
            self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                [
                    sys.executable,
                    "-I",
                    str(_PROGRAM),
                    f"test-server-watchdog:{name}",
                    str(read_end),
                    str(int(sig)),
                    str(grace),
                    *map(str, paths),
                ],
                pass_fds=(read_end,),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                env={"PATH": os.defpath},
                cwd="/",
            )
        finally:
            os.close(read_end)

    def watch(self, pid: int) -> None:
        os.write(self._write_end, f"pid {pid}\n".encode())

    def release(self) -> None:
        """The owner stopped the server itself: let the watchdog go."""
        if self._proc is None:
            return
        with contextlib.suppress(OSError):
            os.write(self._write_end, b"done\n")
        with contextlib.suppress(OSError):
            os.close(self._write_end)
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

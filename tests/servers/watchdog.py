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

#: The watchdog (run as ``python -c``, its code in the environment so that ``ps`` stays readable;
#: arguments: the server's name, the pipe, the stop signal, the grace period, paths to remove).
#: It reads lines from the pipe.  ``pid N`` names the
#: process (and process group) to stop; ``done`` means its owner stopped it.  At end of file
#: without ``done`` (the owner died) it sends the given signal to the server, gives it the grace
#: period, kills what is left of its process group, then removes the given paths.
_WATCHDOG = r"""
import os, shutil, signal, sys, time
for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
    signal.signal(s, signal.SIG_IGN)
fd, sig, grace, paths = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5:]
buf = b""
while True:
    try:
        chunk = os.read(fd, 4096)
    except InterruptedError:
        continue
    if not chunk:
        break
    buf += chunk
lines = buf.decode().split()
if "done" in lines:
    sys.exit(0)
pids = [int(lines[i + 1]) for i, w in enumerate(lines[:-1]) if w == "pid"]

def alive(pgid):
    if os.path.isdir("/proc/self"):  # zombies (not reaped yet) do not count
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open("/proc/" + entry + "/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                except (OSError, IndexError):
                    continue
                if int(fields[2]) == pgid and fields[0] not in "ZX":
                    return True
        return False
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

for pid in pids:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
deadline = time.monotonic() + grace
while any(alive(p) for p in pids) and time.monotonic() < deadline:
    time.sleep(0.05)
for pid in pids:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
for path in paths:
    shutil.rmtree(path, ignore_errors=True)
"""


class Watchdog:
    """The watchdog process of one server (see ``_WATCHDOG``)."""

    def __init__(self, name: str, sig: int, grace: float, paths: Sequence[Path]) -> None:
        read_end, self._write_end = os.pipe()
        try:
            self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                [
                    sys.executable,
                    "-I",
                    "-c",
                    "import os; exec(os.environ['TICKETS_DEVSERVERS_WATCHDOG'])",
                    f"tickets-devservers-watchdog:{name}",
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
                env={"TICKETS_DEVSERVERS_WATCHDOG": _WATCHDOG, "PATH": os.defpath},
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

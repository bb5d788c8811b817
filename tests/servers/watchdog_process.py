"""The watchdog's own program, run by path as ``python -I watchdog_process.py NAME FD SIG GRACE PATH...``.

Arguments: the server's name (so that ``ps`` shows whose watchdog it is), the read end of the pipe
from its owner, the stop signal, the grace period in seconds, and the paths to remove.  It reads
lines from the pipe: ``pid N`` names the process (and process group) to stop; ``done`` means its
owner stopped it.  At end of file without ``done`` (the owner died) it sends the given signal to
the server, gives it the grace period, kills what is left of its process group, then removes the
given paths.

It imports only the standard library: it runs isolated (``-I``) from ``/``, with nothing of the
project on its path.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import time
from collections.abc import Sequence


def _read_until_closed(fd: int) -> list[str]:
    buf = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except InterruptedError:
            continue
        if not chunk:
            return buf.decode().split()
        buf += chunk


def _alive(pgid: int) -> bool:
    """Whether any process of the group still runs; zombies (not reaped yet) do not count."""
    if os.path.isdir("/proc/self"):
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


def main(argv: Sequence[str]) -> int:
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(s, signal.SIG_IGN)
    fd, sig, grace, paths = int(argv[2]), int(argv[3]), float(argv[4]), argv[5:]
    words = _read_until_closed(fd)
    if "done" in words:
        return 0
    pids = [int(words[i + 1]) for i, w in enumerate(words[:-1]) if w == "pid"]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
    deadline = time.monotonic() + grace
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

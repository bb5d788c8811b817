"""What a dev server needs from the host: a free port on 127.0.0.1 and a directory for its files."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import stat
import tempfile
from pathlib import Path

LOCALHOST = "127.0.0.1"


def free_port(host: str = LOCALHOST) -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def tail(path: Path, limit: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return "(no log)"


def temp_base(memory: bool = True) -> str:
    """Where server directories go.

    ``TICKETS_DEVSERVERS_TMPDIR`` if set; else ``/dev/shm`` (memory: initdb there takes a third
    of the time it takes on disk) when ``memory`` and it has room; else the temp dir, if others
    may traverse it (PostgreSQL may run as another user), else ``/tmp``.
    """
    override = os.environ.get("TICKETS_DEVSERVERS_TMPDIR")
    if override:
        return override
    shm = "/dev/shm"
    if memory and os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK):
        with contextlib.suppress(OSError):
            if shutil.disk_usage(shm).free > 2 * 1024**3:
                return shm
    base = tempfile.gettempdir()
    if os.geteuid() == 0 and not traversable_by_others(Path(base)):
        return "/tmp"
    return base


def traversable_by_others(path: Path) -> bool:
    return all(part.stat().st_mode & stat.S_IXOTH for part in [path, *path.parents])

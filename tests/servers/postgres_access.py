"""PostgreSQL targets, wherever they run: connection details, eventsourcing settings, databases.

:class:`PostgresAccess` is what any PostgreSQL target offers (the embedded server of
``postgres_server`` too); :class:`PostgresDatabase` describes one database on a server started
elsewhere, for instance the docker-compose one.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, unquote, urlsplit


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

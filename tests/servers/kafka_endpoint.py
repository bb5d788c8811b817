"""A Kafka-protocol broker somewhere (the Tansu dev broker, or one started elsewhere) and its admin."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


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

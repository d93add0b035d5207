"""The broker port over confluent-kafka: ``KafkaBroker(bootstrap)`` builds producers, consumers and admins.

The clients themselves live in ``kafka_producer``, ``kafka_consumer`` and ``kafka_admin``; errors are
translated in ``kafka_errors``. Nothing connects until a client is asked for.
"""

from __future__ import annotations

import logging
from typing import Any

from adapters.kafka_admin import KafkaAdmin
from adapters.kafka_consumer import KafkaConsumer
from adapters.kafka_errors import ConnectionWatch
from adapters.kafka_group_offsets import ConsumerOffsetsAdmin
from adapters.kafka_producer import KafkaProducer
from adapters.kafka_settings import consumer_settings, producer_settings
from services.ports import ConsumerConfig, InvalidConfig, ProducerConfig

LIBRDKAFKA_LOGGER = "kafkalab.librdkafka"
DEFAULT_CLIENT_ID = ProducerConfig().client_id  # "kafkalab", the same in ConsumerConfig


class KafkaBroker:
    """Factory of port clients for the cluster at ``bootstrap``.

    ``client_prefix`` replaces the default client.id ("kafkalab") of clients that do not name themselves,
    and names the admin client ``<prefix>-admin`` (so the broker's logs and the CLI tools tell runs apart);
    ``extra`` is merged into every client's librdkafka settings last (e.g. security settings);
    ``timeout_s`` bounds every admin request and metadata wait.
    """

    def __init__(
        self,
        bootstrap: str,
        *,
        client_prefix: str = "kafkalab",
        extra: dict[str, Any] | None = None,
        timeout_s: float = 15.0,
    ) -> None:
        if not bootstrap or not bootstrap.strip():
            raise InvalidConfig("bootstrap servers are empty: pass host:port, e.g. localhost:9092")
        self.bootstrap = bootstrap.strip()
        self.client_prefix = client_prefix
        self.extra = dict(extra or {})
        self.timeout_s = timeout_s
        # librdkafka logs through Python logging; quiet unless the application configures the logger.
        logger = logging.getLogger(LIBRDKAFKA_LOGGER)
        if not logger.handlers:
            logger.addHandler(logging.NullHandler())

    def producer(self, config: ProducerConfig | None = None) -> KafkaProducer:
        config = config or ProducerConfig()
        watch = ConnectionWatch(self.bootstrap)
        settings = self._settings(watch, producer_settings(config))
        return KafkaProducer(settings, watch)

    def consumer(self, config: ConsumerConfig) -> KafkaConsumer:
        watch = ConnectionWatch(self.bootstrap)
        return KafkaConsumer(config, self._settings(watch, consumer_settings(config)), watch)

    def admin(self, *, isolation_level: str = "read_committed", lag_by_consumer: bool = False) -> KafkaAdmin:
        """``lag_by_consumer``: read lag through a consumer, for clusters whose brokers die (kafka_group_offsets)."""
        watch = ConnectionWatch(self.bootstrap)
        settings = self._settings(watch, {"client.id": f"{self.client_prefix}-admin"})
        kind = ConsumerOffsetsAdmin if lag_by_consumer else KafkaAdmin
        return kind(settings, watch, isolation_level=isolation_level, timeout_s=self.timeout_s)

    def _settings(self, watch: ConnectionWatch, specific: dict[str, Any]) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap,
            "error_cb": watch,
            "logger": logging.getLogger(LIBRDKAFKA_LOGGER),
            "socket.connection.setup.timeout.ms": 10_000,
        }
        settings.update(specific)
        # A client that keeps the port's default name takes the prefix instead; one that names itself
        # keeps its name, so describe_group shows the client.id the service chose (as in the simulator).
        if settings.get("client.id") == DEFAULT_CLIENT_ID and self.client_prefix:
            settings["client.id"] = self.client_prefix
        settings.update(self.extra)
        return settings


__all__ = ["KafkaBroker"]

"""librdkafka settings for the port's client configs. librdkafka itself refuses bad values (ranges,
compression names, acks with idempotence, an unknown assignor) when the client is built; the
adapter adds only the port's own narrower rules, and one librdkafka does not survive (an empty
group id)."""

from __future__ import annotations

from typing import Any

from services.ports import ConsumerConfig, InvalidConfig, ProducerConfig

PORT_ACKS = ("0", "1", "all", "-1")
_ASSIGNORS = {"range": "range", "roundrobin": "roundrobin", "cooperative-sticky": "cooperative-sticky"}


def producer_settings(config: ProducerConfig) -> dict[str, Any]:
    """librdkafka settings for ``config``. murmur2_random puts a key where Java clients and the simulator do.

    librdkafka itself refuses bad values (compression, ranges, acks with idempotence) at construction;
    the port's acks are only 0, 1 and all (librdkafka would take 2..1000 and let the broker refuse)."""
    if config.acks not in PORT_ACKS:
        raise InvalidConfig(f'Invalid value "{config.acks}" for configuration property "acks"')
    settings: dict[str, Any] = {
        "client.id": config.client_id,
        "acks": config.acks,
        "enable.idempotence": config.enable_idempotence or bool(config.transactional_id),
        "linger.ms": config.linger_ms,
        "retries": config.retries,
        "compression.type": config.compression_type,
        "message.max.bytes": config.message_max_bytes,
        "sticky.partitioning.linger.ms": config.sticky_partitioning_linger_ms,
        "partitioner": "murmur2_random",
    }
    if config.transactional_id:
        settings["transactional.id"] = config.transactional_id
    return settings


def consumer_settings(config: ConsumerConfig) -> dict[str, Any]:
    """librdkafka settings for ``config``: manual commits, nothing stored behind the caller's back.
    librdkafka refuses bad values itself; an empty group id it does not survive, so the port refuses it."""
    if not config.group_id:
        raise InvalidConfig('Invalid value "" for configuration property "group.id": a consumer needs a group id')
    settings: dict[str, Any] = {
        "group.id": config.group_id,
        "client.id": config.client_id,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "enable.partition.eof": False,
        "auto.offset.reset": config.auto_offset_reset,
        "partition.assignment.strategy": _ASSIGNORS.get(config.assignor, config.assignor),
        "session.timeout.ms": config.session_timeout_ms,
        "heartbeat.interval.ms": config.heartbeat_interval_ms,
        "max.poll.interval.ms": config.max_poll_interval_ms,
        "isolation.level": config.isolation_level,
        "topic.metadata.refresh.interval.ms": config.topic_metadata_refresh_interval_ms,
    }
    if config.group_instance_id:
        settings["group.instance.id"] = config.group_instance_id
    if config.group_protocol != "classic":
        _consumer_protocol(config, settings)
    return settings


# Set by the broker under group.protocol=consumer; librdkafka refuses them there when set.
_BROKER_SIDE = {"partition.assignment.strategy": "range", "session.timeout.ms": 45_000, "heartbeat.interval.ms": 3_000}


def _consumer_protocol(config: ConsumerConfig, settings: dict[str, Any]) -> None:
    """KIP-848: the broker assigns. A port default counts as not set; any other value is passed on, so
    librdkafka refuses it with its own message."""
    settings["group.protocol"] = config.group_protocol
    for name, default in _BROKER_SIDE.items():
        if settings[name] == default:
            del settings[name]
    if config.remote_assignor:
        settings["group.remote.assignor"] = config.remote_assignor



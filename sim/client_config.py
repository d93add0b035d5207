"""librdkafka's rules for the client settings the port exposes, with librdkafka's messages.

A producer or consumer the simulator builds refuses exactly what ``confluent_kafka.Producer(...)`` /
``Consumer(...)`` refuse at construction (each rule was tried against librdkafka 2.16): InvalidConfig.
"""

from __future__ import annotations

from services.ports import ConsumerConfig, InvalidConfig, ProducerConfig

COMPRESSION_CODECS = ("none", "gzip", "snappy", "lz4", "zstd")
ACKS = ("all", "-1", "0", "1")
# librdkafka accepts these aliases of auto.offset.reset
OFFSET_RESETS = {"smallest": "earliest", "earliest": "earliest", "beginning": "earliest",
                 "largest": "latest", "latest": "latest", "end": "latest", "error": "error"}
ASSIGNORS = ("range", "roundrobin", "cooperative-sticky")
GROUP_PROTOCOLS = ("classic", "consumer")
# What librdkafka refuses under group.protocol=consumer: the port's field, its default, the message.
BROKER_SIDE = (
    ("assignor", "range", "`partition.assignment.strategy` is not supported for `group.protocol=consumer`. "
                          "Use `group.remote.assignor` instead"),
    ("session_timeout_ms", 45_000, "`session.timeout.ms` is not supported for `group.protocol=consumer` or share "
                                   "consumer. It is defined broker side"),
    ("heartbeat_interval_ms", 3_000, "`heartbeat.interval.ms` is not supported for `group.protocol=consumer` or "
                                     "share consumer. It is defined broker side"),
)


def _in_range(prop: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidConfig(f'Invalid value "{value}" for configuration property "{prop}"')
    if not low <= value <= high:
        raise InvalidConfig(f'Configuration property "{prop}" value {value} is outside allowed range {low}..{high}')


def _one_of(prop: str, value: object, allowed, *, fold: bool = False) -> None:
    text = value.lower() if fold and isinstance(value, str) else value
    if text not in allowed:
        raise InvalidConfig(f'Invalid value "{value}" for configuration property "{prop}"')


def check_producer(config: ProducerConfig) -> None:
    _one_of("compression.codec", config.compression_type, COMPRESSION_CODECS, fold=True)
    _in_range("queue.buffering.max.ms", config.linger_ms, 0, 900_000)
    _in_range("message.send.max.retries", config.retries, 0, 2_147_483_647)
    _in_range("message.max.bytes", config.message_max_bytes, 1_000, 1_000_000_000)
    _in_range("sticky.partitioning.linger.ms", config.sticky_partitioning_linger_ms, 0, 900_000)
    # librdkafka takes any acks from -1 to 1000 and lets the broker refuse the rest; the port's are these.
    _one_of("acks", config.acks, ACKS)
    if (config.enable_idempotence or config.transactional_id) and config.acks not in ("all", "-1"):
        raise InvalidConfig("Failed to create producer: `acks` must be set to `all` when `enable.idempotence` is true")


def check_consumer(config: ConsumerConfig) -> None:
    if not isinstance(config.group_id, str) or not config.group_id:
        raise InvalidConfig('Invalid value "" for configuration property "group.id": a consumer needs a group id')
    _in_range("session.timeout.ms", config.session_timeout_ms, 1, 3_600_000)
    _in_range("heartbeat.interval.ms", config.heartbeat_interval_ms, 1, 3_600_000)
    _in_range("max.poll.interval.ms", config.max_poll_interval_ms, 1, 86_400_000)
    _in_range("topic.metadata.refresh.interval.ms", config.topic_metadata_refresh_interval_ms, -1, 3_600_000)
    _one_of("auto.offset.reset", config.auto_offset_reset, OFFSET_RESETS)
    _one_of("isolation.level", config.isolation_level, ("read_committed", "read_uncommitted"))
    _one_of("group.protocol", config.group_protocol, GROUP_PROTOCOLS)
    if config.group_protocol == "consumer":
        # The port cannot tell a default from a value set to it: a default counts as not set.
        for name, default, message in BROKER_SIDE:
            if getattr(config, name) != default:
                raise InvalidConfig(f"Failed to create consumer: {message}")
        return
    if config.assignor not in ASSIGNORS:
        raise InvalidConfig(f"Failed to create consumer: Unsupported partition.assignment.strategy: {config.assignor}")
    if config.max_poll_interval_ms < config.session_timeout_ms:
        raise InvalidConfig("Failed to create consumer: `max.poll.interval.ms`must be >= `session.timeout.ms`")


def session_timeout_refused(config: ConsumerConfig, low: int, high: int) -> InvalidConfig | None:
    """The broker's JoinGroup check (group.min/max.session.timeout.ms): INVALID_SESSION_TIMEOUT."""
    if low <= config.session_timeout_ms <= high:
        return None
    return InvalidConfig(
        f"session.timeout.ms={config.session_timeout_ms}: Broker: Invalid session timeout [INVALID_SESSION_TIMEOUT]. "
        f"The broker allows {low}..{high} ms (group.min.session.timeout.ms, group.max.session.timeout.ms)")

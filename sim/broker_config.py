"""The simulated broker's settings: the lab broker's (compose/server.properties) where it departs from
Kafka's defaults, so the two worlds clean, expire and refuse alike; and a topic's effective settings,
parsed once per config change for the log, the cleaner and the produce path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .topic_config import TOPIC_CONFIGS, check_combination, parse, validate


@dataclass(slots=True)
class BrokerConfig:
    auto_create_topics_enable: bool = True
    num_partitions: int = 1
    group_min_session_timeout_ms: int = 6_000
    group_max_session_timeout_ms: int = 1_800_000
    log_cleaner_backoff_ms: int = 500  # Kafka: 15000
    # The consumer protocol's (KIP-848) broker-side timing, as the lab broker sets it.
    group_consumer_session_timeout_ms: int = 10_000  # Kafka: 45000
    group_consumer_heartbeat_interval_ms: int = 1_000  # Kafka: 5000
    group_consumer_assignors: tuple[str, ...] = ("uniform", "range")  # the first is the default
    log_retention_check_interval_ms: int = 1_000  # Kafka: 300000
    brokers: int = 1  # more than one: partitions are replicated (sim.replication)
    default_replication_factor: int = 1  # default.replication.factor
    replica_lag_time_max_ms: int = 30_000  # replica.lag.time.max.ms
    # Topic config defaults the lab broker sets through its log.* settings.
    topic_defaults: dict[str, str] = field(default_factory=lambda: {
        "segment.bytes": "67108864",  # log.segment.bytes
        "retention.ms": "86400000",  # log.retention.hours=24
        "file.delete.delay.ms": "1000",  # log.segment.delete.delay.ms
    })

    def default(self, name: str) -> str:
        return self.topic_defaults.get(name, TOPIC_CONFIGS[name].default)

    @classmethod
    def cluster(cls, brokers: int) -> BrokerConfig:
        """The lab cluster of ``brokers`` nodes (compose.topology.replication_settings): three replicate
        every topic three times and want two in sync, one keeps a single copy."""
        config = cls(brokers=brokers, default_replication_factor=3 if brokers >= 3 else 1)
        if brokers >= 3:
            config.topic_defaults["min.insync.replicas"] = "2"
        return config


@dataclass(frozen=True, slots=True)
class TopicSettings:
    """The effective values the simulator acts on (Kafka's names, underscores for dots)."""

    compact: bool
    delete: bool
    segment_bytes: int
    segment_ms: int
    segment_jitter_ms: int
    retention_ms: int
    retention_bytes: int
    delete_retention_ms: int
    min_compaction_lag_ms: int
    max_compaction_lag_ms: int
    min_cleanable_dirty_ratio: float
    max_message_bytes: int
    log_append_time: bool
    timestamp_before_max_ms: int
    timestamp_after_max_ms: int
    min_insync_replicas: int = 1
    unclean_leader_election: bool = False

    @property
    def cleanup_policy(self) -> str:
        return ",".join(p for p, on in (("compact", self.compact), ("delete", self.delete)) if on)


def resolve(config: Mapping[str, str], broker: BrokerConfig) -> TopicSettings:
    """Validate a topic's own configs and combine them with the broker's defaults (InvalidConfig)."""
    own = validate(config)
    values = {name: own[name] if name in own else parse(key, broker.default(name))
              for name, key in TOPIC_CONFIGS.items() if not key.internal}
    check_combination(values)
    policy = values["cleanup.policy"]
    return TopicSettings(
        compact="compact" in policy,
        delete="delete" in policy,
        segment_bytes=values["segment.bytes"],
        segment_ms=values["segment.ms"],
        segment_jitter_ms=values["segment.jitter.ms"],
        retention_ms=values["retention.ms"],
        retention_bytes=values["retention.bytes"],
        delete_retention_ms=values["delete.retention.ms"],
        min_compaction_lag_ms=values["min.compaction.lag.ms"],
        max_compaction_lag_ms=values["max.compaction.lag.ms"],
        min_cleanable_dirty_ratio=values["min.cleanable.dirty.ratio"],
        max_message_bytes=values["max.message.bytes"],
        log_append_time=values["message.timestamp.type"] == "LogAppendTime",
        timestamp_before_max_ms=values["message.timestamp.before.max.ms"],
        timestamp_after_max_ms=values["message.timestamp.after.max.ms"],
        min_insync_replicas=values["min.insync.replicas"],
        unclean_leader_election=values["unclean.leader.election.enable"],
    )

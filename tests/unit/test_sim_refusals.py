"""What the simulator refuses as Kafka and librdkafka do, and the producer details around it."""

from __future__ import annotations

import pytest

from services.ports import (
    ConsumerConfig,
    InvalidConfig,
    InvalidRecord,
    ProducerConfig,
    RecordTooLarge,
    TopicPartition,
)
from sim import World
from sim.topic_config import TOPIC_CONFIGS, validate


def test_the_topic_config_table_parses_like_kafkas_configdef() -> None:
    parsed = validate({"retention.ms": " 5 ", "preallocate": "TRUE", "cleanup.policy": "compact, delete",
                       "min.cleanable.dirty.ratio": "1e-2", "leader.replication.throttled.replicas": "0:1,1:1"})
    assert parsed["retention.ms"] == 5 and parsed["preallocate"] is True
    assert parsed["cleanup.policy"] == ["compact", "delete"] and parsed["min.cleanable.dirty.ratio"] == 0.01
    for bad, message in [({"retention.ms": "1.5"}, "Not a number of type LONG"),
                         ({"retention.ms": "9223372036854775808"}, "Not a number of type LONG"),
                         ({"segment.index.bytes": "3"}, "Value must be at least 4"),
                         ({"compression.gzip.level": "0"}, "between 1 and 9 or equal to -1"),
                         ({"leader.replication.throttled.replicas": "x"}, "must be the literal '*'"),
                         ({"message.format.version": "3.0"}, "Unknown topic config name")]:
        with pytest.raises(InvalidConfig, match=message):
            validate(bad)
    assert "internal.segment.bytes" in TOPIC_CONFIGS and TOPIC_CONFIGS["internal.segment.bytes"].internal


def test_describe_shows_every_public_config_with_the_lab_brokers_defaults() -> None:
    w = World()
    w.create_topic("t", 1, {"segment.ms": "100"})
    desc = w.admin().describe_topic_config("t")
    assert "internal.segment.bytes" not in desc and len(desc) == 37
    assert desc["retention.ms"].value == "86400000" and desc["segment.bytes"].value == "67108864"
    assert not desc["segment.ms"].is_default and desc["cleanup.policy"].is_default


def test_a_failed_alter_changes_nothing() -> None:
    w = World()
    w.create_topic("t", 1, {"retention.ms": "1000"})
    with pytest.raises(InvalidConfig):
        w.admin().alter_topic_config("t", {"retention.ms": "2000", "segment.ms": "-1"})
    assert w.cluster.topic("t").config == {"retention.ms": "1000"}
    w.admin().alter_topic_config("t", delete=["no.such.config"])  # Kafka: deleting an unset name is a no-op


@pytest.mark.parametrize("config", [
    ProducerConfig(compression_type="brotli"), ProducerConfig(linger_ms=900_001), ProducerConfig(retries=-1),
    ProducerConfig(transactional_id="t", acks="1"), ProducerConfig(message_max_bytes=1_000_000_001),
])
def test_librdkafka_producer_rules(config: ProducerConfig) -> None:
    with pytest.raises(InvalidConfig):
        World().producer(config)


@pytest.mark.parametrize("config", [
    ConsumerConfig(""), ConsumerConfig("g", session_timeout_ms=0), ConsumerConfig("g", heartbeat_interval_ms=3_600_001),
    ConsumerConfig("g", auto_offset_reset="bogus"), ConsumerConfig("g", isolation_level="dirty"),  # type: ignore[arg-type]
    ConsumerConfig("g", topic_metadata_refresh_interval_ms=-2),
])
def test_librdkafka_consumer_rules(config: ConsumerConfig) -> None:
    with pytest.raises(InvalidConfig):
        World().consumer(config)


def test_an_invalid_record_queues_nothing() -> None:
    w = World()
    w.create_topic("t", 1)
    p = w.producer()
    with pytest.raises(InvalidRecord, match="encode it first"):
        p.produce("t", "text")
    with pytest.raises(RecordTooLarge):
        p.produce("t", b"x" * 1_000_000)
    assert p.flush() == []


def test_acks_zero_loses_the_brokers_refusal_but_not_the_clients() -> None:
    w = World()
    w.create_topic("t", 1, {"max.message.bytes": "1024"})
    p = w.producer(ProducerConfig(acks="0"))
    reports = []
    p.produce("t", b"x" * 4096, on_delivery=lambda err, md: reports.append((err, md.offset)))
    assert [m.offset for m in p.flush()] == [None]  # no error: the broker's answer never comes back
    assert reports == [(None, None)] and w.cluster.log("t", 0).high_watermark == 0
    with pytest.raises(RecordTooLarge):
        p.produce("t", b"x" * 2_000_000)


def test_delivery_callbacks_run_in_produce_order_across_partitions() -> None:
    w = World()
    w.create_topic("t", 3)
    p = w.producer()
    seen = []
    for i in range(6):
        p.produce("t", b"v", partition=i % 3, on_delivery=lambda err, md, i=i: seen.append((i, md.partition, md.offset)))
    p.produce("t", b"no callback", partition=0)
    metadata = p.flush()
    assert seen == [(0, 0, 0), (1, 1, 0), (2, 2, 0), (3, 0, 1), (4, 1, 1), (5, 2, 1)]
    assert metadata == [m for m in metadata] and len(metadata) == 7 and metadata[-1].offset == 2


def test_a_flush_over_a_megabyte_goes_as_several_batches() -> None:
    w = World()
    w.create_topic("t", 1)
    p = w.producer(ProducerConfig(enable_idempotence=True))
    for _ in range(3):
        p.produce("t", b"x" * 400_000)
    assert [m.offset for m in p.flush()] == [0, 1, 2]
    assert [e["count"] for e in w.trace.events("produce")] == [2, 1]


@pytest.mark.parametrize("assignor", ["range", "cooperative-sticky"])
def test_pause_is_forgotten_for_a_revoked_partition(assignor: str) -> None:
    w = World()
    w.create_topic("t", 2)
    a = w.consumer(ConsumerConfig("g", session_timeout_ms=6_000, assignor=assignor))  # type: ignore[arg-type]
    a.subscribe(["t"])
    a.poll()
    a.pause([TopicPartition("t", 0), TopicPartition("t", 1)])
    b = w.consumer(ConsumerConfig("g", session_timeout_ms=6_000, assignor=assignor))  # type: ignore[arg-type]
    b.subscribe(["t"])
    for _ in range(3):
        a.poll(), b.poll()
    assert len(a.assignment()) == 1
    # eager revokes everything (pause goes with it); cooperative revokes only what moves
    assert a.paused() == ([] if assignor == "range" else a.assignment())

"""Key -> partition agrees with the Java client (confluent_kafka.murmur2 is the oracle); keyless is sticky by time."""

from __future__ import annotations

import confluent_kafka
from hypothesis import given
from hypothesis import strategies as st

from services.ports import ProducerConfig
from sim import World, murmur2, partition_for_key


@given(key=st.binary(max_size=64), partitions=st.integers(min_value=1, max_value=1_000))
def test_key_partition_matches_confluent_kafka_murmur2(key: bytes, partitions: int) -> None:
    assert partition_for_key(key, partitions) == confluent_kafka.murmur2(key, partitions)


def test_murmur2_matches_known_java_values() -> None:
    # Values from Kafka's own UtilsTest (Java ints shown as unsigned 32-bit).
    assert murmur2(b"21") == (-973932308) & 0xFFFFFFFF
    assert murmur2(b"foobar") == (-790332482) & 0xFFFFFFFF
    assert murmur2(b"a-little-bit-long-string") == (-985981536) & 0xFFFFFFFF
    assert murmur2(b"") == (275646681) & 0xFFFFFFFF


def test_keyed_records_land_on_the_murmur2_partition() -> None:
    w = World(seed=1)
    w.create_topic("orders", 12)
    p = w.producer()
    keys = [f"order-{i}".encode() for i in range(50)]
    for k in keys:
        p.produce("orders", b"v", key=k)
    for k, meta in zip(keys, p.flush(), strict=True):
        assert meta.partition == confluent_kafka.murmur2(k, 12)


def test_keyless_records_stick_to_one_partition_for_the_sticky_linger() -> None:
    w = World(seed=5)
    w.create_topic("events", 6)
    p = w.producer(ProducerConfig(client_id="sticky", sticky_partitioning_linger_ms=10))
    chosen = []
    for _ in range(40):
        for _ in range(10):
            p.produce("events", b"v")
        batch = p.flush()
        assert len({m.partition for m in batch}) == 1, "within one virtual ms every keyless record sticks"
        chosen.append(batch[0].partition)
        w.clock.sleep(5)
    # librdkafka draws a new random partition (possibly the same) once sticky.partitioning.linger.ms passed
    assert all(chosen[i] == chosen[i + 1] for i in range(0, 40, 2)), "two flushes 5 ms apart share a partition"
    assert len(set(chosen)) > 2


def test_sticky_linger_zero_draws_a_partition_for_every_keyless_record() -> None:
    w = World(seed=5)
    w.create_topic("events", 6)
    p = w.producer(ProducerConfig(sticky_partitioning_linger_ms=0))
    for _ in range(30):
        p.produce("events", b"v")
    assert len({m.partition for m in p.flush()}) > 1


def test_keyless_partition_choice_depends_only_on_the_seed() -> None:
    def choices(seed: int) -> list[int]:
        w = World(seed=seed)
        w.create_topic("events", 6)
        p = w.producer()
        out = []
        for _ in range(10):
            p.produce("events", b"v")
            out.append(p.flush()[0].partition)
            w.clock.sleep(10)
        return out

    assert choices(3) == choices(3)
    assert choices(3) != choices(4)

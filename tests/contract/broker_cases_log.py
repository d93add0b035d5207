"""Broker contract cases about the log: topics, partitioning, records, idempotence and transactions."""

from __future__ import annotations

import confluent_kafka
import pytest

from services.ports import ProducerConfig, TopicAlreadyExists, TopicPartition, TopicSpec, UnknownTopic
from tests.contract.broker_harness import ContractHarness, assert_equal, by_partition


class LogCases(ContractHarness):
    def test_creates_lists_and_refuses_duplicate_topics(self) -> None:
        topic = self.topic("admin", partitions=3)
        assert self.admin.list_topics()[topic] == 3
        assert not any(name.startswith("__") for name in self.admin.list_topics())
        self.admin.create_topics([TopicSpec(topic, partitions=3)], exist_ok=True)
        with pytest.raises(TopicAlreadyExists):
            self.admin.create_topics([TopicSpec(topic, partitions=3)], exist_ok=False)
        with pytest.raises(UnknownTopic):
            self.admin.end_offsets([self.unique("missing")])
        self.admin.delete_topics([topic])
        self.settle()
        assert topic not in self.admin.list_topics()

    def test_producing_to_a_partition_the_topic_lacks_raises_unknown_topic(self) -> None:
        topic = self.topic("narrow", partitions=2)
        producer = self.producer()
        with pytest.raises(UnknownTopic):
            producer.produce(topic, b"x", partition=2)
            producer.flush()

    def test_producing_to_a_missing_topic_creates_it_with_one_partition(self) -> None:
        # Kafka's default (auto.create.topics.enable=true, num.partitions=1), which the lab broker keeps.
        topic = self.unique("auto")
        producer = self.producer()
        producer.produce(topic, b"first", key=b"k")
        [metadata] = producer.flush()
        assert (metadata.partition, metadata.offset) == (0, 0)
        assert self.admin.list_topics()[topic] == 1

    def test_keeps_produce_order_within_each_partition(self) -> None:
        topic = self.topic("order", partitions=3)
        producer = self.producer()
        sent = [(f"k{i % 5}".encode(), f"v{i}".encode()) for i in range(30)]
        for key, value in sent:
            producer.produce(topic, value, key=key)
        metadata = producer.flush()
        self.settle()
        assert [m.topic for m in metadata] == [topic] * 30
        for partition, offsets in _offsets_by_partition(metadata).items():
            assert offsets == list(range(len(offsets))), f"partition {partition} offsets not contiguous"
        records = self.poll_until(self.consumer(self.unique("g"), [topic]), 30)
        for partition, got in by_partition(records).items():
            expected = [v for (_, v), m in zip(sent, metadata, strict=True) if m.partition == partition]
            assert [r.value for r in got] == expected
            assert [r.offset for r in got] == list(range(len(expected)))

    def test_key_selects_partition_like_java_clients(self) -> None:
        partitions = 6
        topic = self.topic("keys", partitions=partitions)
        producer = self.producer()
        keys = [f"order-{i}".encode() for i in range(40)] + [b"", b"\x00\xff", "ключ".encode()]
        for key in keys:
            producer.produce(topic, b"x", key=key)
        metadata = producer.flush()
        expected = [confluent_kafka.murmur2(key, partitions) for key in keys]
        assert [m.partition for m in metadata] == expected
        assert expected == [(_java_murmur2(key) & 0x7FFFFFFF) % partitions for key in keys]

    def test_headers_round_trip_with_repeats_in_order(self) -> None:
        topic = self.topic("headers")
        headers = (("dlq.error", b"bad json"), ("attempt", b"\x00\x01"), ("attempt", b"\x02"), ("empty", b""))
        producer = self.producer()
        producer.produce(topic, b"payload", key=b"k", headers=headers)
        producer.produce(topic, None, key=b"tombstone")
        producer.flush()
        self.settle()
        first, tombstone = self.poll_until(self.consumer(self.unique("g"), [topic]), 2)
        assert first.headers == headers
        assert first.header("attempt") == b"\x02"
        assert (first.key, first.value) == (b"k", b"payload")
        assert 0 <= first.timestamp <= tombstone.timestamp  # milliseconds: wall time in Kafka, virtual in sim
        assert (tombstone.key, tombstone.value, tombstone.headers) == (b"tombstone", None, ())

    def test_idempotent_producer_writes_each_record_once(self) -> None:
        topic = self.topic("idempotent", partitions=2)
        producer = self.producer(ProducerConfig(enable_idempotence=True, linger_ms=1))
        values = [f"m{i}".encode() for i in range(50)]
        self.produce(producer, topic, values)
        records = self.poll_until(self.consumer(self.unique("g"), [topic]), 50)
        assert sorted(r.value for r in records) == sorted(values)
        for got in by_partition(records).values():
            assert [r.offset for r in got] == list(range(len(got)))

    def test_read_committed_hides_aborted_records_and_markers_take_offsets(self) -> None:
        topic = self.topic("txn")
        producer = self.producer(ProducerConfig(transactional_id=self.unique("tx")))
        producer.begin_transaction()
        producer.produce(topic, b"aborted-1")
        producer.produce(topic, b"aborted-2")
        producer.flush()  # else librdkafka may purge them unsent and the abort leaves nothing in the log
        producer.abort_transaction()
        producer.begin_transaction()
        producer.produce(topic, b"committed")
        producer.commit_transaction()
        self.settle()
        committed_view = self.poll_until(self.consumer(self.unique("g"), [topic]), 1)
        uncommitted_view = self.poll_until(
            self.consumer(self.unique("g"), [topic], isolation_level="read_uncommitted"), 3
        )
        # offsets 0-1 aborted records, 2 abort marker, 3 the committed record, 4 its commit marker
        assert [(r.offset, r.value) for r in committed_view] == [(3, b"committed")]
        assert [(r.offset, r.value) for r in uncommitted_view] == [
            (0, b"aborted-1"),
            (1, b"aborted-2"),
            (3, b"committed"),
        ]
        self.eventually(
            lambda: assert_equal(self.admin.end_offsets([topic]), {TopicPartition(topic, 0): 5}),
            what="end offset after the commit marker",
        )

    def test_transaction_commits_consumed_offsets_atomically(self) -> None:
        source, sink = self.topic("eos-in"), self.topic("eos-out")
        self.produce(self.producer(), source, [b"a", b"b"])
        group = self.unique("g")
        consumer = self.consumer(group, [source])
        records = self.poll_until(consumer, 2)
        producer = self.producer(ProducerConfig(transactional_id=self.unique("tx")))
        producer.begin_transaction()
        for record in records:
            producer.produce(sink, record.value.upper() if record.value else None)
        producer.send_offsets_to_transaction({TopicPartition(source, 0): 2}, consumer)
        assert self.admin.committed_offsets(group) == {}  # not before the transaction commits
        producer.commit_transaction()
        self.settle()
        self.eventually(
            lambda: assert_equal(self.admin.committed_offsets(group), {TopicPartition(source, 0): 2}),
            what="offsets committed by the transaction",
        )
        out = self.poll_until(self.consumer(self.unique("g"), [sink]), 2)
        assert [r.value for r in out] == [b"A", b"B"]
        # Lag is measured against the last stable offset (3, after the commit marker at 2).
        reader = self.unique("g")
        tail = self.consumer(reader, [sink])
        last = self.poll_until(tail, 2)[-1]
        tp = TopicPartition(sink, 0)
        tail.commit({tp: last.offset + 1})
        self.eventually(
            lambda: assert_equal([e.lag for e in self.admin.lag(reader, [sink])], [1]),
            what="apparent lag of the marker",
        )
        # The position moves past the marker, so committing the position leaves no lag.
        self.drive([tail], lambda _: tail.position(tp) == 3, what="the position to pass the commit marker")
        tail.commit()
        self.eventually(
            lambda: assert_equal([e.lag for e in self.admin.lag(reader, [sink])], [0]), what="no lag"
        )


def _offsets_by_partition(metadata) -> dict[int, list[int]]:
    grouped: dict[int, list[int]] = {}
    for m in metadata:
        grouped.setdefault(m.partition, []).append(m.offset)
    return grouped


def _java_murmur2(data: bytes) -> int:
    """Kafka's Utils.murmur2, written out so the oracle is not the code under test."""
    m, mask = 0x5BD1E995, 0xFFFFFFFF
    h = (0x9747B28C ^ len(data)) & mask
    whole = len(data) // 4 * 4
    for i in range(0, whole, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * m) & mask
        k ^= k >> 24
        k = (k * m) & mask
        h = ((h * m) & mask) ^ k
    rest = data[whole:]
    if len(rest) == 3:
        h ^= rest[2] << 16
    if len(rest) >= 2:
        h ^= rest[1] << 8
    if rest:
        h ^= rest[0]
        h = (h * m) & mask
    h ^= h >> 13
    h = (h * m) & mask
    return h ^ (h >> 15)

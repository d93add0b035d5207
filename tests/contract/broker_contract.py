"""One contract for every implementation of the broker port (``services.ports.Broker``).

``BrokerContract`` has no ``Test`` prefix, so pytest collects it only through a leg that subclasses it:
``test_broker_sim.py`` (the simulator, always) and ``test_broker_kafka.py`` (a real broker, marked
``kafka``). A case that passes on the simulator and fails on Kafka means the simulator is wrong.
"""

from __future__ import annotations

import confluent_kafka
import pytest

from services.ports import (
    CommitFailed,
    PartitionLag,
    ProducerConfig,
    TopicAlreadyExists,
    TopicPartition,
    TopicSpec,
    UnknownTopic,
)
from tests.contract.broker_harness import ContractHarness, by_partition, positions, tps


class BrokerContract(ContractHarness):
    # ------------------------------------------------------------ topics and partitioning

    def test_creates_lists_and_refuses_duplicate_topics(self) -> None:
        topic = self.topic("admin", partitions=3)
        assert self.admin.list_topics()[topic] == 3
        assert not any(name.startswith("__") for name in self.admin.list_topics())
        self.admin.create_topics([TopicSpec(topic, partitions=3)], exist_ok=True)
        with pytest.raises(TopicAlreadyExists):
            self.admin.create_topics([TopicSpec(topic, partitions=3)], exist_ok=False)
        with pytest.raises(UnknownTopic):
            self.admin.end_offsets([self.unique("missing")])

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

    # ------------------------------------------------------------ consuming and committing

    def test_new_member_resumes_after_the_committed_offset(self) -> None:
        topic = self.topic("resume")
        self.produce(self.producer(), topic, [f"m{i}".encode() for i in range(10)])
        group = self.unique("g")
        first = self.consumer(group, [topic])
        assert [r.offset for r in self.poll_until(first, 10)] == list(range(10))
        first.commit({TopicPartition(topic, 0): 6})
        assert self.admin.committed_offsets(group) == {TopicPartition(topic, 0): 6}
        first.close()
        self.settle()
        second = self.consumer(group, [topic])
        resumed = self.poll_until(second, 4)
        assert [r.offset for r in resumed] == [6, 7, 8, 9]
        second.commit()  # no arguments: the position after everything polled
        assert self.admin.committed_offsets(group) == {TopicPartition(topic, 0): 10}

    def test_redelivers_uncommitted_records_after_member_crash(self) -> None:
        topic = self.topic("crash", partitions=2)
        producer = self.producer()
        for p in (0, 1):
            self.produce(producer, topic, [f"p{p}-{i}".encode() for i in range(5)], partition=p)
        group = self.unique("g")
        doomed = self.consumer(group, [topic])
        assert len(self.poll_until(doomed, 10)) == 10
        doomed.commit({TopicPartition(topic, 0): 2, TopicPartition(topic, 1): 2})
        self.crash(doomed)
        heir = self.consumer(group, [topic])
        redelivered = self.poll_until(heir, 6)
        assert sorted(positions(redelivered)) == [(p, o) for p in (0, 1) for o in range(2, 5)]

    def test_seek_rewinds_the_position(self) -> None:
        topic = self.topic("seek")
        self.produce(self.producer(), topic, [f"m{i}".encode() for i in range(5)])
        consumer = self.consumer(self.unique("g"), [topic])
        self.poll_until(consumer, 5)
        tp = TopicPartition(topic, 0)
        assert consumer.position(tp) == 5
        consumer.seek(tp, 1)
        assert consumer.position(tp) == 1
        again = self.poll_until(consumer, 4)
        assert [r.offset for r in again] == [1, 2, 3, 4]

    def test_auto_offset_reset_earliest_reads_history_and_latest_only_new_records(self) -> None:
        topic = self.topic("reset")
        producer = self.producer()
        self.produce(producer, topic, [b"old-0", b"old-1", b"old-2"])
        earliest = self.consumer(self.unique("g"), [topic], auto_offset_reset="earliest")
        assert [r.value for r in self.poll_until(earliest, 3)] == [b"old-0", b"old-1", b"old-2"]
        latest = self.consumer(self.unique("g"), [topic], auto_offset_reset="latest")
        self.poll_until_assigned(latest, 1)

        def new_record_arrived(got: list[list]) -> bool:
            if got[0]:
                return True
            # "latest" resolves the start offset asynchronously: keep adding new records until one arrives.
            self.produce(producer, topic, [b"new"])
            return False

        got = self.drive([latest], new_record_arrived, what="a new record")[0]
        assert all(r.value == b"new" and r.offset >= 3 for r in got)

    def test_commit_for_a_partition_not_owned_is_rejected(self) -> None:
        topic = self.topic("owned")
        other = self.topic("other")
        consumer = self.consumer(self.unique("g"), [topic])
        self.poll_until_assigned(consumer, 1)
        with pytest.raises(CommitFailed):
            consumer.commit({TopicPartition(other, 0): 1})

    def test_commit_from_a_fenced_member_is_rejected(self) -> None:
        topic = self.topic("fenced")
        self.produce(self.producer(), topic, [b"a", b"b", b"c"])
        group = self.unique("g")
        # The stalled member stops polling; past max.poll.interval.ms the group moves on without it.
        stalled = self.consumer(group, [topic], max_poll_interval_ms=6_000)
        self.poll_until(stalled, 3)
        successor = self.consumer(group, [topic])
        self.drive([successor], lambda _: len(successor.assignment()) == 1, what="the successor to take over")
        with pytest.raises(CommitFailed):
            stalled.commit({TopicPartition(topic, 0): 3})
        assert self.admin.committed_offsets(group) == {}

    def test_lag_is_end_offset_minus_committed_per_partition(self) -> None:
        topic = self.topic("lag", partitions=2)
        producer = self.producer()
        self.produce(producer, topic, [b"x"] * 5, partition=0)
        self.produce(producer, topic, [b"y"] * 3, partition=1)
        group = self.unique("g")
        consumer = self.consumer(group, [topic])
        self.poll_until_assigned(consumer, 2)
        consumer.commit({TopicPartition(topic, 0): 2})
        assert self.admin.end_offsets([topic]) == {TopicPartition(topic, 0): 5, TopicPartition(topic, 1): 3}
        lag = self.admin.lag(group, [topic])
        assert lag == [PartitionLag(topic, 0, 2, 5), PartitionLag(topic, 1, None, 3)]
        assert [entry.lag for entry in lag] == [3, 3]

    # ------------------------------------------------------------ groups and rebalances

    def test_rebalance_shares_partitions_on_join_and_gives_all_back_on_leave(self) -> None:
        topic = self.topic("rebalance", partitions=4)
        group = self.unique("g")
        revoked: list[TopicPartition] = []
        first = self.consumer(group)
        first.subscribe([topic], on_revoke=revoked.extend)
        self.poll_until_assigned(first, 4)
        second = self.consumer(group, [topic])
        self.drive(
            [first, second],
            lambda _: len(first.assignment()) == 2 and len(second.assignment()) == 2,
            what="two members with two partitions each",
        )
        assert sorted(first.assignment() + second.assignment()) == tps(topic, range(4))
        assert sorted(set(revoked)) == tps(topic, range(4))  # range is eager: everything was revoked first
        second.close()
        self.settle()
        self.drive([first], lambda _: len(first.assignment()) == 4, what="the survivor to own all four")

    def test_cooperative_sticky_revokes_only_the_partitions_that_move(self) -> None:
        topic = self.topic("sticky", partitions=4)
        group = self.unique("g")
        revoked: list[TopicPartition] = []
        first = self.consumer(group, assignor="cooperative-sticky")
        first.subscribe([topic], on_revoke=revoked.extend)
        self.poll_until_assigned(first, 4)
        second = self.consumer(group, [topic], assignor="cooperative-sticky")
        self.drive(
            [first, second],
            lambda _: len(first.assignment()) == 2 and len(second.assignment()) == 2,
            what="two members with two partitions each",
        )
        assert sorted(revoked) == sorted(second.assignment())
        assert not set(revoked) & set(first.assignment())

    def test_describe_group_reports_state_members_and_assignments(self) -> None:
        topic = self.topic("describe", partitions=2)
        group = self.unique("g")
        dynamic = self.consumer(group, [topic], client_id="dynamic-client")
        static = self.consumer(group, [topic], client_id="static-client", group_instance_id="static-1")
        self.drive(
            [dynamic, static],
            lambda _: len(dynamic.assignment()) == 1 and len(static.assignment()) == 1,
            what="one partition each",
        )
        desc = self.admin.describe_group(group)
        assert desc.state == "Stable"
        assert desc.protocol == "range"
        members = {m.client_id: m for m in desc.members}
        assert set(members) == {"dynamic-client", "static-client"}
        assert members["dynamic-client"].member_id == dynamic.member_id
        assert members["dynamic-client"].group_instance_id is None
        assert members["static-client"].group_instance_id == "static-1"
        assert members["dynamic-client"].assignment == tuple(dynamic.assignment())
        assert members["static-client"].assignment == tuple(static.assignment())
        assert group in self.admin.list_groups()
        assert self.admin.describe_group(self.unique("never-used")).state == "Dead"

    def test_group_is_empty_after_every_member_left(self) -> None:
        topic = self.topic("empty")
        group = self.unique("g")
        consumer = self.consumer(group, [topic])
        self.poll_until_assigned(consumer, 1)
        consumer.commit({TopicPartition(topic, 0): 0})
        consumer.close()
        self.settle()

        def is_empty() -> None:
            desc = self.admin.describe_group(group)
            assert (desc.state, desc.members) == ("Empty", ())

        self.eventually(is_empty, what="the group to become Empty")

    # ------------------------------------------------------------ records

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
        assert first.timestamp > 0
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

    # ------------------------------------------------------------ transactions

    def test_read_committed_hides_aborted_records_and_markers_take_offsets(self) -> None:
        topic = self.topic("txn")
        producer = self.producer(ProducerConfig(transactional_id=self.unique("tx")))
        producer.begin_transaction()
        producer.produce(topic, b"aborted-1")
        producer.produce(topic, b"aborted-2")
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
            lambda: _equal(self.admin.end_offsets([topic]), {TopicPartition(topic, 0): 5}),
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
            lambda: _equal(self.admin.committed_offsets(group), {TopicPartition(source, 0): 2}),
            what="offsets committed by the transaction",
        )
        out = self.poll_until(self.consumer(self.unique("g"), [sink]), 2)
        assert [r.value for r in out] == [b"A", b"B"]
        # Lag is measured against the last stable offset: the trailing commit marker shows as 1.
        reader = self.unique("g")
        tail = self.consumer(reader, [sink])
        self.poll_until(tail, 2)
        tail.commit()
        self.eventually(
            lambda: _equal([entry.lag for entry in self.admin.lag(reader, [sink])], [1]), what="lag of one marker"
        )


def _equal(actual: object, expected: object) -> None:
    assert actual == expected


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

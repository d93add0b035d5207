"""Broker contract cases about what the broker and the client refuse, and what a produced record carries:
topic and client configs, record types and sizes, transactions' state, acks=0, delivery reports,
timestamps and their type."""

from __future__ import annotations

import pytest

from services.ports import (
    BrokerError,
    ConsumerConfig,
    InvalidConfig,
    InvalidRecord,
    ProducerConfig,
    RecordTooLarge,
    TopicSpec,
    TransactionStateError,
)
from tests.contract.broker_harness import ContractHarness


class RecordCases(ContractHarness):
    def test_topic_configs_the_broker_refuses_are_invalid_config(self) -> None:
        refused = [{"no.such.config": "1"}, {"cleanup.policy": "bogus"}, {"retention.ms": "abc"},
                   {"segment.bytes": "100"}, {"min.cleanable.dirty.ratio": "1.5"}, {"compression.type": "none"},
                   {"min.compaction.lag.ms": "10", "max.compaction.lag.ms": "5"}, {"preallocate": "yes"}]
        for config in refused:
            name = self.unique("badcfg")
            with pytest.raises(InvalidConfig):
                self.admin.create_topics([TopicSpec(name, config=config)])
            assert name not in self.admin.list_topics(), config
        accepted = self.topic("oddcfg", cleanup_policy="compact, delete", retention_ms=" 5000 ", preallocate="TRUE")
        assert accepted in self.admin.list_topics()

    def test_describe_and_alter_topic_configs(self) -> None:
        topic = self.topic("configs", retention_ms="60000")
        desc = self.admin.describe_topic_config(topic)
        assert {"cleanup.policy", "retention.ms", "segment.ms", "max.message.bytes", "message.timestamp.type"} <= set(desc)
        assert (desc["retention.ms"].value, desc["retention.ms"].is_default) == ("60000", False)
        assert (desc["cleanup.policy"].value, desc["cleanup.policy"].is_default) == ("delete", True)
        assert desc["max.message.bytes"].value == "1048588"
        self.admin.alter_topic_config(topic, {"cleanup.policy": "compact", "segment.ms": "1000"}, ["retention.ms"])
        with pytest.raises(InvalidConfig):
            self.admin.alter_topic_config(topic, {"segment.ms": "0"})

        def altered() -> None:
            now = self.admin.describe_topic_config(topic)
            assert (now["cleanup.policy"].value, now["cleanup.policy"].is_default) == ("compact", False)
            assert now["segment.ms"].value == "1000" and now["retention.ms"].is_default

        self.eventually(altered, what="the altered configs")

    def test_a_batch_over_the_topics_max_message_bytes_fails_every_record_in_it(self) -> None:
        topic = self.topic("small", max_message_bytes="1024")
        producer = self.producer()
        producer.produce(topic, b"x" * 4096)
        with pytest.raises(RecordTooLarge):
            producer.flush()
        producer.produce(topic, b"fits")
        assert [m.offset for m in producer.flush()] == [0]
        for _ in range(20):  # each fits, but together they are one batch of more than 1024 bytes
            producer.produce(topic, b"y" * 100)
        with pytest.raises(RecordTooLarge):
            producer.flush()
        assert self.admin.end_offsets([topic]) == {self.tp(topic): 1}

    def test_a_record_over_the_clients_message_max_bytes_is_refused_at_produce(self) -> None:
        topic = self.topic("big")
        producer = self.producer()
        with pytest.raises(RecordTooLarge):
            producer.produce(topic, b"z" * 2_000_000)  # librdkafka's message.max.bytes is 1,000,000
        small = self.producer(ProducerConfig(message_max_bytes=1_000))
        small.produce(topic, b"z" * 964)  # 36 bytes of record overhead: exactly the limit
        with pytest.raises(RecordTooLarge):
            small.produce(topic, b"z" * 965)
        assert [m.offset for m in small.flush()] == [0]

    def test_keys_values_and_header_values_are_bytes_or_none(self) -> None:
        topic = self.topic("types")
        producer = self.producer()
        for bad in ({"value": "text"}, {"value": b"v", "key": "text"}, {"value": 5},
                    {"value": b"v", "headers": [("h", "text")]}, {"value": b"v", "headers": {"h": b"x"}}):
            with pytest.raises(InvalidRecord):
                producer.produce(topic, **bad)
        producer.produce(topic, b"v", key=b"k", headers=[("null", None), ("empty", b"")])
        producer.flush()
        [record] = self.poll_until(self.consumer(self.unique("g"), [topic]), 1)
        assert record.headers == (("null", None), ("empty", b""))

    def test_producer_configs_librdkafka_refuses_are_invalid_config(self) -> None:
        for config in (ProducerConfig(compression_type="bogus"), ProducerConfig(linger_ms=-1),
                       ProducerConfig(acks="1", enable_idempotence=True), ProducerConfig(message_max_bytes=999),
                       ProducerConfig(sticky_partitioning_linger_ms=-1), ProducerConfig(acks="2")):  # type: ignore[arg-type]
            with pytest.raises(InvalidConfig):
                self.broker.producer(config)
        self.producer(ProducerConfig(compression_type="GZIP", linger_ms=0))  # librdkafka ignores the case

    def test_consumer_configs_client_and_broker_refuse_are_invalid_config(self) -> None:
        with pytest.raises(InvalidConfig):  # librdkafka, at construction
            self.broker.consumer(ConsumerConfig(self.unique("g"), session_timeout_ms=60_000, max_poll_interval_ms=30_000))
        with pytest.raises(InvalidConfig):
            self.broker.consumer(ConsumerConfig(self.unique("g"), assignor="sticky"))  # type: ignore[arg-type]
        topic = self.topic("session")
        # below the broker's group.min.session.timeout.ms (6000): refused when the member joins
        short = self.consumer(self.unique("g"), [topic], session_timeout_ms=2_000, heartbeat_interval_ms=500)
        refused = self.poll_until_raises(short, what="the broker to refuse the session timeout")
        assert isinstance(refused, InvalidConfig)

    def test_transactional_calls_in_the_wrong_state_raise_transaction_state_error(self) -> None:
        topic = self.topic("txn-state")
        producer = self.producer(ProducerConfig(transactional_id=self.unique("tx")))
        with pytest.raises(TransactionStateError):
            producer.produce(topic, b"before begin")
        producer.begin_transaction()
        with pytest.raises(TransactionStateError):
            producer.begin_transaction()
        producer.abort_transaction()
        with pytest.raises(TransactionStateError):
            producer.commit_transaction()
        with pytest.raises(TransactionStateError):
            self.producer().begin_transaction()

    def test_acks_zero_reports_no_offset(self) -> None:
        topic = self.topic("acks0")
        producer = self.producer(ProducerConfig(acks="0"))
        producer.produce(topic, b"fire and forget")
        [metadata] = producer.flush()
        assert (metadata.topic, metadata.partition, metadata.offset) == (topic, 0, None)
        [record] = self.poll_until(self.consumer(self.unique("g"), [topic]), 1)
        assert record.value == b"fire and forget"

    def test_delivery_callbacks_report_every_record(self) -> None:
        topic = self.topic("reports", max_message_bytes="1024")
        producer = self.producer()
        reports: list = []
        producer.produce(topic, b"a", on_delivery=lambda err, md: reports.append((err, md.offset)))
        producer.produce(topic, b"b", on_delivery=lambda err, md: reports.append((err, md.offset)))
        producer.flush()
        assert reports == [(None, 0), (None, 1)]
        reports.clear()
        producer.produce(topic, b"x" * 4096, on_delivery=lambda err, md: reports.append((err, md.offset)))
        with pytest.raises(RecordTooLarge):
            producer.flush()
        [(error, offset)] = reports
        assert isinstance(error, RecordTooLarge) and offset is None

    def test_producer_timestamps_and_log_append_time(self) -> None:
        create_time, append_time = self.topic("create-time"), self.topic("append-time",
                                                                        message_timestamp_type="LogAppendTime")
        stamp = self.now_ms() - 60_000
        producer = self.producer()
        for topic in (create_time, append_time):
            producer.produce(topic, b"v", timestamp=stamp)
        producer.flush()
        with pytest.raises(InvalidRecord):
            producer.produce(create_time, b"v", timestamp=0)
        [kept] = self.poll_until(self.consumer(self.unique("g"), [create_time]), 1)
        [stamped] = self.poll_until(self.consumer(self.unique("g"), [append_time]), 1)
        assert (kept.timestamp, kept.timestamp_type) == (stamp, "CreateTime")
        assert stamped.timestamp_type == "LogAppendTime" and stamped.timestamp > stamp

    def test_a_timestamp_beyond_the_topics_after_max_is_refused(self) -> None:
        topic = self.topic("future")
        producer = self.producer()
        producer.produce(topic, b"v", timestamp=self.now_ms() + 2 * 3_600_000)  # message.timestamp.after.max.ms: 1 h
        with pytest.raises(BrokerError):
            producer.flush()

    def test_keyless_records_produced_together_stick_to_one_partition(self) -> None:
        topic = self.topic("sticky-keyless", partitions=6)
        producer = self.producer()
        # A producer still fetching the topic's metadata spreads what waited (librdkafka): warm it up first.
        self.produce(producer, topic, [b"warm-up"], partition=0)
        for _ in range(20):  # well within sticky.partitioning.linger.ms (10 ms)
            producer.produce(topic, b"v")
        assert len({m.partition for m in producer.flush()}) == 1

"""The admin the broker-failure world uses (adapters/kafka_group_offsets.py) reads the same lag through a
consumer's OffsetFetch as the Admin API does, and its reading consumer never joins the group."""

from __future__ import annotations

import time
import uuid

import pytest

from adapters.kafka_broker import KafkaBroker
from services.ports import ConsumerConfig, TopicPartition, TopicSpec

pytestmark = pytest.mark.kafka


def test_lag_read_through_a_consumer_equals_the_admin_calls_and_joins_no_group(kafka_bootstrap):
    broker = KafkaBroker(kafka_bootstrap, timeout_s=10.0)
    plain, by_consumer = broker.admin(), broker.admin(lag_by_consumer=True)
    topic, group = f"kl-offsets-{uuid.uuid4().hex[:8]}", f"kl-offsets-g-{uuid.uuid4().hex[:8]}"
    try:
        plain.create_topics([TopicSpec(topic, 2, 1, {})])
        producer = broker.producer()
        for i in range(5):
            producer.produce(topic, b"x", partition=0 if i < 4 else 1)
        producer.flush(10)
        producer.close()
        assert [p.committed for p in by_consumer.lag(group, [topic])] == [None, None]  # no group yet

        consumer = broker.consumer(ConsumerConfig(group_id=group))
        consumer.subscribe([topic])
        seen, deadline = 0, time.monotonic() + 30
        while seen < 5 and time.monotonic() < deadline:
            seen += len(consumer.poll(10, timeout=1.0))
        assert seen == 5
        consumer.commit({TopicPartition(topic, 0): 3, TopicPartition(topic, 1): 1})
        consumer.close()

        expected = [(topic, 0, 3, 4), (topic, 1, 1, 1)]
        assert [(p.topic, p.partition, p.committed, p.end) for p in plain.lag(group, [topic])] == expected
        assert [(p.topic, p.partition, p.committed, p.end) for p in by_consumer.lag(group, [topic])] == expected
        assert [p.lag for p in by_consumer.lag(group, [topic])] == [1, 0]
        assert plain.describe_group(group).members == ()  # the reading consumer is no member
    finally:
        by_consumer.close()
        plain.delete_topics([topic])

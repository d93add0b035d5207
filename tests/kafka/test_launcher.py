"""The local launcher against a real broker: really ready, topics work, Kafka's own tools work."""

from __future__ import annotations

import os
import time
import uuid

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from adapters.kafka_readiness import probe
from compose import launcher
from compose.tools import run_tool

pytestmark = pytest.mark.kafka


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_broker_answers_metadata_and_the_group_coordinator(kafka_bootstrap):
    check = probe(kafka_bootstrap, timeout=10)
    assert check.ready, check.detail
    assert check.brokers >= 1 and check.coordinator


def test_up_again_reuses_the_running_cluster(kafka_bootstrap):
    result = launcher.up(1, wait=True, timeout=60)
    assert result.ready
    assert result.outcome in {"already-running", "reused-env", "reused-external"}
    assert result.bootstrap == kafka_bootstrap


def test_status_reports_ready(kafka_bootstrap):
    if os.environ.get("KAFKA_BOOTSTRAP"):
        pytest.skip("status of the local launcher; this run uses an external cluster")
    current = launcher.status()
    if not current.running:
        pytest.skip("the broker on localhost:9092 was not started from this data dir")
    assert current.ready and current.bootstrap == "localhost:9092"
    assert all(current.pids.values())


def test_topics_can_be_created_and_a_group_consumes_from_them(kafka_bootstrap):
    topic, group = unique("launcher-topic"), unique("launcher-group")
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])[topic].result(30)
    assert len(admin.list_topics(topic, timeout=10).topics[topic].partitions) == 3

    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    producer.produce(topic, b"hello", key=b"k")
    assert producer.flush(15) == 0
    consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": group,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    try:
        consumer.subscribe([topic])
        deadline, message = time.monotonic() + 30, None
        while message is None and time.monotonic() < deadline:
            candidate = consumer.poll(0.5)
            if candidate is not None and candidate.error() is None:
                message = candidate
        assert message is not None and message.value() == b"hello"
        consumer.commit(message, asynchronous=False)
    finally:
        consumer.close()

    listed = run_tool("kafka-topics", ["--list"], capture=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert topic in listed.stdout.split()
    groups = run_tool("kafka-consumer-groups", ["--list"], capture=True, timeout=120)
    assert groups.returncode == 0, groups.stderr
    assert group in groups.stdout.split()
    described = run_tool("kafka-consumer-groups", ["--describe", "--group", group], capture=True, timeout=120)
    assert described.returncode == 0, described.stderr
    assert topic in described.stdout


@pytest.mark.postgres
def test_database_url_connects_and_can_hold_a_schema(database_url):
    import psycopg

    schema = unique("launcher_check").replace("-", "_")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(f"DROP SCHEMA {schema}")

"""The fault proxy in front of a real broker: a lost ack duplicates a record unless the producer is
idempotent, an outage is seen and survived, an isolated client is cut off while others carry on.

Uses the background proxy when ``kafkalab kafka up --faults`` runs one for this cluster, else starts
one in-process (compose.faultproxy.attach); each test heals it before and after.
"""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from compose.faultproxy import FaultProxyError, attach
from compose.topology import port_offset_of
from tests.conftest import missing_dependency

pytestmark = pytest.mark.kafka


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def proxy_session(kafka_bootstrap):
    offset = port_offset_of(kafka_bootstrap)
    if offset is None:
        missing_dependency(f"the fault proxy needs a local kafkalab broker, not {kafka_bootstrap}")
    try:
        with attach(1, offset) as proxy:
            yield proxy
    except FaultProxyError as exc:
        missing_dependency(f"no fault proxy: {exc}")


@pytest.fixture
def proxy(proxy_session):
    proxy_session.heal()
    yield proxy_session
    proxy_session.heal()


def new_topic(bootstrap: str, prefix: str) -> str:
    topic = unique(prefix)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(30)
    return topic


def producer_through(proxy, client_id: str, **settings) -> Producer:
    """Short timeouts so a lost ack is noticed in seconds: socket.timeout.ms bounds an in-flight request."""
    return Producer({
        "bootstrap.servers": proxy.bootstrap, "client.id": client_id, "acks": "all", "linger.ms": 0,
        "socket.timeout.ms": 2000, "request.timeout.ms": 2000, "message.timeout.ms": 30000,
        "retries": 10, "retry.backoff.ms": 100, "reconnect.backoff.max.ms": 500, **settings,
    })


def deliver(producer: Producer, topic: str, value: bytes, timeout: float = 45.0) -> tuple[KafkaError | None, float]:
    """Produce one record and wait for its delivery report: (error, monotonic time of the report)."""
    reports: list[tuple[KafkaError | None, float]] = []
    producer.produce(topic, value, on_delivery=lambda err, _msg: reports.append((err, time.monotonic())))
    deadline = time.monotonic() + timeout
    while not reports and time.monotonic() < deadline:
        producer.poll(0.1)
    assert reports, f"no delivery report for {value!r} within {timeout}s"
    return reports[0]


def read_values(bootstrap: str, topic: str) -> list[tuple[int, bytes]]:
    """Every (offset, value) of partition 0, read directly from the broker (not through the proxy)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("fp-reader"),
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        end = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
        consumer.assign([TopicPartition(topic, 0, 0)])
        found: list[tuple[int, bytes]] = []
        deadline = time.monotonic() + 30
        while (not found or found[-1][0] < end - 1) and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                found.append((message.offset(), message.value()))
        return found
    finally:
        consumer.close()


def dropped_for(proxy, client_id: str) -> list[dict]:
    return [e for e in proxy.report()["events"] if e["action"] == "response_dropped" and e["client_id"] == client_id]


@pytest.mark.parametrize(("idempotent", "copies"), [(False, 2), (True, 1)], ids=["idempotence-off", "idempotence-on"])
def test_a_lost_ack_duplicates_a_record_unless_the_producer_is_idempotent(proxy, kafka_bootstrap, idempotent,
                                                                           copies):
    topic, client_id = new_topic(kafka_bootstrap, "fp-lost-ack"), unique("fp-producer")
    producer = producer_through(proxy, client_id, **{"enable.idempotence": idempotent})
    assert deliver(producer, topic, b"warm-up")[0] is None  # connected, metadata known: the next Produce is ours
    proxy.lose_ack(client_id=client_id, topic=topic)
    error, _ = deliver(producer, topic, b"payment-1")
    producer.flush(10)
    assert error is None, error
    (dropped,) = dropped_for(proxy, client_id)
    assert dropped["api"] == "Produce" and dropped["topics"] == [topic]
    written = [offset for offset, value in read_values(kafka_bootstrap, topic) if value == b"payment-1"]
    assert len(written) == copies, f"payment-1 at offsets {written}"


def test_broker_down_is_an_outage_the_client_sees_and_recovers_from(proxy, kafka_bootstrap):
    topic, client_id = new_topic(kafka_bootstrap, "fp-outage"), unique("fp-producer")
    errors: list[KafkaError] = []
    producer = producer_through(proxy, client_id, error_cb=errors.append)
    assert deliver(producer, topic, b"before")[0] is None
    outage_s = 3.0
    started = time.monotonic()
    proxy.broker_down(int(outage_s * 1000))
    error, delivered_at = deliver(producer, topic, b"during")
    producer.flush(10)
    assert error is None, error
    assert delivered_at >= started + outage_s - 0.05, "delivered while the broker was down"
    assert {e.code() for e in errors} & {KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN}, errors
    actions = [e["action"] for e in proxy.report()["events"] if e["fault"] == "broker_down"]
    assert actions[:3] == ["armed", "listener_closed", "connection_cut"] and "listener_reopened" in actions
    assert [v for _, v in read_values(kafka_bootstrap, topic)] == [b"before", b"during"]


def test_an_isolated_client_is_cut_off_while_another_carries_on(proxy, kafka_bootstrap):
    topic = new_topic(kafka_bootstrap, "fp-isolate")
    victim_id, other_id = unique("fp-victim"), unique("fp-other")
    victim, other = producer_through(proxy, victim_id), producer_through(proxy, other_id)
    assert deliver(victim, topic, b"victim-warm-up")[0] is None
    assert deliver(other, topic, b"other-warm-up")[0] is None
    proxy.isolate(victim_id)
    reports: list[KafkaError | None] = []
    victim.produce(topic, b"victim-isolated", on_delivery=lambda err, _msg: reports.append(err))
    assert deliver(other, topic, b"other-meanwhile")[0] is None
    victim.poll(0.5)
    assert reports == [], "the isolated producer was answered"
    proxy.heal()
    deadline = time.monotonic() + 45
    while not reports and time.monotonic() < deadline:
        victim.poll(0.1)
    assert reports == [None]
    assert proxy.report()["counts"].get("request_blackholed", 0) >= 1
    assert b"victim-isolated" in [v for _, v in read_values(kafka_bootstrap, topic)]

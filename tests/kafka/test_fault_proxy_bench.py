"""Throughput through the fault proxy against direct to the broker: printed, never asserted.

    KAFKA_BOOTSTRAP=localhost:17092 pytest -m kafka tests/kafka/test_fault_proxy_bench.py -s

Each leg produces RECORDS records of SIZE bytes to its own one-partition topic and consumes them back,
direct (EXTERNAL listener) and through the proxy (background or in-process, whichever ``attach`` finds),
alternating which goes first, best of ROUNDS. Only the record counts are asserted.
"""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from compose.faultproxy import FaultProxy
from tests.kafka.test_fault_proxy_kafka import proxy_session  # noqa: F401 (the fixture)

pytestmark = pytest.mark.kafka

RECORDS, SIZE, ROUNDS = 100_000, 200, 3


def produce_all(bootstrap: str, topic: str) -> float:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all"})
    payload = b"x" * SIZE
    producer.produce(topic, payload)  # warm-up, not timed: connections and metadata
    assert producer.flush(30) == 0
    started = time.perf_counter()
    for _ in range(RECORDS - 1):
        while True:
            try:
                producer.produce(topic, payload)
                break
            except BufferError:
                producer.poll(0.01)  # the local queue is full: let deliveries drain it
    assert producer.flush(60) == 0
    return time.perf_counter() - started


def consume_all(bootstrap: str, topic: str) -> float:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex[:8]}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    consumer.assign([TopicPartition(topic, 0, 0)])
    seen, started = 0, time.perf_counter()
    deadline = time.monotonic() + 120
    while seen < RECORDS and time.monotonic() < deadline:
        seen += sum(1 for m in consumer.consume(1000, timeout=0.5) if m.error() is None)
    elapsed = time.perf_counter() - started
    consumer.close()
    assert seen == RECORDS
    return elapsed


def test_print_throughput_through_the_proxy_against_direct(kafka_bootstrap, proxy_session, capsys):  # noqa: F811
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    best: dict[tuple[str, str], float] = {}
    paths = [("direct", kafka_bootstrap), ("proxy", proxy_session.bootstrap)]
    for round_ in range(ROUNDS):
        for path, bootstrap in paths if round_ % 2 == 0 else paths[::-1]:  # neither always goes first
            topic = f"bench-fp-{path}-{round_}-{uuid.uuid4().hex[:6]}"
            admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(30)
            for leg, run in (("produce", produce_all), ("consume", consume_all)):
                seconds = run(bootstrap, topic)
                best[(path, leg)] = min(seconds, best.get((path, leg), seconds))
    mode = "in-process" if isinstance(proxy_session, FaultProxy) else "background process"
    with capsys.disabled():
        print(f"\nfault proxy throughput ({mode}; {RECORDS} records x {SIZE} B, best of {ROUNDS}):")
        for leg in ("produce", "consume"):
            direct, proxied = RECORDS / best[("direct", leg)], RECORDS / best[("proxy", leg)]
            print(f"  {leg:8} direct {direct:9,.0f} rec/s   proxy {proxied:9,.0f} rec/s   "
                  f"ratio {proxied / direct:.2f}")

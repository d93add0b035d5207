"""The confluent-kafka adapters against the raw client, same settings, same broker: records/s and ratio.

Run as ``python -m tests.bench_kafka_clients`` (KAFKA_BOOTSTRAP, default localhost:9092); prints
figures, asserts nothing. The raw client is built from the very settings dict the adapter built
(``.settings``), so only the adapter's own work differs. Each side runs ``--rounds`` times,
alternating, and the best round counts (a loaded machine only ever makes a round slower).

- produce: N records (a key, a ~200-byte value and the saga's four headers, as the services send
  them), then one flush; raw is ``Producer.produce(topic, value, key=, headers=)`` with BufferError
  served by ``poll``, the loop librdkafka's own examples use.
- consume: the same N records read back from the start, timed from the first record; raw is
  ``Consumer.consume(500)`` touching each message's value (an application reads at least that;
  ``--read-all`` adds key and headers, which the services read), the adapter is ``poll(500)`` giving
  port Records, touched the same way.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from typing import Any

import confluent_kafka

from adapters.kafka_broker import KafkaBroker
from services.ports import ConsumerConfig, ProducerConfig, TopicPartition, TopicSpec

HEADERS = [("correlation-id", b"3f1b2c9a-0000-4000-8000-000000000001"), ("event-type", b"OrderCreated"),
           ("event-id", b"3f1b2c9a-0000-4000-8000-000000000001/OrderCreated"),
           ("causation-id", b"3f1b2c9a-0000-4000-8000-000000000001")]
VALUE = b'{"orderId":"3f1b2c9a-0000-4000-8000-000000000001","customerId":"cust_1","productId":"prod_123",' \
        b'"quantity":2,"amountCents":25050,"eventType":"OrderCreated","ts":1700000000000}'


READ_ALL = False  # --read-all: both sides also read each record's key and headers (as the services do)


def _keys(n: int) -> list[bytes]:
    return [f"order-{i:08d}".encode() for i in range(n)]


def produce_raw(settings: dict[str, Any], topic: str, keys: list[bytes]) -> float:
    producer = confluent_kafka.Producer(settings)
    began = time.perf_counter()
    for key in keys:
        try:
            producer.produce(topic, VALUE, key=key, headers=HEADERS)
        except BufferError:
            producer.poll(0.1)
            producer.produce(topic, VALUE, key=key, headers=HEADERS)
    producer.flush(60)
    return time.perf_counter() - began


def produce_adapter(broker: KafkaBroker, topic: str, keys: list[bytes]) -> tuple[float, dict[str, Any]]:
    producer = broker.producer(ProducerConfig(client_id="bench", enable_idempotence=True))
    began = time.perf_counter()
    for key in keys:
        producer.produce(topic, VALUE, key=key, headers=HEADERS)
    producer.flush(60)
    seconds = time.perf_counter() - began
    producer.close()
    return seconds, producer.settings


def consume_raw(settings: dict[str, Any], topic: str, partitions: int, n: int) -> float:
    """Records/s, timed from the first record."""
    consumer = confluent_kafka.Consumer({**settings, "group.id": f"bench-raw-{uuid.uuid4().hex[:6]}"})
    consumer.assign([confluent_kafka.TopicPartition(topic, p, 0) for p in range(partitions)])
    seen, began = 0, 0.0
    while seen < n:
        for msg in consumer.consume(500, 1.0):
            if msg.error() is None:
                msg.value()
                if READ_ALL:
                    msg.key(), msg.headers()
                seen += 1
        if not began and seen:  # the clock starts at the first record: joining is not consuming
            n, seen, began = n - seen, 0, time.perf_counter()
    rate = n / (time.perf_counter() - began)
    consumer.close()
    return rate


def consume_adapter(broker: KafkaBroker, topic: str, partitions: int, n: int) -> tuple[float, dict[str, Any]]:
    consumer = broker.consumer(ConsumerConfig(group_id=f"bench-port-{uuid.uuid4().hex[:6]}"))
    consumer.assign([TopicPartition(topic, p) for p in range(partitions)])  # a new group: from the start
    seen, began = 0, 0.0
    while seen < n:
        for record in consumer.poll(500, 1.0):
            record.value  # noqa: B018 (an application reads at least the value)
            if READ_ALL:
                record.key, record.headers  # noqa: B018
            seen += 1
        if not began and seen:  # the clock starts at the first record: joining is not consuming
            n, seen, began = n - seen, 0, time.perf_counter()
    rate = n / (time.perf_counter() - began)
    settings = consumer.settings
    consumer.close()
    return rate, settings


def measure(bootstrap: str, n: int, rounds: int, partitions: int = 3) -> dict[str, float]:
    """Best records/s of each side and the ratios, over ``rounds`` alternating rounds."""
    broker = KafkaBroker(bootstrap, client_prefix="bench")
    admin = broker.admin()
    topic = f"bench-clients-{uuid.uuid4().hex[:8]}"
    admin.create_topics([TopicSpec(topic, partitions)])
    keys = _keys(n)
    best = {"produce_raw": 0.0, "produce_port": 0.0, "consume_raw": 0.0, "consume_port": 0.0}
    try:
        seconds, settings = produce_adapter(broker, topic, keys[:1000])  # warm up: metadata, connections
        for _ in range(rounds):
            seconds, settings = produce_adapter(broker, topic, keys)
            best["produce_port"] = max(best["produce_port"], n / seconds)
            best["produce_raw"] = max(best["produce_raw"], n / produce_raw(settings, topic, keys))
        total = 1000 + 2 * rounds * n  # everything produced above, read back each round
        _, csettings = consume_adapter(broker, topic, partitions, 1000)
        for i in range(rounds):  # alternate who goes first: the second reads a warmer page cache
            if i % 2:
                best["consume_raw"] = max(best["consume_raw"], consume_raw(csettings, topic, partitions, total))
            rate, csettings = consume_adapter(broker, topic, partitions, total)
            best["consume_port"] = max(best["consume_port"], rate)
            if not i % 2:
                best["consume_raw"] = max(best["consume_raw"], consume_raw(csettings, topic, partitions, total))
        best["consume_records"] = total
    finally:
        admin.delete_topics([topic])
    best["produce_ratio"] = best["produce_port"] / best["produce_raw"]
    best["consume_ratio"] = best["consume_port"] / best["consume_raw"]
    return best


def report(r: dict[str, float]) -> str:
    return (f"produce: adapter {r['produce_port']:,.0f}/s, raw confluent_kafka {r['produce_raw']:,.0f}/s, "
            f"ratio {r['produce_ratio']:.2f}x\n"
            f"consume: adapter {r['consume_port']:,.0f}/s, raw confluent_kafka {r['consume_raw']:,.0f}/s, "
            f"ratio {r['consume_ratio']:.2f}x  ({r['consume_records']:,.0f} records each)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP", "localhost:9092"))
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--read-all", action="store_true", help="consumers read key and headers too")
    args = parser.parse_args()
    global READ_ALL
    READ_ALL = args.read_all
    print(report(measure(args.bootstrap, args.records, args.rounds)))


if __name__ == "__main__":
    main()

"""The confluent-kafka adapters against the raw client, same settings, same broker: records/s and ratio.

Run as ``python -m tests.bench_kafka_clients`` (KAFKA_BOOTSTRAP, default localhost:9092); prints
figures, asserts nothing. The raw client is built from the very settings dict the adapter built
(``.settings``), so only the adapter's own work differs.

Fairness on a shared, loaded machine: one warm-up round of every side first (metadata, connections,
page cache), then ``--rounds`` rounds in which every side runs once, the order rotating from round to
round so no side always runs first (or right after the same neighbour). Each figure is the median of
its rounds with the spread (min–max); the ratio is the median of the per-round ratios (a round's
sides ran seconds apart, under much the same load). Besides records/s (wall clock) each side reports
its process CPU per record (this thread and librdkafka's), which load disturbs far less.

- produce: N records (a key, a ~200-byte value and the saga's four headers, as the services send
  them), then one flush, into a topic of their own. Raw is ``Producer.produce(topic, value, key=,
  headers=)`` with BufferError served by ``poll``, the loop librdkafka's own examples use, once with
  no delivery callback (fire and forget: the app never learns the outcome) and once with one
  delivery callback shared by every record (what an app that learns each record's outcome, as the
  port's flush does, needs at least).
- consume: N records read from the start of a topic holding exactly N records (written once, before
  the rounds), timed from the first record; raw is ``Consumer.consume(500)`` touching each message's
  value (an application reads at least that; ``--read-all`` adds key and headers, which the services
  read), the adapter is ``poll(500)`` giving port Records, touched the same way. N is kept under
  librdkafka's prefetch limit (``queued.max.messages.kbytes``, 64 MiB): beyond it the fetcher pauses
  for ``fetch.queue.backoff.ms`` (1 s), and where those pauses fall decides a round, not the client.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from collections.abc import Callable
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


class Run:
    """One side's round: records/s (wall) and CPU microseconds per record (the whole process)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.rate = 0.0
        self.cpu_us = 0.0
        self._wall = self._cpu = 0.0

    def start(self) -> None:
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def stop(self) -> Run:
        self.rate = self.n / max(1e-9, time.perf_counter() - self._wall)
        self.cpu_us = (time.process_time() - self._cpu) / self.n * 1e6
        return self


def _keys(n: int) -> list[bytes]:
    return [f"order-{i:08d}".encode() for i in range(n)]


def produce_raw(settings: dict[str, Any], topic: str, keys: list[bytes], *, reports: bool) -> Run:
    producer = confluent_kafka.Producer(settings)
    delivered: list[confluent_kafka.Message] = []
    keep = delivered.append

    def on_delivery(_err: Any, msg: confluent_kafka.Message) -> None:
        keep(msg)

    extra = {"on_delivery": on_delivery} if reports else {}
    producer.produce(topic, VALUE, key=b"warm")  # connections and metadata, outside the clock
    producer.flush(30)
    run = Run(len(keys))
    run.start()
    for key in keys:
        try:
            producer.produce(topic, VALUE, key=key, headers=HEADERS, **extra)
        except BufferError:
            producer.poll(0.1)
            producer.produce(topic, VALUE, key=key, headers=HEADERS, **extra)
    producer.flush(60)
    return run.stop()


def produce_adapter(broker: KafkaBroker, topic: str, keys: list[bytes]) -> tuple[Run, dict[str, Any]]:
    producer = broker.producer(ProducerConfig(client_id="bench", enable_idempotence=True))
    producer.produce(topic, VALUE, key=b"warm")
    producer.flush(30)
    run = Run(len(keys))
    run.start()
    for key in keys:
        producer.produce(topic, VALUE, key=key, headers=HEADERS)
    producer.flush(60)
    run.stop()
    producer.close()
    return run, producer.settings


def consume_raw(settings: dict[str, Any], topic: str, partitions: int, n: int) -> Run:
    consumer = confluent_kafka.Consumer({**settings, "group.id": f"bench-raw-{uuid.uuid4().hex[:6]}"})
    consumer.assign([confluent_kafka.TopicPartition(topic, p, 0) for p in range(partitions)])
    run, seen = Run(n), 0
    while seen < n:
        for msg in consumer.consume(500, 1.0):
            if msg.error() is None:
                msg.value()
                if READ_ALL:
                    msg.key(), msg.headers()
                if not seen:  # the clock starts at the first record: joining is not consuming
                    run.start()
                seen += 1
    run.stop()
    consumer.close()
    return run


def consume_adapter(broker: KafkaBroker, topic: str, partitions: int, n: int) -> tuple[Run, dict[str, Any]]:
    consumer = broker.consumer(ConsumerConfig(group_id=f"bench-port-{uuid.uuid4().hex[:6]}"))
    consumer.assign([TopicPartition(topic, p) for p in range(partitions)])  # a new group: from the start
    run, seen = Run(n), 0
    while seen < n:
        for record in consumer.poll(500, 1.0):
            record.value  # noqa: B018 (an application reads at least the value)
            if READ_ALL:
                record.key, record.headers  # noqa: B018
            if not seen:
                run.start()
            seen += 1
    run.stop()
    settings = consumer.settings
    consumer.close()
    return run, settings


def _rounds(sides: dict[str, Callable[[], Run]], rounds: int) -> dict[str, list[Run]]:
    """A warm-up of every side (discarded), then ``rounds`` rounds with the order rotated each round."""
    names = list(sides)
    for name in names:
        sides[name]()
    runs: dict[str, list[Run]] = {name: [] for name in names}
    for i in range(rounds):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            runs[name].append(sides[name]())
    return runs


def _summary(runs: dict[str, list[Run]], port: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, side in runs.items():
        rates = [r.rate for r in side]
        out[name] = {"median": statistics.median(rates), "min": min(rates), "max": max(rates),
                     "cpu_us": statistics.median(r.cpu_us for r in side)}
        if name != port:
            ratios = [p.rate / r.rate for p, r in zip(runs[port], side, strict=True)]
            cpu_ratios = [r.cpu_us / p.cpu_us for p, r in zip(runs[port], side, strict=True)]
            out[name]["ratio"] = statistics.median(ratios)
            out[name]["ratio_min"], out[name]["ratio_max"] = min(ratios), max(ratios)
            out[name]["cpu_ratio"] = statistics.median(cpu_ratios)
    return out


def measure(bootstrap: str, n: int, rounds: int, partitions: int = 3) -> dict[str, Any]:
    """Medians, spreads and ratios of every side over ``rounds`` rotated rounds after a warm-up."""
    broker = KafkaBroker(bootstrap, client_prefix="bench")
    admin = broker.admin()
    sink = f"bench-produce-{uuid.uuid4().hex[:8]}"
    source = f"bench-consume-{uuid.uuid4().hex[:8]}"
    admin.create_topics([TopicSpec(sink, partitions), TopicSpec(source, partitions)])
    keys = _keys(n)
    settings: dict[str, Any] = {}
    try:
        def port_produce() -> Run:
            run, settings["producer"] = produce_adapter(broker, sink, keys)
            return run

        port_produce()  # the settings the raw sides are built from
        produced = _rounds({
            "port": port_produce,
            "raw": lambda: produce_raw(settings["producer"], sink, keys, reports=False),
            "raw+dr": lambda: produce_raw(settings["producer"], sink, keys, reports=True),
        }, rounds)

        writer = broker.producer(ProducerConfig(client_id="bench-source"))
        for key in keys:
            writer.produce(source, VALUE, key=key, headers=HEADERS)
        writer.flush(60)
        writer.close()

        def port_consume() -> Run:
            run, settings["consumer"] = consume_adapter(broker, source, partitions, n)
            return run

        port_consume()
        consumed = _rounds({
            "port": port_consume,
            "raw": lambda: consume_raw(settings["consumer"], source, partitions, n),
        }, rounds)
    finally:
        admin.delete_topics([sink, source])
    return {"records": n, "rounds": rounds, "produce": _summary(produced, "port"),
            "consume": _summary(consumed, "port")}


def report(r: dict[str, Any]) -> str:
    lines = [f"{r['records']:,} records a round, {r['rounds']} rounds after a warm-up, order rotated; "
             "median (min-max) records/s, median process CPU per record"]
    for what in ("produce", "consume"):
        side = r[what]
        for name, s in side.items():
            line = (f"  {what} {name:<7} {s['median']:>9,.0f}/s ({s['min']:,.0f}-{s['max']:,.0f})"
                    f"  {s['cpu_us']:.2f} us/record")
            if "ratio" in s:
                line += (f"   adapter/{name}: {s['ratio']:.2f}x ({s['ratio_min']:.2f}-{s['ratio_max']:.2f}),"
                         f" CPU {s['cpu_ratio']:.2f}x")
            lines.append(line)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP", "localhost:9092"))
    parser.add_argument("--records", type=int, default=100_000, help="at most ~150,000 (the prefetch limit)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--read-all", action="store_true", help="consumers read key and headers too")
    args = parser.parse_args()
    global READ_ALL
    READ_ALL = args.read_all
    print(report(measure(args.bootstrap, args.records, args.rounds)))


if __name__ == "__main__":
    main()

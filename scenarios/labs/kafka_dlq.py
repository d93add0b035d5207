"""``kafkalab dlq`` against a real broker: the dead letters of one lab run (topics ``<prefix>*.dlq``).

Reading uses a throwaway consumer group that never commits (so nothing is left behind but an empty
group the broker forgets). Redrive produces the copies to their source topic, then runs the inventory
service of that run (a fresh instance of its consumer group, resuming from the group's committed
offsets) until it has caught up, so what happens to the redriven records is seen at once.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from adapters.kafka_broker import KafkaBroker
from scenarios.labs import dlq
from services.ports import ConsumerConfig, Record, TopicPartition

READ_TIMEOUT_S = 20.0
CATCH_UP_S = 30.0


def physical(prefix: str, topic: str) -> str:
    """``payments.dlq`` -> ``<prefix>payments.dlq``; a name that has the prefix already is kept."""
    return topic if topic.startswith(prefix) else prefix + topic


def dlq_topics(broker: KafkaBroker, prefix: str, topic: str | None = None) -> list[str]:
    names = sorted(t for t in broker.admin().list_topics() if t.startswith(prefix) and t.endswith(".dlq"))
    return [t for t in names if topic is None or t == physical(prefix, topic)]


def read_letters(broker: KafkaBroker, prefix: str, topic: str | None = None) -> list[Record]:
    """Every record of the run's DLQ topics (or one), in topic, partition, offset order."""
    names = dlq_topics(broker, prefix, topic)
    ends = {tp: end for tp, end in broker.admin().end_offsets(names).items() if end > 0} if names else {}
    if not ends:
        return []
    consumer = broker.consumer(ConsumerConfig(group_id=f"{prefix}kafkalab-dlq-reader-{uuid.uuid4().hex[:6]}",
                                              client_id="kafkalab-dlq"))
    consumer.subscribe(names)
    found: dict[tuple[str, int, int], Record] = {}
    positions: dict[TopicPartition, int] = {}
    deadline = time.monotonic() + READ_TIMEOUT_S
    try:
        while any(positions.get(tp, 0) < end for tp, end in ends.items()) and time.monotonic() < deadline:
            for r in consumer.poll(500, timeout=0.5):
                found[(r.topic, r.partition, r.offset)] = r
                positions[r.tp] = max(positions.get(r.tp, 0), r.offset + 1)
    finally:
        consumer.close()
    return [found[k] for k in sorted(found)]


def redrive(bootstrap: str, prefix: str, topic: str | None, max_redrives: int, done: set[str],
            options: Any = None) -> tuple[list[dlq.Redrive], list[str], list[str]]:
    """Redrive the letters not redriven before (``done``: "topic/partition/offset"); then let the run's
    inventory service catch up. Returns (sent, refused reasons, coordinates handled this time)."""
    from scenarios.labs.kafka_world import KafkaWorld
    from scenarios.labs.labshop import ServiceKnobs

    broker = KafkaBroker(bootstrap, client_prefix="kafkalab-dlq")
    letters = [r for r in read_letters(broker, prefix, topic) if f"{r.topic}/{r.partition}/{r.offset}" not in done]
    producer = broker.producer()
    try:
        sent, refused = dlq.redrive(producer, letters, max_redrives)
    finally:
        producer.close()
    if sent:
        world = KafkaWorld(ServiceKnobs(dlq=True), options, prefix=prefix, kinds=("inventory",)).start()
        try:
            group, source = world.group("inventory"), world.topics.payments
            world.wait_until(lambda: bool(world.lag(group, source)) and not any(p.lag for p in world.lag(group, source)),
                             CATCH_UP_S, 0.3)
        finally:
            world.close()
    return sent, refused, [f"{r.topic}/{r.partition}/{r.offset}" for r in letters]

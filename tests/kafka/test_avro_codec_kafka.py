"""The Avro codec in kafka mode: confluent's serdes against Apicurio, records through a real broker,
the saga end to end, and an unknown schema id dead-lettered while the consumer goes on."""

from __future__ import annotations

import time
import uuid

import pytest

from adapters.avro_codec import AvroCodec
from adapters.kafka_broker import KafkaBroker
from adapters.memory_store import memory_stores
from adapters.registry_client import ConfluentRegistry, connect
from scenarios.root import WallClock
from services import schemas
from services.events import Event, Topics
from services.handling import ServiceConfig
from services.ids import RandomIds
from services.ports import ConsumerConfig, OrderStatus, Record, TopicSpec
from services.shop import build_shop
from tests.registry_support import registry_url
from tests.unit.test_saga_sim import HAPPY, TOO_MANY

pytestmark = pytest.mark.kafka

__all__ = ["registry_url"]


def read_all(broker: KafkaBroker, topic: str, count: int, deadline_s: float = 30.0) -> list[Record]:
    consumer = broker.consumer(ConsumerConfig(group_id=f"reader-{uuid.uuid4().hex[:8]}", client_id="reader"))
    consumer.subscribe([topic])
    found: list[Record] = []
    deadline = time.monotonic() + deadline_s
    try:
        while len(found) < count and time.monotonic() < deadline:
            found += consumer.poll(100, timeout=0.5)
    finally:
        consumer.close()
    return found


@pytest.fixture
def prefix() -> str:
    return f"kl-avro-{uuid.uuid4().hex[:8]}-"


def test_avro_events_round_trip_through_a_real_broker_and_apicurio(kafka_bootstrap, registry_url, prefix) -> None:
    broker = KafkaBroker(kafka_bootstrap, client_prefix="avro-test")
    topics = Topics.with_prefix(prefix)
    broker.admin().create_topics([TopicSpec(topics.orders, 1)], exist_ok=True)
    codec = AvroCodec(connect(registry_url))
    sent = [Event.caused_by(f"cause-{i}", "OrderCreated", orderId=f"o{i}", customerId="c", productId="prod_123",
                            quantity=i + 1, amountCents=100 * i) for i in range(3)]  # fmt: skip
    producer = broker.producer()
    for event in sent:
        topic, key, value, headers = codec.encode(event, topics)
        producer.produce(topic, value, key=key, headers=headers)
    producer.flush()
    received = read_all(broker, topics.orders, len(sent))
    assert [codec.decode(r) for r in received] == sent
    registered = ConfluentRegistry(connect(registry_url)).get(schemas.subject(topics.orders, "OrderCreated"))
    assert {r.value[:5] for r in received} == {b"\x00" + registered.schema_id.to_bytes(4, "big")}


def test_the_saga_runs_in_avro_and_an_unknown_schema_id_is_dead_lettered(kafka_bootstrap, registry_url, prefix) -> None:
    broker = KafkaBroker(kafka_bootstrap, client_prefix="avro-saga")
    codec = AvroCodec(connect(registry_url))
    config = ServiceConfig(codec=codec, topics=Topics.with_prefix(prefix), group_prefix=prefix, poll_timeout_s=0.2)
    shop = build_shop(broker, memory_stores(), WallClock(), RandomIds(), config=config, partitions=1)
    try:
        poison = codec.encode(Event.caused_by("x", "OrderCreated", orderId="o-poison", customerId="c",
                                              productId="prod_123", quantity=1, amountCents=1), config.topics)
        producer = broker.producer()
        producer.produce(poison[0], b"\x00\x7f\xff\xff\xf0" + poison[2][5:], key=poison[1], headers=poison[3])
        producer.flush()
        orders = [shop.place_order(HAPPY), shop.place_order(TOO_MANY)]
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and any(not shop.order(o.order_id).status.terminal for o in orders):
            for service in shop.services:
                service.step()
        assert [shop.order(o.order_id).status for o in orders] == [OrderStatus.COMPLETED, OrderStatus.CANCELLED]
        [parked] = read_all(broker, config.topics.dlq(config.topics.orders), 1)
        assert dict(parked.headers)["dlq-error"] == (
            b"PoisonRecord: unknown schema id 2147483632: the schema registry has no such schema"
        )
    finally:
        shop.close()
        broker.admin().delete_topics(list(config.topics.all()))

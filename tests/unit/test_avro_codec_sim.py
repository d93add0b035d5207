"""The Avro codec in the simulated world: confluent's serdes over the in-process registry, the saga
end to end, and every way a record can fail to decode (each dead-lettered with its reason)."""

from __future__ import annotations

import json

import pytest

from adapters.avro_codec import AvroCodec
from adapters.memory_registry import MemoryRegistry
from adapters.memory_store import memory_stores
from adapters.registry_client import MemoryRegistryClient, connect
from adapters.sim_broker import SimBroker
from services import schemas
from services.codec import JSON
from services.events import SCHEMAS, Event, PoisonRecord, Topics
from services.handling import ServiceConfig
from services.ids import SeededIds
from services.ports import OrderStatus, Record, TopicPartition
from services.registry import IncompatibleSchema, RegistryUnavailable
from services.shop import build_shop
from sim import World
from tests.unit.test_saga_sim import HAPPY, POISON, TOO_MANY, records

SAMPLE = {
    "OrderCreated": {"orderId": "o1", "customerId": "c", "productId": "prod_123", "quantity": 2, "amountCents": 25050},
    "PaymentCompleted": {"orderId": "o1", "customerId": "c", "productId": "p", "quantity": 1, "amountCents": 2**40},
    "PaymentFailed": {"orderId": "o1", "reason": "declined"},
    "PaymentRefunded": {"orderId": "o1", "amountCents": 7, "reason": "no stock"},
    "InventoryReserved": {"orderId": "o1", "productId": "prod_123", "quantity": 2},
    "InventoryFailed": {"orderId": "o1", "reason": "insufficient stock"},
}


def avro_codec(registry: MemoryRegistry | None = None, **kwargs) -> AvroCodec:
    return AvroCodec(MemoryRegistryClient(registry or MemoryRegistry()), **kwargs)


def as_record(encoded: tuple[str, bytes, bytes, tuple], offset: int = 0) -> Record:
    topic, key, value, headers = encoded
    return Record(topic, 0, offset, key, value, headers)


def with_fields(event_type: str, change) -> str:
    schema = json.loads(schemas.schema_text(event_type))
    schema["fields"] = change(schema["fields"])
    return json.dumps(schema)


@pytest.mark.parametrize("event_type", sorted(SCHEMAS))
def test_every_event_round_trips_in_the_registry_wire_format(event_type: str) -> None:
    registry = MemoryRegistry()
    codec = avro_codec(registry)
    event = Event.caused_by("cause-1", event_type, **SAMPLE[event_type])
    topic, key, value, headers = codec.encode(event, Topics.with_prefix("kl-"))
    found = registry.get(schemas.subject(topic, event_type))
    assert value[:5] == b"\x00" + found.schema_id.to_bytes(4, "big")
    assert (key, headers) == JSON.encode(event, Topics())[1::2]  # same key and headers as JSON
    assert codec.decode(Record(topic, 0, 0, key, value, headers)) == event


def test_avro_values_are_smaller_than_json_ones() -> None:
    event = Event.caused_by("cause-1", "OrderCreated", **SAMPLE["OrderCreated"])
    assert len(avro_codec().encode(event, Topics())[2]) < len(JSON.encode(event, Topics())[2]) * 0.7


def run_saga(codec, bodies, seed: int = 7):
    world = World(seed)
    broker = SimBroker(world)
    shop = build_shop(broker, memory_stores(), broker.clock, SeededIds(seed), config=ServiceConfig(codec=codec))
    for service in shop.services:
        world.spawn(service.name, service.step)
    placed = [shop.place_order(body) for body in bodies]
    world.run_until_idle()
    return world, shop, [shop.order(o.order_id) for o in placed]


def test_the_saga_ends_the_same_in_avro_as_in_json() -> None:
    bodies = [HAPPY, TOO_MANY, POISON]
    _, json_shop, json_orders = run_saga(JSON, bodies)
    world, avro_shop, avro_orders = run_saga(avro_codec(), bodies)
    assert [o.status for o in avro_orders] == [OrderStatus.COMPLETED, OrderStatus.CANCELLED, OrderStatus.CANCELLED]
    assert [(o.status, o.reason) for o in avro_orders] == [(o.status, o.reason) for o in json_orders]
    assert avro_shop.totals() == json_shop.totals()
    assert all(r.value[:1] == b"\x00" for t in ("orders", "payments", "inventory") for r in records(world, t))


def test_an_avro_run_is_byte_for_byte_repeatable() -> None:
    first, _, _ = run_saga(avro_codec(), [HAPPY, TOO_MANY])
    second, _, _ = run_saga(avro_codec(), [HAPPY, TOO_MANY])
    values = [[r.value for r in records(w, t)] for w in (first, second) for t in ("orders", "payments")]
    assert values[:2] == values[2:]


def test_a_record_with_an_unknown_schema_id_is_dead_lettered_with_that_reason_and_consuming_goes_on() -> None:
    world = World(3)
    broker = SimBroker(world)
    codec = avro_codec()
    shop = build_shop(broker, memory_stores(), broker.clock, SeededIds(3), config=ServiceConfig(codec=codec))
    for service in shop.services:
        world.spawn(service.name, service.step)
    good = codec.encode(Event.caused_by("x", "OrderCreated", **SAMPLE["OrderCreated"]), Topics())
    producer = broker.producer()
    producer.produce("orders", b"\x00\x00\x00\x03\xe7" + good[2][5:], key=b"o1", headers=good[3])  # id 999
    producer.flush()
    later = shop.place_order(HAPPY)
    world.run_until_idle()
    [parked] = records(world, "orders.dlq")
    errors = {k: v.decode() for k, v in parked.headers}
    assert errors["dlq-error"] == "PoisonRecord: unknown schema id 999: the schema registry has no such schema"
    assert shop.order(later.order_id).status is OrderStatus.COMPLETED


@pytest.mark.parametrize(
    ("value", "reason"),
    [(None, "not in the schema registry wire format"), (b'{"eventType": "OrderCreated"}', "wire format"),
     (b"\x00\x00\x00", "wire format")],
    ids=["null", "json", "too-short"],
)
def test_values_that_are_not_registry_avro_are_poison(value, reason) -> None:
    with pytest.raises(PoisonRecord, match=reason):
        avro_codec().decode(Record("orders", 0, 0, b"o1", value))


def test_a_schema_id_naming_another_record_type_is_poison() -> None:
    registry = MemoryRegistry()
    other = registry.register("orders-x.Foreign", json.dumps(
        {"type": "record", "name": "Foreign", "namespace": "x", "fields": [{"name": "a", "type": "string"}]}))
    with pytest.raises(PoisonRecord, match="'x.Foreign', not a saga event"):
        avro_codec(registry).decode(Record("orders", 0, 0, b"o1", b"\x00" + other.schema_id.to_bytes(4, "big") + b"\x02a"))


def test_an_old_consumer_reads_a_field_added_with_a_default_and_not_a_renamed_one() -> None:
    registry = MemoryRegistry()
    old = avro_codec(registry)
    added = with_fields("OrderCreated", lambda f: [*f, {"name": "currency", "type": "string", "default": "EUR"}])
    renamed = with_fields("OrderCreated", lambda f: [{**x, "name": "qty"} if x["name"] == "quantity" else x for x in f])
    event = Event.caused_by("c", "OrderCreated", **SAMPLE["OrderCreated"])
    with_currency = Event(event.event_type, event.event_id, event.causation_id, {**event.data, "currency": "CHF"})
    v2 = avro_codec(registry, writers={"OrderCreated": added})
    assert old.decode(as_record(v2.encode(with_currency, Topics()))) == event  # the new field is skipped
    data = {("qty" if k == "quantity" else k): v for k, v in event.data.items()}
    v3 = avro_codec(registry, writers={"OrderCreated": renamed})
    written = v3.encode(Event(event.event_type, event.event_id, event.causation_id, data), Topics())
    with pytest.raises(PoisonRecord, match="cannot read OrderCreated .* with this consumer's schema"):
        old.decode(as_record(written))


def test_a_producer_refused_by_the_subjects_level_gets_the_409_reason() -> None:
    registry = MemoryRegistry()
    event = Event.caused_by("c", "PaymentFailed", **SAMPLE["PaymentFailed"])
    avro_codec(registry).encode(event, Topics())
    registry.set_compatibility("BACKWARD", schemas.subject("payments", "PaymentFailed"))
    required = with_fields("PaymentFailed", lambda f: [*f, {"name": "code", "type": "string"}])
    with pytest.raises(IncompatibleSchema, match="code at /fields/4"):
        avro_codec(registry, writers={"PaymentFailed": required}).encode(event, Topics())


def test_a_registry_that_does_not_answer_is_unavailable_not_poison() -> None:
    codec = AvroCodec(connect("http://127.0.0.1:9/apis/ccompat/v7", timeout_s=1, retries=0))
    with pytest.raises(RegistryUnavailable, match="no schema registry answers"):
        codec.decode(Record("orders", 0, 0, b"o1", b"\x00\x00\x00\x00\x01\x02"))
    with pytest.raises(RegistryUnavailable):
        codec.encode(Event.caused_by("c", "PaymentFailed", **SAMPLE["PaymentFailed"]), Topics())


def test_a_registry_outage_while_consuming_rewinds_instead_of_dead_lettering() -> None:
    world = World(5)
    broker = SimBroker(world)
    down = AvroCodec(connect("http://127.0.0.1:9/apis/ccompat/v7", timeout_s=1, retries=0))
    shop = build_shop(broker, memory_stores(), broker.clock, SeededIds(5), config=ServiceConfig(codec=down))
    payment = next(s for s in shop.services if s.name == "payment-0")
    good = avro_codec().encode(Event.caused_by("x", "OrderCreated", **SAMPLE["OrderCreated"]), Topics())
    producer = broker.producer()
    producer.produce(good[0], good[2], key=good[1], headers=good[3])
    (where,) = producer.flush()
    for _ in range(3):
        assert payment.step() >= 1  # not quiet: the record waits for the registry
    assert payment.dead_lettered == 0 and records(world, "orders.dlq") == []
    # Rewound to the record (a partition that never returned a record has no position yet).
    assert payment.consumer.position(TopicPartition(where.topic, where.partition)) == where.offset == 0

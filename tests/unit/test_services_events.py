"""Events: encoding carries the tracing headers; decoding rejects anything malformed as poison."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.events import (
    INVENTORY_FAILED,
    ORDER_CREATED,
    PAYMENT_COMPLETED,
    Event,
    PoisonRecord,
    Topics,
    decode,
    derive_id,
    encode,
)
from services.ports import Record


def created(order_id: str = "o1") -> Event:
    return Event.caused_by(
        order_id, ORDER_CREATED, orderId=order_id, customerId="c", productId="prod_123", quantity=2, amountCents=25050
    )


def as_record(topic: str, key: bytes | None, value: bytes | None, headers=()) -> Record:
    return Record(topic, 0, 7, key, value, tuple(headers))


def test_encoded_event_round_trips_with_key_and_tracing_headers() -> None:
    event = created()
    topic, key, value, headers = encode(event, Topics())
    assert (topic, key) == ("orders", b"o1")
    record = as_record(topic, key, value, headers)
    assert decode(record) == event
    assert record.header("correlation-id") == b"o1"
    assert record.header("event-type") == b"OrderCreated"
    assert record.header("event-id") == event.event_id.encode()
    assert record.header("causation-id") == b"o1"


def test_event_ids_are_derived_from_their_cause_and_type() -> None:
    first = Event.caused_by("e1", INVENTORY_FAILED, orderId="o1", reason="x")
    again = Event.caused_by("e1", INVENTORY_FAILED, orderId="o1", reason="other text")
    assert first.event_id == again.event_id == derive_id("e1", INVENTORY_FAILED)
    assert first.event_id != Event.caused_by("e2", INVENTORY_FAILED, orderId="o1", reason="x").event_id
    assert first.causation_id == "e1"


def test_topics_can_be_prefixed_and_name_their_dlqs() -> None:
    topics = Topics.with_prefix("run1.")
    assert topics.for_event(PAYMENT_COMPLETED) == "run1.payments"
    assert topics.all() == (
        "run1.orders", "run1.payments", "run1.inventory", "run1.orders.dlq", "run1.payments.dlq", "run1.inventory.dlq",
    )


def body(**overrides) -> bytes:
    base = {"eventType": ORDER_CREATED, "eventId": "e", "causationId": "o1", "orderId": "o1", "customerId": "c",
            "productId": "p", "quantity": 1, "amountCents": 100}
    base.update(overrides)
    return json.dumps({k: v for k, v in base.items() if v is not ...}).encode()


@pytest.mark.parametrize(
    "value",
    [
        None,
        b"\xff\xfe\x00garbage",
        b"not json",
        b"[1, 2]",
        body(eventType="Nope"),
        body(eventId=...),
        body(eventId=""),
        body(quantity=...),
        body(quantity="1"),
        body(quantity=True),
        body(quantity=1.5),
        body(amountCents=None),
        body(orderId=""),
        body(customerId=3),
    ],
)
def test_malformed_values_are_poison(value: bytes | None) -> None:
    with pytest.raises(PoisonRecord):
        decode(as_record("orders", b"o1", value))


def test_extra_fields_are_ignored() -> None:
    event = decode(as_record("orders", b"o1", body(newField="x")))
    assert "newField" not in event.data


@given(st.binary(max_size=64) | st.builds(lambda n: b"[" * n, st.integers(1, 100_000)))
def test_arbitrary_bytes_either_decode_or_raise_poison(raw: bytes) -> None:
    # Anything but PoisonRecord escaping (e.g. RecursionError on deep nesting) would crash a consumer.
    with contextlib.suppress(PoisonRecord):
        decode(as_record("orders", None, raw))

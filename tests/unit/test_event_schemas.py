"""The Avro schemas shipped in services/schemas are the event contract: they must match the events."""

from __future__ import annotations

import json

import pytest

from services import schemas
from services.codec import JSON
from services.events import SCHEMAS, Event, Topics
from services.ports import Record

AVRO_TYPES = {str: {"string"}, int: {"int", "long"}}


def test_every_event_type_has_a_schema_and_no_schema_lacks_a_type() -> None:
    assert set(schemas.available()) == set(SCHEMAS)


@pytest.mark.parametrize("event_type", sorted(SCHEMAS))
def test_each_schema_is_a_record_named_after_its_type_with_exactly_its_fields(event_type: str) -> None:
    schema = json.loads(schemas.schema_text(event_type))
    assert (schema["type"], schema["namespace"], schema["name"]) == ("record", schemas.NAMESPACE, event_type)
    fields = {f["name"]: f["type"] for f in schema["fields"]}
    assert fields.pop("eventId") == fields.pop("causationId") == "string"
    assert set(fields) == set(SCHEMAS[event_type])
    for name, kind in SCHEMAS[event_type].items():
        assert fields[name] in AVRO_TYPES[kind], name


def test_schema_text_names_what_is_missing() -> None:
    with pytest.raises(KeyError, match="no Avro schema for event type 'Nope'"):
        schemas.schema_text("Nope")
    with pytest.raises(KeyError, match="has no schema version 99"):
        schemas.schema_text("OrderCreated", 99)


def test_subjects_follow_the_topic_record_name_strategy() -> None:
    assert schemas.subject("kl-1-orders", "OrderCreated") == "kl-1-orders-kafkalab.shop.OrderCreated"


def test_the_json_codec_is_todays_format_byte_for_byte() -> None:
    event = Event("PaymentFailed", "e1", "c1", {"orderId": "o1", "reason": "declined"})
    topic, key, value, headers = JSON.encode(event, Topics())
    assert (topic, key) == ("payments", b"o1")
    assert value == b'{"causationId":"c1","eventId":"e1","eventType":"PaymentFailed","orderId":"o1","reason":"declined"}'
    assert [name for name, _ in headers] == ["correlation-id", "event-type", "event-id", "causation-id"]
    assert JSON.decode(Record(topic, 0, 0, key, value, headers)) == event

"""Events as Avro through a schema registry: confluent-kafka's AvroSerializer and AvroDeserializer.

The value is the registry wire format — magic byte 0, the writer schema's 4-byte id, Avro binary.
Subjects follow the topic-record strategy (``<topic>-kafkalab.shop.<EventType>``), so the several
event types of one topic evolve separately. The producer registers its schema on first use
(``auto_register``); the consumer reads with its own reader schema per type (Avro schema resolution:
a field added with a default reads fine, a renamed or dropped required field does not).

Works with any ``SchemaRegistryClient``: the real one against Apicurio in kafka mode,
``MemoryRegistryClient`` in the simulated world. What cannot be read is a ``PoisonRecord`` naming
why (not the wire format, unknown schema id, not an event, a schema this consumer cannot resolve);
a registry that cannot be reached is ``RegistryUnavailable`` (retry later, never dead-letter).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from confluent_kafka.schema_registry import SchemaRegistryClient, topic_record_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.common._httpx_compat import httpx
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

from adapters.registry_client import translate
from services import schemas
from services.events import SCHEMAS, Event, PoisonRecord, Topics, check_fields, envelope
from services.ports import Headers, Record
from services.registry import RegistryUnavailable

_WIRE = "the schema registry wire format (magic byte 0, a 4-byte schema id, Avro binary)"


class AvroCodec:
    """The Avro codec (``services.codec.Codec``). ``writers``/``readers``: event type -> schema text
    (default: the newest shipped in ``services/schemas``)."""

    name = "avro"

    def __init__(
        self,
        client: SchemaRegistryClient,
        *,
        writers: Mapping[str, str] | None = None,
        readers: Mapping[str, str] | None = None,
        auto_register: bool = True,
    ) -> None:
        self.client = client
        writers = dict(writers or schemas.latest())
        readers = dict(readers or writers)
        conf = {"auto.register.schemas": auto_register, "subject.name.strategy": topic_record_subject_name_strategy}
        self._serializers = {t: AvroSerializer(client, text, conf=conf) for t, text in writers.items()}
        # Read with no SerializationContext: the writer schema comes from the id alone, no subject
        # lookups, no association queries per record.
        self._deserializers = {t: AvroDeserializer(client, text) for t, text in readers.items()}
        self._types: dict[int, str] = {}  # schema id -> the event type its record names

    def __repr__(self) -> str:
        return f"AvroCodec({type(self.client).__name__})"

    def encode(self, event: Event, topics: Topics) -> tuple[str, bytes, bytes, Headers]:
        topic = topics.for_event(event.event_type)
        serializer = self._serializers.get(event.event_type)
        if serializer is None:
            raise ValueError(f"no Avro writer schema for event type {event.event_type!r}")
        body = {"eventId": event.event_id, "causationId": event.causation_id, **event.data}
        try:
            value = serializer(body, SerializationContext(topic, MessageField.VALUE))
        except (SchemaRegistryError, httpx.TransportError) as exc:
            raise translate(exc, schemas.subject(topic, event.event_type)) from None
        key, headers = envelope(event)
        return topic, key, value, headers

    def decode(self, record: Record) -> Event:
        value = record.value
        if value is None or len(value) < 6 or value[0] != 0:
            raise PoisonRecord(f"value is not in {_WIRE}")
        schema_id = int.from_bytes(value[1:5], "big")
        event_type = self._types.get(schema_id) or self._writer_type(schema_id)
        deserializer = self._deserializers.get(event_type)
        if deserializer is None:
            raise PoisonRecord(f"schema id {schema_id} is {schemas.full_name(event_type)}, which this consumer cannot read")
        try:
            body = deserializer(value, None)
        except (SchemaRegistryError, httpx.TransportError) as exc:
            raise self._registry_trouble(exc, schema_id) from None
        except Exception as exc:  # fastavro's resolution and decoding errors: this consumer cannot read it
            raise PoisonRecord(
                f"cannot read {event_type} (schema id {schema_id}) with this consumer's schema: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        return _event(event_type, body)

    def _writer_type(self, schema_id: int) -> str:
        try:
            text = self.client.get_schema(schema_id).schema_str
        except (SchemaRegistryError, httpx.TransportError) as exc:
            raise self._registry_trouble(exc, schema_id) from None
        try:
            parsed = json.loads(text)
            name = parsed["name"] if "." in parsed["name"] else f"{parsed.get('namespace', '')}.{parsed['name']}"
        except (ValueError, TypeError, KeyError):
            raise PoisonRecord(f"schema id {schema_id} is not an Avro record schema") from None
        namespace, _, event_type = name.rpartition(".")
        if namespace != schemas.NAMESPACE or event_type not in SCHEMAS:
            raise PoisonRecord(f"schema id {schema_id} is {name!r}, not a saga event")
        self._types[schema_id] = event_type
        return event_type

    @staticmethod
    def _registry_trouble(exc: Exception, schema_id: int) -> Exception:
        """Decode raises only PoisonRecord (this record, forever) or RegistryUnavailable (for now)."""
        error = translate(exc)
        status = getattr(exc, "http_status_code", None)
        if isinstance(error, RegistryUnavailable) or (status or 500) >= 500:
            return error if isinstance(error, RegistryUnavailable) else RegistryUnavailable(str(error))
        if status == 404:
            return PoisonRecord(f"unknown schema id {schema_id}: the schema registry has no such schema")
        return PoisonRecord(f"the schema registry refused schema id {schema_id}: {error}")


def _event(event_type: str, body: Any) -> Event:
    """The event in a decoded record body, held to the same checks as JSON (``check_fields``)."""
    if not isinstance(body, dict):
        raise PoisonRecord(f"{event_type}: the value did not decode to a record")
    event_id, cause_id = body.get("eventId"), body.get("causationId")
    if not isinstance(event_id, str) or not event_id or not isinstance(cause_id, str) or not cause_id:
        raise PoisonRecord(f"{event_type}: missing or empty eventId/causationId")
    check_fields(event_type, body)
    return Event(event_type, event_id, cause_id, {name: body[name] for name in SCHEMAS[event_type]})

"""The saga's events: what they carry, which topic they go to, and how they become bytes.

A value is a flat JSON object: ``eventType``, ``eventId``, ``causationId`` and the type's fields
(money as integer ``amountCents``). Every record also carries the tracing headers ``correlation-id``
(the order id, i.e. the saga), ``event-type``, ``event-id`` and ``causation-id`` (the event id of the
record that caused this one; a root OrderCreated names its order id). The key is the order id, so one
saga's events stay in order on one partition.

Decoding is strict: bytes that are not a JSON object, an unknown type, a missing field or a field of
the wrong type raise ``PoisonRecord``, a permanent error (retrying cannot fix bytes). Extra fields
are ignored so a newer producer can add some.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii
from operator import itemgetter
from typing import Any

from services.ports import Headers, Record

ORDER_CREATED = "OrderCreated"
PAYMENT_COMPLETED = "PaymentCompleted"
PAYMENT_FAILED = "PaymentFailed"
PAYMENT_REFUNDED = "PaymentRefunded"
INVENTORY_RESERVED = "InventoryReserved"
INVENTORY_FAILED = "InventoryFailed"

_ORDER_FIELDS = {"orderId": str, "customerId": str, "productId": str, "quantity": int, "amountCents": int}

# Each type's required fields and their JSON types (bool is never accepted as int).
SCHEMAS: dict[str, dict[str, type]] = {
    ORDER_CREATED: _ORDER_FIELDS,
    PAYMENT_COMPLETED: _ORDER_FIELDS,
    PAYMENT_FAILED: {"orderId": str, "reason": str},
    PAYMENT_REFUNDED: {"orderId": str, "amountCents": int, "reason": str},
    INVENTORY_RESERVED: {"orderId": str, "productId": str, "quantity": int},
    INVENTORY_FAILED: {"orderId": str, "reason": str},
}

# Which logical topic each event type is published to.
EVENT_TOPIC = {
    ORDER_CREATED: "orders",
    PAYMENT_COMPLETED: "payments",
    PAYMENT_FAILED: "payments",
    PAYMENT_REFUNDED: "payments",
    INVENTORY_RESERVED: "inventory",
    INVENTORY_FAILED: "inventory",
}

_ID_NAMESPACE = b"kafkalab-event-id/"
# One encoder/decoder for every event: json.dumps/loads with options build a new one per call.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"))
_DECODER = json.JSONDecoder()
_SCAN_ONCE = _DECODER.scan_once  # the (C) scanner under JSONDecoder.decode, without its wrappers
_quote = encode_basestring_ascii  # how _ENCODER writes a str (ensure_ascii), quotes included
_META_FIELDS = ("causationId", "eventId", "eventType")
_TYPE_BYTES = {t: t.encode() for t in SCHEMAS}


class PoisonRecord(Exception):
    """A record no consumer can ever process (bad bytes, unknown type, missing or mistyped field)."""


@dataclass(frozen=True, slots=True)
class Topics:
    """Topic names, optionally prefixed so test runs on a shared broker never collide."""

    orders: str = "orders"
    payments: str = "payments"
    inventory: str = "inventory"

    @classmethod
    def with_prefix(cls, prefix: str) -> Topics:
        return cls(f"{prefix}orders", f"{prefix}payments", f"{prefix}inventory")

    @staticmethod
    def dlq(topic: str) -> str:
        return f"{topic}.dlq"

    def for_event(self, event_type: str) -> str:
        return getattr(self, EVENT_TOPIC[event_type])

    def main(self) -> tuple[str, str, str]:
        return (self.orders, self.payments, self.inventory)

    def all(self) -> tuple[str, ...]:
        """The three saga topics and their dead-letter topics."""
        return self.main() + tuple(self.dlq(t) for t in self.main())


def derive_id(*parts: str) -> str:
    """A name-based (version 5 layout, SHA-1) uuid fixed by ``parts``: the same cause always yields
    the same event id, in every run. Formatted by hand: uuid.uuid5 is a hot spot at saga rates."""
    h = hashlib.sha1(_ID_NAMESPACE + "/".join(parts).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


# The variant digit of an RFC 4122 uuid for each hex digit the hash put there (top bits set to 10).
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


@dataclass(frozen=True, slots=True)
class Event:
    """One saga event. ``data`` holds the type's fields, ``orderId`` included."""

    event_type: str
    event_id: str
    causation_id: str
    data: Mapping[str, Any]

    @property
    def order_id(self) -> str:
        return self.data["orderId"]

    @classmethod
    def caused_by(cls, cause_id: str, event_type: str, **data: Any) -> Event:
        """The event ``event_type`` that ``cause_id`` leads to; its id is derived, so a redo repeats it.

        Fields are not re-checked here (a hot path); consumers' strict decoding would catch a bad one.
        """
        return cls(event_type, derive_id(cause_id, event_type), cause_id, data)


def check_fields(event_type: str, data: Mapping[str, Any]) -> None:
    schema = SCHEMAS.get(event_type)
    if schema is None:
        raise PoisonRecord(f"unknown event type {event_type!r}")
    for name, kind in schema.items():
        if name not in data:
            raise PoisonRecord(f"{event_type}: missing field {name!r}")
        value = data[name]
        if isinstance(value, bool) or not isinstance(value, kind):
            raise PoisonRecord(f"{event_type}: field {name!r} must be {kind.__name__}")
        if kind is str and not value:
            raise PoisonRecord(f"{event_type}: field {name!r} must not be empty")


class _Layout:
    """One event type's value, laid out once: its keys in sorted order with a %s slot for each
    value, so an event whose fields are plain str and int is written with one ``%`` format and read
    back with one ``itemgetter``. The bytes are exactly ``_ENCODER``'s (sorted keys, compact
    separators, ASCII escapes); anything unusual is left to the generic encoder and the strict decoder.
    """

    __slots__ = ("event_type", "template", "order", "fields", "take", "kinds", "quoted", "names", "take_in_order",
                 "kinds_in_order")

    def __init__(self, event_type: str, schema: Mapping[str, type]) -> None:
        # Values are gathered as causationId, eventId, the str fields (quoted), then the int fields;
        # ``order`` rearranges them into the sorted key order of the template's %s slots.
        by_kind = [n for n in schema if schema[n] is str] + [n for n in schema if schema[n] is int]
        gathered = ["causationId", "eventId", *by_kind]
        keys = sorted([*gathered, "eventType"])
        self.event_type = event_type
        self.template = "{" + ",".join(
            f"{_quote(key)}:%s" if key != "eventType" else f"{_quote(key)}:{_quote(event_type)}".replace("%", "%%")
            for key in keys
        ) + "}"
        self.order = itemgetter(*(gathered.index(key) for key in keys if key != "eventType"))
        self.fields = frozenset(schema)
        self.take = itemgetter(*by_kind)
        self.kinds = (str, str, *(schema[n] for n in by_kind))
        self.quoted = 2 + sum(schema[n] is str for n in by_kind)  # values written as JSON strings
        self.names = tuple(schema)  # decoding keeps the schema's order
        self.take_in_order = itemgetter(*schema)
        self.kinds_in_order = tuple(schema.values())

    def format(self, event: Event) -> str | None:
        """The JSON text, or None when a value is not exactly a str or int where the schema says so
        (bool, int subclasses and other types are left to the generic encoder)."""
        values = (event.causation_id, event.event_id, *self.take(event.data))
        if tuple(map(type, values)) != self.kinds:
            return None
        quoted = self.quoted
        # %s of an exact int is int.__repr__, as the JSON encoder writes it.
        return self.template % self.order((*map(_quote, values[:quoted]), *values[quoted:]))

    def read(self, event_type: str, event_id: str, cause_id: str, body: dict) -> Event | None:
        """The event in a decoded ``body`` if every field is present, of its type and (str) non-empty."""
        try:
            values = self.take_in_order(body)
        except KeyError:
            return None
        # JSON gives exact types, so comparing types is check_fields' test (bool is not int).
        if tuple(map(type, values)) != self.kinds_in_order or "" in values:
            return None
        return Event(event_type, event_id, cause_id, dict(zip(self.names, values, strict=False)))


# Every schema has two fields or more (itemgetter of one name would not return a tuple).
_LAYOUTS = {event_type: _Layout(event_type, schema) for event_type, schema in SCHEMAS.items()}


def _value(event: Event) -> bytes:
    layout = _LAYOUTS.get(event.event_type)
    if layout is not None and event.data.keys() == layout.fields:
        text = layout.format(event)
        if text is not None:
            value = text.encode()
            return value
    body = {"eventType": event.event_type, "eventId": event.event_id, "causationId": event.causation_id}
    body.update(event.data)
    return _ENCODER.encode(body).encode()


def encode(event: Event, topics: Topics) -> tuple[str, bytes, bytes, Headers]:
    """(topic, key, value, headers) of the record that carries ``event``."""
    key, headers = envelope(event)
    return topics.for_event(event.event_type), key, _value(event), headers


def envelope(event: Event) -> tuple[bytes, Headers]:
    """The key (the order id) and tracing headers of ``event``'s record, whatever the value format."""
    event_type = event.event_type
    order_id = event.order_id.encode()
    headers: Headers = (
        ("correlation-id", order_id),
        ("event-type", _TYPE_BYTES.get(event_type) or event_type.encode()),
        ("event-id", event.event_id.encode()),
        ("causation-id", event.causation_id.encode()),
    )
    return order_id, headers


def decode(record: Record) -> Event:
    """The event in ``record``'s value; raises PoisonRecord if it is not a well-formed event."""
    value = record.value
    if value is not None:
        try:
            text = value.decode()
            body, end = _SCAN_ONCE(text, 0)
            whole = end == len(text)
        except Exception:  # any trouble at all: the strict path below says what it is
            whole = False
        if whole and body.__class__ is dict:
            event = _well_formed(body)
            if event is not None:
                return event
    return _decode_strictly(record)


def _well_formed(body: dict) -> Event | None:
    """The event, if ``body`` passes every check (one pass, no messages); else None."""
    event_type, event_id, cause_id = body.get("eventType"), body.get("eventId"), body.get("causationId")
    layout = _LAYOUTS.get(event_type) if event_type.__class__ is str else None
    if layout is None or event_id.__class__ is not str or cause_id.__class__ is not str or not event_id or not cause_id:
        return None
    return layout.read(event_type, event_id, cause_id, body)


def _decode_strictly(record: Record) -> Event:
    """decode, check by check, so a bad record's PoisonRecord names exactly what is wrong."""
    if record.value is None:
        raise PoisonRecord("value is null")
    try:
        body = _DECODER.decode(record.value.decode())  # JSON on the wire is UTF-8
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # RecursionError: absurd nesting
        raise PoisonRecord(f"value is not JSON: {type(exc).__name__}: {exc}") from None
    if not isinstance(body, dict):
        raise PoisonRecord("value is not a JSON object")
    meta = {"eventType": str, "eventId": str, "causationId": str}
    for name, kind in meta.items():
        if not isinstance(body.get(name), kind) or not body[name]:
            raise PoisonRecord(f"missing or invalid {name!r}")
    event_type = body["eventType"]
    schema = SCHEMAS.get(event_type)
    if schema is None:
        raise PoisonRecord(f"unknown event type {event_type!r}")
    check_fields(event_type, body)
    data = {name: body[name] for name in schema}
    return Event(event_type, body["eventId"], body["causationId"], data)


def header_text(record: Record, name: str) -> str | None:
    """A header as text, or None if absent or not UTF-8."""
    raw = record.header(name)
    if raw is None:
        return None
    try:
        return raw.decode() or None
    except UnicodeDecodeError:
        return None

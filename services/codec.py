"""The serialization seam: how an Event becomes a record and a record becomes an Event again.

A codec is chosen once per service (``ServiceConfig.codec``) and used for everything it produces
and consumes. ``JSON`` — the flat JSON object of ``services.events`` — is the default everywhere;
``adapters.avro_codec.AvroCodec`` writes Avro with a schema registry's wire format (magic byte 0,
4-byte schema id). Either way the key is the order id and the tracing headers are the same.

``decode`` raises ``PoisonRecord`` (permanent: the record is dead-lettered with the reason) for
anything it cannot read — bad bytes, an unknown schema id, a schema this consumer cannot resolve —
and ``RegistryUnavailable`` (passing: read the record again later) when the registry is unreachable.
"""

from __future__ import annotations

from typing import Protocol

from services import events
from services.events import Event, PoisonRecord, Topics
from services.ports import Headers, Record
from services.registry import RegistryUnavailable

__all__ = ["JSON", "Codec", "JsonCodec", "PoisonRecord", "RegistryUnavailable"]


class Codec(Protocol):
    name: str  # "json", "avro": what the value bytes are

    def encode(self, event: Event, topics: Topics) -> tuple[str, bytes, bytes, Headers]:
        """(topic, key, value, headers) of the record that carries ``event``."""
        ...

    def decode(self, record: Record) -> Event:
        """The event in ``record``; PoisonRecord if it cannot be read, ever."""
        ...


class JsonCodec:
    """Today's format: the events module's tuned encoder and strict decoder, unchanged."""

    name = "json"
    encode = staticmethod(events.encode)
    decode = staticmethod(events.decode)

    def __repr__(self) -> str:
        return "JsonCodec()"


JSON = JsonCodec()

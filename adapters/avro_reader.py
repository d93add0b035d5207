"""Any registry-framed Avro value, read with its own writer schema: what an operator's tool shows.

Unlike ``AvroCodec`` (one reader schema per saga event, for services), this reads whatever schema id
the value names, so a dead letter written by a newer producer, or by another application, still
shows as the record it is. Works with any ``SchemaRegistryClient`` (the memory one or a real one).
"""

from __future__ import annotations

from typing import Any

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.schema_registry.common._httpx_compat import httpx
from confluent_kafka.schema_registry.error import SchemaRegistryError

from adapters.registry_client import translate
from services.registry import RegistryError, RegistryUnavailable, SchemaNotFound


class WireReader:
    """``read(value)``: the decoded record (dicts, lists, scalars) of a magic-byte-0 Avro value."""

    def __init__(self, client: SchemaRegistryClient, url: str = "") -> None:
        self._url = url  # named in the error when no registry answers
        self._deserializer = AvroDeserializer(client)  # no reader schema: the writer's, by id

    def read(self, value: bytes) -> Any:
        schema_id = int.from_bytes(value[1:5], "big")
        try:
            return self._deserializer(value, None)
        except (SchemaRegistryError, httpx.TransportError) as exc:
            if getattr(exc, "http_status_code", None) == 404:
                raise SchemaNotFound(f"the schema registry has no schema id {schema_id}") from None
            error = translate(exc, url=self._url)
            raise error if isinstance(error, RegistryUnavailable) else RegistryError(str(error)) from None
        except Exception as exc:  # fastavro: the bytes do not follow the schema the id names
            raise RegistryError(f"schema id {schema_id} cannot read these bytes: {type(exc).__name__}: {exc}") from None

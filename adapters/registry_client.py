"""confluent-kafka's SchemaRegistryClient on both worlds, and the registry port over it.

- ``connect(url)``: the real client, for Apicurio's Confluent-compatible API (``.../apis/ccompat/v7``).
- ``MemoryRegistryClient(registry)``: the same client interface over a ``MemoryRegistry``, so
  confluent's AvroSerializer/AvroDeserializer run unchanged in the simulated world. Errors carry the
  HTTP status and error codes Apicurio answers with.
- ``ConfluentRegistry(client)``: the ``services.registry`` port over either client; it translates
  ``SchemaRegistryError`` and transport errors into the port's exceptions (nothing of the client
  crosses the port).
"""

from __future__ import annotations

from urllib.parse import quote

from confluent_kafka.schema_registry import RegisteredSchema as ClientRegisteredSchema
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.common._httpx_compat import httpx
from confluent_kafka.schema_registry.error import SchemaRegistryError

from adapters.memory_registry import MemoryRegistry
from services import registry as port

# The port's exceptions as (HTTP status, error code), the codes Apicurio and Confluent both use.
_CODES: dict[type[port.RegistryError], tuple[int, int]] = {
    port.SubjectNotFound: (404, 40401),
    port.VersionNotFound: (404, 40402),
    port.SchemaNotFound: (404, 40403),
    port.IncompatibleSchema: (409, 409),
    port.InvalidSchema: (422, 42201),
    port.InvalidCompatibility: (422, 42203),
}
_BY_CODE = {code: kind for kind, (_status, code) in _CODES.items()}


def connect(url: str, *, timeout_s: float = 10.0, retries: int = 2) -> SchemaRegistryClient:
    """A client for the registry at ``url`` (a CLI wants ``retries=0``: fail fast, say why)."""
    return SchemaRegistryClient({"url": url, "timeout": timeout_s, "max.retries": retries, "retries.wait.ms": 200})


def translate(exc: Exception, subject: str | None = None, url: str = "") -> port.RegistryError:
    """The port's exception for a client error (SchemaRegistryError or a transport error)."""
    if isinstance(exc, httpx.TransportError):
        return port.RegistryUnavailable(f"no schema registry answers at {url or 'its address'}: {exc}")
    if not isinstance(exc, SchemaRegistryError):
        return port.RegistryError(str(exc))
    kind = _BY_CODE.get(exc.error_code)
    if kind is port.IncompatibleSchema:
        return port.IncompatibleSchema(subject or "?", exc.error_message)
    if kind is not None:
        return kind(exc.error_message)
    if exc.error_code in (-1, None):  # the body was not a registry's error JSON: something else answers there
        return port.RegistryUnavailable(
            f"{url or 'the address'} answered HTTP {exc.http_status_code} but not as a schema registry "
            f"(wrong port or path? Apicurio's is .../apis/ccompat/v7)"
        )
    return port.RegistryError(f"HTTP {exc.http_status_code} ({exc.error_code}): {exc.error_message}")


class ConfluentRegistry:
    """The registry port over a confluent-kafka SchemaRegistryClient (real or MemoryRegistryClient)."""

    def __init__(self, client: SchemaRegistryClient, url: str = "") -> None:
        self.client = client
        self.url = url

    def _call(self, subject: str | None, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (SchemaRegistryError, httpx.TransportError) as exc:
            raise translate(exc, subject, self.url) from None

    def subjects(self) -> list[str]:
        return sorted(self._call(None, self.client.get_subjects))

    def versions(self, subject: str) -> list[int]:
        return list(self._call(subject, self.client.get_versions, subject))

    def get(self, subject: str, version: port.Version = "latest") -> port.RegisteredSchema:
        # "latest" by number: the client caches get_latest_version without expiry.
        number = self.versions(subject)[-1] if version in ("latest", -1) else version
        found = self._call(subject, self.client.get_version, subject, number)
        return port.RegisteredSchema(subject, found.version, found.schema_id, found.schema.schema_str)

    def schema_by_id(self, schema_id: int) -> str:
        return self._call(None, self.client.get_schema, schema_id).schema_str

    def register(self, subject: str, schema: str) -> port.RegisteredSchema:
        avro = Schema(schema, "AVRO")
        schema_id = self._call(subject, self.client.register_schema, subject, avro)
        found = self._call(subject, self.client.lookup_schema, subject, avro)
        return port.RegisteredSchema(subject, found.version, schema_id, self.schema_by_id(schema_id))

    def compatibility(self, subject: str | None = None) -> str:
        if subject is None:
            return self._call(None, self.client.get_compatibility)
        # The level in force needs ?defaultToGlobal=true, which the client does not offer: without it
        # Apicurio answers NONE for a subject with no level of its own, whatever the global level.
        effective = getattr(self.client, "effective_compatibility", None)
        if effective is not None:
            return self._call(subject, effective, subject)
        path = f"config/{quote(subject, safe='')}"
        return self._call(subject, self.client._rest_client.get, path, {"defaultToGlobal": "true"})["compatibilityLevel"]

    def set_compatibility(self, level: str, subject: str | None = None) -> None:
        self._call(subject, self.client.set_compatibility, subject, level)

    def test_compatibility(self, subject: str, schema: str, version: port.Version = "latest") -> bool:
        return bool(self._call(subject, self.client.test_compatibility, subject, Schema(schema, "AVRO"), version))


def _client_error(exc: port.RegistryError) -> SchemaRegistryError:
    status, code = _CODES.get(type(exc), (500, 50001))
    message = exc.reason if isinstance(exc, port.IncompatibleSchema) else str(exc)
    return SchemaRegistryError(status, code, message)


class MemoryRegistryClient(SchemaRegistryClient):
    """confluent's client interface over a MemoryRegistry: what the Avro serdes and
    ConfluentRegistry call, with a real registry's error codes. No HTTP, no caches to go stale."""

    def __init__(self, registry: MemoryRegistry) -> None:
        super().__init__({"url": "mock://kafkalab-memory-registry"})  # never dialled: every call is overridden
        self.registry = registry

    def _do(self, fn, *args):
        try:
            return fn(*args)
        except port.RegistryError as exc:
            raise _client_error(exc) from None

    @staticmethod
    def _client_view(found: port.RegisteredSchema) -> ClientRegisteredSchema:
        return ClientRegisteredSchema(
            schema_id=found.schema_id, guid=None, schema=Schema(found.schema, "AVRO"), subject=found.subject,
            version=found.version,
        )

    def register_schema_full_response(self, subject_name, schema, normalize_schemas=False):
        return self._client_view(self._do(self.registry.register, subject_name, schema.schema_str))

    def register_schema(self, subject_name, schema, normalize_schemas=False):
        return self.register_schema_full_response(subject_name, schema).schema_id

    def get_schema(self, schema_id, subject_name=None, fmt=None, reference_format=None):
        return Schema(self._do(self.registry.schema_by_id, schema_id), "AVRO")

    def lookup_schema(self, subject_name, schema, normalize_schemas=False, fmt=None, deleted=False):
        return self._client_view(self._do(self.registry.lookup, subject_name, schema.schema_str))

    def get_subjects(self, subject_prefix=None, deleted=False, deleted_only=False, offset=0, limit=-1):
        return [s for s in self.registry.subjects() if not subject_prefix or s.startswith(subject_prefix)]

    def get_versions(self, subject_name, deleted=False, deleted_only=False, offset=0, limit=-1):
        return self._do(self.registry.versions, subject_name)

    def get_version(self, subject_name, version="latest", deleted=False, fmt=None):
        return self._client_view(self._do(self.registry.get, subject_name, version))

    def get_latest_version(self, subject_name, fmt=None):
        return self.get_version(subject_name, "latest")

    def get_compatibility(self, subject_name=None):
        """Apicurio's plain answer: the subject's own level, NONE when it has none."""
        if subject_name is None:
            return self.registry.compatibility()
        level = self._do(self.registry.compatibility, subject_name)
        return level if self.registry.has_own_level(subject_name) else "NONE"

    def effective_compatibility(self, subject_name):
        """What ``GET /config/{subject}?defaultToGlobal=true`` answers: the level in force."""
        return self._do(self.registry.compatibility, subject_name)

    def set_compatibility(self, subject_name=None, level=None):
        if level is None:
            raise ValueError("level must be set")
        self._do(self.registry.set_compatibility, level, subject_name)
        return {"compatibility": level.upper()}

    def test_compatibility(self, subject_name, schema, version="latest", normalize=False, verbose=False):
        return self._do(self.registry.test_compatibility, subject_name, schema.schema_str, version)

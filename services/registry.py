"""The schema-registry port: subjects, versions, ids, compatibility — what the CLI and the labs need.

Implemented by ``adapters.memory_registry.MemoryRegistry`` (in-process, the simulated world) and
``adapters.registry_client.ConfluentRegistry`` (confluent-kafka's client against a real registry;
here Apicurio's Confluent-compatible API). ``tests/contract/registry_contract.py`` holds both to the
same behaviour. Schemas are Avro schema texts; a subject's versions count from 1; a schema id is
global and names the content (the same schema under two subjects has one id).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# Every compatibility level a subject (or the registry as a whole) can have.
LEVELS = (
    "NONE",
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
)

Version = int | str  # a number, or "latest"


@dataclass(frozen=True, slots=True)
class RegisteredSchema:
    subject: str
    version: int
    schema_id: int
    schema: str


class RegistryError(Exception):
    """Something the registry refused or could not find; the message says what."""


class RegistryUnavailable(RegistryError):
    """The registry could not be reached (down, wrong address): a passing condition, retry later."""

    retriable = True


class SubjectNotFound(RegistryError):
    """No such subject (HTTP 404, error 40401)."""


class VersionNotFound(RegistryError):
    """The subject has no such version (HTTP 404, error 40402)."""


class SchemaNotFound(RegistryError):
    """No schema has that id, or the subject holds no such schema (HTTP 404, error 40403)."""


class InvalidSchema(RegistryError):
    """The text is not a valid Avro schema (HTTP 422, error 42201)."""


class InvalidCompatibility(RegistryError):
    """Not one of ``LEVELS`` (HTTP 422, error 42203)."""


class IncompatibleSchema(RegistryError):
    """The subject's compatibility level refuses this schema (HTTP 409); ``reason`` says why."""

    def __init__(self, subject: str, reason: str) -> None:
        super().__init__(f"{subject}: incompatible schema (409): {reason}")
        self.subject = subject
        self.reason = reason


class SchemaRegistry(Protocol):
    def subjects(self) -> list[str]:
        """Every subject, sorted."""
        ...

    def versions(self, subject: str) -> list[int]:
        """The subject's versions, oldest first; SubjectNotFound if it has none."""
        ...

    def get(self, subject: str, version: Version = "latest") -> RegisteredSchema:
        """One version of a subject; SubjectNotFound or VersionNotFound."""
        ...

    def schema_by_id(self, schema_id: int) -> str:
        """The schema with this id; SchemaNotFound."""
        ...

    def register(self, subject: str, schema: str) -> RegisteredSchema:
        """Add ``schema`` as the subject's next version, or return the version that already holds it
        (no new version, no check). InvalidSchema, or IncompatibleSchema under the subject's level."""
        ...

    def compatibility(self, subject: str | None = None) -> str:
        """The level in force for ``subject`` (its own, else the global one), or the global level."""
        ...

    def set_compatibility(self, level: str, subject: str | None = None) -> None:
        """Set the subject's level (or the global one); InvalidCompatibility."""
        ...

    def test_compatibility(self, subject: str, schema: str, version: Version = "latest") -> bool:
        """Whether registering ``schema`` would pass the subject's level against ``version``."""
        ...

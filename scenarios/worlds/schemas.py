"""Schemas in a world: the registry its services use, their Avro codecs, and the steps that act on it.

A phase whose spec says ``codec="avro"`` gets one ``WorldSchemas``: one registry client (the in-memory
registry in sim, the real one in kafka; the same confluent serdes over both), one Avro codec per
service kind writing and reading the shipped schemas, and a meter of the bytes each event took in
Avro and would have taken in JSON. The registry steps go through the port, so both worlds answer
alike: set a subject's level, deploy a new writer schema (registered first, as a deploy pipeline
does: a refusal leaves the old version running) and read a topic with chosen reader schemas.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from scenarios import root
from services import schemas
from services.codec import JSON, PoisonRecord
from services.events import Event, Topics
from services.ports import Headers, Record
from services.registry import IncompatibleSchema, RegistryError

FAILED_SHOWN = 5  # failures kept per reader (the count is always whole)


class SizeMeter:
    """Bytes per event in both formats, for every event a service of the world encoded."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # kafka mode encodes in several service threads
        self.events = self.avro_bytes = self.json_bytes = 0

    def add(self, avro: int, json_size: int) -> None:
        with self._lock:
            self.events += 1
            self.avro_bytes += avro
            self.json_bytes += json_size

    def to_json(self) -> dict[str, int]:
        return {"events": self.events, "avro_bytes": self.avro_bytes, "json_bytes": self.json_bytes}


class MeteredCodec:
    """An Avro codec that also weighs each event as JSON, and writes renamed fields under their new
    names (what a producer whose code was changed with its schema does)."""

    name = "avro"

    def __init__(self, inner: Any, meter: SizeMeter, renames: Mapping[str, Mapping[str, str]] | None = None) -> None:
        self.inner = inner
        self.meter = meter
        self.renames = {t: dict(r) for t, r in (renames or {}).items() if r}

    def encode(self, event: Event, topics: Topics) -> tuple[str, bytes, bytes, Headers]:
        renamed = self.renames.get(event.event_type)
        written = event if not renamed else replace(
            event, data={renamed.get(k, k): v for k, v in event.data.items()})
        topic, key, value, headers = self.inner.encode(written, topics)
        self.meter.add(len(value), len(JSON.encode(event, topics)[2]))
        return topic, key, value, headers

    def decode(self, record: Record) -> Event:
        return self.inner.decode(record)


class WorldSchemas:
    """The registry of one phase's world and everything the world does with it."""

    def __init__(self, client: Any, topics: Topics, *, readable: Callable[[str], str] = str) -> None:
        self.client = client
        self.registry = root.registry_port(client)
        self.topics = topics
        self.readable = readable  # a subject without the run's prefix, as the learner names it
        self.meter = SizeMeter()
        self.writers = schemas.latest()
        self.renames: dict[str, dict[str, str]] = {}

    def codec(self) -> MeteredCodec:
        """A codec for one service: the writers deployed so far, the shipped readers."""
        inner = root.avro_codec(self.client, writers=self.writers, readers=schemas.latest())
        return MeteredCodec(inner, self.meter, self.renames)

    def subject(self, event_type: str) -> str:
        return schemas.subject(self.topics.for_event(event_type), event_type)

    def set_compatibility(self, event_type: str, level: str) -> dict[str, Any]:
        subject = self.subject(event_type)
        self.registry.set_compatibility(str(level).upper(), subject)
        return {"subject": self.readable(subject), "level": self.registry.compatibility(subject)}

    def deploy(self, event_type: str, schema: str, renames: Mapping[str, str]) -> dict[str, Any]:
        """Register ``schema`` under the event type's subject; on success the writers change."""
        subject = self.subject(event_type)
        found: dict[str, Any] = {"subject": self.readable(subject), "event_type": event_type,
                                 "level": self.registry.compatibility(subject)}
        try:
            registered = self.registry.register(subject, schema)
        except IncompatibleSchema as exc:
            return {**found, "accepted": False, "version": None, "schema_id": None,
                    "reason": f"HTTP 409 from the registry: {self.readable(exc.reason)}"}
        self.writers = {**self.writers, event_type: schema}
        self.renames = {**self.renames, event_type: dict(renames)}
        return {**found, "accepted": True, "version": registered.version, "schema_id": registered.schema_id,
                "reason": ""}

    def read_as(self, records: list[Record], event_type: str, readers: Mapping[str, str]) -> dict[str, dict[str, Any]]:
        """Each reader schema's view of ``records``: how many it read, and why it could not read the rest."""
        other = {r.header("event-type") for r in records} - {None, event_type.encode()}
        mine = [r for r in records if r.header("event-type") not in other]
        return {label: self._read(mine, event_type, schema) for label, schema in sorted(readers.items())}

    def _read(self, records: list[Record], event_type: str, schema: str) -> dict[str, Any]:
        codec = root.avro_codec(self.client, readers={**schemas.latest(), event_type: schema})
        failed: list[dict[str, Any]] = []
        for r in records:
            try:
                codec.decode(r)
            except (PoisonRecord, RegistryError) as exc:
                kind = r.header("event-type")
                failed.append({"where": f"{r.topic}[{r.partition}]@{r.offset}",
                               "event_type": kind.decode() if kind else None, "error": self.readable(str(exc))})
        events = [f for f in failed if f["event_type"]]  # events first: they say what the reader cannot do
        shown = (events + [f for f in failed if not f["event_type"]])[:FAILED_SHOWN]
        return {"records": len(records), "read": len(records) - len(failed), "failed_count": len(failed),
                "failed_events": len(events), "failed": shown, "reader": _fields(schema)}

    def snapshot(self) -> str | None:
        """The in-memory registry as its JSON file (``kafkalab schema --mode sim`` reads it); None for a real one."""
        memory = getattr(self.client, "registry", None)
        return memory.to_json() if hasattr(memory, "to_json") else None

    def forget(self, prefix: str) -> None:
        """Delete the run's subjects (kafka: a shared registry outlives the run)."""
        for subject in self.registry.subjects():
            if prefix and subject.startswith(prefix):
                for permanent in (False, True):
                    try:
                        self.client.delete_subject(subject, permanent=permanent)
                    except Exception:  # best effort: a leftover subject of a run harms no later run
                        break


def _fields(schema: str) -> list[str]:
    """The reader's field names, for the narration (schema text as the step carried it)."""
    try:
        return [f["name"] for f in json.loads(schema)["fields"]]
    except (ValueError, KeyError, TypeError):
        return []

"""The saga's event contract as Avro schemas: one file per event type and version, ``<Type>.v<N>.avsc``.

Each schema is a record ``kafkalab.shop.<EventType>`` with ``eventId``, ``causationId`` and the type's
fields (``services.events.SCHEMAS``; a unit test keeps the two in step). A new version is a new file,
never an edit of a published one: registries and old consumers still hold the old text. With the
topic-record subject strategy a type's subject is ``<topic>-kafkalab.shop.<EventType>``.
"""

from __future__ import annotations

import re
from importlib import resources

NAMESPACE = "kafkalab.shop"
_FILE = re.compile(r"^(?P<type>[A-Za-z]+)\.v(?P<version>\d+)\.avsc$")


def available() -> dict[str, list[int]]:
    """Event type -> the versions shipped in this package, oldest first."""
    found: dict[str, list[int]] = {}
    for entry in resources.files(__package__).iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.setdefault(match["type"], []).append(int(match["version"]))
    return {event_type: sorted(versions) for event_type, versions in sorted(found.items())}


def schema_text(event_type: str, version: int | None = None) -> str:
    """The Avro schema of ``event_type`` at ``version`` (default: the newest shipped)."""
    versions = available().get(event_type)
    if not versions:
        raise KeyError(f"no Avro schema for event type {event_type!r}")
    chosen = versions[-1] if version is None else version
    if chosen not in versions:
        raise KeyError(f"{event_type} has no schema version {chosen} (shipped: {versions})")
    return resources.files(__package__).joinpath(f"{event_type}.v{chosen}.avsc").read_text()


def latest() -> dict[str, str]:
    """Event type -> its newest schema text."""
    return {event_type: schema_text(event_type) for event_type in available()}


def full_name(event_type: str) -> str:
    return f"{NAMESPACE}.{event_type}"


def subject(topic: str, event_type: str) -> str:
    """The registry subject of ``event_type`` on ``topic`` (TopicRecordNameStrategy)."""
    return f"{topic}-{full_name(event_type)}"

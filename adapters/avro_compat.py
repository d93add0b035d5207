"""Avro schema compatibility, decided by the ``avro`` package's checker (Apache Avro's own rules).

A registry level names who must be able to read whom: BACKWARD — the new schema reads data written
with the old one; FORWARD — the old schema reads data written with the new one; FULL — both. The
plain levels compare with the latest version, the ``_TRANSITIVE`` ones with every earlier version.
Problems are phrased like Apicurio's 409 (``b at /fields/1``) so both worlds read alike.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType
from avro.errors import AvroException
from avro.schema import Schema, parse

from services.registry import LEVELS, InvalidCompatibility, InvalidSchema

# Keys that do not change what a schema reads or writes: Apicurio treats schemas differing only in
# these as the same content (same id, no new version), and so does the memory registry.
_IGNORED_KEYS = frozenset({"doc", "aliases"})


def parse_schema(text: str) -> Schema:
    """The parsed schema, or InvalidSchema saying why it does not parse."""
    try:
        return parse(text)
    except (AvroException, ValueError, TypeError, KeyError) as exc:  # json errors are ValueErrors
        raise InvalidSchema(f"not a valid Avro schema: {type(exc).__name__}: {exc}") from None


def content_key(text: str) -> str:
    """What makes two schema texts the same content: their JSON without docs and aliases."""
    return json.dumps(_strip(json.loads(text)), sort_keys=True, separators=(",", ":"))


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in _IGNORED_KEYS}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def checked_level(level: str) -> str:
    upper = level.upper()
    if upper not in LEVELS:
        raise InvalidCompatibility(f"Invalid compatibility level: {level} (one of {', '.join(LEVELS)})")
    return upper


def read_problems(reader: Schema, writer: Schema) -> list[str]:
    """Why ``reader`` cannot read what ``writer`` wrote (empty: it can)."""
    result = ReaderWriterCompatibilityChecker().get_compatibility(reader, writer)
    if result.compatibility is SchemaCompatibilityType.compatible:
        return []
    messages, locations = sorted(result.messages), sorted(result.locations)
    if len(locations) > 1:
        locations = [at for at in locations if at != "/"]  # the root comes along whenever any part fails
    if len(messages) == len(locations) == 1:
        return [f"{messages[0]} at {locations[0]}"]
    return [f"{', '.join(messages)} at {', '.join(locations)}"]


def directions(level: str) -> tuple[bool, bool]:
    """(new must read old, old must read new) under ``level``."""
    base = level.removesuffix("_TRANSITIVE")
    return base in ("BACKWARD", "FULL"), base in ("FORWARD", "FULL")


def problems(level: str, new: Schema, earlier: Sequence[tuple[int, Schema]]) -> list[str]:
    """What ``level`` finds wrong with adding ``new`` after ``earlier`` ((version, schema), oldest
    first); empty when the version may be added."""
    if level == "NONE" or not earlier:
        return []
    against = earlier if level.endswith("_TRANSITIVE") else earlier[-1:]
    backward, forward = directions(level)
    found: list[str] = []
    for version, old in reversed(against):
        issues = (read_problems(new, old) if backward else []) + (read_problems(old, new) if forward else [])
        found += [f"{issue} (version {version})" for issue in issues]
    return found

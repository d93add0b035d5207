"""An in-process schema registry for the simulated world, behaving as Apicurio's Confluent API does.

Subjects hold versions 1, 2, ...; ids are global and name the content (the same schema under two
subjects has one id; ids count from 1 in registration order, so a seeded run gets the same ids every
time). Registering what a subject already holds returns that version without a check. Levels are per
subject, else global; the global default is NONE, as on Apicurio (a Confluent registry defaults to
BACKWARD). Compatibility is Apache Avro's own checker (``adapters.avro_compat``). The whole registry
can be saved to and loaded from a JSON file, so the CLI can look at a simulated run's schemas.
"""

from __future__ import annotations

import json
from pathlib import Path

from adapters.avro_compat import checked_level, content_key, parse_schema, problems
from services.registry import (
    IncompatibleSchema,
    RegisteredSchema,
    SchemaNotFound,
    SubjectNotFound,
    Version,
    VersionNotFound,
)

FORMAT = "kafkalab-memory-registry/1"


class MemoryRegistry:
    """The registry port, in memory (``services.registry.SchemaRegistry``)."""

    def __init__(self, global_level: str = "NONE") -> None:
        self._global = checked_level(global_level)
        self._levels: dict[str, str] = {}
        self._texts: dict[int, str] = {}  # id -> the text first registered with that content
        self._ids: dict[str, int] = {}  # content key -> id
        self._subjects: dict[str, list[int]] = {}  # subject -> the id of each version, oldest first

    # ------------------------------------------------------------ reading

    def subjects(self) -> list[str]:
        return sorted(self._subjects)

    def versions(self, subject: str) -> list[int]:
        return list(range(1, len(self._ids_of(subject)) + 1))

    def get(self, subject: str, version: Version = "latest") -> RegisteredSchema:
        ids = self._ids_of(subject)
        number = self._version_number(version, len(ids))
        return RegisteredSchema(subject, number, ids[number - 1], self._texts[ids[number - 1]])

    def schema_by_id(self, schema_id: int) -> str:
        try:
            return self._texts[schema_id]
        except KeyError:
            raise SchemaNotFound(f"Schema {schema_id} not found.") from None

    def lookup(self, subject: str, schema: str) -> RegisteredSchema:
        """The version of ``subject`` holding ``schema``'s content; SubjectNotFound or SchemaNotFound."""
        ids = self._ids_of(subject)
        parse_schema(schema)
        schema_id = self._ids.get(content_key(schema))
        if schema_id not in ids:
            raise SchemaNotFound(f"The given schema does not match any schema under the subject {subject}")
        return self.get(subject, ids.index(schema_id) + 1)

    # ------------------------------------------------------------ writing

    def register(self, subject: str, schema: str) -> RegisteredSchema:
        parsed = parse_schema(schema)
        key = content_key(schema)
        ids = self._subjects.get(subject, [])
        known = self._ids.get(key)
        if known is not None and known in ids:
            return self.get(subject, ids.index(known) + 1)
        earlier = [(n, parse_schema(self._texts[i])) for n, i in enumerate(ids, start=1)]
        level = self._levels.get(subject, self._global)
        found = problems(level, parsed, earlier)
        if found:
            raise IncompatibleSchema(subject, f"not {level} compatible: {'; '.join(found)}")
        if known is None:
            known = len(self._texts) + 1
            self._ids[key] = known
            self._texts[known] = json.dumps(json.loads(schema), separators=(",", ":"))
        self._subjects.setdefault(subject, []).append(known)
        return self.get(subject, "latest")

    def compatibility(self, subject: str | None = None) -> str:
        if subject is None:
            return self._global
        if subject in self._levels:
            return self._levels[subject]
        self._ids_of(subject)  # an unknown subject with no level of its own is "not found"
        return self._global

    def has_own_level(self, subject: str) -> bool:
        return subject in self._levels

    def set_compatibility(self, level: str, subject: str | None = None) -> None:
        level = checked_level(level)
        if subject is None:
            self._global = level
        else:
            self._levels[subject] = level

    def test_compatibility(self, subject: str, schema: str, version: Version = "latest") -> bool:
        parsed = parse_schema(schema)
        if subject not in self._subjects:
            return True  # nothing to be incompatible with (Apicurio answers so too)
        old = self.get(subject, version)
        level = self.compatibility(subject).removesuffix("_TRANSITIVE")  # against one version
        return not problems(level, parsed, [(old.version, parse_schema(old.schema))])

    # ------------------------------------------------------------ a file

    def to_json(self) -> str:
        return json.dumps(
            {"format": FORMAT, "global": self._global, "levels": self._levels,
             "schemas": {str(i): text for i, text in self._texts.items()}, "subjects": self._subjects},
            indent=1, sort_keys=True,
        )  # fmt: skip

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json() + "\n")

    @classmethod
    def from_json(cls, text: str) -> MemoryRegistry:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} file")
        registry = cls(data["global"])
        registry._levels = {s: checked_level(v) for s, v in data["levels"].items()}
        registry._texts = {int(i): text for i, text in sorted(data["schemas"].items(), key=lambda kv: int(kv[0]))}
        registry._ids = {content_key(text): i for i, text in registry._texts.items()}
        registry._subjects = {s: [int(i) for i in ids] for s, ids in data["subjects"].items()}
        return registry

    @classmethod
    def load(cls, path: Path) -> MemoryRegistry:
        return cls.from_json(path.read_text())

    # ------------------------------------------------------------ internals

    def _ids_of(self, subject: str) -> list[int]:
        ids = self._subjects.get(subject)
        if not ids:
            raise SubjectNotFound(f"Subject '{subject}' not found.")
        return ids

    @staticmethod
    def _version_number(version: Version, count: int) -> int:
        if version == "latest" or version == -1:
            return count
        try:
            number = int(version)
        except (TypeError, ValueError):
            raise VersionNotFound(f"Version {version} not found.") from None
        if not 1 <= number <= count:
            raise VersionNotFound(f"Version {version} not found.")
        return number

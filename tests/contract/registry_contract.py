"""The schema-registry contract: the memory registry (sim) and Apicurio (kafka) must pass all of it.

Subclasses provide ``make_registry()``. Every test works on its own subjects (a fresh prefix), so the
suite can share one long-lived registry; the one test that changes the global level puts it back.
Where Apicurio and Confluent's registry differ (global default NONE; docs and aliases are not new
content; an unknown subject "passes" a compatibility test) the contract follows Apicurio.
"""

from __future__ import annotations

import json
import uuid

import pytest

from services.registry import (
    LEVELS,
    IncompatibleSchema,
    InvalidCompatibility,
    InvalidSchema,
    SchemaNotFound,
    SchemaRegistry,
    SubjectNotFound,
    VersionNotFound,
)


def field(name: str, kind: str = "string", **extra) -> dict:
    return {"name": name, "type": kind, **extra}


def record(*fields: dict, name: str = "Thing", **extra) -> str:
    return json.dumps({"type": "record", "name": name, "namespace": "kltest", "fields": list(fields), **extra})


A = field("a")
B, B_DEFAULT, C_DEFAULT = field("b"), field("b", default="x"), field("c", default="x")

# (history registered under NONE, candidate) -> which levels accept it. "add"/"drop" read from the
# candidate's side: BACKWARD = the new schema reads old data, FORWARD = old schemas read new data.
CASES = {
    "add a required field": ([record(A)], record(A, B), {"NONE", "FORWARD", "FORWARD_TRANSITIVE"}),
    "add a field with a default": ([record(A)], record(A, B_DEFAULT), set(LEVELS)),
    "drop a required field": ([record(A, B)], record(A), {"NONE", "BACKWARD", "BACKWARD_TRANSITIVE"}),
    "drop a field with a default": ([record(A, B_DEFAULT)], record(A), set(LEVELS)),
    "widen int to long": ([record(field("n", "int"))], record(field("n", "long")),
                          {"NONE", "BACKWARD", "BACKWARD_TRANSITIVE"}),
    "rename the record": ([record(A)], record(A, name="Other"), {"NONE"}),
    # Only the transitive levels look past the latest version:
    "require b again after v2 gave it a default": (
        [record(A), record(A, B_DEFAULT)], record(A, B),
        set(LEVELS) - {"BACKWARD_TRANSITIVE", "FULL_TRANSITIVE"},
    ),
    "add c when v1 required b and v2 dropped it": (
        [record(A, B), record(A)], record(A, C_DEFAULT),
        {"NONE", "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FULL"},
    ),
}  # fmt: skip


class RegistryContract:
    def make_registry(self) -> SchemaRegistry:
        raise NotImplementedError

    @pytest.fixture
    def registry(self) -> SchemaRegistry:
        return self.make_registry()

    @pytest.fixture
    def subject(self):
        prefix = f"kltest-{uuid.uuid4().hex[:10]}"
        return lambda name="s": f"{prefix}-{name}"

    # ------------------------------------------------------------ subjects, versions, ids

    def test_a_first_schema_is_version_1_of_a_new_listed_subject(self, registry, subject) -> None:
        found = registry.register(subject(), record(A))
        assert (found.subject, found.version) == (subject(), 1)
        assert found.schema_id > 0
        assert subject() in registry.subjects()
        assert registry.versions(subject()) == [1]
        assert json.loads(registry.get(subject(), 1).schema) == json.loads(record(A))

    def test_registering_what_the_subject_holds_returns_that_version_and_skips_the_check(
        self, registry, subject
    ) -> None:
        v1 = registry.register(subject(), record(A, B))
        registry.register(subject(), record(A))
        registry.set_compatibility("BACKWARD", subject())
        again = registry.register(subject(), record(A, B))  # new as a version, it would fail BACKWARD
        assert (again.version, again.schema_id) == (1, v1.schema_id)
        assert registry.versions(subject()) == [1, 2]

    def test_the_same_schema_under_two_subjects_has_one_id(self, registry, subject) -> None:
        first = registry.register(subject("one"), record(A, field("shared")))
        second = registry.register(subject("two"), record(A, field("shared")))
        assert second.schema_id == first.schema_id
        assert second.version == 1

    def test_ids_are_distinct_per_content_and_name_their_schema(self, registry, subject) -> None:
        first = registry.register(subject(), record(A))
        second = registry.register(subject(), record(A, B_DEFAULT))
        assert first.schema_id != second.schema_id
        assert json.loads(registry.schema_by_id(second.schema_id)) == json.loads(record(A, B_DEFAULT))
        for version, expected in (("latest", second), (1, first)):
            found = registry.get(subject(), version)
            assert (found.subject, found.version, found.schema_id) == (expected.subject, expected.version,
                                                                       expected.schema_id)
            assert json.loads(found.schema) == json.loads(expected.schema)

    def test_whitespace_docs_and_aliases_do_not_make_new_content(self, registry, subject) -> None:
        plain = registry.register(subject(), record(A))
        spaced = registry.register(subject(), json.dumps(json.loads(record(A)), indent=4))
        documented = registry.register(subject(), record(field("a", doc="the a", aliases=["alpha"]), doc="T"))
        assert spaced.schema_id == documented.schema_id == plain.schema_id
        assert registry.versions(subject()) == [1]

    def test_a_changed_default_is_new_content(self, registry, subject) -> None:
        registry.register(subject(), record(A, B_DEFAULT))
        changed = registry.register(subject(), record(A, field("b", default="y")))
        assert changed.version == 2

    def test_unknown_subject_version_and_id_are_not_found(self, registry, subject) -> None:
        with pytest.raises(SubjectNotFound):
            registry.versions(subject("nothing"))
        with pytest.raises(SubjectNotFound):
            registry.get(subject("nothing"), 1)
        registry.register(subject(), record(A))
        with pytest.raises(VersionNotFound):
            registry.get(subject(), 9)
        with pytest.raises(SchemaNotFound):
            registry.schema_by_id(2_000_000_000)

    @pytest.mark.parametrize(
        "text",
        ["{not json", json.dumps({"type": "record", "name": "NoFields"}), record(field("a", "strang"))],
        ids=["not-json", "record-without-fields", "unknown-type"],
    )
    def test_a_schema_that_does_not_parse_is_refused_and_nothing_is_registered(
        self, registry, subject, text
    ) -> None:
        with pytest.raises(InvalidSchema):
            registry.register(subject(), text)
        assert subject() not in registry.subjects()

    # ------------------------------------------------------------ compatibility levels

    @pytest.mark.parametrize("level", LEVELS)
    @pytest.mark.parametrize("case", sorted(CASES))
    def test_each_level_accepts_exactly_the_changes_it_allows(self, registry, subject, level, case) -> None:
        history, candidate, accepting = CASES[case]
        registry.set_compatibility("NONE", subject())
        for schema in history:
            registry.register(subject(), schema)
        registry.set_compatibility(level, subject())
        assert registry.compatibility(subject()) == level
        if level in accepting:
            assert registry.register(subject(), candidate).version == len(history) + 1
        else:
            with pytest.raises(IncompatibleSchema) as refused:
                registry.register(subject(), candidate)
            assert refused.value.reason
            assert registry.versions(subject()) == list(range(1, len(history) + 1))

    def test_a_refusal_names_the_offending_field(self, registry, subject) -> None:
        registry.register(subject(), record(A))
        registry.set_compatibility("BACKWARD", subject())
        with pytest.raises(IncompatibleSchema) as refused:
            registry.register(subject(), record(A, field("needed")))
        assert "needed" in refused.value.reason
        assert refused.value.subject == subject()

    def test_levels_are_per_subject(self, registry, subject) -> None:
        for name, level in (("strict", "BACKWARD"), ("loose", "NONE")):
            registry.set_compatibility(level, subject(name))
            registry.register(subject(name), record(A))
        assert registry.register(subject("loose"), record(A, B)).version == 2
        with pytest.raises(IncompatibleSchema):
            registry.register(subject("strict"), record(A, B))

    def test_a_subject_without_a_level_follows_the_global_one(self, registry, subject) -> None:
        registry.register(subject(), record(A))
        before = registry.compatibility()
        try:
            registry.set_compatibility("BACKWARD")
            assert registry.compatibility() == registry.compatibility(subject()) == "BACKWARD"
            with pytest.raises(IncompatibleSchema):
                registry.register(subject(), record(A, B))
            registry.set_compatibility("NONE", subject())  # its own level wins over the global one
            assert registry.register(subject(), record(A, B)).version == 2
        finally:
            registry.set_compatibility(before)

    def test_an_unknown_subject_without_a_level_is_not_found(self, registry, subject) -> None:
        with pytest.raises(SubjectNotFound):
            registry.compatibility(subject("nothing"))

    def test_a_level_set_before_the_first_version_applies_to_the_second(self, registry, subject) -> None:
        registry.set_compatibility("FORWARD", subject())
        assert registry.compatibility(subject()) == "FORWARD"
        registry.register(subject(), record(A, B))
        with pytest.raises(IncompatibleSchema):
            registry.register(subject(), record(A))

    def test_an_unknown_level_is_refused(self, registry, subject) -> None:
        with pytest.raises(InvalidCompatibility):
            registry.set_compatibility("SIDEWAYS", subject())

    def test_testing_compatibility_registers_nothing(self, registry, subject) -> None:
        registry.register(subject(), record(A))
        registry.set_compatibility("BACKWARD", subject())
        assert registry.test_compatibility(subject(), record(A, B_DEFAULT))
        assert not registry.test_compatibility(subject(), record(A, B))
        assert not registry.test_compatibility(subject(), record(A, B), 1)
        assert registry.versions(subject()) == [1]
        assert registry.test_compatibility(subject("nothing"), record(A))  # nothing to break
        with pytest.raises(VersionNotFound):
            registry.test_compatibility(subject(), record(A), 7)

"""The registry contract on the in-process registry, directly and through confluent's client interface
(the path the Avro serdes take in the simulated world), plus what only the memory registry has."""

from __future__ import annotations

import pytest

from adapters.memory_registry import MemoryRegistry
from adapters.registry_client import ConfluentRegistry, MemoryRegistryClient
from tests.contract.registry_contract import A, B, RegistryContract, record


class TestMemoryRegistry(RegistryContract):
    def make_registry(self) -> MemoryRegistry:
        return MemoryRegistry()


class TestMemoryRegistryThroughTheConfluentClient(RegistryContract):
    client: MemoryRegistryClient | None = None  # one client (it builds an HTTP session), a fresh registry per test

    def make_registry(self) -> ConfluentRegistry:
        if TestMemoryRegistryThroughTheConfluentClient.client is None:
            TestMemoryRegistryThroughTheConfluentClient.client = MemoryRegistryClient(MemoryRegistry())
        self.client.registry = MemoryRegistry()
        return ConfluentRegistry(self.client)


def test_a_fresh_registry_checks_nothing_globally_as_apicurio_does() -> None:
    assert MemoryRegistry().compatibility() == "NONE"


def test_ids_count_from_one_in_registration_order() -> None:
    registry = MemoryRegistry()
    ids = [registry.register(f"s{i}", record(A, name=f"R{i}")).schema_id for i in range(3)]
    assert ids == [1, 2, 3]


def test_a_saved_registry_loads_with_the_same_subjects_ids_and_levels(tmp_path) -> None:
    registry = MemoryRegistry()
    registry.register("s", record(A))
    registry.register("s", record(A, B))
    registry.set_compatibility("FULL", "s")
    registry.set_compatibility("BACKWARD")
    path = tmp_path / "registry.json"
    registry.save(path)
    loaded = MemoryRegistry.load(path)
    assert loaded.to_json() == registry.to_json()
    assert (loaded.compatibility(), loaded.compatibility("s")) == ("BACKWARD", "FULL")
    assert loaded.register("t", record(A, B)).schema_id == 2  # content ids survive the file


def test_a_file_that_is_not_a_saved_registry_is_refused() -> None:
    with pytest.raises(ValueError, match="not a kafkalab-memory-registry"):
        MemoryRegistry.from_json('{"subjects": {}}')

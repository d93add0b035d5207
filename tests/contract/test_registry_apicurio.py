"""The registry contract against a real Apicurio Registry, through confluent-kafka's client and its
Confluent-compatible API — the same client the Avro serdes use in kafka mode."""

from __future__ import annotations

import pytest

from adapters.registry_client import ConfluentRegistry, connect
from tests.contract.registry_contract import RegistryContract
from tests.registry_support import registry_url

pytestmark = pytest.mark.kafka

__all__ = ["registry_url"]


class TestApicurioRegistry(RegistryContract):
    @pytest.fixture(autouse=True)
    def _url(self, registry_url: str) -> None:
        self.url = registry_url

    def make_registry(self) -> ConfluentRegistry:
        return ConfluentRegistry(connect(self.url), self.url)

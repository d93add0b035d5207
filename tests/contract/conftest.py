"""Fixtures for the contract suites. ``kafka_bootstrap`` is the one tests/kafka uses (KAFKA_BOOTSTRAP, else
the local launcher), re-exported so the Kafka leg of the broker contract shares its session."""

from __future__ import annotations

from tests.kafka.conftest import kafka_bootstrap

__all__ = ["kafka_bootstrap"]

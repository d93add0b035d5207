"""The labs against a real broker and PostgreSQL (marker ``kafka``): the same scenarios, kafka mode."""

from __future__ import annotations

import socket

import pytest

from scenarios import play
from scenarios.settings import Settings
from tests.conftest import missing_dependency

pytestmark = pytest.mark.kafka


def _reachable(bootstrap: str) -> bool:
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    try:
        with socket.create_connection((host or "localhost", int(port)), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def options() -> Settings:
    options = Settings.resolve()
    bootstrap = options.bootstrap
    if not _reachable(bootstrap):
        missing_dependency(f"no Kafka broker at {bootstrap} (set KAFKA_BOOTSTRAP or run `kafkalab kafka up`)")
    return options


@pytest.mark.parametrize("name", ["happy-path", "stock-rollback", "poison-pill"])
def test_lab_passes_against_real_kafka(name, options):
    outcome = play.run(name, "kafka", 0, options)
    assert outcome.passed, [(c.name, c.detail) for c in outcome.checks if not c.passed]
    assert outcome.trace_sha256 is None


def test_a_kafka_run_removes_its_topics_unless_asked_to_keep_them(options):
    from adapters.kafka_broker import KafkaBroker

    admin = KafkaBroker(options.bootstrap).admin()
    before = set(admin.list_topics())
    assert play.run("happy-path", "kafka", 0, options).passed
    assert {t for t in admin.list_topics() if t.startswith("kl-")} - before == set()

    assert play.run("happy-path", "kafka", 0, options.model_copy(update={"keep": True})).passed
    kept = {t for t in admin.list_topics() if t.startswith("kl-")} - before
    assert len(kept) == 6  # orders, payments, inventory and their .dlq topics
    admin.delete_topics(sorted(kept))

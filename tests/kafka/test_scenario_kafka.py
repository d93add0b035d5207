"""The labs against a real broker and PostgreSQL (marker ``kafka``): the same lab folders, kafka mode."""

from __future__ import annotations

import pytest

from scenarios import session
from scenarios.labs import LABS
from scenarios.settings import Settings

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def settings(kafka_bootstrap) -> Settings:
    return Settings.resolve({"bootstrap": kafka_bootstrap})


# Every lab's demonstration (its broken stages show their symptoms, its fix passes), discovered from the
# lab folders so a new lab is covered by adding it. startup-race runs private brokers and has its own file;
# broker-failure runs a cluster of its own (test_lab_broker_failure_kafka.py plays its start and fix).
OWN_FILES = {"startup-race", "broker-failure"}
DEMOS = [name for name in LABS if name not in OWN_FILES]


@pytest.mark.parametrize("name", DEMOS)
def test_lab_demo_passes_against_real_kafka(name, settings):
    outcome = session.demo(name, "kafka", 0, settings)
    assert outcome.passed, [(c.name, c.detail) for c in outcome.checks if not c.passed]
    assert outcome.trace_sha256 is None


def test_a_kafka_run_removes_its_topics_and_schemas_unless_asked_to_keep_them(settings):
    from scenarios import root
    from scenarios.worlds.kafka import delete_run

    admin = root.kafka_broker(settings.bootstrap).admin()
    before = set(admin.list_topics())
    done = session.check("happy-path", {"amount": 250.50}, "kafka", 0, settings)
    assert done.passed
    assert {t for t in admin.list_topics() if t.startswith("kl-")} - before == set()
    assert [g for g in admin.list_groups() if g.startswith(done.last.run_prefix)] == []  # its groups went too

    kept_run = session.check("happy-path", {"amount": 250.50}, "kafka", 0, settings, keep=True)
    assert kept_run.passed
    kept = {t for t in admin.list_topics() if t.startswith("kl-")} - before
    assert len(kept) == 6  # orders, payments, inventory and their .dlq topics
    assert [g for g in admin.list_groups() if g.startswith(kept_run.last.run_prefix)]  # kept with the topics
    delete_run(settings, kept_run.last.run_prefix)
    assert {t for t in admin.list_topics() if t.startswith("kl-")} - before == set()
    assert [g for g in admin.list_groups() if g.startswith(kept_run.last.run_prefix)] == []

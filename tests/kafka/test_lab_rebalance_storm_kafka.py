"""rebalance-storm on a real broker with the consumer protocol (KIP-848), static members and a bounded
batch: it passes, with the figures measured from librdkafka's callbacks. The broken start and the
classic fix are the lab's demonstration, which `scenario run-all --mode kafka` plays (a broken stage
costs about a minute of real time there, so it is played once, not again here)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.kafka


def test_the_consumer_protocol_with_static_members_and_a_bounded_batch_passes_on_kafka(kafka_bootstrap):
    from scenarios import session
    from scenarios.settings import Settings

    knobs = {"group_protocol": "consumer", "static_membership": True, "max_records": 10}
    outcome = session.check("rebalance-storm", knobs, "kafka", 0, Settings.resolve({"bootstrap": kafka_bootstrap}))
    assert outcome.passed, [(c.name, c.detail) for c in outcome.checks if not c.passed]
    figures = outcome.checks[0].detail
    assert "stop-the-world 0.0s" in figures and "records redelivered" in figures

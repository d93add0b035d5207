"""rebalance-storm on a real broker: the broken start stops the group, rebalances it and redelivers
(what the wiretap sees of librdkafka's callbacks and the records handed out again); the consumer
protocol (KIP-848) with static members and a bounded batch passes with the same figures measured.
The classic fix passes in the demonstration (`scenario run-all --mode kafka`)."""

from __future__ import annotations

import pytest

from tests.kafka.test_labs_kafka import _forget, lab_dir  # noqa: F401  (lab_dir is a fixture)
from tests.unit.test_lab_helpers import edit_setting, lab_json

pytestmark = pytest.mark.kafka
NAME = "rebalance-storm"


def test_broken_start_storms_then_the_consumer_protocol_with_static_bounded_members_passes(
        lab_dir, capsys, kafka_bootstrap):  # noqa: F811
    try:
        code, started = lab_json(capsys, "lab", "start", NAME, "--mode", "kafka")
        assert code == 0 and started["mode"] == "kafka" and started["passed"] is False
        failed = {c["name"]: c for c in started["checks"] if not c["passed"]}
        assert "no stop-the-world pause" in failed and all(c["hint"] for c in failed.values()), failed
        assert "at most 40 records delivered twice" in failed, failed

        for key, value in (("group_protocol", '"consumer"'), ("static_membership", "true"), ("max_records", "10")):
            edit_setting(lab_dir, NAME, key, value)
        code, verdict = lab_json(capsys, "lab", "check", NAME)
        assert code == 0 and verdict["passed"], [c for c in verdict["checks"] if not c["passed"]]
        assert all("stop-the-world" in c["detail"] for c in verdict["checks"][:3])
    finally:
        _forget(lab_dir, NAME, kafka_bootstrap)

"""Learner mode against a real broker: start, check fails with a hint, fix as a learner would, check passes."""

from __future__ import annotations

import pytest

from tests.unit.test_lab_helpers import edit_setting, lab_json

pytestmark = pytest.mark.kafka


@pytest.fixture
def lab_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("KAFKALAB_LAB_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_connectivity_lab_on_a_real_broker_shows_librdkafka_errors_until_fixed(kafka_bootstrap, lab_dir, capsys):
    code, started = lab_json(capsys, "lab", "start", "connectivity", "--mode", "kafka")
    assert code == 0
    assert any("kafka:29092/bootstrap: Failed to resolve 'kafka:29092'" in line for line in started["symptom"])

    code, verdict = lab_json(capsys, "lab", "check", "connectivity")
    assert code == 1 and verdict["hint"]

    edit_setting(lab_dir, "connectivity", "bootstrap", '"localhost:29092"')
    code, verdict = lab_json(capsys, "lab", "check", "connectivity")
    failed = {c["name"]: c["detail"] for c in verdict["checks"] if not c["passed"]}
    assert code == 1
    assert "kafka:29092/1: Failed to resolve" in failed["the advertised listener the broker hands back resolves"]

    edit_setting(lab_dir, "connectivity", "bootstrap", f'"{kafka_bootstrap}"')
    code, verdict = lab_json(capsys, "lab", "check", "connectivity")
    assert code == 0 and verdict["passed"], verdict


def test_connectivity_scenario_in_kafka_mode_reproduces_both_failures_then_passes(kafka_bootstrap):
    from scenarios.labs import connectivity
    from scenarios.narrate import outcome_json
    from scenarios.settings import LabOptions

    outcome = connectivity.scenario("kafka", 0, LabOptions(bootstrap=kafka_bootstrap))
    assert outcome.passed, [c for c in outcome.checks if not c.passed]
    payload = outcome_json(outcome)
    assert payload["mode"] == "kafka" and payload["scenario"] == "connectivity"

from __future__ import annotations

import pytest

from tests.unit.test_lab_helpers import edit_setting, lab_json


@pytest.fixture
def lab_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("KAFKALAB_LAB_DIR", str(tmp_path))
    return tmp_path


def test_connectivity_lab_fails_with_hints_until_the_host_listener_is_used(lab_dir, capsys):
    code, started = lab_json(capsys, "lab", "start", "connectivity")
    assert code == 0
    assert any("Failed to resolve 'kafka:29092'" in line for line in started["symptom"])

    code, verdict = lab_json(capsys, "lab", "check", "connectivity")
    assert code == 1 and verdict["passed"] is False and "kafka" in verdict["hint"]
    assert set(verdict) == {"lab", "passed", "checks", "hint"}

    # Half a fix: the internal listener's port on localhost reaches the broker, which advertises kafka:29092.
    edit_setting(lab_dir, "connectivity", "bootstrap", '"localhost:29092"')
    code, verdict = lab_json(capsys, "lab", "check", "connectivity")
    failed = {c["name"]: c["detail"] for c in verdict["checks"] if not c["passed"]}
    assert code == 1
    assert "kafka:29092/1: Failed to resolve" in failed["the advertised listener the broker hands back resolves"]
    assert "advertised" in verdict["hint"]

    edit_setting(lab_dir, "connectivity", "bootstrap", '"localhost:9092"')
    code, verdict = lab_json(capsys, "lab", "check", "connectivity")
    assert code == 0 and verdict["passed"] is True and verdict["hint"] is None


def test_connectivity_scenario_reproduces_both_failures_then_passes():
    from scenarios.labs import connectivity

    outcome = connectivity.scenario("sim", 0)
    assert outcome.passed, [c for c in outcome.checks if not c.passed]
    details = " ".join(c.detail for c in outcome.checks)
    assert "kafka:29092/bootstrap: Failed to resolve 'kafka:29092'" in details
    assert "kafka:29092/1: Failed to resolve 'kafka:29092'" in details

from __future__ import annotations

from tests.unit.test_lab_helpers import edit_setting, lab_dir, lab_json  # noqa: F401  (lab_dir is a fixture)


def test_connectivity_lab_fails_with_hints_until_the_host_listener_is_used(lab_dir, capsys):  # noqa: F811
    code, started = lab_json(capsys, "lab", "start", "connectivity")
    assert code == 0
    assert any("Failed to resolve 'kafka:29092'" in line for line in started["symptom"])

    code, verdict = lab_json(capsys, "lab", "check", "connectivity")
    assert code == 1 and verdict["passed"] is False and "kafka" in verdict["hint"]
    assert {"lab", "passed", "checks", "hint"} <= set(verdict)

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


def test_connectivity_demo_reproduces_both_failures_then_passes(demos):
    outcome = demos["connectivity"]
    assert outcome.passed, [c for c in outcome.checks if not c.passed]
    details = " ".join(c.detail for c in outcome.checks)
    assert "kafka:29092/bootstrap: Failed to resolve 'kafka:29092'" in details
    assert "kafka:29092/1: Failed to resolve 'kafka:29092'" in details

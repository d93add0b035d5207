from __future__ import annotations

from tests.unit.test_lab_helpers import edit_setting, lab_dir, lab_json  # noqa: F401  (lab_dir is a fixture)


def test_startup_race_lab_needs_readiness_wait_and_retry_budget(lab_dir, capsys):  # noqa: F811
    assert lab_json(capsys, "lab", "start", "startup-race")[0] == 0
    code, verdict = lab_json(capsys, "lab", "check", "startup-race")
    assert code == 1 and "wait_for_broker" in verdict["hint"]

    edit_setting(lab_dir, "startup-race", "wait_for_broker", "true")  # waits, but with no retries left
    code, verdict = lab_json(capsys, "lab", "check", "startup-race")
    assert code == 1 and "budget" in verdict["hint"]

    edit_setting(lab_dir, "startup-race", "startup_retries", "30")
    code, verdict = lab_json(capsys, "lab", "check", "startup-race")
    assert code == 0 and verdict["passed"], verdict
    assert "24/24" in verdict["checks"][0]["detail"]


def test_startup_race_demo_shows_refused_then_coordinator_then_every_order_passes(demos):
    outcome = demos["startup-race"]
    assert outcome.passed, [c for c in outcome.checks if not c.passed]
    details = " ".join(c.detail for c in outcome.checks)
    assert "Connection refused" in details and "Coordinator not available" in details

"""producer-tuning and compacted-store in learner mode on a real broker: start, check fails with a hint,
solve --apply, check passes; the same lab folders as on the simulator."""

from __future__ import annotations

import json

import pytest

from tests.unit.test_lab_helpers import lab_json

pytestmark = pytest.mark.kafka


def _forget(lab_dir, name, kafka_bootstrap) -> None:
    from scenarios.settings import Settings
    from scenarios.worlds.kafka import delete_run

    state = lab_dir / "lab.json"
    for prefix in json.loads(state.read_text())["labs"][name]["prefixes"] if state.is_file() else []:
        delete_run(Settings.resolve({"bootstrap": kafka_bootstrap}), prefix)


# producer-tuning's target is calibrated in the same check (a multiple of what one record per request
# carries on this machine), so its verdict holds on a quiet and on a loaded machine alike.
@pytest.mark.parametrize(("name", "hint_says"), [
    ("producer-tuning", "batch_num_messages = 10000"),
    ("compacted-store", 'cleanup_policy = "compact"')])
def test_start_check_fails_with_a_hint_solve_apply_then_check_passes_on_kafka(name, hint_says, lab_dir, capsys,
                                                                              kafka_bootstrap):
    try:
        code, started = lab_json(capsys, "lab", "start", name, "--mode", "kafka")
        assert code == 0 and started["mode"] == "kafka" and started["symptom"]
        code, verdict = lab_json(capsys, "lab", "check", name)
        assert code == 1 and verdict["passed"] is False and hint_says in verdict["hint"], verdict
        code, solved = lab_json(capsys, "lab", "solve", name, "--apply")
        assert code == 0 and solved["passed"] is True, [c for c in solved["checks"] if not c["passed"]]
        if name == "producer-tuning":
            assert all("(measured)" in c["name"] for c in solved["checks"])
            assert "what one record per request carried here" in solved["checks"][0]["detail"], solved["checks"]
    finally:
        _forget(lab_dir, name, kafka_bootstrap)


def test_compacted_store_on_kafka_shows_the_same_log_as_the_simulator(kafka_bootstrap, monkeypatch):
    """The broker's cleaner leaves the offsets the simulator's does: the model is checked, not assumed."""
    from scenarios import session
    from scenarios.settings import Settings

    monkeypatch.setenv("KAFKA_BOOTSTRAP", kafka_bootstrap)
    logs = {}
    for mode in ("sim", "kafka"):
        settings = Settings.resolve({"bootstrap": kafka_bootstrap})
        obs = session.check("compacted-store", {"cleanup_policy": "compact"}, mode, settings=settings).last
        logs[mode] = [[r[0] for r in c["result"]["records"]] for c in obs.calls if c["action"] == "wait_log"]
    assert logs["kafka"] == logs["sim"] == [[5, 6, 7, 8, 9, 10], [6, 7, 8, 10, 11]]

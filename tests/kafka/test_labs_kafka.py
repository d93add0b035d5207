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
    from scenarios.present.narrate import outcome_json
    from scenarios.settings import Settings

    outcome = connectivity.scenario("kafka", 0, Settings.resolve({"bootstrap": kafka_bootstrap}))
    assert outcome.passed, [c for c in outcome.checks if not c.passed]
    payload = outcome_json(outcome)
    assert payload["mode"] == "kafka" and payload["scenario"] == "connectivity"


def _state(lab_dir) -> dict:
    import json

    return json.loads((lab_dir / "lab.json").read_text())["labs"]


def _delete_run(kafka_bootstrap: str, prefix: str) -> None:
    from adapters.kafka_broker import KafkaBroker
    from scenarios.labs.kafka_world import delete_run_topics

    delete_run_topics(KafkaBroker(kafka_bootstrap), prefix)


def test_poison_pill_lab_on_a_real_broker_is_stuck_until_the_dlq_is_on(kafka_bootstrap, lab_dir, capsys):
    import json

    from scenarios.cli import main

    assert lab_json(capsys, "lab", "start", "poison-pill", "--mode", "kafka")[0] == 0
    code, verdict = lab_json(capsys, "lab", "check", "poison-pill")
    failed = {c["name"]: c["detail"] for c in verdict["checks"] if not c["passed"]}
    assert code == 1 and verdict["hint"]
    assert "no stuck partition" in failed and "DLQ count equals injected poison" in failed
    stuck_prefix = _state(lab_dir)["poison-pill"]["prefix"]

    edit_setting(lab_dir, "poison-pill", "dlq_enabled", "true")
    code, verdict = lab_json(capsys, "lab", "check", "poison-pill")
    assert code == 0 and verdict["passed"], verdict
    prefix = _state(lab_dir)["poison-pill"]["prefix"]
    assert prefix != stuck_prefix
    try:
        capsys.readouterr()
        assert main(["dlq", "list", "--topic", "payments.dlq", "--json"]) == 0
        letters = json.loads(capsys.readouterr().out)["dead_letters"]
        assert len(letters) == 1 and "prod_ignore" in letters[0]["error"]
        assert letters[0]["source"].startswith(f"{prefix}payments[") and letters[0]["redrives"] == 0
        partition = int(letters[0]["dlq"].split("[")[1].split("]")[0])
        assert main(["dlq", "show", "payments.dlq", str(partition), "0"]) == 0
        shown = json.loads(capsys.readouterr().out)
        assert shown["headers"]["dlq-consumer-group"] == f"{prefix}inventory-service"

        # The bug is not fixed: each redrive fails again, and after max-redrives the letter is refused.
        for expected_letters in (2, 3):
            assert main(["dlq", "redrive", "--max-redrives", "2", "--json"]) == 0
            result = json.loads(capsys.readouterr().out)
            assert result["redriven"] == 1 and result["dead_letters"] == expected_letters, result
        assert main(["dlq", "redrive", "--max-redrives", "2", "--json"]) == 0
        result = json.loads(capsys.readouterr().out)
        assert result["redriven"] == 0 and "redriven 2 times" in result["refused"][0]
    finally:
        _delete_run(kafka_bootstrap, prefix)
        _delete_run(kafka_bootstrap, stuck_prefix)


def test_poison_scenario_in_kafka_mode_one_partition_stuck_then_dlq(kafka_bootstrap):
    from scenarios.labs import poison
    from scenarios.settings import Settings

    outcome = poison.scenario("kafka", 0, Settings.resolve({"bootstrap": kafka_bootstrap}))
    assert outcome.passed, [c for c in outcome.checks if not c.passed]
    assert outcome.dlq == {"payments.dlq": 1} and outcome.trace_sha256 is None
    assert outcome.orders.get("CANCELLED") == 1 and outcome.orders.get("COMPLETED") == poison.NORMAL_ORDERS


def test_consumer_lag_lab_on_a_real_broker_drains_with_three_instances(kafka_bootstrap, lab_dir, capsys):
    assert lab_json(capsys, "lab", "start", "consumer-lag", "--mode", "kafka")[0] == 0
    code, verdict = lab_json(capsys, "lab", "check", "consumer-lag")
    failed = {c["name"]: c["detail"] for c in verdict["checks"] if not c["passed"]}
    assert code == 1 and verdict["hint"] and any(name.startswith("lag below") for name in failed), verdict

    edit_setting(lab_dir, "consumer-lag", "inventory_instances", "3")
    code, verdict = lab_json(capsys, "lab", "check", "consumer-lag")
    assert code == 0 and verdict["passed"], verdict
    names = [c["name"] for c in verdict["checks"]]
    assert "lag matches kafka-consumer-groups --describe (within one poll batch)" in names
    chart = lab_dir / "consumer-lag.html"
    assert chart.is_file() and "<svg" in chart.read_text()

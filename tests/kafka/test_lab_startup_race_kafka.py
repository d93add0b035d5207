"""startup-race on a real broker of the lab's own (private ports, fresh data dir, always stopped and wiped):
naive services die of "Connection refused" / NOT_COORDINATOR, patient ones finish every saga in every order."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from tests.conftest import missing_dependency

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def private_broker_possible() -> None:
    """Java and the Kafka jars the launcher starts the lab's private broker from."""
    from compose.runtime import LauncherError, ensure_jars, java_binary

    try:
        java_binary()
        ensure_jars()
    except LauncherError as exc:
        missing_dependency(f"cannot start a private Kafka broker: {exc}")


def _private_dirs() -> set[str]:
    """This process's private broker dirs (others running the same lab at once make theirs in /tmp too)."""
    from scenarios.worlds.servers import own_dir_prefix

    return {p.name for p in Path(tempfile.gettempdir()).glob(f"{own_dir_prefix()}*")}


def _lab_json(capsys, *argv: str) -> tuple[int, dict]:
    """lab_json, but a run that ends without its JSON (a world error) fails naming what stderr said."""
    from scenarios.cli import main

    capsys.readouterr()
    code = main([*argv, "--json"])
    out, err = capsys.readouterr()
    assert out.strip(), f"`{' '.join(argv)}`: exit {code}, nothing on stdout; stderr ends: {err[-2000:]}"
    return code, json.loads(out.strip().splitlines()[-1])


def _no_private_broker_left(before: set[str]) -> None:
    # Every private broker was stopped and its data dir wiped; the shared broker is not the lab's business.
    assert _private_dirs() <= before


def test_startup_race_lab_in_kafka_mode_fails_with_a_hint_until_the_learner_fixes_the_knobs(
        private_broker_possible, lab_dir, capsys):
    before = _private_dirs()
    code, started = _lab_json(capsys, "lab", "start", "startup-race", "--mode", "kafka")
    assert code == 0
    assert any("Connection refused" in line for line in started["symptom"]), started["symptom"]
    failed = [c["name"].split(" (")[0] for c in started["checks"] if not c["passed"]]
    # A service started before the broker always loses; right after it, it loses the coordinator race
    # (every time we measured, but it is a race, so not asserted here).
    assert {"broker second", "broker third", "broker last"} <= set(failed), failed

    # (waiting with no retry budget, and its hint, is checked on the simulator: each check here costs
    # four broker starts)
    code, verdict = _lab_json(capsys, "lab", "solve", "startup-race", "--apply")
    assert code == 0 and verdict["passed"], verdict
    assert "4/4 start orders OK" in verdict["checks"][0]["detail"]
    assert [c["name"].split(" (")[0] for c in verdict["checks"][1:]] == [
        "broker first", "broker second", "broker third", "broker last"]
    _no_private_broker_left(before)


def test_startup_race_scenario_in_kafka_mode_naive_dies_then_every_order_completes(private_broker_possible, capsys):
    from scenarios.cli import main

    before = _private_dirs()
    capsys.readouterr()
    code = main(["scenario", "run", "startup-race", "--mode", "kafka", "--json"])
    out, err = capsys.readouterr()
    assert out.strip(), f"exit {code}, nothing on stdout; stderr ends: {err[-2000:]}"
    payload = json.loads(out.strip().splitlines()[-1])
    failed = [c for c in payload["checks"] if not c["passed"]]
    assert code == 0 and payload["passed"] and payload["mode"] == "kafka", failed
    details = {c["name"]: c["detail"] for c in payload["checks"]}
    assert "Connect to ipv4#127.0.0.1:" in details["naive startup: 'Connection refused' before the broker listens"]
    coordinator = details.get("naive startup: 'coordinator not available' while __consumer_offsets is created")
    if coordinator is not None:  # seen in most runs; a race, so only its wording is asserted
        assert any(code in coordinator for code in ("NOT_COORDINATOR", "COORDINATOR_NOT_AVAILABLE",
                                                     "COORDINATOR_LOAD_IN_PROGRESS", "Coordinator"))
    lost = details["naive startup: a service started before the broker exits, its sagas never finish"]
    assert lost.startswith("3/3")  # naive broker-first is reported, not asserted (a race)
    fixed = [n for n in details if n.startswith("broker ")]
    assert len(fixed) == 4 and payload["orders"] == {"COMPLETED": 3}
    _no_private_broker_left(before)

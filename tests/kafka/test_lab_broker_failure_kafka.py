"""broker-failure on a real three-node cluster of the lab's own (shifted ports, fresh data dir, always
stopped and wiped): the learner's start (replication factor 1) fails with a hint, the fix passes.

Each run starts three JVMs and waits for Kafka to fence killed brokers (broker.session.timeout.ms),
so this costs minutes, not seconds; ``kafkalab scenario run-all --mode kafka`` plays the acks=1 stage.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from scenarios.cli import main
from tests.conftest import missing_dependency
from tests.unit.test_lab_helpers import lab_json

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def private_cluster_possible() -> None:
    from compose.runtime import LauncherError, ensure_jars, java_binary

    try:
        java_binary()
        ensure_jars()
    except LauncherError as exc:
        missing_dependency(f"cannot start a private Kafka cluster: {exc}")


@pytest.fixture
def lab_dir(tmp_path, monkeypatch, kafka_bootstrap):
    monkeypatch.setenv("KAFKALAB_LAB_DIR", str(tmp_path))
    monkeypatch.setenv("KAFKA_BOOTSTRAP", kafka_bootstrap)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _cluster_dirs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("kafkalab-cluster-*")}


def test_broker_failure_on_three_real_brokers_fails_with_a_hint_until_the_fix(private_cluster_possible, lab_dir,
                                                                              capsys):
    before = _cluster_dirs()
    code, started = lab_json(capsys, "lab", "start", "broker-failure", "--mode", "kafka")
    assert code == 0
    code, verdict = lab_json(capsys, "lab", "check", "broker-failure")
    assert code == 1 and "replication_factor = 3" in verdict["hint"], verdict
    failed = {c["name"] for c in verdict["checks"] if not c["passed"]}
    assert "the leader of orders-0 moved to a replica in sync when its broker died" in failed  # one copy: offline

    capsys.readouterr()
    code = main(["lab", "solve", "broker-failure", "--apply", "--json"])
    out, err = capsys.readouterr()
    assert code == 0 and out.strip(), err  # a world that could not be had says why on stderr
    solved = json.loads(out.strip().splitlines()[-1])
    assert solved["passed"], [c for c in solved["checks"] if not c["passed"]]
    details = {c["name"]: c["detail"] for c in solved["checks"]}
    assert details["no acknowledged record is lost when the leader dies"].endswith(" 0 missing")
    assert _cluster_dirs() <= before  # every private cluster was stopped and wiped

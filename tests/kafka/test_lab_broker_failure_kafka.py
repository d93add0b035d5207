"""broker-failure on a real cluster of the lab's own (three brokers and a controller node, shifted ports,
fresh data dir, always stopped and wiped): the learner's start (replication factor 1) fails with a hint,
the fix passes, and with two brokers down the cluster refuses acks=all writes with NOT_ENOUGH_REPLICAS.

Each play starts four JVMs and waits for the controller to fence killed brokers (5 s on this cluster);
``kafkalab scenario run-all --mode kafka`` plays the acks=1 stage. Each command runs in its own process, as a
learner's would: should the client library ever abort the process (it did, before lag was read through a
consumer: adapters/kafka_group_offsets.py), that fails this test instead of ending the whole session.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import missing_dependency

pytestmark = pytest.mark.kafka
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def private_cluster_possible() -> None:
    from compose.runtime import LauncherError, ensure_jars, java_binary

    try:
        java_binary()
        ensure_jars()
    except LauncherError as exc:
        missing_dependency(f"cannot start a private Kafka cluster: {exc}")


def _cluster_dirs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("kafkalab-cluster-*")}


def _lab(lab_dir: Path, kafka_bootstrap: str, *args: str) -> tuple[int, dict]:
    env = os.environ | {"KAFKALAB_LAB_DIR": str(lab_dir), "KAFKA_BOOTSTRAP": kafka_bootstrap}
    proc = subprocess.run([sys.executable, "-m", "scenarios", "lab", *args, "--json"], cwd=lab_dir, env=env,
                          capture_output=True, text=True, timeout=300)
    lines = proc.stdout.strip().splitlines()
    assert lines, f"exit {proc.returncode}, no JSON; stderr: {proc.stderr[-2000:]}"
    return proc.returncode, json.loads(lines[-1])


def test_broker_failure_on_three_real_brokers_fails_with_a_hint_until_the_fix(private_cluster_possible, tmp_path,
                                                                              kafka_bootstrap):
    before = _cluster_dirs()
    code, started = _lab(tmp_path, kafka_bootstrap, "start", "broker-failure", "--mode", "kafka")
    # the start's own play is the check of the learner's settings (a `lab check` now would play it again)
    assert code == 0 and not started["passed"] and "replication_factor = 3" in started["hint"], started
    failed = {c["name"] for c in started["checks"] if not c["passed"]}
    assert "the leader of orders-0 moved to a replica in sync when its broker died" in failed  # one copy: offline
    lost = next(c["detail"] for c in started["checks"] if c["name"] == "no acknowledged record is lost when the leader dies")
    assert not lost.endswith(" 0 missing"), lost  # the dead broker's partitions are gone

    code, solved = _lab(tmp_path, kafka_bootstrap, "solve", "broker-failure", "--apply")
    assert code == 0 and solved["passed"], [c for c in solved["checks"] if not c["passed"]]
    details = {c["name"]: c["detail"] for c in solved["checks"]}
    assert details["no acknowledged record is lost when the leader dies"].endswith(" 0 missing")
    refused = next(d for name, d in details.items() if name.startswith("with one broker left"))
    assert "NOT_ENOUGH_REPLICAS" in refused, refused  # the controller node kept the quorum: refused, not timed out
    assert _cluster_dirs() <= before  # every private cluster was stopped and wiped

"""schema-evolution on a real broker and a real Apicurio Registry, in learner mode: NONE lets the rename
through and the v1 consumer dead-letters every v2 record; BACKWARD gets Apicurio's 409 with its reason;
a field added with a default passes. The run's subjects go with its topics."""

from __future__ import annotations

import json

import pytest

from tests.registry_support import registry_url  # noqa: F401  (a fixture)
from tests.unit.test_lab_helpers import edit_setting, lab_json

pytestmark = pytest.mark.kafka
LAB = "schema-evolution"


@pytest.fixture
def lab_dir(registry_lab_dir):  # this file's labs read and write schemas
    return registry_lab_dir


def _subjects(url: str, prefixes: list[str]) -> list[str]:
    from adapters.registry_client import ConfluentRegistry, connect

    return [s for s in ConfluentRegistry(connect(url)).subjects() if any(s.startswith(p) for p in prefixes)]


def _failed(verdict) -> dict[str, str]:
    return {c["name"]: c["detail"] for c in verdict["checks"] if not c["passed"]}


def test_learner_sees_the_rename_dead_lettered_then_apicurio_refuse_it_then_a_default_field_pass(
        lab_dir, capsys, kafka_bootstrap, registry_url):  # noqa: F811
    from scenarios.settings import Settings
    from scenarios.worlds.kafka import delete_run

    prefixes: list[str] = []
    try:
        code, started = lab_json(capsys, "lab", "start", LAB, "--mode", "kafka")
        assert code == 0 and started["mode"] == "kafka" and started["symptom"]
        code, verdict = lab_json(capsys, "lab", "check", LAB)
        assert code == 1 and 'compatibility = "BACKWARD"' in verdict["hint"]
        assert "No default value for field customerId" in _failed(verdict)[
            "the payment service (v1) reads every order of the new version"]

        edit_setting(lab_dir, LAB, "compatibility", '"BACKWARD"')
        code, verdict = lab_json(capsys, "lab", "check", LAB)
        refused = _failed(verdict)["the new version is deployed"]
        assert code == 1 and "HTTP 409" in refused and "customer at /fields/3" in refused, refused
        assert "kl-" not in refused  # the learner's subject name, without the run's prefix

        prefixes = json.loads((lab_dir / "lab.json").read_text())["labs"][LAB]["prefixes"]
        assert _subjects(registry_url, prefixes[-1:])  # kept with the run's topics until the next check
        edit_setting(lab_dir, LAB, "evolution", '"add_field"')
        code, verdict = lab_json(capsys, "lab", "check", LAB)
        assert code == 0 and verdict["passed"], _failed(verdict)
        details = {c["name"]: c["detail"] for c in verdict["checks"]}
        assert details["a record whose schema id the registry does not know is dead-lettered with that reason"] == (
            "PoisonRecord: unknown schema id 2000000001: the schema registry has no such schema")
        assert "Avro" in details["Avro values are smaller than JSON on the same events"]
        prefixes = json.loads((lab_dir / "lab.json").read_text())["labs"][LAB]["prefixes"]
    finally:
        for prefix in prefixes:
            delete_run(Settings.resolve({"bootstrap": kafka_bootstrap, "registry_url": registry_url}), prefix)
    assert _subjects(registry_url, prefixes) == []

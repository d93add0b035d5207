"""schema-evolution on the simulator: the learner's three checks (NONE: the rename breaks the v1 consumer;
BACKWARD: the registry refuses it with a 409 and its reason; a field with a default: everyone reads),
what BACKWARD does not protect (a dropped field), the unknown schema id, and the world's registry steps."""

from __future__ import annotations

import pytest

from scenarios import session
from scenarios.cli import main
from scenarios.engine.model import Phase, Step
from scenarios.engine.runner import play_phase
from scenarios.engine.spec import WorldSpec
from tests.unit.test_lab_helpers import edit_setting, lab_dir, lab_json  # noqa: F401  (lab_dir is a fixture)

LAB = "schema-evolution"


def failed(verdict) -> dict[str, str]:
    return {c["name"]: c["detail"] for c in verdict["checks"] if not c["passed"]}


def test_none_breaks_the_old_consumer_backward_refuses_with_409_then_a_default_field_ships(lab_dir, capsys):  # noqa: F811
    assert lab_json(capsys, "lab", "start", LAB)[0] == 0
    code, verdict = lab_json(capsys, "lab", "check", LAB)
    broken = failed(verdict)
    assert code == 1 and 'compatibility = "BACKWARD"' in verdict["hint"]
    assert "No default value for field customerId" in broken["the payment service (v1) reads every order of the new version"]
    assert "NONE" in broken["the subject's compatibility refuses breaking versions"]
    capsys.readouterr()  # the check left its registry where `kafkalab schema` looks
    assert main(["schema", "diff", "orders-kafkalab.shop.OrderCreated", "1", "2"]) == 0
    diff = capsys.readouterr().out
    assert "+ field customer: string (required)" in diff and "- field customerId" in diff and "NONE" in diff

    edit_setting(lab_dir, LAB, "compatibility", '"BACKWARD"')
    code, verdict = lab_json(capsys, "lab", "check", LAB)
    refused = failed(verdict)["the new version is deployed"]
    assert code == 1 and "HTTP 409" in refused and "customer at /fields/3" in refused
    assert 'evolution = "add_field"' in verdict["hint"]
    assert list(failed(verdict)) == ["the new version is deployed", "the new consumer (v2) reads every OrderCreated, old and new"]

    edit_setting(lab_dir, LAB, "evolution", '"add_field"')
    code, verdict = lab_json(capsys, "lab", "check", LAB)
    assert code == 0 and verdict["passed"], failed(verdict)


def test_backward_takes_a_dropped_field_which_still_breaks_v1_readers_and_the_hint_says_forward():
    outcome = session.check(LAB, {"compatibility": "BACKWARD", "evolution": "drop_field"})
    names = {c.name: c for c in outcome.checks}
    assert names["the new version is deployed"].passed
    assert not names["the payment service (v1) reads every order of the new version"].passed
    assert "FORWARD" in names["the payment service (v1) reads every order of the new version"].hint
    forward = session.check(LAB, {"compatibility": "FORWARD", "evolution": "drop_field"})
    assert "not FORWARD compatible: customerId" in {c.name: c for c in forward.checks}["the new version is deployed"].detail


def test_a_record_with_an_unknown_schema_id_is_dead_lettered_with_that_reason_and_the_consumer_goes_on(demos):
    outcome = demos[LAB]
    assert outcome.passed, [(c.name, c.detail) for c in outcome.checks if not c.passed]
    for stage in outcome.stages:
        (obs,) = stage.observations
        letters = [r for r in obs.records["orders.dlq"] if r.header("event-type") is None]
        assert len(letters) == 1
        error = letters[0].header("dlq-error").decode()
        assert error == "PoisonRecord: unknown schema id 2000000001: the schema registry has no such schema"
        assert letters[0].header("dlq-source-offset") is not None and all(obs.quiet_reached) and not obs.blocked


def test_the_demo_shows_the_size_of_the_same_events_in_avro_and_json(demos):
    obs = demos[LAB].stages[-1].observations[0]
    values = [r.value for rs in obs.records.values() for r in rs if r.value and r.value[0] == 0]
    assert obs.sizes["events"] == len([r for t, rs in obs.records.items() if not t.endswith(".dlq") for r in rs]) - 1
    assert sum(map(len, values)) < obs.sizes["json_bytes"] and obs.sizes["avro_bytes"] < obs.sizes["json_bytes"]


def test_a_world_without_a_registry_says_the_registry_steps_are_not_available():
    from scenarios.settings import Settings
    from scenarios.worlds import open_world_now

    phase = Phase("json", WorldSpec(), (Step("set_compatibility", {"event_type": "OrderCreated", "level": "FULL"}),))
    world = open_world_now("sim", 0, phase.world, Settings.resolve())
    try:
        obs = play_phase(phase, world)
    finally:
        world.close()
    assert obs.not_available == ["set_compatibility: not available in the sim world (this phase writes JSON "
                                 "(codec json): it has no schema registry)"]


def test_a_kafka_world_with_no_registry_answering_is_one_line_naming_what_to_start():
    from scenarios.engine.world import WorldError
    from scenarios.settings import Settings
    from scenarios.worlds import open_world_now

    settings = Settings.resolve({"registry_url": "http://127.0.0.1:9/apis/ccompat/v7", "bootstrap": "127.0.0.1:9"})
    with pytest.raises(WorldError) as caught:
        open_world_now("kafka", 0, WorldSpec(codec="avro"), settings)
    text = str(caught.value)
    assert "no schema registry" in text and "kafkalab registry up" in text and "\n" not in text


def test_a_level_the_registry_does_not_have_is_refused_in_one_line(lab_dir, capsys):  # noqa: F811
    from scenarios import labs, learner

    files = learner.LabFiles(lab_dir)
    lab = labs.get(LAB)
    files.write_knobs(lab, lab.start_knobs(session.context("sim")))
    files.save(learner.LabState(LAB))
    edit_setting(lab_dir, LAB, "compatibility", '"backward"')
    capsys.readouterr()
    assert main(["lab", "check", LAB]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "compatibility" in err and "'BACKWARD'" in err, err

"""Lab scripts: every lab's demonstration serialises to JSON and back unchanged; bad scripts are refused."""

from __future__ import annotations

import json

import pytest

from scenarios import labs, session
from scenarios.engine.model import Script, ScriptError, Step


def demo_script(name: str, seed: int = 11):
    return labs.get(name).demo_script(session.context("sim", seed))


@pytest.mark.parametrize("name", list(labs.LABS))
def test_every_lab_script_round_trips_through_json(name):
    script = demo_script(name)
    again = Script.loads(script.dumps())
    assert again == script
    assert json.loads(script.dumps())["lab"] == name


def test_the_registry_finds_every_lab_folder_in_teaching_order():
    assert list(labs.LABS) == ["happy-path", "stock-rollback", "poison-pill", "chaos", "connectivity",
                               "startup-race", "consumer-lag", "broker-failure"]


def test_chaos_steps_depend_only_on_the_seed():
    assert demo_script("chaos", 3) == demo_script("chaos", 3)
    assert demo_script("chaos", 3).phases[-1].steps != demo_script("chaos", 4).phases[-1].steps


def test_chaos_script_ends_by_healing_and_going_quiet_and_always_has_poison():
    steps = demo_script("chaos", 0).phases[-1].steps
    assert [s.op for s in steps[-2:]] == ["heal", "quiet"]
    assert any(s.op == "place_order" and s.get("product_id") == "prod_ignore" for s in steps)
    assert any(s.op == "inject" for s in steps)


def test_a_demonstration_ends_with_the_fixed_stage():
    for name in labs.LABS:
        stages = demo_script(name).stages
        assert [s.expect for s in stages][-1] == "fixed" and {s.expect for s in stages[:-1]} == {"symptom"}, name


def test_unknown_step_op_is_refused():
    with pytest.raises(ScriptError, match="unknown step op"):
        Step.from_json({"op": "teleport"})


def test_unknown_step_field_is_refused():
    with pytest.raises(ScriptError, match="unknown fields"):
        Step("advance", {"ms": 5, "speed": 2})


@pytest.mark.parametrize("text", ["[]", "not json", '{"lab": "x"}', '{"lab": "x", "seed": 1, "stages": [3]}',
                                  '{"lab": "x", "seed": 1, "stages": [{"label": "a", "expect": "maybe", '
                                  '"knobs": {}, "phases": []}]}',
                                  '{"lab": "x", "seed": 1, "stages": [{"label": "a", "expect": "fixed", "knobs": {},'
                                  ' "phases": [{"name": "p", "world": {"partitions": 0}, "steps": []}]}]}'])
def test_malformed_scripts_are_refused(text):
    with pytest.raises(ScriptError):
        Script.loads(text)


def test_extra_top_level_keys_such_as_expect_are_ignored():
    data = demo_script("happy-path").to_json() | {"expect": {"passed": True}}
    assert Script.from_json(data).lab == "happy-path"

"""Scenario scripts: the steps serialise to JSON and back unchanged; malformed scripts are refused."""

from __future__ import annotations

import json

import pytest

from scenarios import catalog
from scenarios.model import Script, ScriptError, Step


@pytest.mark.parametrize("name", sorted(catalog.SCENARIOS))
def test_every_scenario_script_round_trips_through_json(name):
    script = catalog.get(name).script(seed=11, mode="sim")
    again = Script.loads(script.dumps())
    assert again == script
    assert json.loads(script.dumps())["scenario"] == name


def test_chaos_steps_depend_only_on_the_seed():
    chaos = catalog.get("chaos")
    assert chaos.script(3, "sim") == chaos.script(3, "sim")
    assert chaos.script(3, "sim").steps != chaos.script(4, "sim").steps


def test_chaos_script_ends_by_healing_and_going_quiet():
    steps = catalog.get("chaos").script(0, "sim").steps
    assert [s.op for s in steps[-2:]] == ["heal", "quiet"]


def test_unknown_step_op_is_refused():
    with pytest.raises(ScriptError, match="unknown step op"):
        Step.from_json({"op": "teleport"})


def test_unknown_step_field_is_refused():
    with pytest.raises(ScriptError, match="unknown fields"):
        Step("advance", {"ms": 5, "speed": 2})


@pytest.mark.parametrize("text", ["[]", "not json", '{"scenario": "x"}', '{"scenario": "x", "seed": 1, "steps": [3]}'])
def test_malformed_scripts_are_refused(text):
    with pytest.raises(ScriptError):
        Script.loads(text)


def test_extra_top_level_keys_such_as_expect_are_ignored():
    data = catalog.get("happy-path").script(0, "sim").to_json() | {"expect": {"passed": True}}
    assert Script.from_json(data).scenario == "happy-path"

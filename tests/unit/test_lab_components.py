"""A lab's own components and the producer-tuning model's request budget, without a lab run."""

from __future__ import annotations

import pytest

from scenarios import root
from scenarios.engine import components
from scenarios.engine.model import Step
from scenarios.engine.spec import WorldSpec
from scenarios.engine.world import NotAvailable
from scenarios.tuning import lab_run
from scenarios.worlds.sim import SimWorld


def _world() -> SimWorld:
    return SimWorld(0, WorldSpec(partitions=1, deferred=("order", "payment", "inventory")),
                    logger=root.service_logger("error"))


def test_a_world_builds_a_registered_component_once_per_phase_and_refuses_unknown_ones():
    world = _world()
    try:
        world.call("compacted-store/profiles", "create", {"cleanup_policy": "compact"})
        first = world.components["compacted-store/profiles"]
        assert world.call("compacted-store/profiles", "put", {"key": "c", "profile": {"v": 1}}) == {"offset": 0}
        assert world.components["compacted-store/profiles"] is first
        assert "no action 'nope'" in world.call("compacted-store/profiles", "nope", {})["refused"]
        with pytest.raises(NotAvailable, match="no component 'nobody/none'"):
            world.call("nobody/none", "x", {})
    finally:
        world.close()


def test_call_and_measure_producer_are_steps_with_known_fields():
    Step("call", {"component": "compacted-store/profiles", "action": "serve", "args": {}})
    with pytest.raises(ValueError, match="unknown fields"):
        Step("measure_producer", {"settings": {}, "rate": 5})
    assert "compacted-store/profiles" in components._REGISTRY


def test_the_model_is_saturated_above_the_request_budget_and_then_promises_no_latency():
    knobs, load = lab_run.cell_of({"linger_ms": 0, "batch_num_messages": 1}, {"rate": 10_000})
    over = lab_run.modelled(knobs, load)
    assert over["saturated"] and over["msgs_per_s"] == lab_run.REQUEST_BUDGET_PER_S and over["latency_ms"] is None
    assert over["kind"] == "model" and over["label"] == "model, not a measurement"
    knobs, load = lab_run.cell_of({"linger_ms": 20}, {"rate": 10_000})
    fine = lab_run.modelled(knobs, load)
    assert not fine["saturated"] and fine["msgs_per_s"] == 10_000 and fine["latency_ms"]["p99"] == pytest.approx(20.8)


def test_settings_the_tuning_tool_refuses_are_one_line():
    with pytest.raises(lab_run.TuningError, match="compression.type"):
        lab_run.cell_of({"compression": "brotli"}, {})

"""A lab's own components (one model: called by a step and/or run like a service) and the producer-tuning
model's request budget, without a lab run."""

from __future__ import annotations

import pytest

from scenarios import root
from scenarios.engine import components
from scenarios.engine.model import Step
from scenarios.engine.spec import ComponentSpec, WorldSpec
from scenarios.engine.world import NotAvailable
from scenarios.labs import LABS  # the labs register their parts when they load
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


class Echo:
    """A part that is both called and run: it counts its steps and writes what it was lent into the notes."""

    def __init__(self, ports: components.Ports) -> None:
        self.ports, self.name, self.index = ports, ports.name, ports.index
        self.group_id, self.subscriptions, self.consumer, self.producer = None, [], None, None
        self.exited, self.blocked, self.steps, self.closed = None, {}, 0, False
        ports.notes.append({"by": ports.name, "index": ports.index, "config": dict(ports.config),
                            "topic": ports.topic("echoes")})

    def step(self) -> int:
        self.steps += 1
        return 0

    def idle(self) -> bool:
        return True

    def call(self, action: str, args: dict) -> dict:
        return {"by": self.name, "steps": self.steps, "action": action, **args}

    def close(self) -> None:
        self.closed = True


components.register("unit-test/echo", Echo)


def test_one_part_is_run_as_instances_and_called_from_the_same_ports_and_registry():
    spec = WorldSpec(partitions=1, instances={"order": 0, "payment": 0, "inventory": 0},
                     components={"unit-test/echo": ComponentSpec(instances=2, config={"k": 1})})
    world = SimWorld(0, spec, logger=root.service_logger("error"))
    try:
        running = list(world.parts)
        assert [(p.name, p.index) for p in running] == [("echo-0", 0), ("echo-1", 1)]
        world.advance(100)
        assert all(p.steps > 0 for p in running)  # each is an actor of the world
        assert world.call("unit-test/echo", "hello", {"x": 2}) == {"by": "echo", "steps": 0, "action": "hello", "x": 2}
        assert [n["by"] for n in world.notes] == ["echo-0", "echo-1", "echo"]
        assert all(n["config"] == {"k": 1} and n["topic"] == "echoes" for n in world.notes)
        world.fault(Step("scale", {"service": "echo", "instances": 1}))  # steps name a part's instances by <name>
        assert [p.name for p in world.parts] == ["echo-0"] and running[1].closed
    finally:
        world.close()
    assert running[0].closed and not world.components


def test_call_and_measure_producer_are_steps_with_known_fields():
    Step("call", {"component": "compacted-store/profiles", "action": "serve", "args": {}})
    with pytest.raises(ValueError, match="unknown fields"):
        Step("measure_producer", {"settings": {}, "rate": 5})
    assert {"compacted-store/profiles", "exactly-once/ledger"} <= set(components._REGISTRY) and LABS


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

"""Network faults in the Kafka world: a phase that asks for them gets the fault proxy in front of a
private broker, the story's steps land on the proxy (counted in the observation), and the proxy stops
with the phase, also when the phase fails."""

from __future__ import annotations

import pytest

from compose import processes
from scenarios.engine.lab import LabContext
from scenarios.engine.model import Phase, Script, Stage, Step
from scenarios.engine.play import play
from scenarios.engine.spec import WorldSpec
from scenarios.settings import Settings
from scenarios.worlds import open_world_now

pytestmark = pytest.mark.kafka
NO_SHOP = {"order": 0, "payment": 0, "inventory": 0}


@pytest.fixture(scope="module")
def settings(kafka_bootstrap) -> Settings:
    return Settings.resolve({"bootstrap": kafka_bootstrap})


def _proxy_port(world) -> int:
    return int(world.fault_backend.bootstrap.rpartition(":")[2])


def test_network_fault_steps_go_through_the_proxy_and_it_stops_with_the_phase(settings):
    from scenarios.engine.runner import play_phase

    spec = WorldSpec(instances=NO_SHOP, network_faults=True)
    steps = (Step("lose_ack", {"topic": "orders"}), Step("slow_network", {"ms": 20}),
             Step("broker_down", {"ms": 300}), Step("advance", {"ms": 500}), Step("heal"))
    world = open_world_now("kafka", 0, spec, settings)
    port = _proxy_port(world)
    try:
        assert processes.port_in_use(port)
        obs = play_phase(Phase("faults", spec, steps), world)
    finally:
        world.close()
    assert obs.not_available == [] and obs.step_errors == []
    assert obs.network_faults["by_fault"].get("broker_down", 0) >= 1, obs.network_faults
    assert not processes.port_in_use(port)


def test_the_proxy_stops_when_a_phase_fails(settings):
    spec = WorldSpec(instances=NO_SHOP, network_faults=True)
    opened = []

    def open_world(mode, seed, world_spec):
        opened.append(open_world_now(mode, seed, world_spec, settings))
        return opened[-1]

    bad = Step("inject", {"topic": "no-such-topic", "value_hex": "00"})  # the runner raises: not a topic
    script = Script("chaos", 0, "kafka", (Stage("broken", "fixed", {}, (Phase("fails", spec, (bad,)),)),))
    from scenarios import labs

    with pytest.raises(ValueError, match="no topic"):
        play(script, labs.get("chaos"), open_world, LabContext("kafka"))
    assert not processes.port_in_use(_proxy_port(opened[0]))

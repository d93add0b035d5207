"""The simulator's consumer group protocol (KIP-848) where the contract cannot reach: what a member that
stops polling does, mixed groups, unknown protocol names, and replay."""

from __future__ import annotations

import pytest

from services.ports import ConsumerConfig, InvalidConfig
from sim import World


def kip848(world: World, group: str = "g", **kw: object):
    return world.consumer(ConsumerConfig(group, group_protocol="consumer", **kw))  # type: ignore[arg-type]


def run(world: World, consumers, ms: int, step: int = 100) -> None:
    for _ in range(ms // step):
        for c in consumers:
            c.poll()
        world.run_for(step)


@pytest.mark.parametrize("instance", [None, "static-1"])
def test_a_member_past_max_poll_interval_leaves_at_once_static_or_not(instance) -> None:
    w = World(3)
    w.create_topic("t", 2)
    stalled = kip848(w, max_poll_interval_ms=6_000, group_instance_id=instance)
    stalled.subscribe(["t"])
    other = kip848(w)
    other.subscribe(["t"])
    run(w, [stalled, other], 2_000)
    assert len(stalled.assignment()) == len(other.assignment()) == 1
    run(w, [other], 7_000)  # less than the broker's session timeout: max.poll.interval.ms decides
    assert len(other.assignment()) == 2
    assert "max_poll_interval" in "\n".join(w.trace.lines())


def test_a_group_does_not_mix_protocols_in_the_simulator() -> None:
    w = World(3)
    w.create_topic("t", 1)
    classic = w.consumer(ConsumerConfig("g", session_timeout_ms=6_000))
    classic.subscribe(["t"])
    classic.poll()
    newer = kip848(w)
    newer.subscribe(["t"])
    with pytest.raises(InvalidConfig, match="group.protocol"):
        newer.poll()


def test_unknown_group_protocol_is_refused_with_librdkafkas_words() -> None:
    with pytest.raises(InvalidConfig, match='Invalid value "eager" for configuration property "group.protocol"'):
        World(0).consumer(ConsumerConfig("g", group_protocol="eager"))  # type: ignore[arg-type]


def test_unknown_remote_assignor_is_refused_by_the_broker_at_join() -> None:
    w = World(0)
    w.create_topic("t", 1)
    c = kip848(w, remote_assignor="sticky")
    c.subscribe(["t"])
    with pytest.raises(InvalidConfig, match="UNSUPPORTED_ASSIGNOR"):
        c.poll()


def test_same_seed_same_trace_with_members_joining_and_leaving() -> None:
    def play() -> list[str]:
        w = World(11)
        w.create_topic("t", 6)
        members = [kip848(w, client_id=f"m{i}") for i in range(3)]
        for m in members:
            m.subscribe(["t"])
        run(w, members, 3_000)
        members[1].close()
        run(w, [members[0], members[2]], 3_000)
        return w.trace.lines()

    first = play()
    assert first == play() and any("target_assignment" in line for line in first)

"""The world: virtual clock, seeded scheduler, idleness, faults on actors, the adapter."""

from __future__ import annotations

import pytest

from adapters.sim_broker import SimBroker
from services.ports import (
    BrokerUnavailable,
    ConsumerConfig,
    CoordinatorNotAvailable,
    ProducerConfig,
    TopicSpec,
)
from sim import World


def test_scheduler_runs_the_earliest_actor_and_charges_sleep_as_busy_time() -> None:
    w = World(seed=1)
    seen = []

    def fast() -> int:
        seen.append(("fast", w.clock.now_ms()))
        return 0

    def slow() -> int:
        seen.append(("slow", w.clock.now_ms()))
        w.clock.sleep(25)
        return 0

    w.spawn("fast", fast, period_ms=10)
    w.spawn("slow", slow, period_ms=10)
    w.run_for(40)
    assert [t for name, t in seen if name == "fast"] == [0, 10, 20, 30, 40]
    assert [t for name, t in seen if name == "slow"] == [0, 35]


def test_ties_are_broken_by_the_seed_not_by_spawn_order() -> None:
    def order(seed: int) -> list[str]:
        w = World(seed=seed)
        out: list[str] = []
        for name in "abcdef":
            w.spawn(name, lambda name=name: out.append(name) or 0)
        for _ in range(6):
            w.step()
        return out

    assert order(1) == order(1)
    assert len({"".join(order(s)) for s in range(6)}) > 1


def test_stopped_actor_never_steps_again() -> None:
    w = World(seed=1)
    count = []
    w.spawn("a", lambda: count.append(1) or 1, period_ms=5)
    w.run_for(20)
    w.stop_actor("a")
    before = len(count)
    w.run_for(100)
    assert len(count) == before


def test_run_until_idle_returns_once_nothing_changes() -> None:
    w = World(seed=1)
    w.create_topic("t", 3)
    p = w.producer()
    todo = list(range(30))
    consumed = []

    def produce() -> int:
        if not todo:
            return 0
        for _ in range(10):
            p.produce("t", str(todo.pop()).encode())
        p.flush()
        return 10

    c = w.consumer(ConsumerConfig("g"))
    c.subscribe(["t"])

    def consume() -> int:
        got = c.poll(7)
        consumed.extend(got)
        if got:
            c.commit()
        return len(got)

    w.spawn("producer", produce)
    w.spawn("consumer", consume)
    steps = w.run_until_idle()
    assert steps > 0 and len(consumed) == 30
    assert w.idle()
    assert w.run_until_idle() == 0


def test_slow_consumer_exceeds_max_poll_interval_and_loses_its_partitions() -> None:
    w = World(seed=1)
    w.create_topic("t", 2)
    cfg = ConsumerConfig("g", max_poll_interval_ms=6_000, session_timeout_ms=6_000)
    a, b = w.consumer(cfg), w.consumer(cfg)
    for c in (a, b):
        c.subscribe(["t"])
    w.spawn("a", lambda: len(a.poll()), period_ms=10)
    w.spawn("b", lambda: len(b.poll()), period_ms=10)
    w.run_for(100)
    assert len(a.assignment()) == 1
    w.faults.slow("a", 20_000)
    w.run_for(10_000)
    assert a.member_id not in w.cluster.groups["g"].members
    assert len(b.assignment()) == 2
    assert w.trace.events("member_removed")[0]["reason"] == "max_poll_interval"
    w.faults.heal_all()
    w.run_for(30_000)
    assert len(a.assignment()) == 1 and len(b.assignment()) == 1


def test_broker_down_raises_port_errors_until_it_comes_back() -> None:
    w = World(seed=1)
    broker = SimBroker(w)
    broker.admin().create_topics([TopicSpec("t", 1)])
    c = broker.consumer(ConsumerConfig("g"))
    c.subscribe(["t"])
    c.poll()
    w.faults.broker_down(500)
    with pytest.raises(BrokerUnavailable):
        c.poll()
    with pytest.raises(CoordinatorNotAvailable):
        c.commit()
    broker.clock.sleep(500)
    c.poll()
    c.commit()


def test_inject_writes_raw_bytes_into_the_log() -> None:
    w = World(seed=1)
    w.create_topic("t", 4)
    offset = w.faults.inject("t", b"\xff\xfe not json", key=b"k", headers=[("event_type", b"Boom")])
    c = w.consumer(ConsumerConfig("g"))
    c.subscribe(["t"])
    [rec] = c.poll()
    assert (rec.offset, rec.value, rec.header("event_type")) == (offset, b"\xff\xfe not json", b"Boom")


def test_adapter_admin_describes_groups_and_lag() -> None:
    w = World(seed=1)
    broker = SimBroker(w)
    admin = broker.admin()
    admin.create_topics([TopicSpec("t", 2, config={"cleanup.policy": "delete"})])
    assert admin.list_topics() == {"t": 2}
    p = broker.producer(ProducerConfig(client_id="p"))
    for i in range(4):
        p.produce("t", b"x", partition=i % 2)
    p.flush()
    c = broker.consumer(ConsumerConfig("g", client_id="c", group_instance_id="i-1"))
    c.subscribe(["t"])
    c.poll(1)
    c.commit()
    desc = admin.describe_group("g")
    assert (desc.state, desc.protocol, len(desc.members)) == ("Stable", "range", 1)
    assert desc.members[0].group_instance_id == "i-1" and len(desc.members[0].assignment) == 2
    assert sum(lag.lag for lag in admin.lag("g")) == 3
    assert admin.list_groups() == ["g"]
    assert admin.describe_group("nope").state == "Dead"
    admin.delete_topics(["t"])
    assert admin.list_topics() == {}


def test_run_until_idle_waits_out_a_broker_outage() -> None:
    w = World(seed=1)
    w.create_topic("t", 1)
    p = w.producer()
    done = []

    def send() -> int:
        if done:
            return 0
        try:
            p.produce("t", b"x")  # a failed flush drops it, so each attempt produces again
            p.flush()
        except BrokerUnavailable:
            return 0
        done.append(w.clock.now_ms())
        return 1

    w.faults.broker_down(2_000)
    w.spawn("sender", send, period_ms=100)
    w.run_until_idle()
    assert done == [2_000]

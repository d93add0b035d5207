"""A kafka-world run's leftovers (``kl-<run>-`` topics and groups) on the simulated broker: which runs
count as alive, that ``clean`` removes only the dead ones' names, and that no other name is touched."""

from __future__ import annotations

from scenarios import root
from scenarios.ops import runs
from services.ports import ConsumerConfig, TopicPartition, TopicSpec

DEAD, BUSY, FRESH, KEPT, EMPTY = (f"kl-{c * 10}-" for c in "abcde")


def _world():
    world = root.sim_world(3, trace=False)
    broker = root.sim_broker(world)
    admin = broker.admin()
    names = [p + t for p in (DEAD, BUSY, FRESH, KEPT, EMPTY) for t in ("orders", "orders.dlq")]
    admin.create_topics([TopicSpec(n) for n in [*names, "orders", "kl-tune-0123456789", "kl-x-orders"]])
    producer = broker.producer()
    for prefix in (DEAD, BUSY, FRESH, KEPT):
        producer.produce(prefix + "orders", b"{}", key=b"k")
    producer.produce("orders", b"{}", key=b"k")
    producer.flush()
    for prefix in (DEAD, KEPT):  # a group that committed and left: Empty
        admin.alter_group_offsets(prefix + "order-service", {TopicPartition(prefix + "orders", 0): 1})
    admin.alter_group_offsets("kl-x-order-service", {TopicPartition("kl-x-orders", 0): 0})
    world.run_for(60_000)
    busy = broker.consumer(ConsumerConfig(group_id=BUSY + "order-service"))
    busy.subscribe([BUSY + "orders"])
    for _ in range(20):
        busy.poll(10, timeout=0.1)
        world.run_for(100)
    fresh_at = world.clock.now_ms()
    producer.produce(FRESH + "orders", b"{}", key=b"k")
    producer.flush()
    return world, admin, fresh_at


def test_only_dead_runs_are_cleaned_and_names_of_other_forms_are_never_touched():
    world, admin, fresh_at = _world()
    found = {r.prefix: r for r in runs.leftovers(admin, now_ms=fresh_at + 1_000, grace_s=10, keep={KEPT})}
    assert set(found) == {DEAD, BUSY, FRESH, KEPT, EMPTY}  # not orders, kl-tune-..., kl-x-...
    assert found[DEAD].alive == "" and found[DEAD].groups == [DEAD + "order-service"]
    assert "is Stable" in found[BUSY].alive or "is CompletingRebalance" in found[BUSY].alive, found[BUSY]
    assert "took a record in the last 10 s" in found[FRESH].alive
    assert "kept by the last lab check" in found[KEPT].alive
    assert "empty and it has no group yet" in found[EMPTY].alive

    done = runs.clean(admin, list(found.values()))
    assert sorted(done) == sorted([f"topic {DEAD}orders", f"topic {DEAD}orders.dlq", f"group {DEAD}order-service"])
    topics, groups = set(admin.list_topics()), set(admin.list_groups())
    assert not any(t.startswith(DEAD) for t in topics) and DEAD + "order-service" not in groups
    assert {"orders", "kl-tune-0123456789", "kl-x-orders", KEPT + "orders", FRESH + "orders"} <= topics
    assert {"kl-x-order-service", KEPT + "order-service"} <= groups


def test_a_closing_run_deletes_its_own_empty_groups_only():
    world, admin, _ = _world()
    assert runs.delete_groups(admin, KEPT) == [KEPT + "order-service"]
    assert runs.delete_groups(admin, BUSY) == []  # it has a member: left for `kafka clean` later
    assert runs.delete_groups(admin, "kl-x-") == []  # not a prefix the kafka world makes
    assert {"kl-x-order-service", BUSY + "order-service", DEAD + "order-service"} <= set(admin.list_groups())

"""Hypothesis drives random fault schedules through the saga; the invariants must hold once quiet."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from services.handling import ServiceConfig
from services.ports import StoreUnavailable
from tests.unit.test_saga_faults import assert_invariants
from tests.unit.test_saga_sim import HAPPY, POISON, TOO_MANY, headers, records, start

BODIES = [HAPPY, TOO_MANY, POISON, {**HAPPY, "productId": "prod_456", "quantity": 7},
          {**HAPPY, "customerId": "cust_declined"}]
# Which consumer groups read each topic: a garbage record is dead-lettered once per group.
READERS = {"orders": {"payment-service"}, "payments": {"inventory-service", "order-service"},
           "inventory": {"payment-service", "order-service"}}

operations = st.lists(
    st.one_of(
        st.tuples(st.just("place"), st.integers(0, len(BODIES) - 1), st.integers(1, 4)),
        st.tuples(st.just("run"), st.integers(1, 1_500)),
        st.tuples(st.just("broker_down"), st.integers(1, 2_000)),
        st.tuples(st.just("crash"), st.sampled_from(["order", "payment", "inventory"])),
        st.tuples(st.just("lose_ack"), st.sampled_from(["orders", "payments", "inventory"])),
        st.tuples(st.just("garbage"), st.sampled_from(["orders", "payments", "inventory"])),
        st.tuples(st.just("store_outage"), st.sampled_from(["order", "payment", "inventory"]), st.integers(1, 9)),
    ),
    max_size=12,
)


@given(seed=st.integers(0, 2**16), ops=operations)
def test_saga_invariants_hold_under_any_fault_schedule(seed: int, ops: list) -> None:
    # A short session timeout: a crashed member's partitions move after 6 s, not 45 s, of virtual time.
    config = ServiceConfig(session_timeout_ms=6_000)
    world, shop = start(seed, instances={"payment": 2, "inventory": 2}, config=config)
    garbage: list[tuple[str, int, int]] = []
    poison_orders: set[str] = set()
    for op in ops:
        kind = op[0]
        if kind == "place":
            for _ in range(op[2]):
                try:
                    order = shop.place_order(BODIES[op[1]])
                except StoreUnavailable:
                    continue  # the order database is down: the order is refused, not accepted
                if BODIES[op[1]] is POISON:
                    poison_orders.add(order.order_id)
        elif kind == "run":
            world.run_for(op[1])
        elif kind == "broker_down":
            world.faults.broker_down(op[1])
        elif kind == "crash":
            victims = [s for s in shop.services if s.name.startswith(op[1])]
            victim = victims[0]
            if victim.consumer is not None:
                world.faults.crash(victim.consumer)
            if victim.producer is not None:
                world.faults.crash(victim.producer)
            world.stop_actor(victim.name)
            shop.remove_instance(victim.name, clean=False)
            successor = shop.add_instance(op[1])
            world.spawn(successor.name, successor.step)
        elif kind == "lose_ack":
            world.faults.lose_next_ack(op[1])
        elif kind == "garbage":
            partition = len(garbage) % 3
            offset = world.faults.inject(op[1], b"\xffgarbage", key=b"junk", partition=partition)
            garbage.append((op[1], partition, offset))
        elif kind == "store_outage":
            shop.stores[op[1]].fail_next(op[2])
    for store in shop.stores.values():
        store.fail_next(0)  # outages are counted in transactions: end any an idle system never used up
    world.run_until_idle(max_ms=3_600_000)

    assert_invariants(world, shop) if shop.orders() else None
    # The DLQs hold exactly the poison: each garbage record once per reading group, and one
    # PaymentCompleted per prod_ignore order (dead-lettered by inventory).
    dead = Counter()
    for topic in READERS:
        for r in records(world, f"{topic}.dlq"):
            h = headers(r)
            dead[(h["dlq-source-topic"], int(h["dlq-source-partition"]), int(h["dlq-source-offset"]),
                  h["dlq-consumer-group"])] += 1
    expected = Counter({(t, p, o, g): 1 for t, p, o in garbage for g in READERS[t]})
    poison_dead = {k: v for k, v in dead.items() if k[0] == "payments" and k[3] == "inventory-service"
                   and (k[0], k[1], k[2]) not in {(t, p, o) for t, p, o in garbage}}
    assert {k: v for k, v in dead.items() if k not in poison_dead} == expected
    dead_poison_orders = {headers(r)["correlation-id"] for r in records(world, "payments.dlq")
                          if r.value != b"\xffgarbage"}
    assert dead_poison_orders == poison_orders

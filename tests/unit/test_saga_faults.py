"""The saga under faults on the simulator: redelivery, outages, crashes, retries and scale-out.

Every test ends by checking the saga's invariants: every accepted order is final, stock never
negative, charged - refunded == completed, and each order's payment applied once.
"""

from __future__ import annotations

import pytest

from adapters.memory_store import MemoryStore
from services.events import Topics
from services.ports import OrderStatus
from services.runner import EventService, RetriableError
from services.saga import PaymentHandler
from tests.unit.test_saga_sim import HAPPY, POISON, TOO_MANY, headers, records, start


def assert_invariants(world, shop) -> None:
    orders = shop.orders()
    assert orders and all(o.status.terminal for o in orders), [o.status for o in orders if not o.status.terminal]
    assert all(units >= 0 for units in shop.stock().values())
    assert shop.totals().balanced, shop.totals()
    # No effect twice: one distinct PaymentCompleted per charged order, whatever was redelivered or resent.
    paid_events = {headers(r)["event-id"] for r in records(world, "payments")
                   if headers(r).get("event-type") == "PaymentCompleted"}
    charged = [p for p in shop.stores["payment"].payments.values() if p.status != "DECLINED"]
    assert len(paid_events) == len(charged)


def place_mix(shop, n: int = 12) -> list:
    bodies = [HAPPY, TOO_MANY, POISON, {**HAPPY, "productId": "prod_456"}]
    return [shop.place_order(bodies[i % len(bodies)]) for i in range(n)]


def test_replaying_every_topic_from_the_start_changes_nothing() -> None:
    world, shop = start()
    place_mix(shop)
    world.run_until_idle()
    before = (shop.totals(), shop.stock(), [(o.order_id, o.status) for o in shop.orders()])
    sizes = {t: len(records(world, t)) for t in Topics().all()}
    for service in shop.services:
        for tp in service.consumer.assignment():
            service.consumer.seek(tp, 0)
    world.run_until_idle()
    assert (shop.totals(), shop.stock(), [(o.order_id, o.status) for o in shop.orders()]) == before
    assert {t: len(records(world, t)) for t in Topics().all()} == sizes  # nothing re-published


def test_broker_outage_delays_the_saga_but_loses_nothing() -> None:
    world, shop = start()
    world.run_until_idle()
    world.faults.broker_down(5_000)
    placed = place_mix(shop)
    world.run_until_idle(max_ms=60_000)
    assert all(shop.order(o.order_id).status.terminal for o in placed)
    assert world.clock.now_ms() >= 5_000
    assert_invariants(world, shop)


def test_duplicate_records_are_applied_once() -> None:
    world, shop = start()
    world.run_until_idle()
    for topic in ("orders", "payments", "inventory"):
        world.faults.lose_next_ack(topic)  # the idempotent producer absorbs these resends
    place_mix(shop, 8)
    world.run_until_idle()
    # A non-idempotent resend: exact copies of every saga record, appended after the originals.
    sizes = {}
    for topic in ("orders", "payments", "inventory"):
        sizes[topic] = len(records(world, topic))
        for r in records(world, topic):
            world.faults.inject(topic, r.value, key=r.key, partition=r.partition, headers=r.headers)
    world.run_until_idle()
    assert {t: len(records(world, t)) for t in sizes} == {t: 2 * n for t, n in sizes.items()}
    assert_invariants(world, shop)
    assert shop.stock()["prod_123"] == 1  # two HAPPY orders reserved 2 each, once
    assert len(records(world, "payments.dlq")) == 2  # the two prod_ignore records, not their copies


def test_store_outage_rewinds_instead_of_dead_lettering() -> None:
    world, shop = start()
    placed = [shop.place_order(HAPPY)]
    shop.stores["payment"].fail_next(7)  # outlasts the in-step retries: the step rewinds
    world.run_until_idle()
    assert shop.order(placed[0].order_id).status is OrderStatus.COMPLETED
    assert records(world, "orders.dlq") == []
    assert_invariants(world, shop)


class Crash(BaseException):
    """The process dies: not an Exception, so nothing in the service catches it."""


def test_crash_after_store_commit_before_publish_is_finished_by_the_next_instance() -> None:
    world, shop = start(instances={"payment": 0})
    payment = shop.add_instance("payment")
    real_apply = payment._apply

    def apply_then_die(event):
        real_apply(event)
        raise Crash

    payment._apply = apply_then_die

    def step() -> int:
        try:
            return payment.step()
        except Crash:
            world.faults.crash(payment.consumer)
            world.stop_actor(payment.name)
            return 1

    world.spawn(payment.name, step)
    order = shop.place_order(HAPPY)
    world.run_until_idle()
    assert shop.order(order.order_id).status is OrderStatus.PENDING  # charged, but nothing published
    assert shop.stores["payment"].payments[order.order_id].status == "CHARGED"

    successor = shop.add_instance("payment")
    world.spawn(successor.name, successor.step)
    world.run_until_idle()
    assert shop.order(order.order_id).status is OrderStatus.COMPLETED
    paid = [r for r in records(world, "payments") if headers(r)["event-type"] == "PaymentCompleted"]
    assert len(paid) == 1
    assert_invariants(world, shop)


def test_crashed_instances_are_replaced_under_load() -> None:
    world, shop = start(instances={"payment": 2, "inventory": 2})
    place_mix(shop, 30)
    world.run_for(15)
    victim = next(s for s in shop.services if s.name == "inventory-0")
    world.faults.crash(victim.consumer)
    world.stop_actor(victim.name)
    place_mix(shop, 30)
    world.run_until_idle()
    assert_invariants(world, shop)


class FlakyPayments(PaymentHandler):
    def __init__(self, failures: int) -> None:
        self.failures = failures

    def handle(self, tx, event, now_ms):
        if self.failures:
            self.failures -= 1
            raise RetriableError("card network timeout")
        return super().handle(tx, event, now_ms)


@pytest.mark.parametrize(("failures", "dead_lettered"), [(2, False), (3, True)])
def test_retriable_errors_back_off_then_dead_letter(failures: int, dead_lettered: bool) -> None:
    world, shop = start(instances={"payment": 0})
    flaky = EventService("payment-flaky", FlakyPayments(failures), broker=shop.broker,
                         store=shop.stores["payment"], clock=shop.clock)
    world.spawn(flaky.name, flaky.step)
    order = shop.place_order(HAPPY)
    world.run_until_idle()
    dead = records(world, "orders.dlq")
    assert bool(dead) is dead_lettered
    status = shop.order(order.order_id).status
    if dead_lettered:
        assert headers(dead[0])["dlq-attempts"] == "3"
        assert "card network timeout" in headers(dead[0])["dlq-error"]
        assert status is OrderStatus.CANCELLED  # dead-lettered OrderCreated -> PaymentFailed
    else:
        assert status is OrderStatus.COMPLETED
    assert world.clock.now_ms() >= 100 + 200  # the backoff ran on the virtual clock
    assert_invariants(world, shop)


def test_scaled_out_services_split_partitions_and_finish_every_order() -> None:
    world, shop = start(instances={"order": 2, "payment": 3, "inventory": 3})
    placed = [shop.place_order({**HAPPY, "productId": f"prod_load_0{i % 10}", "quantity": 1 + i % 3})
              for i in range(300)]
    world.run_until_idle()
    assert all(shop.order(o.order_id).status is OrderStatus.COMPLETED for o in placed)
    taken = sum(1_000_000 - shop.stock()[f"prod_load_0{i}"] for i in range(10))
    assert taken == sum(o.quantity for o in placed)
    owners = {s.name: s.consumer.assignment() for s in shop.services if s.name.startswith("inventory")}
    assert all(owners.values())  # every inventory instance got partitions
    assert_invariants(world, shop)


def test_build_shop_names_one_instance_per_kind_by_default() -> None:
    _, shop = start()
    assert all(isinstance(s, MemoryStore) for s in shop.stores.values())
    assert [s.name for s in shop.services] == ["order-0", "payment-0", "inventory-0"]
    shop.remove_instance("payment-0")
    assert [s.name for s in shop.services] == ["order-0", "inventory-0"]
    assert shop.add_instance("payment").name == "payment-1"

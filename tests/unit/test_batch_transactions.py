"""One store transaction per polled batch (``ServiceConfig.batch_transactions``), on the simulator.

The batch path must leave exactly what the per-record path leaves: the same final orders, money and
stock, each poison record dead-lettered once.
"""

from __future__ import annotations

from adapters.memory_store import memory_stores
from adapters.sim_broker import SimBroker
from services.ids import SeededIds
from services.ports import OrderStatus
from services.runner import EventService, ServiceConfig
from services.shop import build_shop
from sim import World
from tests.unit.test_saga_sim import HAPPY, POISON, TOO_MANY, records


def _run(batch: bool):
    world = World(5)
    broker = SimBroker(world)
    shop = build_shop(broker, memory_stores(), broker.clock, SeededIds(5),
                      config=ServiceConfig(batch_transactions=batch))
    batches: list[int] = []
    for service in shop.services:
        world.spawn(service.name, service.step)
    original = EventService._handle_batch

    def counted(self, recs):
        found = original(self, recs)
        batches.append(found is not None)
        return found

    EventService._handle_batch = counted  # type: ignore[method-assign]
    try:
        placed = [shop.place_order(body, publish=False) for body in (HAPPY, TOO_MANY, POISON) * 3]
        world.run_until_idle()
    finally:
        EventService._handle_batch = original  # type: ignore[method-assign]
    outcome = ([shop.order(o.order_id).status for o in placed], shop.totals(), shop.stock(),
               len(records(world, "payments.dlq")))
    return outcome, batches


def test_a_batch_in_one_transaction_ends_where_one_per_record_ends() -> None:
    per_record, _ = _run(batch=False)
    batched, batches = _run(batch=True)
    assert batched == per_record
    statuses, _totals, _stock, dead = batched
    assert statuses.count(OrderStatus.COMPLETED) == 2 and dead == 3  # stock for two; three poison records
    assert any(batches) and not all(batches)  # batches that went through whole, and poison that fell back

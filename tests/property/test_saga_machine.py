"""The saga under any fault schedule: a Hypothesis state machine driving the whole shop on the simulator.

Rules place valid orders (some exhaust stock, some are declined by payment, some are the DLQ lab's
poison product), place invalid ones (rejected, nothing written), write raw garbage onto topics,
and inject every fault: crash or cleanly stop an instance, start another (a rebalance either way),
kill a process mid-step (after publishing, before committing), slow a member, take the broker down,
lose an ack, fail a store's next transactions, and let virtual time pass. ``check_always`` runs
after every step; ``teardown`` heals, brings every service back, runs to quiet and checks every
saga invariant (tests/property/saga_invariants.py).

A failure prints the run as a replayable JSON script (see tests/property/saga_support.py).
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, event, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from services.events import Topics
from services.ports import OrderStatus
from services.runner import EventService
from services.saga import ORDER_LIMIT_CENTS
from services.shop import KINDS

from .saga_support import SagaLab, replay
from .saga_support import main as replay_main
from .saga_traps import TRAP_POINTS

MAX_LIVE_INSTANCES = 6
# Most orders should be able to complete, so completion is exercised. Hypothesis favours the first
# and last choices, so the doomed ones (declined customer, poison product) sit in the middle.
CUSTOMERS = ("cust_a", "cust_declined", "cust_b", "cust_c")
PRODUCTS = ("prod_123", "prod_ignore", "prod_456", "prod_123")
NOT_ORDERS = (["not", "an", "object"], "{not json", "[1, 2]", 42, None)
# One broken field at a time, on an otherwise valid body.
BROKEN_FIELDS: tuple[tuple[str, Any], ...] = (
    ("customerId", ""), ("customerId", "   "), ("customerId", None), ("customerId", 7),
    ("productId", ""), ("productId", "prod_unknown"), ("productId", None),
    ("quantity", 0), ("quantity", -1), ("quantity", True), ("quantity", "2"), ("quantity", 1.5),
    ("quantity", 1_000_001), ("amount", 0), ("amount", -5), ("amount", 0.001), ("amount", "10"),
    ("amount", True), ("amount", float("inf")), ("amount", 10_000_000.01), ("amount", None),
)
VALID_BODY = {"customerId": "cust_a", "productId": "prod_123", "quantity": 1, "amount": 10}

charged_amounts = st.integers(1, 20_000).map(lambda cents: cents / 100)  # up to 200.00
over_limit_amounts = st.sampled_from([ORDER_LIMIT_CENTS / 100 + 0.01, 50_000, 9_999_999.99])  # payment declines
amounts = st.one_of(charged_amounts, over_limit_amounts, charged_amounts, charged_amounts)
order_fields = st.fixed_dictionaries({
    "customer_id": st.sampled_from(CUSTOMERS),
    "product_id": st.sampled_from(PRODUCTS),
    "quantity": st.integers(1, 4),
    "amount": amounts,
})
invalid_bodies = st.one_of(
    st.sampled_from(NOT_ORDERS),
    st.sampled_from(BROKEN_FIELDS).map(lambda broken: {**VALID_BODY, broken[0]: broken[1]}),
    st.sampled_from(sorted(VALID_BODY)).map(lambda missing: {k: v for k, v in VALID_BODY.items() if k != missing}),
)


class SagaMachine(RuleBasedStateMachine):
    service_class: type[EventService] = EventService  # the planted-bug test swaps this

    orders = Bundle("orders")
    instances = Bundle("instances")

    def __init__(self) -> None:
        super().__init__()
        self.lab: SagaLab | None = None
        self.mid_step = False  # a rule or check raised: teardown must not pile a second failure on it

    def _do(self, **step: Any) -> Any:
        self.mid_step = True
        result = self.lab.apply(step)
        self.mid_step = False
        return result

    # ------------------------------------------------------------ setup

    @initialize(
        target=instances,
        seed=st.integers(0, 2**20),
        stock_123=st.integers(0, 6),
        stock_456=st.integers(0, 6),
        counts=st.tuples(st.integers(1, 2), st.integers(1, 2), st.integers(1, 2)),
    )
    def start_shop(self, seed: int, stock_123: int, stock_456: int, counts: tuple[int, int, int]):
        stock = {"prod_123": stock_123, "prod_456": stock_456, "prod_ignore": 100}
        self.lab = SagaLab(seed, stock=stock, instances=dict(zip(KINDS, counts, strict=True)),
                           service_class=self.service_class)
        return multiple(*self.lab.live())

    # ------------------------------------------------------------ orders

    @rule(target=orders, fields=order_fields)
    def place_order(self, fields: dict[str, Any]):
        order_id = self._do(op="place_order", **fields)
        return order_id if order_id is not None else multiple()

    @rule(target=orders, burst=st.lists(order_fields, min_size=2, max_size=5))
    def place_burst_of_orders(self, burst: list[dict[str, Any]]):
        """Several sagas in flight at once: they race for the same stock."""
        placed = [self._do(op="place_order", **fields) for fields in burst]
        return multiple(*(order_id for order_id in placed if order_id is not None))

    @rule(body=invalid_bodies)
    def place_invalid_order(self, body: Any) -> None:
        self._do(op="place_invalid", body=body)

    @rule(order=orders)
    def order_never_completes_against_the_rules(self, order: str) -> None:
        """An order the rules doom (declined, over the limit, poison, more than all the stock) is
        never COMPLETED, whatever the faults."""
        stored = self.lab.stores["order"].orders[order]
        if stored.status is not OrderStatus.COMPLETED:
            return
        self.mid_step = True
        assert stored.customer_id != "cust_declined", f"declined customer's order {order} completed"
        assert stored.amount_cents <= ORDER_LIMIT_CENTS, f"order {order} over the limit completed"
        assert stored.product_id != "prod_ignore", f"poison order {order} completed"
        assert stored.quantity <= self.lab.ledger.initial_stock[stored.product_id], f"order {order} oversold"
        self.mid_step = False

    # ------------------------------------------------------------ poison

    @rule(topic=st.sampled_from(Topics().main()), partition=st.integers(0, 2),
          value=st.binary(min_size=0, max_size=12).map(lambda b: b"\x00" + b),
          key=st.sampled_from([None, "6a756e6b", "fffe"]))
    def inject_garbage(self, topic: str, partition: int, value: bytes, key: str | None) -> None:
        # A leading NUL byte: never JSON, so never a valid event by accident.
        self._do(op="inject", topic=topic, partition=partition, value_hex=value.hex(), key=key)

    # ------------------------------------------------------------ instances and faults

    @precondition(lambda self: len(self.lab.live()) < MAX_LIVE_INSTANCES)
    @rule(target=instances, kind=st.sampled_from(KINDS))
    def start_instance(self, kind: str) -> str:
        return self._do(op="start", service=kind)

    @rule(instance=consumes(instances))
    def crash_instance(self, instance: str) -> None:
        self._do(op="crash", instance=instance)

    @rule(instance=consumes(instances))
    def stop_instance(self, instance: str) -> None:
        self._do(op="stop", instance=instance)

    @rule(instance=instances, at=st.sampled_from(TRAP_POINTS))
    def kill_instance_mid_step(self, instance: str, at: str) -> None:
        self._do(op="crash_mid_step", instance=instance, at=at)

    @rule(instance=instances, ms=st.sampled_from([200, 2_000, 20_000]))
    def slow_instance(self, instance: str, ms: int) -> None:
        self._do(op="slow", instance=instance, ms=ms)

    @rule(ms=st.sampled_from([500, 5_000, 30_000]))
    def broker_down(self, ms: int) -> None:
        self._do(op="broker_down", ms=ms)

    @rule(topic=st.sampled_from([None, *Topics().main(), *map(Topics.dlq, Topics().main())]))
    def lose_next_ack(self, topic: str | None) -> None:
        self._do(op="lose_ack", topic=topic)

    @rule(kind=st.sampled_from(KINDS), transactions=st.integers(1, 6))
    def store_outage(self, kind: str, transactions: int) -> None:
        self._do(op="store_outage", service=kind, transactions=transactions)

    @rule(ms=st.sampled_from([50, 300, 2_000, 12_000]))
    def advance(self, ms: int) -> None:
        self._do(op="advance", ms=ms)

    # ------------------------------------------------------------ checks

    @invariant()
    def always(self) -> None:
        if self.lab is not None:
            self.mid_step = True
            self.lab.check_always()
            self.mid_step = False

    def teardown(self) -> None:
        if self.lab is None:
            return
        try:
            if not self.mid_step:
                self.lab.finish()
                self._tell_statistics()
        finally:
            note(f"replayable script ({len(self.lab.steps)} steps; save it and run "
                 f"`python -m tests.property.saga_support FILE`):\n{self.lab.dumps()}")


    def _tell_statistics(self) -> None:
        """What the run exercised (``--hypothesis-show-statistics``): proof the machine is not vacuous."""
        def bucket(n: int) -> str:
            return "none" if n == 0 else "1-2" if n <= 2 else "3+"

        orders = self.lab.stores["order"].orders.values()
        event(f"steps: {bucket(len(self.lab.steps) // 8)} x8")
        event(f"completed orders: {bucket(sum(o.status is OrderStatus.COMPLETED for o in orders))}")
        event(f"cancelled orders: {bucket(sum(o.status is OrderStatus.CANCELLED for o in orders))}")
        event(f"mid-step deaths: {bucket(self.lab.mid_step_deaths)}")
        event(f"raw poison injected: {bucket(len(self.lab.ledger.injected))}")
        kinds = {e["ev"] for e in self.lab.world.trace.events()}
        for kind in ("member_removed", "produce_retry", "fault_broker_down", "fault_slow"):
            event(f"trace has {kind}: {kind in kinds}")


SagaMachine.TestCase.settings = settings(
    stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestSagaMachine = SagaMachine.TestCase


# ---------------------------------------------------------------- the script format itself

EVERY_OP_SCRIPT = {
    "scenario": "saga-machine", "seed": 11, "mode": "sim",
    "setup": {"stock": {"prod_123": 3, "prod_456": 2, "prod_ignore": 100},
              "instances": {"order": 1, "payment": 2, "inventory": 1}},
    "steps": [
        {"op": "place_order", "customer_id": "cust_a", "product_id": "prod_123", "quantity": 2, "amount": 25.5},
        {"op": "place_order", "customer_id": "cust_b", "product_id": "prod_ignore", "quantity": 1, "amount": 9.99},
        {"op": "place_invalid", "body": {"customerId": "cust_a", "productId": "prod_123", "quantity": 0,
                                         "amount": 1}},
        {"op": "inject", "topic": "payments", "partition": 1, "value_hex": "00ff", "key": None},
        {"op": "crash_mid_step", "instance": "inventory-0", "at": "before_commit"},
        {"op": "start", "service": "inventory"},
        {"op": "place_order", "customer_id": "cust_c", "product_id": "prod_123", "quantity": 2, "amount": 12},
        {"op": "crash_mid_step", "instance": "payment-0", "at": "after_publish"},
        {"op": "slow", "instance": "payment-1", "ms": 20_000},
        {"op": "broker_down", "ms": 5_000},
        {"op": "lose_ack", "topic": "inventory"},
        {"op": "store_outage", "service": "inventory", "transactions": 3},
        {"op": "place_order", "customer_id": "cust_declined", "product_id": "prod_456", "quantity": 1, "amount": 3},
        {"op": "advance", "ms": 12_000},
        {"op": "crash", "instance": "order-0"},
        {"op": "stop", "instance": "payment-1"},
        {"op": "advance", "ms": 2_000},
        {"op": "quiet"},
    ],
}


def test_a_script_using_every_op_keeps_the_invariants_and_replays_byte_for_byte() -> None:
    first, second = replay(EVERY_OP_SCRIPT), replay(json.loads(json.dumps(EVERY_OP_SCRIPT)))
    assert first.world.trace.sha256() == second.world.trace.sha256()
    assert first.mid_step_deaths == 2, "both traps should have sprung"
    statuses = sorted(o.status.value for o in first.stores["order"].orders.values())
    assert statuses == ["CANCELLED", "CANCELLED", "CANCELLED", "COMPLETED"]
    assert json.loads(first.dumps())["steps"] == EVERY_OP_SCRIPT["steps"]


def test_the_replay_command_reports_a_passing_script(tmp_path, capsys) -> None:
    path = tmp_path / "script.json"
    path.write_text(json.dumps(EVERY_OP_SCRIPT))
    assert replay_main([str(path)]) == 0
    assert "passed: 4 orders" in capsys.readouterr().out

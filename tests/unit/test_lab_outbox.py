"""The outbox lab on the simulator, and the dual write under it: where each way of writing leaves an
order when the service dies at a fault point, the learner's wrong values refused in one line."""

from __future__ import annotations

import pytest

from adapters.memory_store import MemoryStore
from adapters.sim_broker import SimBroker
from scenarios.engine.knobs import KnobError
from services.fault_points import AFTER_DB_COMMIT, AFTER_PRODUCE, FaultPoints, OrderEvents
from services.ids import SeededIds
from services.order_api import OrderApi
from sim import World
from tests.unit.test_lab_helpers import edit_setting, lab_dir, lab_json  # noqa: F401  (lab_dir is a fixture)

BODY = {"customerId": "cust_1", "productId": "prod_123", "quantity": 1, "amount": 25.0}


class Died(Exception):
    """What the test's fault point raises: the process is gone."""


def _api(order_events: OrderEvents) -> tuple[OrderApi, MemoryStore, SimBroker]:
    broker = SimBroker(World(1, trace=False))
    store = MemoryStore()
    return OrderApi(store, broker.clock, SeededIds(1), order_events=order_events, broker=broker), store, broker


def _crash_at(api: OrderApi, point: str) -> None:
    def die(_: str) -> None:
        raise Died(point)

    api.fault_points.arm(point, die)


def _announced(broker: SimBroker) -> int:
    from services.ports import TopicSpec

    admin = broker.admin()
    admin.create_topics([TopicSpec("orders", 3)], exist_ok=True)
    return sum(lag.end for lag in admin.lag("nobody", ["orders"]))


@pytest.mark.parametrize(("order_events", "point", "stored", "announced"), [
    (OrderEvents.WRITE_THEN_PRODUCE, AFTER_DB_COMMIT, 1, 0),  # stored, never announced
    (OrderEvents.PRODUCE_THEN_WRITE, AFTER_PRODUCE, 0, 1),  # announced, never stored
])
def test_a_dual_write_killed_between_its_writes_leaves_exactly_one_written(order_events, point, stored, announced):
    api, store, broker = _api(order_events)
    _announced(broker)  # the topic exists, as the shop's startup makes it
    _crash_at(api, point)
    with pytest.raises(Died):
        api.place_order(BODY)
    with store.transaction() as tx:
        assert len(tx.list_orders()) == stored and tx.pending_outbox() == []
    assert _announced(broker) == announced


def test_the_relay_killed_after_the_commit_has_the_order_and_its_event_in_one_transaction():
    api, store, broker = _api(OrderEvents.RELAY)
    _announced(broker)
    _crash_at(api, AFTER_DB_COMMIT)
    with pytest.raises(Died):
        api.place_order(BODY)
    with store.transaction() as tx:
        (order,) = tx.list_orders()
        (entry,) = tx.pending_outbox()
    assert entry.topic == "orders" and entry.key == order.order_id.encode()  # a relay publishes it later
    assert _announced(broker) == 0


def test_a_fault_point_fires_once_and_an_unknown_one_is_refused():
    points, seen = FaultPoints(), []
    points.arm(AFTER_PRODUCE, seen.append)
    points.reached(AFTER_DB_COMMIT)
    points.reached(AFTER_PRODUCE)
    points.reached(AFTER_PRODUCE)
    assert seen == [AFTER_PRODUCE] and points.armed() == []
    with pytest.raises(ValueError, match="unknown fault point 'after-lunch'; the fault points are after-db-commit"):
        points.arm("after-lunch", seen.append)


def test_kafka_first_fails_with_its_own_hint_then_relay_passes(lab_dir, capsys):  # noqa: F811
    assert lab_json(capsys, "lab", "start", "outbox")[0] == 0
    edit_setting(lab_dir, "outbox", "order_events", '"produce-then-write"')
    code, verdict = lab_json(capsys, "lab", "check", "outbox")
    failed = {c["name"]: c["detail"] for c in verdict["checks"] if not c["passed"]}
    assert code == 1 and "announced_not_stored=1" in failed["no order announced but never stored"]
    assert "money charged - refunded == completed orders in the store (copies applied once)" in failed
    assert "charged" in verdict["hint"] and 'order_events = "relay"' in verdict["hint"]
    assert any("which the order store does not have" in line for line in verdict["notes"]), verdict["notes"]


def test_an_unknown_way_of_writing_is_refused_in_one_line_naming_the_setting(lab_dir, capsys):  # noqa: F811
    from scenarios.cli import main

    assert lab_json(capsys, "lab", "start", "outbox")[0] == 0
    edit_setting(lab_dir, "outbox", "order_events", '"sometimes"')
    capsys.readouterr()
    assert main(["lab", "check", "outbox"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "order_events" in err and "relay" in err, err
    assert "Traceback" not in err


def test_the_knob_is_typed(lab_dir):  # noqa: F811
    from scenarios import labs

    with pytest.raises(KnobError, match="order_events"):
        labs.get("outbox").knobs_of({"order_events": True})

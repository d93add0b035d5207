"""The saga's rules, one handler at a time, on the in-memory store (no broker)."""

from __future__ import annotations

import pytest

from adapters.memory_store import MemoryStore
from services.events import (
    INVENTORY_FAILED,
    INVENTORY_RESERVED,
    ORDER_CREATED,
    PAYMENT_COMPLETED,
    PAYMENT_FAILED,
    PAYMENT_REFUNDED,
    Event,
)
from services.ports import Order, OrderStatus, PaymentStatus, Record
from services.runner import FailedRecord, ProcessingError
from services.saga import InventoryHandler, OrderHandler, PaymentHandler, payment_decision


def order_fields(order_id="o1", customer="cust_happy_path", product="prod_123", quantity=2, cents=25050):
    return {"orderId": order_id, "customerId": customer, "productId": product, "quantity": quantity,
            "amountCents": cents}


def run(handler, store: MemoryStore, event: Event) -> list[Event]:
    with store.transaction() as tx:
        return handler.handle(tx, event, 5)


def test_payment_rule() -> None:
    assert payment_decision("cust_happy_path", 25050) is None
    assert "declined" in payment_decision("cust_declined", 100)
    assert payment_decision("c", 0) is not None
    assert payment_decision("c", 1_000_000) is None
    assert "limit" in payment_decision("c", 1_000_001)


def test_payment_charges_an_order_once_and_passes_its_details_on() -> None:
    store, handler = MemoryStore(), PaymentHandler()
    created = Event.caused_by("o1", ORDER_CREATED, **order_fields())
    (out,) = run(handler, store, created)
    assert (out.event_type, out.causation_id, dict(out.data)) == (PAYMENT_COMPLETED, created.event_id, order_fields())
    assert store.payments["o1"].status is PaymentStatus.CHARGED
    assert run(handler, store, Event.caused_by("copy", ORDER_CREATED, **order_fields())) == []


def test_payment_declines_and_records_it() -> None:
    store = MemoryStore()
    (out,) = run(PaymentHandler(), store, Event.caused_by("o1", ORDER_CREATED, **order_fields(customer="cust_declined")))
    assert out.event_type == PAYMENT_FAILED
    assert store.payments["o1"].status is PaymentStatus.DECLINED


def test_inventory_failure_is_refunded_exactly_once() -> None:
    store, handler = MemoryStore(), PaymentHandler()
    run(handler, store, Event.caused_by("o1", ORDER_CREATED, **order_fields()))
    failed = Event.caused_by("x", INVENTORY_FAILED, orderId="o1", reason="insufficient")
    (out,) = run(handler, store, failed)
    assert (out.event_type, out.data["amountCents"]) == (PAYMENT_REFUNDED, 25050)
    assert run(handler, store, Event.caused_by("y", INVENTORY_FAILED, orderId="o1", reason="again")) == []
    assert run(handler, store, Event.caused_by("z", INVENTORY_FAILED, orderId="unknown", reason="r")) == []


def test_inventory_reserves_or_refuses_and_never_goes_negative() -> None:
    store, handler = MemoryStore(), InventoryHandler()
    with store.transaction() as tx:
        tx.seed_stock("prod_123", 5)
    (ok,) = run(handler, store, Event.caused_by("a", PAYMENT_COMPLETED, **order_fields(quantity=2)))
    (no,) = run(handler, store, Event.caused_by("b", PAYMENT_COMPLETED, **order_fields("o2", quantity=10)))
    (unknown,) = run(handler, store, Event.caused_by("c", PAYMENT_COMPLETED, **order_fields("o3", product="zz")))
    assert [ok.event_type, no.event_type, unknown.event_type] == [INVENTORY_RESERVED, INVENTORY_FAILED, INVENTORY_FAILED]
    assert store.stock == {"prod_123": 3}
    assert run(handler, store, Event.caused_by("d", PAYMENT_FAILED, orderId="o4", reason="r")) == []


def test_inventory_raises_a_logic_error_for_the_poison_product() -> None:
    with pytest.raises(ProcessingError):
        run(InventoryHandler(), MemoryStore(), Event.caused_by("a", PAYMENT_COMPLETED, **order_fields(product="prod_ignore")))


@pytest.mark.parametrize(
    ("event", "status"),
    [
        (Event.caused_by("a", INVENTORY_RESERVED, orderId="o1", productId="p", quantity=1), OrderStatus.COMPLETED),
        (Event.caused_by("a", PAYMENT_FAILED, orderId="o1", reason="declined"), OrderStatus.CANCELLED),
        (Event.caused_by("a", PAYMENT_REFUNDED, orderId="o1", amountCents=1, reason="r"), OrderStatus.CANCELLED),
    ],
)
def test_order_reaches_its_final_status_and_keeps_it(event: Event, status: OrderStatus) -> None:
    store, handler = MemoryStore(), OrderHandler()
    with store.transaction() as tx:
        tx.insert_order(Order("o1", "c", "p", 1, 100))
    assert run(handler, store, event) == []
    assert store.orders["o1"].status is status
    late = Event.caused_by("late", PAYMENT_FAILED, orderId="o1", reason="late")
    run(handler, store, late)
    assert store.orders["o1"].status is status


def undecodable(event_type: str, order_id: str) -> FailedRecord:
    headers = (("correlation-id", order_id.encode()), ("event-type", event_type.encode()))
    return FailedRecord(Record("payments", 1, 9, order_id.encode(), b"\xff", headers), None, ValueError("bad"), 1)


def test_a_dead_lettered_payment_completed_becomes_inventory_failed() -> None:
    with MemoryStore().transaction() as tx:
        (out,) = InventoryHandler().on_dead_letter(tx, undecodable(PAYMENT_COMPLETED, "o1"), 0)
    assert (out.event_type, out.order_id, out.causation_id) == (INVENTORY_FAILED, "o1", "payments/1/9")


def test_a_dead_lettered_order_created_is_declined_so_a_later_copy_does_nothing() -> None:
    store, handler = MemoryStore(), PaymentHandler()
    with store.transaction() as tx:
        (out,) = handler.on_dead_letter(tx, undecodable(ORDER_CREATED, "o1"), 0)
    assert out.event_type == PAYMENT_FAILED
    assert run(handler, store, Event.caused_by("o1", ORDER_CREATED, **order_fields())) == []


def test_a_record_without_an_order_id_compensates_nothing() -> None:
    bare = FailedRecord(Record("payments", 0, 1, None, b"\xff"), None, ValueError("bad"), 1)
    with MemoryStore().transaction() as tx:
        assert InventoryHandler().on_dead_letter(tx, bare, 0) == []
        assert PaymentHandler().on_dead_letter(tx, bare, 0) == []
        assert OrderHandler().on_dead_letter(tx, bare, 0) == []

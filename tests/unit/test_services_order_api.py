"""Order validation and placement: bad bodies name their field and write nothing."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from adapters.memory_store import MemoryStore
from services.events import decode
from services.ids import SeededIds
from services.order_api import OrderApi, ValidationError, validate_order
from services.ports import OrderStatus, Record

HAPPY = {"customerId": "cust_happy_path", "productId": "prod_123", "quantity": 2, "amount": 250.50}


class FixedClock:
    def __init__(self) -> None:
        self.now = 1_000

    def now_ms(self) -> int:
        return self.now

    def sleep(self, ms: int) -> None:
        self.now += ms


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"customerId": ""}, "customerId"),
        ({"customerId": "   "}, "customerId"),
        ({"customerId": 5}, "customerId"),
        ({"customerId": None}, "customerId"),
        ({"productId": "prod_nope"}, "productId"),
        ({"productId": 123}, "productId"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": -1}, "quantity"),
        ({"quantity": True}, "quantity"),
        ({"quantity": 2.0}, "quantity"),
        ({"quantity": "2"}, "quantity"),
        ({"quantity": 10**9}, "quantity"),
        ({"amount": 0}, "amount"),
        ({"amount": -1.5}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": "250.50"}, "amount"),
        ({"amount": float("nan")}, "amount"),
        ({"amount": float("inf")}, "amount"),
        ({"amount": 0.001}, "amount"),
        ({"amount": 10**12}, "amount"),
        ({"amount": 10**5000}, "amount"),  # past int-to-str's 4,300-digit limit
        ({"amount": Decimal("1." + "0" * 60 + "1")}, "amount"),  # 28-digit arithmetic would round it
        ({"amount": Decimal("NaN")}, "amount"),
        ({"customerId": "cust\x00"}, "customerId"),  # PostgreSQL cannot store NUL
        ({"customerId": "cust\x9b"}, "customerId"),
        ({"customerId": "cust\ud800"}, "customerId"),  # cannot be encoded as UTF-8
        ({"customerId": "c" * 65}, "customerId"),
        ({"productId": "prod_\x00"}, "productId"),
    ],
)
def test_invalid_field_is_named(change: dict, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        validate_order({**HAPPY, **change})
    assert info.value.field == field


@pytest.mark.parametrize("missing", sorted(HAPPY))
def test_missing_field_is_named(missing: str) -> None:
    body = {k: v for k, v in HAPPY.items() if k != missing}
    with pytest.raises(ValidationError) as info:
        validate_order(body)
    assert info.value.field == missing


@pytest.mark.parametrize("raw", [b"{not json", b"[]", "42", b"\xff"])
def test_a_body_that_is_not_a_json_object_is_rejected(raw) -> None:
    with pytest.raises(ValidationError) as info:
        validate_order(raw)
    assert info.value.field == "body"


def test_amounts_become_exact_cents() -> None:
    assert validate_order(HAPPY).amount_cents == 25050
    assert validate_order({**HAPPY, "amount": 99}).amount_cents == 9900
    assert validate_order({**HAPPY, "amount": 0.1}).amount_cents == 10
    assert validate_order(json.dumps(HAPPY).encode()).amount_cents == 25050
    assert validate_order({**HAPPY, "amount": Decimal("250.500")}).amount_cents == 25050
    assert validate_order({**HAPPY, "amount": Decimal("1E+3")}).amount_cents == 100000


def test_place_order_stores_pending_order_and_queues_order_created() -> None:
    store = MemoryStore()
    api = OrderApi(store, FixedClock(), SeededIds(1))
    order = api.place_order(HAPPY)
    assert order.status is OrderStatus.PENDING
    assert (order.customer_id, order.product_id, order.quantity, order.amount_cents) == (
        "cust_happy_path", "prod_123", 2, 25050,
    )
    assert api.get_order(order.order_id) == order
    (entry,) = store.outbox.values()
    event = decode(Record(entry.topic, 0, 0, entry.key, entry.value, entry.headers))
    assert (entry.topic, entry.key, event.event_type) == ("orders", order.order_id.encode(), "OrderCreated")
    assert event.data["amountCents"] == 25050


def test_rejected_order_writes_and_queues_nothing() -> None:
    store = MemoryStore()
    api = OrderApi(store, FixedClock(), SeededIds(1))
    with pytest.raises(ValidationError):
        api.place_order({**HAPPY, "quantity": 0})
    assert store.orders == {} and store.outbox == {}


def test_seeded_ids_repeat_per_seed() -> None:
    a, b, c = SeededIds(7), SeededIds(7), SeededIds(8)
    first = [a.new_id() for _ in range(3)]
    assert first == [b.new_id() for _ in range(3)]
    assert first != [c.new_id() for _ in range(3)]
    assert len(set(first)) == 3

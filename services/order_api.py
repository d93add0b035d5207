"""Placing an order: the command behind ``POST /orders``, with no HTTP in it.

``OrderApi.place_order(body)`` validates the body, then in ONE store transaction inserts the order as
PENDING and puts its OrderCreated in the order service's outbox. The next order-service step (any
instance) publishes it; ``OrderService.publish_pending()`` does it at once if the caller wants. A body
that fails validation raises ``ValidationError`` naming the field, and nothing is written or produced.

Body rules: ``customerId`` non-empty string; ``productId`` a product of the catalog; ``quantity`` an
integer (not a bool) from 1 to 1,000,000; ``amount`` a number (not a bool) above 0, at most
10,000,000 and with at most two decimals (money is kept in integer cents).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from services.catalog import DEFAULT_CATALOG, Catalog
from services.codec import JSON, Codec
from services.events import ORDER_CREATED, Event, Topics
from services.ids import IdGenerator
from services.ports import Clock, Order, StateStore

MAX_QUANTITY = 1_000_000
MAX_AMOUNT = Decimal(10_000_000)
_MAX_WHOLE_AMOUNT = 10_000_000  # MAX_AMOUNT as an int


class ValidationError(ValueError):
    """The order body is invalid; ``field`` names the offending field (``body`` for the whole)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class OrderRequest:
    customer_id: str
    product_id: str
    quantity: int
    amount_cents: int


def parse_body(body: Mapping[str, Any] | bytes | str) -> Mapping[str, Any]:
    if isinstance(body, bytes | str):
        try:
            body = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            raise ValidationError("body", "must be a JSON object") from None
    if not isinstance(body, Mapping):
        raise ValidationError("body", "must be a JSON object")
    return body


def validate_order(body: Mapping[str, Any] | bytes | str, catalog: Catalog = DEFAULT_CATALOG) -> OrderRequest:
    """The request in ``body``, or ValidationError naming the first bad field."""
    body = parse_body(body)
    customer_id = body.get("customerId")
    if not isinstance(customer_id, str) or not customer_id.strip():
        raise ValidationError("customerId", "must be a non-empty string")
    product_id = body.get("productId")
    if not isinstance(product_id, str) or not product_id:
        raise ValidationError("productId", "must be a non-empty string")
    if not catalog.knows(product_id):
        raise ValidationError("productId", f"unknown product {product_id!r}")
    quantity = body.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise ValidationError("quantity", "must be an integer")
    if not 0 < quantity <= MAX_QUANTITY:
        raise ValidationError("quantity", f"must be between 1 and {MAX_QUANTITY}")
    return OrderRequest(customer_id, product_id, quantity, amount_to_cents(body.get("amount")))


def amount_to_cents(amount: Any) -> int:
    cents = _plain_cents(amount)
    if cents is not None:
        return cents
    if isinstance(amount, bool) or not isinstance(amount, int | float):
        raise ValidationError("amount", "must be a number")
    if isinstance(amount, float) and not math.isfinite(amount):
        raise ValidationError("amount", "must be a finite number")
    try:
        # str() first: 250.5 becomes Decimal("250.5"), not the binary float's long expansion.
        exact = Decimal(str(amount))
    except InvalidOperation:
        raise ValidationError("amount", "must be a number") from None
    if exact <= 0 or exact > MAX_AMOUNT:
        raise ValidationError("amount", f"must be above 0 and at most {MAX_AMOUNT}")
    cents = exact * 100
    if cents != cents.to_integral_value():
        raise ValidationError("amount", "must have at most two decimals")
    return int(cents)


def _plain_cents(amount: Any) -> int | None:
    """The cents of a plainly valid amount (an int, or a float written with at most two decimals, in
    range) without Decimal arithmetic; None sends anything else through the full checks."""
    kind = amount.__class__
    if kind is int:
        return amount * 100 if 0 < amount <= _MAX_WHOLE_AMOUNT else None
    if kind is not float:
        return None
    whole, dot, decimals = repr(amount).partition(".")  # repr is what Decimal(str(amount)) reads
    if not dot or len(decimals) > 2 or not (whole.isdigit() and decimals.isdigit()):
        return None  # exponent, sign, nan/inf or more decimals: the full checks decide
    cents = int(whole) * 100 + int(decimals.ljust(2, "0"))
    return cents if 0 < cents <= _MAX_WHOLE_AMOUNT * 100 else None


class OrderApi:
    """The order service's command side: validate, store PENDING, queue OrderCreated."""

    def __init__(
        self,
        store: StateStore,
        clock: Clock,
        ids: IdGenerator,
        *,
        catalog: Catalog = DEFAULT_CATALOG,
        topics: Topics | None = None,
        codec: Codec = JSON,
    ) -> None:
        self.codec = codec
        self.store = store
        self.clock = clock
        self.ids = ids
        self.catalog = catalog
        self.topics = topics or Topics()

    def place_order(self, body: Mapping[str, Any] | bytes | str) -> Order:
        """Accept an order (PENDING) or raise ValidationError; StoreError if the database fails."""
        request = validate_order(body, self.catalog)
        now = self.clock.now_ms()
        order = Order(
            order_id=self.ids.new_id(),
            customer_id=request.customer_id,
            product_id=request.product_id,
            quantity=request.quantity,
            amount_cents=request.amount_cents,
            created_ms=now,
            updated_ms=now,
        )
        created = Event.caused_by(
            order.order_id,
            ORDER_CREATED,
            orderId=order.order_id,
            customerId=order.customer_id,
            productId=order.product_id,
            quantity=order.quantity,
            amountCents=order.amount_cents,
        )
        with self.store.transaction() as tx:
            tx.insert_order(order)
            tx.add_outbox(*self.codec.encode(created, self.topics))
        return order

    def get_order(self, order_id: str) -> Order | None:
        with self.store.transaction() as tx:
            return tx.get_order(order_id)

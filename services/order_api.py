"""Placing an order: the command behind ``POST /orders``, with no HTTP in it.

``OrderApi.place_order(body)`` validates the body, then in ONE store transaction inserts the order as
PENDING and puts its OrderCreated in the order service's outbox. The next order-service step (any
instance) publishes it; ``OrderService.publish_pending()`` does it at once if the caller wants. A body
that fails validation raises ``ValidationError`` naming the field, and nothing is written or produced.

That is ``order_events=relay``, the default. The other two values are the dual write the outbox lab
shows on purpose (services.fault_points.OrderEvents): the database and Kafka written one after the
other from the request, each in its own "transaction", so a crash between them (the fault points
``after-db-commit`` and ``after-produce``) leaves one written and the other not.

Body rules: ``customerId`` a non-blank string of at most 64 characters with no control characters
and no lone surrogates (text the order store and the events must carry as it is); ``productId`` a
product of the catalog; ``quantity`` an integer (not a bool) from 1 to 1,000,000; ``amount`` a number
(an int, float or Decimal, not a bool) above 0, at most 10,000,000 and with at most two decimals
(money is kept in integer cents).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from services.catalog import DEFAULT_CATALOG, Catalog
from services.codec import JSON, Codec
from services.events import ORDER_CREATED, Event, Topics
from services.fault_points import AFTER_DB_COMMIT, AFTER_PRODUCE, FaultPoints, OrderEvents
from services.ids import IdGenerator
from services.ports import Broker, Clock, Order, Producer, ProducerConfig, StateStore

MAX_QUANTITY = 1_000_000
MAX_AMOUNT = Decimal(10_000_000)
_CENT = Decimal("0.01")
_AMOUNT_RANGE = f"must be above 0 and at most {MAX_AMOUNT}"
_MAX_WHOLE_AMOUNT = 10_000_000  # MAX_AMOUNT as an int
MAX_TEXT_LENGTH = 64
# C0 and C1 control characters (NUL included), and surrogates: a lone one cannot be encoded as UTF-8.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")


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
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            raise ValidationError("body", "must be a JSON object") from None
    if not isinstance(body, Mapping):
        raise ValidationError("body", "must be a JSON object")
    return body


def validate_order(body: Mapping[str, Any] | bytes | str, catalog: Catalog = DEFAULT_CATALOG) -> OrderRequest:
    """The request in ``body``, or ValidationError naming the first bad field."""
    body = parse_body(body)
    customer_id = check_text("customerId", body.get("customerId"))
    product_id = check_text("productId", body.get("productId"))
    if not catalog.knows(product_id):
        raise ValidationError("productId", f"unknown product {product_id!r}")
    quantity = body.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise ValidationError("quantity", "must be an integer")
    if not 0 < quantity <= MAX_QUANTITY:
        raise ValidationError("quantity", f"must be between 1 and {MAX_QUANTITY}")
    return OrderRequest(customer_id, product_id, quantity, amount_to_cents(body.get("amount")))


def check_text(field: str, value: Any) -> str:
    """``value`` if it is a non-blank string fit to store as it is, else ValidationError naming ``field``."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, "must be a non-empty string")
    if len(value) > MAX_TEXT_LENGTH:
        raise ValidationError(field, f"must be at most {MAX_TEXT_LENGTH} characters")
    if _CONTROL_CHARACTERS.search(value):
        raise ValidationError(field, "must not contain control characters")
    if _SURROGATES.search(value):
        raise ValidationError(field, "must be valid Unicode (no lone surrogates)")
    return value


def amount_to_cents(amount: Any) -> int:
    cents = _plain_cents(amount)
    if cents is not None:
        return cents
    if isinstance(amount, bool) or not isinstance(amount, int | float | Decimal):
        raise ValidationError("amount", "must be a number")
    if isinstance(amount, int):  # an int in range took the plain path; str() of a huge one would fail
        raise ValidationError("amount", _AMOUNT_RANGE)
    finite = amount.is_finite() if isinstance(amount, Decimal) else math.isfinite(amount)
    if not finite:
        raise ValidationError("amount", "must be a finite number")
    try:
        # str() first: 250.5 becomes Decimal("250.5"), not the binary float's long expansion.
        exact = Decimal(str(amount))
    except InvalidOperation:
        raise ValidationError("amount", "must be a number") from None
    if exact <= 0 or exact > MAX_AMOUNT:
        raise ValidationError("amount", _AMOUNT_RANGE)
    # quantize, not exact * 100: multiplying rounds to the context's 28 digits, so 1.000...0001 with
    # thousands of digits would pass as 1.00. An in-range amount in cents has at most 12 digits.
    whole_cents = exact.quantize(_CENT, rounding=ROUND_DOWN)
    if whole_cents != exact:
        raise ValidationError("amount", "must have at most two decimals")
    return int(whole_cents * 100)


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
        order_events: OrderEvents = OrderEvents.RELAY,
        broker: Broker | None = None,
    ) -> None:
        self.codec = codec
        self.order_events = OrderEvents(order_events)
        if self.order_events is not OrderEvents.RELAY and broker is None:
            raise ValueError(f"order_events={self.order_events.value} produces from the API: it needs a broker")
        self._broker = broker
        self._producer: Producer | None = None
        self.fault_points = FaultPoints()  # where a world may crash the order service mid-request
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
        if self.order_events is OrderEvents.RELAY:
            with self.store.transaction() as tx:
                tx.insert_order(order)
                tx.add_outbox(*self.codec.encode(created, self.topics))
            self.fault_points.reached(AFTER_DB_COMMIT)
        elif self.order_events is OrderEvents.WRITE_THEN_PRODUCE:  # the dual write, database first
            with self.store.transaction() as tx:
                tx.insert_order(order)
            self.fault_points.reached(AFTER_DB_COMMIT)
            self._produce_now(created)
            self.fault_points.reached(AFTER_PRODUCE)
        else:  # the dual write, Kafka first
            self._produce_now(created)
            self.fault_points.reached(AFTER_PRODUCE)
            with self.store.transaction() as tx:
                tx.insert_order(order)
            self.fault_points.reached(AFTER_DB_COMMIT)
        return order

    def _produce_now(self, event: Event) -> None:
        """Straight to Kafka, waiting for the ack: what a dual write does (BrokerError if it fails)."""
        if self._producer is None:
            assert self._broker is not None
            self._producer = self._broker.producer(ProducerConfig(client_id="order-api", enable_idempotence=True))
        topic, key, value, headers = self.codec.encode(event, self.topics)
        self._producer.produce(topic, value, key=key, headers=headers)
        self._producer.flush()

    def close(self) -> None:
        """Release the producer a dual write made."""
        if self._producer is not None:
            producer, self._producer = self._producer, None
            producer.close()

    def get_order(self, order_id: str) -> Order | None:
        with self.store.transaction() as tx:
            return tx.get_order(order_id)

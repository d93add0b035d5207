"""The order saga, choreographed: each service reacts to the others' events; nobody orchestrates.

    place_order -> order PENDING, OrderCreated (orders)
    payment:   OrderCreated -> PaymentCompleted | PaymentFailed (payments)
    inventory: PaymentCompleted -> InventoryReserved | InventoryFailed (inventory)
    payment:   InventoryFailed -> PaymentRefunded (payments), the compensation
    order:     InventoryReserved -> COMPLETED; PaymentFailed | PaymentRefunded -> CANCELLED

Payment rule: declined (PaymentFailed) when the customer is ``cust_declined``, the amount is not
positive, or it exceeds the per-order limit of 10,000.00; otherwise the amount is charged.

Dead letters and terminal states. A record a service cannot process goes to ``<source topic>.dlq``
(so ``prod_ignore``, which the inventory service rejects with a logic error, lands in
``payments.dlq`` with consumer group ``inventory-service``). We treat a dead-lettered saga step as
that step *failing*, so the saga compensates and every accepted order still ends COMPLETED or
CANCELLED with the money balanced:

- inventory dead-letters a PaymentCompleted -> it emits InventoryFailed -> payment refunds -> the
  order is CANCELLED. (This is the prod_ignore path.)
- payment dead-letters an OrderCreated -> it records a DECLINED payment and emits PaymentFailed ->
  CANCELLED; a later intact copy then finds the payment and does nothing.
- payment dead-letters an InventoryFailed -> it refunds anyway: a compensation must not be lost.
- order dead-letters an outcome -> it applies the outcome the record's ``event-type`` header names.

When a record did not even decode, the order id comes from the ``correlation-id`` header (else the
key) and the type from the ``event-type`` header; with neither there is no saga to finish. The DLQ
still holds every poison record for inspection and replay.
"""

from __future__ import annotations

from services.catalog import DEFAULT_CATALOG, Catalog
from services.events import (
    INVENTORY_FAILED,
    INVENTORY_RESERVED,
    ORDER_CREATED,
    PAYMENT_COMPLETED,
    PAYMENT_FAILED,
    PAYMENT_REFUNDED,
    Event,
    Topics,
)
from services.handling import FailedRecord, ProcessingError
from services.ports import OrderStatus, Payment, PaymentStatus, StoreTransaction

DECLINED_CUSTOMERS = frozenset({"cust_declined"})
ORDER_LIMIT_CENTS = 1_000_000


def payment_decision(customer_id: str, amount_cents: int) -> str | None:
    """Why the payment is declined, or None if it is charged."""
    if customer_id in DECLINED_CUSTOMERS:
        return f"customer {customer_id} is declined"
    if amount_cents <= 0:
        return "amount must be positive"
    if amount_cents > ORDER_LIMIT_CENTS:
        return f"amount {amount_cents / 100:.2f} exceeds the limit {ORDER_LIMIT_CENTS / 100:.2f}"
    return None


class OrderHandler:
    """Order service: turns the saga's outcomes into the order's final status."""

    group_id = "order-service"
    event_types = frozenset({INVENTORY_RESERVED, PAYMENT_FAILED, PAYMENT_REFUNDED})

    def subscriptions(self, topics: Topics) -> list[str]:
        return [topics.payments, topics.inventory]

    def handle(self, tx: StoreTransaction, event: Event, now_ms: int) -> list[Event]:
        outcome = _ORDER_OUTCOMES.get(event.event_type)
        if outcome is not None:
            reason = event.data.get("reason") or outcome[1]
            # Unknown or already-final orders are left alone: a late duplicate cannot flip an outcome.
            tx.set_order_status(event.order_id, outcome[0], reason=reason, now_ms=now_ms)
        return []

    def on_dead_letter(self, tx: StoreTransaction, failed: FailedRecord, now_ms: int) -> list[Event]:
        outcome = _ORDER_OUTCOMES.get(failed.event_type or "")
        if outcome is not None and failed.order_id:
            reason = f"{outcome[1]} (record dead-lettered: {failed.error})"
            tx.set_order_status(failed.order_id, outcome[0], reason=reason, now_ms=now_ms)
        return []


_ORDER_OUTCOMES = {
    INVENTORY_RESERVED: (OrderStatus.COMPLETED, "stock reserved"),
    PAYMENT_FAILED: (OrderStatus.CANCELLED, "payment failed"),
    PAYMENT_REFUNDED: (OrderStatus.CANCELLED, "payment refunded"),
}


class PaymentHandler:
    """Payment service: charges (or declines) new orders and refunds when inventory fails."""

    group_id = "payment-service"
    event_types = frozenset({ORDER_CREATED, INVENTORY_FAILED})

    def subscriptions(self, topics: Topics) -> list[str]:
        return [topics.orders, topics.inventory]

    def handle(self, tx: StoreTransaction, event: Event, now_ms: int) -> list[Event]:
        if event.event_type == ORDER_CREATED:
            return self._charge(tx, event)
        if event.event_type == INVENTORY_FAILED:
            return self._refund(tx, event.order_id, event.event_id, f"inventory failed: {event.data['reason']}")
        return []

    def _charge(self, tx: StoreTransaction, event: Event) -> list[Event]:
        d = event.data
        if tx.get_payment(event.order_id) is not None:
            return []  # this order was decided already (e.g. a copy of a dead-lettered OrderCreated)
        declined = payment_decision(d["customerId"], d["amountCents"])
        status = PaymentStatus.DECLINED if declined else PaymentStatus.CHARGED
        tx.record_payment(Payment(event.order_id, d["customerId"], d["amountCents"], status))
        if declined:
            return [Event.caused_by(event.event_id, PAYMENT_FAILED, orderId=event.order_id, reason=declined)]
        return [Event.caused_by(event.event_id, PAYMENT_COMPLETED, **d)]

    def _refund(self, tx: StoreTransaction, order_id: str, cause_id: str, reason: str) -> list[Event]:
        payment = tx.get_payment(order_id)
        if payment is None or not tx.refund_payment(order_id):
            return []
        return [
            Event.caused_by(
                cause_id, PAYMENT_REFUNDED, orderId=order_id, amountCents=payment.amount_cents, reason=reason
            )
        ]

    def on_dead_letter(self, tx: StoreTransaction, failed: FailedRecord, now_ms: int) -> list[Event]:
        order_id = failed.order_id
        if not order_id:
            return []
        if failed.event_type == ORDER_CREATED and tx.get_payment(order_id) is None:
            customer = failed.event.data["customerId"] if failed.event else "unknown"
            tx.record_payment(Payment(order_id, customer, 0, PaymentStatus.DECLINED))
            reason = f"payment could not process the order: {failed.error}"
            return [Event.caused_by(failed.cause_id, PAYMENT_FAILED, orderId=order_id, reason=reason)]
        if failed.event_type == INVENTORY_FAILED:
            return self._refund(tx, order_id, failed.cause_id, "inventory failed (its event was dead-lettered)")
        return []


class InventoryHandler:
    """Inventory service: reserves stock for paid orders; never lets stock go below zero."""

    group_id = "inventory-service"
    event_types = frozenset({PAYMENT_COMPLETED})

    def __init__(self, catalog: Catalog = DEFAULT_CATALOG) -> None:
        self.catalog = catalog

    def subscriptions(self, topics: Topics) -> list[str]:
        return [topics.payments]

    def handle(self, tx: StoreTransaction, event: Event, now_ms: int) -> list[Event]:
        if event.event_type != PAYMENT_COMPLETED:
            return []
        product, quantity = event.data["productId"], event.data["quantity"]
        if product in self.catalog.poison_products:
            raise ProcessingError(f"inventory cannot handle product {product!r} (the DLQ lab's poison pill)")
        if quantity > 0 and tx.reserve_stock(product, quantity):
            return [
                Event.caused_by(
                    event.event_id, INVENTORY_RESERVED, orderId=event.order_id, productId=product, quantity=quantity
                )
            ]
        reason = f"insufficient stock of {product} for quantity {quantity}"
        return [Event.caused_by(event.event_id, INVENTORY_FAILED, orderId=event.order_id, reason=reason)]

    def on_dead_letter(self, tx: StoreTransaction, failed: FailedRecord, now_ms: int) -> list[Event]:
        if failed.event_type != PAYMENT_COMPLETED or not failed.order_id:
            return []
        reason = f"inventory could not process the order: {failed.error}"
        return [Event.caused_by(failed.cause_id, INVENTORY_FAILED, orderId=failed.order_id, reason=reason)]

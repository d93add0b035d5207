"""The in-memory state store: the default in the simulator, checked by the same contract as PostgreSQL.

A transaction writes into its own overlay and reads through it; only a clean exit applies the overlay,
so an exception leaves the store untouched. One lock is held for the whole transaction, which makes
transactions serializable (there is no concurrency to speak of in the simulator anyway).
``fail_next(n)`` makes the next n transactions raise StoreUnavailable, to exercise outage handling.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace

from services.ports import (
    Headers,
    Order,
    OrderStatus,
    OutboxEntry,
    Payment,
    PaymentStatus,
    PaymentTotals,
    StoreConflict,
    StoreUnavailable,
)


class MemoryStore:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.orders: dict[str, Order] = {}
        self.payments: dict[str, Payment] = {}
        self.stock: dict[str, int] = {}
        self.processed: set[tuple[str, str]] = set()
        self.outbox: dict[int, OutboxEntry] = {}
        self.next_seq = 1
        self._failures_left = 0

    def fail_next(self, transactions: int) -> None:
        """Make the next ``transactions`` transactions fail with StoreUnavailable (a database outage)."""
        self._failures_left = transactions

    def transaction(self) -> _TransactionScope:
        return _TransactionScope(self)

    def close(self) -> None:
        pass


class _TransactionScope:
    """The context manager (a class rather than @contextmanager: it is on the hot path)."""

    __slots__ = ("_store", "_tx")

    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    def __enter__(self) -> _MemoryTransaction:
        store = self._store
        store._lock.acquire()
        if store._failures_left > 0:
            store._failures_left -= 1
            store._lock.release()
            raise StoreUnavailable("memory store: injected outage")
        self._tx = _MemoryTransaction(store)
        return self._tx

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self._tx._apply()
        finally:
            self._store._lock.release()


class _MemoryTransaction:
    def __init__(self, store: MemoryStore) -> None:
        self._s = store
        self._orders: dict[str, Order] = {}
        self._payments: dict[str, Payment] = {}
        self._stock: dict[str, int] = {}
        self._processed: set[tuple[str, str]] = set()
        self._outbox: list[tuple[str, bytes | None, bytes | None, Headers]] = []
        self._published: set[int] = set()

    def _apply(self) -> None:
        s = self._s
        s.orders.update(self._orders)
        s.payments.update(self._payments)
        s.stock.update(self._stock)
        s.processed |= self._processed
        for seq in self._published:
            s.outbox.pop(seq, None)
        for topic, key, value, headers in self._outbox:
            s.outbox[s.next_seq] = OutboxEntry(s.next_seq, topic, key, value, headers)
            s.next_seq += 1

    # ------------------------------------------------------------ orders

    def insert_order(self, order: Order) -> None:
        if self.get_order(order.order_id) is not None:
            raise StoreConflict(f"order {order.order_id} exists")
        self._orders[order.order_id] = order

    def get_order(self, order_id: str) -> Order | None:
        found = self._orders.get(order_id)
        return found if found is not None else self._s.orders.get(order_id)

    def set_order_status(self, order_id: str, status: OrderStatus, *, reason: str, now_ms: int) -> bool:
        order = self.get_order(order_id)
        if order is None or order.status.terminal:
            return False
        self._orders[order_id] = replace(order, status=OrderStatus(status), reason=reason, updated_ms=now_ms)
        return True

    def list_orders(self, status: OrderStatus | None = None) -> list[Order]:
        merged = {**self._s.orders, **self._orders}
        chosen = [o for o in merged.values() if status is None or o.status == status]
        return sorted(chosen, key=lambda o: (o.created_ms, o.order_id))

    # ------------------------------------------------------------ payments

    def record_payment(self, payment: Payment) -> None:
        if self.get_payment(payment.order_id) is not None:
            raise StoreConflict(f"order {payment.order_id} has a payment")
        self._payments[payment.order_id] = payment

    def get_payment(self, order_id: str) -> Payment | None:
        found = self._payments.get(order_id)
        return found if found is not None else self._s.payments.get(order_id)

    def refund_payment(self, order_id: str) -> bool:
        payment = self.get_payment(order_id)
        if payment is None or payment.status is not PaymentStatus.CHARGED:
            return False
        self._payments[order_id] = replace(payment, status=PaymentStatus.REFUNDED)
        return True

    def payment_totals(self) -> PaymentTotals:
        charged = refunded = 0
        for p in {**self._s.payments, **self._payments}.values():
            if p.status is not PaymentStatus.DECLINED:
                charged += p.amount_cents
            if p.status is PaymentStatus.REFUNDED:
                refunded += p.amount_cents
        return PaymentTotals(charged, refunded)

    # ------------------------------------------------------------ inventory

    def _get_stock(self, product_id: str) -> int | None:
        found = self._stock.get(product_id)
        return found if found is not None else self._s.stock.get(product_id)

    def seed_stock(self, product_id: str, quantity: int) -> None:
        if quantity < 0:
            raise ValueError("stock cannot be negative")
        if self._get_stock(product_id) is None:
            self._stock[product_id] = quantity

    def reserve_stock(self, product_id: str, quantity: int) -> bool:
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        have = self._get_stock(product_id)
        if have is None or have < quantity:
            return False
        self._stock[product_id] = have - quantity
        return True

    def release_stock(self, product_id: str, quantity: int) -> None:
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        have = self._get_stock(product_id)
        if have is None:
            raise StoreConflict(f"unknown product {product_id}")
        self._stock[product_id] = have + quantity

    def stock_levels(self) -> dict[str, int]:
        merged = {**self._s.stock, **self._stock}
        return dict(sorted(merged.items()))

    # ------------------------------------------------------------ idempotency and outbox

    def is_processed(self, group_id: str, event_id: str) -> bool:
        key = (group_id, event_id)
        return key in self._processed or key in self._s.processed

    def mark_processed(self, group_id: str, event_id: str) -> None:
        if self.is_processed(group_id, event_id):
            raise StoreConflict(f"{group_id} processed {event_id} already")
        self._processed.add((group_id, event_id))

    def add_outbox(self, topic: str, key: bytes | None, value: bytes | None, headers: Headers = ()) -> None:
        self._outbox.append((topic, key, value, tuple(headers)))

    def pending_outbox(self, limit: int = 1000) -> list[OutboxEntry]:
        found: list[OutboxEntry] = []
        for seq, entry in self._s.outbox.items():  # dict keeps seq order: entries are added ascending
            if len(found) >= limit:
                break
            if seq not in self._published:
                found.append(entry)
        return found

    def mark_published(self, seqs: Sequence[int]) -> None:
        self._published.update(seqs)


def memory_stores() -> dict[str, MemoryStore]:
    """One fresh store per service, as ``services.shop.build_shop`` expects."""
    return {"order": MemoryStore(), "payment": MemoryStore(), "inventory": MemoryStore()}

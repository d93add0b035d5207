"""The in-memory state store: the default in the simulator, checked by the same contract as PostgreSQL.

A transaction writes straight into the store's tables and keeps an undo log of what it overwrote; a
clean exit just drops the log, an exception replays it backwards, so the store is left untouched.
(Writing in place keeps the common case, a committed transaction, nearly free: it is on the hot path
of every consumed event.) One lock is held for the whole transaction, which makes transactions
serializable and hides uncommitted writes from other threads (there is no concurrency to speak of in
the simulator anyway). ``fail_next(n)`` makes the next n transactions raise StoreUnavailable, to
exercise outage handling.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from itertools import islice
from typing import Any

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

_ABSENT = object()  # an undo entry's old value when the key did not exist
_PUBLISHED = object()  # an undo entry's key for outbox entries mark_published removed (old: the entries)


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

    def transaction(self) -> _MemoryTransaction:
        return _MemoryTransaction(self)

    def close(self) -> None:
        pass


class _MemoryTransaction:
    """One transaction and its own context manager (one object, not a @contextmanager: hot path).
    Reads and writes the store's tables directly; every write first notes what it replaces."""

    __slots__ = ("_s", "_undo", "_first_seq")

    def __init__(self, store: MemoryStore) -> None:
        self._s = store
        self._undo: list[tuple[Any, Any, Any]] | None = None  # (table, key, old value or _ABSENT)

    def __enter__(self) -> _MemoryTransaction:
        store = self._s
        store._lock.acquire()
        if store._failures_left > 0:
            store._failures_left -= 1
            store._lock.release()
            raise StoreUnavailable("memory store: injected outage")
        self._first_seq = store.next_seq
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is not None:
                self._rollback()
        finally:
            self._s._lock.release()

    def _put(self, table: dict, key: Any, value: Any) -> None:
        undo = self._undo
        if undo is None:
            undo = self._undo = []
        undo.append((table, key, table.get(key, _ABSENT)))
        table[key] = value

    def _rollback(self) -> None:
        s = self._s
        s.next_seq = self._first_seq
        if self._undo is None:
            return
        reinserted_outbox = False
        for table, key, old in reversed(self._undo):
            if table is s.processed:
                table.discard(key)
            elif key is _PUBLISHED:
                table.update((entry.seq, entry) for entry in old)
                reinserted_outbox = True
            elif old is _ABSENT:
                table.pop(key, None)
            else:
                table[key] = old  # an existing key keeps its place in the dict
        if reinserted_outbox:  # entries deleted then restored went to the end: put seq order back
            entries = sorted(s.outbox.items())
            s.outbox.clear()
            s.outbox.update(entries)

    # ------------------------------------------------------------ orders

    def insert_order(self, order: Order) -> None:
        if order.order_id in self._s.orders:
            raise StoreConflict(f"order {order.order_id} exists")
        self._put(self._s.orders, order.order_id, order)

    def get_order(self, order_id: str) -> Order | None:
        return self._s.orders.get(order_id)

    def set_order_status(self, order_id: str, status: OrderStatus, *, reason: str, now_ms: int) -> bool:
        order = self._s.orders.get(order_id)
        if order is None or order.status.terminal:
            return False
        if status.__class__ is not OrderStatus:  # OrderStatus(member) is a slow no-op
            status = OrderStatus(status)
        # Built field by field rather than with dataclasses.replace, which is slow on a hot path.
        updated = Order(
            order.order_id, order.customer_id, order.product_id, order.quantity, order.amount_cents,
            status, reason, order.created_ms, now_ms,
        )
        self._put(self._s.orders, order_id, updated)
        return True

    def list_orders(self, status: OrderStatus | None = None) -> list[Order]:
        chosen = [o for o in self._s.orders.values() if status is None or o.status == status]
        return sorted(chosen, key=lambda o: (o.created_ms, o.order_id))

    # ------------------------------------------------------------ payments

    def record_payment(self, payment: Payment) -> None:
        if payment.order_id in self._s.payments:
            raise StoreConflict(f"order {payment.order_id} has a payment")
        self._put(self._s.payments, payment.order_id, payment)

    def get_payment(self, order_id: str) -> Payment | None:
        return self._s.payments.get(order_id)

    def refund_payment(self, order_id: str) -> bool:
        payment = self._s.payments.get(order_id)
        if payment is None or payment.status is not PaymentStatus.CHARGED:
            return False
        refunded = Payment(payment.order_id, payment.customer_id, payment.amount_cents, PaymentStatus.REFUNDED)
        self._put(self._s.payments, order_id, refunded)
        return True

    def payment_totals(self) -> PaymentTotals:
        charged = refunded = 0
        for p in self._s.payments.values():
            if p.status is not PaymentStatus.DECLINED:
                charged += p.amount_cents
            if p.status is PaymentStatus.REFUNDED:
                refunded += p.amount_cents
        return PaymentTotals(charged, refunded)

    # ------------------------------------------------------------ inventory

    def seed_stock(self, product_id: str, quantity: int) -> None:
        if quantity < 0:
            raise ValueError("stock cannot be negative")
        if product_id not in self._s.stock:
            self._put(self._s.stock, product_id, quantity)

    def reserve_stock(self, product_id: str, quantity: int) -> bool:
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        have = self._s.stock.get(product_id)
        if have is None or have < quantity:
            return False
        self._put(self._s.stock, product_id, have - quantity)
        return True

    def release_stock(self, product_id: str, quantity: int) -> None:
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        have = self._s.stock.get(product_id)
        if have is None:
            raise StoreConflict(f"unknown product {product_id}")
        self._put(self._s.stock, product_id, have + quantity)

    def stock_levels(self) -> dict[str, int]:
        return dict(sorted(self._s.stock.items()))

    # ------------------------------------------------------------ idempotency and outbox

    def is_processed(self, group_id: str, event_id: str) -> bool:
        return (group_id, event_id) in self._s.processed

    def mark_processed(self, group_id: str, event_id: str) -> None:
        key = (group_id, event_id)
        processed = self._s.processed
        if key in processed:
            raise StoreConflict(f"{group_id} processed {event_id} already")
        undo = self._undo
        if undo is None:
            undo = self._undo = []
        undo.append((processed, key, _ABSENT))
        processed.add(key)

    def claim_events(self, group_id: str, event_ids: Sequence[str]) -> set[str]:
        claimed = set()
        for event_id in event_ids:
            if event_id not in claimed and not self.is_processed(group_id, event_id):
                self.mark_processed(group_id, event_id)
                claimed.add(event_id)
        return claimed

    def add_outbox_many(self, entries: Sequence[tuple[str, bytes | None, bytes | None, Headers]]) -> None:
        for topic, key, value, headers in entries:
            self.add_outbox(topic, key, value, headers)

    def add_outbox(self, topic: str, key: bytes | None, value: bytes | None, headers: Headers = ()) -> None:
        s = self._s
        seq = s.next_seq
        s.next_seq = seq + 1  # the rollback restores the counter as it was when the transaction began
        if headers.__class__ is not tuple:
            headers = tuple(headers)
        self._put(s.outbox, seq, OutboxEntry(seq, topic, key, value, headers))

    def pending_outbox(self, limit: int = 1000) -> list[OutboxEntry]:
        # The dict keeps seq order: entries are added ascending (and a rollback restores that order).
        return list(islice(self._s.outbox.values(), max(limit, 0)))

    def mark_published(self, seqs: Sequence[int]) -> None:
        outbox = self._s.outbox
        removed = [outbox.pop(seq) for seq in seqs if seq in outbox]
        if removed:  # one undo entry for the lot: the rollback puts them back in seq order
            if self._undo is None:
                self._undo = []
            self._undo.append((outbox, _PUBLISHED, removed))


def memory_stores() -> dict[str, MemoryStore]:
    """One fresh store per service, as ``services.shop.build_shop`` expects."""
    return {"order": MemoryStore(), "payment": MemoryStore(), "inventory": MemoryStore()}

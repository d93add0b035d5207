"""The state store port: the typed transactions the order, payment and inventory services use.

Implemented by ``adapters.memory_store`` and ``adapters.postgres_store``; importable from
``services.ports`` like the broker port.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from services.port_types import Headers

# ---------------------------------------------------------------- state store port
# (owned by the services work: the StateStore protocol the order, payment and inventory services use)


class OrderStatus(StrEnum):
    """Where an order is in its saga. PENDING until an outcome arrives; the other two are final."""

    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"

    @property
    def terminal(self) -> bool:
        return self is not OrderStatus.PENDING


class PaymentStatus(StrEnum):
    """A payment's state: declined outright, charged, or charged then refunded."""

    DECLINED = "DECLINED"
    CHARGED = "CHARGED"
    REFUNDED = "REFUNDED"


@dataclass(frozen=True, slots=True)
class Order:
    """An order as the order service stores it. Money is integer cents, so totals add up exactly."""

    order_id: str
    customer_id: str
    product_id: str
    quantity: int
    amount_cents: int
    status: OrderStatus = OrderStatus.PENDING
    reason: str = ""
    created_ms: int = 0
    updated_ms: int = 0


@dataclass(frozen=True, slots=True)
class Payment:
    """The payment service's record of one order's money."""

    order_id: str
    customer_id: str
    amount_cents: int
    status: PaymentStatus


@dataclass(frozen=True, slots=True)
class PaymentTotals:
    """charged: every amount ever charged (refunded ones included); refunded: the part given back."""

    charged_cents: int
    refunded_cents: int


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """A record a transaction decided to send; published after commit, deleted once acked."""

    seq: int
    topic: str
    key: bytes | None
    value: bytes | None
    headers: Headers = ()


class StoreError(Exception):
    """Base of every error the store port raises. ``retriable`` says whether trying again can help."""

    retriable = False


class StoreUnavailable(StoreError):
    """The database could not be reached or the transaction was aborted by it; try again later."""

    retriable = True


class StoreConflict(StoreError):
    """A write broke a uniqueness rule (e.g. the order id exists already)."""


class StoreTransaction(Protocol):
    """The typed operations one transaction offers. Nothing is visible to others until commit."""

    # orders (order service)
    def insert_order(self, order: Order) -> None:
        """Raises StoreConflict if the order id exists."""
        ...

    def get_order(self, order_id: str) -> Order | None: ...

    def set_order_status(self, order_id: str, status: OrderStatus, *, reason: str, now_ms: int) -> bool:
        """Move a PENDING order to ``status``; False (and no change) if unknown or already final."""
        ...

    def list_orders(self, status: OrderStatus | None = None) -> list[Order]:
        """Orders by (created_ms, order_id)."""
        ...

    # payments (payment service)
    def record_payment(self, payment: Payment) -> None:
        """Raises StoreConflict if the order has a payment already."""
        ...

    def get_payment(self, order_id: str) -> Payment | None: ...

    def refund_payment(self, order_id: str) -> bool:
        """CHARGED -> REFUNDED; False (and no change) for any other state."""
        ...

    def payment_totals(self) -> PaymentTotals: ...

    # inventory (inventory service)
    def seed_stock(self, product_id: str, quantity: int) -> None:
        """Create the product with ``quantity`` unless it exists (restarts keep their stock)."""
        ...

    def reserve_stock(self, product_id: str, quantity: int) -> bool:
        """Take ``quantity`` if that much is there, in one conditional write; stock never goes below 0."""
        ...

    def release_stock(self, product_id: str, quantity: int) -> None: ...

    def stock_levels(self) -> dict[str, int]:
        """product id -> units in stock, sorted by product id."""
        ...

    # idempotent consumers
    def is_processed(self, group_id: str, event_id: str) -> bool: ...

    def mark_processed(self, group_id: str, event_id: str) -> None: ...

    def claim_events(self, group_id: str, event_ids: Sequence[str]) -> set[str]:
        """Mark every id processed for ``group_id`` (repeats allowed); return the ids that were not
        processed before (in one round trip where the store has them: a batch's idempotency check)."""
        ...

    # transactional outbox
    def add_outbox(
        self, topic: str, key: bytes | None, value: bytes | None, headers: Headers = ()
    ) -> None: ...

    def add_outbox_many(self, entries: Sequence[tuple[str, bytes | None, bytes | None, Headers]]) -> None:
        """``add_outbox`` for each (topic, key, value, headers), in order (one round trip)."""
        ...

    def pending_outbox(self, limit: int = 1000) -> list[OutboxEntry]:
        """Entries not yet marked published, oldest first."""
        ...

    def mark_published(self, seqs: Sequence[int]) -> None: ...


class StateStore(Protocol):
    """One service's database. ``transaction()`` commits on normal exit and rolls back on an exception."""

    def transaction(self) -> AbstractContextManager[StoreTransaction]: ...

    def close(self) -> None: ...

"""The saga's invariants, read straight from the stores' tables and the topics' logs.

The stores are read through their attributes, not through transactions: a check must never use
up an injected database outage meant for a service, nor see a service's uncommitted overlay.
Two kinds of checks:

- ``check_always``: true after every step, under any fault (stock never negative, offsets never
  past the log end, a final order never changes, a completed order is charged).
- ``check_final``: true once the healed system is quiet (every order final, money balanced, no
  effect applied twice, nothing left to publish or consume, the DLQs hold exactly the poison).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

from services.events import (
    INVENTORY_FAILED,
    INVENTORY_RESERVED,
    ORDER_CREATED,
    PAYMENT_COMPLETED,
    PAYMENT_FAILED,
    PAYMENT_REFUNDED,
    Topics,
)
from services.ports import OrderStatus, PaymentStatus, Record
from services.saga import InventoryHandler, OrderHandler, PaymentHandler

if TYPE_CHECKING:
    from .saga_support import SagaLab

TOPICS = Topics()
POISON_PRODUCTS = ("prod_ignore",)
# Which consumer groups read each topic: a raw poison record is dead-lettered once by each of them.
READERS: dict[str, tuple[str, ...]] = {
    topic: tuple(sorted(h.group_id for h in (OrderHandler(), PaymentHandler(), InventoryHandler())
                        if topic in h.subscriptions(TOPICS)))
    for topic in TOPICS.main()
}
EXCLUSIVE = ((PAYMENT_COMPLETED, PAYMENT_FAILED), (INVENTORY_RESERVED, INVENTORY_FAILED))
# Marks the violations that mean one event's effect was applied more than once (the planted-bug
# test looks for it).
DUPLICATE = "[duplicate effect]"


# ---------------------------------------------------------------- reading the world

def records(lab: SagaLab, topic: str) -> list[Record]:
    cluster = lab.world.cluster
    found: list[Record] = []
    for partition in range(len(cluster.topic(topic).partitions)):
        found += cluster.log(topic, partition).read(0, 10**9, committed_only=True)[0]
    return found


def header(record: Record, name: str) -> str | None:
    raw = record.header(name)
    return None if raw is None else raw.decode("utf-8", "replace")


def snapshot_writes(lab: SagaLab) -> tuple[Any, ...]:
    """Everything a placed order could write or produce: orders, outbox sequence, log ends."""
    order_store = lab.stores["order"]
    ends = tuple(log.next_offset for t in sorted(lab.world.cluster.topics)
                 for log in lab.world.cluster.topics[t].partitions)
    return tuple(sorted(order_store.orders)), order_store.next_seq, ends


# ---------------------------------------------------------------- after every step

def check_always(lab: SagaLab) -> None:
    stock = lab.stores["inventory"].stock
    negative = {p: q for p, q in stock.items() if q < 0}
    assert not negative, f"stock below zero: {negative}"

    cluster = lab.world.cluster
    for group_id, group in sorted(cluster.groups.items()):
        for (topic, partition), committed in sorted(group.committed.items()):
            end = cluster.log(topic, partition).next_offset
            assert 0 <= committed <= end, f"{group_id} committed {committed} on {topic}-{partition}, end {end}"

    orders = lab.stores["order"].orders
    unknown = sorted(set(orders) - set(lab.ledger.accepted))
    assert not unknown, f"orders stored that the API never accepted: {unknown}"
    payments = lab.stores["payment"].payments
    for order_id, order in sorted(orders.items()):
        seen = lab.ledger.last_status.get(order_id)
        if seen is not None and OrderStatus(seen).terminal:
            assert order.status == seen, f"order {order_id} left final state {seen} for {order.status}"
        lab.ledger.last_status[order_id] = order.status.value
        if order.status is OrderStatus.COMPLETED:
            payment = payments.get(order_id)
            assert not (payment and payment.status is PaymentStatus.REFUNDED), (
                f"{DUPLICATE} order {order_id} COMPLETED and refunded: both inventory outcomes were applied")
            assert payment is not None and payment.status is PaymentStatus.CHARGED, (
                f"order {order_id} COMPLETED but its payment is {payment}")
            assert payment.amount_cents == order.amount_cents, f"order {order_id} charged a wrong amount"


# ---------------------------------------------------------------- once quiet

def check_final(lab: SagaLab) -> None:
    check_always(lab)
    _check_orders_final(lab)
    _check_money(lab)
    _check_stock_moved_once_per_completed_order(lab)
    _check_events_per_order(lab)
    _check_nothing_left(lab)
    _check_dead_letters(lab)


def _check_orders_final(lab: SagaLab) -> None:
    orders = lab.stores["order"].orders
    missing = sorted(set(lab.ledger.accepted) - set(orders))
    assert not missing, f"accepted orders lost: {missing}"
    pending = sorted(o for o, order in orders.items() if not order.status.terminal)
    assert not pending, f"{len(pending)} accepted orders not final once quiet: {pending[:5]}"


def _check_money(lab: SagaLab) -> None:
    orders, payments = lab.stores["order"].orders, lab.stores["payment"].payments
    charged = sum(p.amount_cents for p in payments.values() if p.status is not PaymentStatus.DECLINED)
    refunded = sum(p.amount_cents for p in payments.values() if p.status is PaymentStatus.REFUNDED)
    completed = sum(o.amount_cents for o in orders.values() if o.status is OrderStatus.COMPLETED)
    assert charged - refunded == completed, (
        f"charged {charged} - refunded {refunded} = {charged - refunded} != completed {completed}")
    strangers = sorted(set(payments) - set(orders))
    assert not strangers, f"payments for orders that do not exist: {strangers}"
    for order_id, order in sorted(orders.items()):
        payment = payments.get(order_id)
        if order.status is OrderStatus.CANCELLED:
            assert payment is not None and payment.status is not PaymentStatus.CHARGED, (
                f"order {order_id} CANCELLED but its payment is {payment}")


def _check_stock_moved_once_per_completed_order(lab: SagaLab) -> None:
    sold: Counter[str] = Counter()
    for order in lab.stores["order"].orders.values():
        if order.status is OrderStatus.COMPLETED:
            sold[order.product_id] += order.quantity
    final = lab.stores["inventory"].stock
    for product, initial in sorted(lab.ledger.initial_stock.items()):
        moved = initial - final[product]
        assert moved == sold[product], (
            f"{DUPLICATE} stock of {product} went {initial} -> {final[product]} (moved {moved}) but completed orders "
            f"took {sold[product]}: a reservation applied twice, or one without a completed order")


def _check_events_per_order(lab: SagaLab) -> None:
    """From the topics: one copy's worth of each event, never two outcomes, and the status agrees."""
    by_order: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    value_of: dict[str, bytes | None] = {}
    for topic in TOPICS.main():
        for r in records(lab, topic):
            event_id, order_id = header(r, "event-id"), header(r, "correlation-id")
            if event_id is None:
                continue  # raw poison: checked with the dead letters
            if event_id in value_of:
                assert value_of[event_id] == r.value, f"{DUPLICATE} event {event_id} published twice with different contents"
            value_of[event_id] = r.value
            by_order[str(order_id)][str(header(r, "event-type"))].add(event_id)
    orders = lab.stores["order"].orders
    strangers = sorted(set(by_order) - set(orders))
    assert not strangers, f"events for orders that do not exist: {strangers}"
    for order_id, order in sorted(orders.items()):
        events = by_order.get(order_id, {})
        twice = {t: sorted(ids) for t, ids in events.items() if len(ids) > 1}
        assert not twice, f"{DUPLICATE} order {order_id}: one event type with several ids {twice}"
        assert events.get(ORDER_CREATED), f"order {order_id} never published its OrderCreated"
        for a, b in EXCLUSIVE:
            assert not (events.get(a) and events.get(b)), f"{DUPLICATE} order {order_id} got both {a} and {b}"
        completed = bool(events.get(INVENTORY_RESERVED))
        cancelled = bool(events.get(PAYMENT_FAILED) or events.get(PAYMENT_REFUNDED))
        assert (order.status is OrderStatus.COMPLETED) == completed and completed != cancelled, (
            f"order {order_id} is {order.status} but its events are {sorted(events)}")


def _check_nothing_left(lab: SagaLab) -> None:
    for kind, store in sorted(lab.stores.items()):
        assert not store.outbox, f"{kind} outbox still holds {len(store.outbox)} entries once quiet"
    cluster = lab.world.cluster
    for topic, groups in READERS.items():
        for group_id in groups:
            committed = cluster.groups[group_id].committed
            for partition, log in enumerate(cluster.topic(topic).partitions):
                if log.next_offset:
                    got = committed.get((topic, partition))
                    assert got == log.next_offset, (
                        f"{group_id} left {topic}-{partition} at {got}, end {log.next_offset}, once quiet")


def _letter_identity(r: Record) -> tuple[Any, ...]:
    group, source = header(r, "dlq-consumer-group"), header(r, "dlq-source-topic")
    if header(r, "event-id") is not None:
        return ("event", group, source, header(r, "correlation-id"), header(r, "event-type"))
    return ("raw", group, source, int(header(r, "dlq-source-partition") or -1),
            int(header(r, "dlq-source-offset") or -1))


def _check_dead_letters(lab: SagaLab) -> None:
    """Each raw injection once per group reading its topic; each charged poison order's
    PaymentCompleted once, by inventory; nothing else. A republished copy (the outbox is at least
    once) must be byte for byte the same letter."""
    expected = {("raw", g, t, p, o) for t, p, o in lab.ledger.injected for g in READERS[t]}
    payments = lab.stores["payment"].payments
    for order_id, body in lab.ledger.accepted.items():
        payment = payments.get(order_id)
        if body["productId"] in POISON_PRODUCTS and payment and payment.status is not PaymentStatus.DECLINED:
            expected.add(("event", InventoryHandler.group_id, TOPICS.payments, order_id, PAYMENT_COMPLETED))
    letters: dict[tuple[Any, ...], Record] = {}
    for topic in TOPICS.main():
        for r in records(lab, TOPICS.dlq(topic)):
            identity = _letter_identity(r)
            first = letters.setdefault(identity, r)
            assert (first.key, first.value, first.headers) == (r.key, r.value, r.headers), (
                f"two different dead letters for {identity}")
            for name in ("dlq-source-topic", "dlq-source-partition", "dlq-source-offset", "dlq-error",
                         "dlq-attempts", "dlq-consumer-group"):
                assert header(r, name), f"dead letter {identity} lacks header {name}"
    unexpected = sorted(map(str, set(letters) - expected))
    missing = sorted(map(str, expected - set(letters)))
    assert not unexpected and not missing, (
        f"DLQ mismatch: {len(letters)} distinct letters, {len(expected)} poison records; "
        f"unexpected {unexpected[:3]}, missing {missing[:3]}")

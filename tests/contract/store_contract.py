"""The state-store contract: every adapter (memory, PostgreSQL) must pass all of it.

Subclasses provide ``make_store()`` (a fresh, empty store) and may override ``cleanup(store)``.
"""

from __future__ import annotations

import pytest

from services.ports import (
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    PaymentTotals,
    StateStore,
    StoreConflict,
)


def an_order(order_id: str = "o1", *, created_ms: int = 1, amount_cents: int = 25_050) -> Order:
    return Order(order_id, "cust_1", "prod_123", 2, amount_cents, created_ms=created_ms, updated_ms=created_ms)


class Boom(Exception):
    pass


class StoreContract:
    def make_store(self) -> StateStore:
        raise NotImplementedError

    def cleanup(self, store: StateStore) -> None:
        store.close()

    @pytest.fixture
    def store(self):
        store = self.make_store()
        yield store
        self.cleanup(store)

    # ------------------------------------------------------------ transactions

    def test_committed_writes_are_visible_to_later_transactions(self, store: StateStore) -> None:
        with store.transaction() as tx:
            tx.insert_order(an_order())
            assert tx.get_order("o1") == an_order()  # own writes are visible inside
        with store.transaction() as tx:
            assert tx.get_order("o1") == an_order()

    def test_an_exception_rolls_back_every_write_of_the_transaction(self, store: StateStore) -> None:
        with store.transaction() as tx:
            tx.seed_stock("p", 5)
        with pytest.raises(Boom), store.transaction() as tx:
            tx.insert_order(an_order())
            tx.record_payment(Payment("o1", "c", 100, PaymentStatus.CHARGED))
            assert tx.reserve_stock("p", 5)
            tx.mark_processed("g", "e1")
            tx.add_outbox("orders", b"k", b"v")
            raise Boom
        with store.transaction() as tx:
            assert tx.get_order("o1") is None
            assert tx.get_payment("o1") is None
            assert tx.stock_levels() == {"p": 5}
            assert not tx.is_processed("g", "e1")
            assert tx.pending_outbox() == []

    def test_a_conflict_aborts_the_whole_transaction(self, store: StateStore) -> None:
        with store.transaction() as tx:
            tx.insert_order(an_order("o1"))
        with pytest.raises(StoreConflict), store.transaction() as tx:
            tx.insert_order(an_order("o2"))
            tx.insert_order(an_order("o1"))
        with store.transaction() as tx:
            assert tx.get_order("o2") is None

    # ------------------------------------------------------------ orders

    def test_pending_order_moves_once_to_a_final_status(self, store: StateStore) -> None:
        with store.transaction() as tx:
            tx.insert_order(an_order())
            assert tx.set_order_status("o1", OrderStatus.COMPLETED, reason="reserved", now_ms=9)
        with store.transaction() as tx:
            assert not tx.set_order_status("o1", OrderStatus.CANCELLED, reason="late", now_ms=10)
            assert not tx.set_order_status("nope", OrderStatus.CANCELLED, reason="", now_ms=10)
            order = tx.get_order("o1")
        assert order is not None
        assert (order.status, order.reason, order.updated_ms) == (OrderStatus.COMPLETED, "reserved", 9)
        assert order.status.terminal

    def test_list_orders_sorts_by_creation_and_filters_by_status(self, store: StateStore) -> None:
        with store.transaction() as tx:
            tx.insert_order(an_order("b", created_ms=2))
            tx.insert_order(an_order("a", created_ms=2))
            tx.insert_order(an_order("c", created_ms=1))
            tx.set_order_status("a", OrderStatus.CANCELLED, reason="x", now_ms=3)
        with store.transaction() as tx:
            assert [o.order_id for o in tx.list_orders()] == ["c", "a", "b"]
            assert [o.order_id for o in tx.list_orders(OrderStatus.PENDING)] == ["c", "b"]
            assert [o.order_id for o in tx.list_orders(OrderStatus.CANCELLED)] == ["a"]

    # ------------------------------------------------------------ payments

    def test_payment_is_refunded_once_and_totals_count_money_exactly(self, store: StateStore) -> None:
        with store.transaction() as tx:
            tx.record_payment(Payment("o1", "c", 25_050, PaymentStatus.CHARGED))
            tx.record_payment(Payment("o2", "c", 1_000, PaymentStatus.CHARGED))
            tx.record_payment(Payment("o3", "c", 7, PaymentStatus.DECLINED))
        with store.transaction() as tx:
            assert tx.refund_payment("o2")
            assert not tx.refund_payment("o2")
            assert not tx.refund_payment("o3")
            assert not tx.refund_payment("missing")
        with store.transaction() as tx:
            assert tx.get_payment("o2") == Payment("o2", "c", 1_000, PaymentStatus.REFUNDED)
            assert tx.payment_totals() == PaymentTotals(charged_cents=26_050, refunded_cents=1_000)

    def test_a_second_payment_for_an_order_conflicts(self, store: StateStore) -> None:
        with store.transaction() as tx:
            tx.record_payment(Payment("o1", "c", 5, PaymentStatus.CHARGED))
        with pytest.raises(StoreConflict), store.transaction() as tx:
            tx.record_payment(Payment("o1", "c", 5, PaymentStatus.CHARGED))

    def test_empty_store_has_zero_totals(self, store: StateStore) -> None:
        with store.transaction() as tx:
            assert tx.payment_totals() == PaymentTotals(0, 0)
            assert tx.stock_levels() == {}
            assert tx.list_orders() == []

    # ------------------------------------------------------------ inventory

    def test_reserve_takes_stock_down_to_zero_but_never_below(self, store: StateStore) -> None:
        with store.transaction() as tx:
            tx.seed_stock("prod_123", 5)
        with store.transaction() as tx:
            assert tx.reserve_stock("prod_123", 2)
            assert not tx.reserve_stock("prod_123", 10)
            assert tx.reserve_stock("prod_123", 3)
            assert not tx.reserve_stock("prod_123", 1)
            assert not tx.reserve_stock("unknown", 1)
        with store.transaction() as tx:
            assert tx.stock_levels() == {"prod_123": 0}

    def test_seed_keeps_existing_stock_and_release_gives_it_back(self, store: StateStore) -> None:
        with store.transaction() as tx:
            tx.seed_stock("b", 5)
            tx.seed_stock("a", 1)
        with store.transaction() as tx:
            assert tx.reserve_stock("b", 4)
            tx.seed_stock("b", 5)
        with store.transaction() as tx:
            tx.release_stock("b", 2)
        with store.transaction() as tx:
            assert list(tx.stock_levels().items()) == [("a", 1), ("b", 3)]
        with pytest.raises(StoreConflict), store.transaction() as tx:
            tx.release_stock("unknown", 1)

    # ------------------------------------------------------------ idempotency

    def test_processed_event_ids_are_kept_per_consumer_group(self, store: StateStore) -> None:
        with store.transaction() as tx:
            tx.mark_processed("payment-service", "e1")
        with store.transaction() as tx:
            assert tx.is_processed("payment-service", "e1")
            assert not tx.is_processed("inventory-service", "e1")
            assert not tx.is_processed("payment-service", "e2")

    def test_marking_an_event_twice_conflicts(self, store: StateStore) -> None:
        with store.transaction() as tx:
            tx.mark_processed("g", "e1")
        with pytest.raises(StoreConflict), store.transaction() as tx:
            tx.mark_processed("g", "e1")

    def test_claiming_a_batch_of_events_returns_the_new_ones_and_marks_all(self, store: StateStore) -> None:
        with store.transaction() as tx:
            tx.mark_processed("g", "e1")
        with store.transaction() as tx:
            assert tx.claim_events("g", ["e1", "e2", "e3", "e2"]) == {"e2", "e3"}
            assert tx.claim_events("g", []) == set()
        with store.transaction() as tx:
            assert tx.is_processed("g", "e2") and tx.is_processed("g", "e3")
            assert tx.claim_events("g", ["e2", "e4"]) == {"e4"}
            assert tx.claim_events("other", ["e1"]) == {"e1"}
        with pytest.raises(Boom), store.transaction() as tx:
            tx.claim_events("g", ["e5"])
            raise Boom
        with store.transaction() as tx:
            assert not tx.is_processed("g", "e5")

    # ------------------------------------------------------------ outbox

    def test_outbox_many_adds_in_order_like_one_by_one(self, store: StateStore) -> None:
        headers = (("event-type", b"PaymentCompleted"), ("event-id", None))
        with store.transaction() as tx:
            tx.add_outbox("orders", b"first", b"1")
            tx.add_outbox_many([("payments", b"k2", b"2", headers), ("payments", None, None, ()),
                                ("inventory", b"k4", b"4", ())])
            tx.add_outbox_many([])
        with store.transaction() as tx:
            pending = tx.pending_outbox()
        assert [(e.topic, e.key, e.value, e.headers) for e in pending] == [
            ("orders", b"first", b"1", ()), ("payments", b"k2", b"2", headers), ("payments", None, None, ()),
            ("inventory", b"k4", b"4", ()),
        ]
        assert [e.seq for e in pending] == sorted(e.seq for e in pending)

    def test_outbox_returns_entries_in_order_until_published(self, store: StateStore) -> None:
        headers = (("correlation-id", b"o1"), ("event-type", b"OrderCreated"), ("correlation-id", b"\x00\xff"))
        with store.transaction() as tx:
            tx.add_outbox("orders", b"o1", b'{"a":1}', headers)
            tx.add_outbox("orders.dlq", None, None)
        with store.transaction() as tx:
            tx.add_outbox("payments", b"o2", b"")
        with store.transaction() as tx:
            pending = tx.pending_outbox()
        assert [(e.topic, e.key, e.value, e.headers) for e in pending] == [
            ("orders", b"o1", b'{"a":1}', headers),
            ("orders.dlq", None, None, ()),
            ("payments", b"o2", b"", ()),
        ]
        assert pending[0].seq < pending[1].seq < pending[2].seq
        with store.transaction() as tx:
            assert [e.seq for e in tx.pending_outbox(limit=2)] == [pending[0].seq, pending[1].seq]
            tx.mark_published([pending[0].seq, pending[2].seq])
        with store.transaction() as tx:
            assert [e.seq for e in tx.pending_outbox()] == [pending[1].seq]
            tx.mark_published([])

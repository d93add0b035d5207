"""The store contract against PostgreSQL, plus what only a real database can show: migrations that
run twice, concurrent reservations that must not oversell, and error translation.

Uses DATABASE_URL, else ``compose.postgres.ensure_database()`` (the local server). Each test gets its
own schema (unique prefix per run), dropped afterwards, so parallel runs never collide.
"""

from __future__ import annotations

import threading
import uuid

import pytest

from services.ports import StoreUnavailable
from tests.conftest import missing_dependency
from tests.contract.store_contract import StoreContract

pytestmark = pytest.mark.postgres

psycopg = pytest.importorskip("psycopg")

RUN_PREFIX = f"t{uuid.uuid4().hex[:8]}_"


@pytest.fixture(scope="module")
def dsn() -> str:
    try:
        from compose.postgres import ensure_database

        return ensure_database(timeout=20)
    except Exception as exc:  # any reason the database is missing is a skip (a failure in CI)
        missing_dependency(f"PostgreSQL is not available: {exc}")
        raise


def fresh_schema() -> str:
    return f"{RUN_PREFIX}{uuid.uuid4().hex[:8]}"


class TestPostgresStore(StoreContract):
    @pytest.fixture(autouse=True)
    def _dsn(self, dsn: str) -> None:
        self.dsn = dsn

    def make_store(self):
        from adapters.postgres_store import PostgresStore

        return PostgresStore(self.dsn, fresh_schema())

    def cleanup(self, store) -> None:
        store.drop_schema()
        store.close()


@pytest.fixture
def schema_stores(dsn: str):
    from adapters.postgres_store import PostgresStore

    schema = fresh_schema()
    opened: list[PostgresStore] = []

    def open_store() -> PostgresStore:
        opened.append(PostgresStore(dsn, schema))
        return opened[-1]

    yield open_store
    opened[0].drop_schema()
    for store in opened:
        store.close()


def test_two_instances_reserving_the_last_items_never_oversell(schema_stores) -> None:
    first, second = schema_stores(), schema_stores()  # two connections, like two service instances
    with first.transaction() as tx:
        tx.seed_stock("prod_123", 25)
    wins = [0, 0]
    start = threading.Barrier(2)

    def reserve_all(store, slot: int) -> None:
        start.wait()
        for _ in range(40):
            with store.transaction() as tx:
                if tx.reserve_stock("prod_123", 1):
                    wins[slot] += 1

    threads = [threading.Thread(target=reserve_all, args=(s, i)) for i, s in enumerate((first, second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sum(wins) == 25
    with first.transaction() as tx:
        assert tx.stock_levels() == {"prod_123": 0}


def test_migrations_apply_once_and_reopening_keeps_data(schema_stores) -> None:
    first = schema_stores()
    with first.transaction() as tx:
        tx.seed_stock("p", 3)
    again = schema_stores()  # migrations run again on open: must be a no-op
    with again.transaction() as tx:
        assert tx.stock_levels() == {"p": 3}
    import psycopg

    with psycopg.connect(first.dsn) as conn:  # peek at the bookkeeping table directly
        rows = conn.execute(f'SELECT version FROM "{first.schema}".schema_migrations').fetchall()
    assert rows == [(1,)]


def test_unreachable_database_raises_store_unavailable() -> None:
    from adapters.postgres_store import PostgresStore

    with pytest.raises(StoreUnavailable):
        PostgresStore("postgresql://nobody:wrong@127.0.0.1:1/none", "x", connect_timeout=1)


def test_postgres_stores_opens_one_schema_per_service(dsn: str) -> None:
    from adapters.postgres_store import postgres_stores

    stores = postgres_stores(dsn, prefix=f"{RUN_PREFIX}{uuid.uuid4().hex[:6]}_")
    try:
        assert sorted((k, s.schema.split("_", 2)[-1]) for k, s in stores.items()) == [
            ("inventory", "inventory_svc"),
            ("order", "order_svc"),
            ("payment", "payment_svc"),
        ]
    finally:
        for store in stores.values():
            store.drop_schema()
            store.close()


def test_the_seed_saga_runs_on_postgres_stores(dsn: str) -> None:
    from adapters.postgres_store import postgres_stores
    from adapters.sim_broker import SimBroker
    from services.ids import SeededIds
    from services.ports import OrderStatus
    from services.shop import build_shop
    from sim import World

    stores = postgres_stores(dsn, prefix=f"{RUN_PREFIX}{uuid.uuid4().hex[:6]}_")
    try:
        world = World(3)
        broker = SimBroker(world)
        shop = build_shop(broker, stores, broker.clock, SeededIds(3))
        for service in shop.services:
            world.spawn(service.name, service.step)
        bodies = [
            {"customerId": "cust_happy_path", "productId": "prod_123", "quantity": 2, "amount": 250.50},
            {"customerId": "cust_large_quantity", "productId": "prod_123", "quantity": 10, "amount": 250.00},
            {"customerId": "cust_dlq_test", "productId": "prod_ignore", "quantity": 1, "amount": 99.00},
        ]
        placed = [shop.place_order(body) for body in bodies]
        world.run_until_idle()
        assert [shop.order(o.order_id).status for o in placed] == [
            OrderStatus.COMPLETED, OrderStatus.CANCELLED, OrderStatus.CANCELLED,
        ]
        totals = shop.totals()
        assert (totals.charged_cents, totals.refunded_cents, totals.completed_cents) == (59_950, 34_900, 25_050)
        assert shop.stock()["prod_123"] == 3
        with stores["payment"].transaction() as tx:
            assert tx.pending_outbox() == []
    finally:
        for store in stores.values():
            store.drop_schema()
            store.close()

"""The PostgreSQL state store (psycopg 3): one schema per service, e.g. ``order_svc``.

Migrations run when a store opens: each is applied once, under an advisory lock so two instances
starting together do not race, and recorded in ``schema_migrations``. Every service schema has the
same tables (orders, payments, stock, processed_events, outbox); a service simply uses its own.

Stock is taken by one conditional UPDATE (``... WHERE stock >= qty``), so concurrent instances can
never oversell, and a CHECK constraint backs that up. psycopg errors never leave this module: they
become StoreUnavailable (connection lost, serialization failure, deadlock, no pooled connection free
in time), StoreConflict (unique violation) or StoreError.

Transactions come from a connection pool (psycopg_pool), so an HTTP thread placing an order and a
consumer loop handling a batch do not wait for each other's round trips. A connection the database
dropped is discarded by the pool when its transaction fails (StoreUnavailable, which callers retry)
and a fresh one is made for the next.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import psycopg
from psycopg import errors, sql
from psycopg_pool import ConnectionPool

from services.ports import (
    Headers,
    Order,
    OrderStatus,
    OutboxEntry,
    Payment,
    PaymentStatus,
    PaymentTotals,
    StoreConflict,
    StoreError,
    StoreUnavailable,
)

SERVICE_SCHEMAS = {"order": "order_svc", "payment": "payment_svc", "inventory": "inventory_svc"}

MIGRATIONS: tuple[tuple[int, str], ...] = (
    (
        1,
        """
        CREATE TABLE orders (
            order_id text PRIMARY KEY, customer_id text NOT NULL, product_id text NOT NULL,
            quantity integer NOT NULL CHECK (quantity > 0), amount_cents bigint NOT NULL,
            status text NOT NULL, reason text NOT NULL DEFAULT '',
            created_ms bigint NOT NULL, updated_ms bigint NOT NULL);
        CREATE TABLE payments (
            order_id text PRIMARY KEY, customer_id text NOT NULL, amount_cents bigint NOT NULL,
            status text NOT NULL);
        CREATE TABLE stock (product_id text PRIMARY KEY, stock bigint NOT NULL CHECK (stock >= 0));
        CREATE TABLE processed_events (
            group_id text NOT NULL, event_id text NOT NULL, PRIMARY KEY (group_id, event_id));
        CREATE TABLE outbox (
            seq bigserial PRIMARY KEY, topic text NOT NULL, key bytea, value bytea,
            header_names text[] NOT NULL, header_values bytea[] NOT NULL);
        """,
    ),
)


def _translate(exc: psycopg.Error) -> StoreError:
    if isinstance(exc, errors.UniqueViolation):
        return StoreConflict(str(exc).strip())
    if isinstance(exc, psycopg.OperationalError | errors.SerializationFailure | errors.DeadlockDetected):
        return StoreUnavailable(str(exc).strip() or type(exc).__name__)
    return StoreError(str(exc).strip() or type(exc).__name__)


DEFAULT_POOL_SIZE = 4  # per store: a consumer loop, its outbox relay and a few HTTP threads


class PostgresStore:
    """A StateStore in one schema over a small pool of connections. Thread-safe: each transaction
    holds its own connection for its duration."""

    def __init__(self, dsn: str, schema: str, *, connect_timeout: int = 5, pool_size: int = DEFAULT_POOL_SIZE,
                 pool_timeout: float = 5.0) -> None:
        self.dsn = dsn
        self.schema = schema
        self._connect_timeout = connect_timeout
        try:
            with psycopg.connect(dsn, connect_timeout=connect_timeout) as conn:
                self._migrate(conn)
        except psycopg.Error as exc:
            raise _translate(exc) from exc
        self._pool_args = (max(1, pool_size), pool_timeout)
        self._reopen = threading.Lock()
        self._pool = self._open_pool(*self._pool_args)

    def _open_pool(self, size: int, timeout: float) -> ConnectionPool:
        search_path = sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema))

        def configure(conn: psycopg.Connection) -> None:
            conn.execute(search_path)

        return ConnectionPool(
            self.dsn, min_size=1, max_size=size, timeout=timeout, open=True, configure=configure,
            kwargs={"connect_timeout": self._connect_timeout, "autocommit": True},
            name=f"kafkalab-{self.schema}", num_workers=1,
        )

    def _migrate(self, conn: psycopg.Connection) -> None:
        schema = sql.Identifier(self.schema)
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"kafkalab-migrate/{self.schema}",))
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema))
            conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(schema))
            conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY)")
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for version, ddl in MIGRATIONS:
                if version not in done:
                    conn.execute(ddl)
                    conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
        conn.commit()

    @contextmanager
    def transaction(self) -> Iterator[_PostgresTransaction]:
        if self._pool.closed:  # closed, then used again (as a single connection would reconnect)
            with self._reopen:
                if self._pool.closed:
                    self._pool = self._open_pool(*self._pool_args)
        try:
            with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                yield _PostgresTransaction(cur)
        except psycopg.Error as exc:
            raise _translate(exc) from exc

    def close(self) -> None:
        self._pool.close()

    def drop_schema(self) -> None:
        """Close, then remove this store's schema and everything in it (tests and kafka-mode runs clean up)."""
        self.close()  # our own open connections must not hold locks on what we drop
        try:
            with psycopg.connect(self.dsn, connect_timeout=self._connect_timeout) as conn:
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self.schema)))
        except psycopg.Error as exc:
            raise _translate(exc) from exc


def _order(row: tuple) -> Order:
    return Order(row[0], row[1], row[2], row[3], row[4], OrderStatus(row[5]), row[6], row[7], row[8])


_ORDER_COLUMNS = (
    "order_id, customer_id, product_id, quantity, amount_cents, status, reason, created_ms, updated_ms"
)


_INSERT_OUTBOX = "INSERT INTO outbox (topic, key, value, header_names, header_values) VALUES (%s, %s, %s, %s, %s)"


class _PostgresTransaction:
    def __init__(self, cur: psycopg.Cursor) -> None:
        self._cur = cur

    def _one(self, query: str, params: Sequence[object] = ()) -> tuple | None:
        return self._cur.execute(query, params).fetchone()

    # ------------------------------------------------------------ orders

    def insert_order(self, o: Order) -> None:
        self._cur.execute(
            f"INSERT INTO orders ({_ORDER_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (o.order_id, o.customer_id, o.product_id, o.quantity, o.amount_cents, str(o.status), o.reason,
             o.created_ms, o.updated_ms),
        )

    def get_order(self, order_id: str) -> Order | None:
        row = self._one(f"SELECT {_ORDER_COLUMNS} FROM orders WHERE order_id = %s", (order_id,))
        return None if row is None else _order(row)

    def set_order_status(self, order_id: str, status: OrderStatus, *, reason: str, now_ms: int) -> bool:
        self._cur.execute(
            "UPDATE orders SET status = %s, reason = %s, updated_ms = %s WHERE order_id = %s AND status = %s",
            (str(status), reason, now_ms, order_id, str(OrderStatus.PENDING)),
        )
        return self._cur.rowcount == 1

    def list_orders(self, status: OrderStatus | None = None) -> list[Order]:
        if status is None:
            self._cur.execute(f"SELECT {_ORDER_COLUMNS} FROM orders ORDER BY created_ms, order_id")
        else:
            self._cur.execute(
                f"SELECT {_ORDER_COLUMNS} FROM orders WHERE status = %s ORDER BY created_ms, order_id",
                (str(status),),
            )
        return [_order(row) for row in self._cur.fetchall()]

    # ------------------------------------------------------------ payments

    def record_payment(self, p: Payment) -> None:
        self._cur.execute(
            "INSERT INTO payments (order_id, customer_id, amount_cents, status) VALUES (%s, %s, %s, %s)",
            (p.order_id, p.customer_id, p.amount_cents, str(p.status)),
        )

    def get_payment(self, order_id: str) -> Payment | None:
        row = self._one(
            "SELECT order_id, customer_id, amount_cents, status FROM payments WHERE order_id = %s", (order_id,)
        )
        return None if row is None else Payment(row[0], row[1], row[2], PaymentStatus(row[3]))

    def refund_payment(self, order_id: str) -> bool:
        self._cur.execute(
            "UPDATE payments SET status = %s WHERE order_id = %s AND status = %s",
            (str(PaymentStatus.REFUNDED), order_id, str(PaymentStatus.CHARGED)),
        )
        return self._cur.rowcount == 1

    def payment_totals(self) -> PaymentTotals:
        row = self._one(
            "SELECT COALESCE(SUM(amount_cents) FILTER (WHERE status <> %s), 0),"
            " COALESCE(SUM(amount_cents) FILTER (WHERE status = %s), 0) FROM payments",
            (str(PaymentStatus.DECLINED), str(PaymentStatus.REFUNDED)),
        )
        assert row is not None
        return PaymentTotals(int(row[0]), int(row[1]))

    # ------------------------------------------------------------ inventory

    def seed_stock(self, product_id: str, quantity: int) -> None:
        if quantity < 0:
            raise ValueError("stock cannot be negative")
        self._cur.execute(
            "INSERT INTO stock (product_id, stock) VALUES (%s, %s) ON CONFLICT (product_id) DO NOTHING",
            (product_id, quantity),
        )

    def reserve_stock(self, product_id: str, quantity: int) -> bool:
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        # One conditional write: the row lock makes a concurrent reserve re-check the new stock.
        self._cur.execute(
            "UPDATE stock SET stock = stock - %s WHERE product_id = %s AND stock >= %s",
            (quantity, product_id, quantity),
        )
        return self._cur.rowcount == 1

    def release_stock(self, product_id: str, quantity: int) -> None:
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        self._cur.execute("UPDATE stock SET stock = stock + %s WHERE product_id = %s", (quantity, product_id))
        if self._cur.rowcount != 1:
            raise StoreConflict(f"unknown product {product_id}")

    def stock_levels(self) -> dict[str, int]:
        self._cur.execute("SELECT product_id, stock FROM stock ORDER BY product_id")
        return {pid: int(units) for pid, units in self._cur.fetchall()}

    # ------------------------------------------------------------ idempotency and outbox

    def is_processed(self, group_id: str, event_id: str) -> bool:
        return (
            self._one(
                "SELECT 1 FROM processed_events WHERE group_id = %s AND event_id = %s", (group_id, event_id)
            )
            is not None
        )

    def mark_processed(self, group_id: str, event_id: str) -> None:
        self._cur.execute(
            "INSERT INTO processed_events (group_id, event_id) VALUES (%s, %s)", (group_id, event_id)
        )

    def claim_events(self, group_id: str, event_ids: Sequence[str]) -> set[str]:
        if not event_ids:
            return set()
        # One statement for a whole batch; a repeat inside it conflicts with its first copy and is skipped.
        self._cur.execute(
            "INSERT INTO processed_events (group_id, event_id) SELECT %s, unnest(%s::text[])"
            " ON CONFLICT DO NOTHING RETURNING event_id",
            (group_id, list(event_ids)),
        )
        return {row[0] for row in self._cur.fetchall()}

    def add_outbox(self, topic: str, key: bytes | None, value: bytes | None, headers: Headers = ()) -> None:
        self._cur.execute(_INSERT_OUTBOX, (topic, key, value, [h[0] for h in headers], [h[1] for h in headers]))

    def add_outbox_many(self, entries: Sequence[tuple[str, bytes | None, bytes | None, Headers]]) -> None:
        if entries:  # psycopg pipelines executemany: one round trip, rows in order (seq ascending)
            self._cur.executemany(_INSERT_OUTBOX, [(topic, key, value, [h[0] for h in headers], [h[1] for h in headers])
                                                   for topic, key, value, headers in entries])

    def pending_outbox(self, limit: int = 1000) -> list[OutboxEntry]:
        self._cur.execute(
            "SELECT seq, topic, key, value, header_names, header_values FROM outbox ORDER BY seq LIMIT %s",
            (limit,),
        )
        return [
            OutboxEntry(seq, topic, _bytes(key), _bytes(value), tuple(zip(names, map(_bytes, values), strict=True)))
            for seq, topic, key, value, names, values in self._cur.fetchall()
        ]

    def mark_published(self, seqs: Sequence[int]) -> None:
        if seqs:
            self._cur.execute("DELETE FROM outbox WHERE seq = ANY(%s)", (list(seqs),))


def _bytes(raw: bytes | memoryview | None) -> bytes | None:
    return None if raw is None else bytes(raw)


def postgres_stores(dsn: str, *, prefix: str = "", pool_size: int = DEFAULT_POOL_SIZE) -> dict[str, PostgresStore]:
    """One store per service in schemas ``{prefix}order_svc`` etc., for ``build_shop``."""
    return {svc: PostgresStore(dsn, f"{prefix}{schema}", pool_size=pool_size) for svc, schema in SERVICE_SCHEMAS.items()}


def connection_error(dsn: str, timeout_s: int = 5) -> str | None:
    """Why ``dsn`` cannot be reached (psycopg's own words), or None when a query answers."""
    try:
        with psycopg.connect(dsn, connect_timeout=timeout_s) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip() or type(exc).__name__
    return None

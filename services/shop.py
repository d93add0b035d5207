"""Wiring the shop: three services over one broker, each with its own store.

    shop = build_shop(broker, stores, clock, ids)            # stores: {"order", "payment", "inventory"}
    order = shop.place_order({"customerId": ..., "productId": "prod_123", "quantity": 2, "amount": 250.5})
    for svc in shop.services: world.spawn(svc.name, svc.step)  # or loop on svc.step() in kafka mode
    shop.order(order.order_id).status, shop.totals()

Instances are named ``order-0``, ``payment-0``, ``inventory-0``, ...; all instances of a kind share that
kind's store and consumer group, so adding one (``shop.add_instance("inventory")``) scales it out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.catalog import DEFAULT_CATALOG, Catalog
from services.events import Topics
from services.ids import IdGenerator
from services.order_api import OrderApi
from services.ports import Admin, Broker, Clock, Order, OrderStatus, StateStore, TopicSpec
from services.runner import EventService, Handler, ServiceConfig
from services.saga import InventoryHandler, OrderHandler, PaymentHandler

KINDS = ("order", "payment", "inventory")


def ensure_topics(admin: Admin, partitions: int = 3, topics: Topics | None = None, *,
                  replication_factor: int = 1, config: Mapping[str, str] | None = None) -> None:
    """Create the saga topics and their DLQs (exist_ok). Raises BrokerError if the broker is down."""
    topics = topics or Topics()
    admin.create_topics([TopicSpec(name, partitions, replication_factor, dict(config or {}))
                         for name in topics.all()], exist_ok=True)


@dataclass(frozen=True, slots=True)
class ShopTotals:
    """Money in cents. The saga's invariant: charged - refunded == completed."""

    charged_cents: int
    refunded_cents: int
    completed_cents: int

    @property
    def balanced(self) -> bool:
        return self.charged_cents - self.refunded_cents == self.completed_cents


class Shop:
    def __init__(
        self,
        broker: Broker,
        stores: Mapping[str, StateStore],
        clock: Clock,
        ids: IdGenerator,
        *,
        catalog: Catalog,
        config: ServiceConfig,
        logger: Any,
        per_kind: Mapping[str, ServiceConfig] | None = None,
    ) -> None:
        self.broker = broker
        self.stores = dict(stores)
        self.clock = clock
        self.catalog = catalog
        self.config = config
        self.configs = {kind: (per_kind or {}).get(kind, config) for kind in KINDS}
        self.logger = logger
        order_config = self.configs["order"]
        self.api = OrderApi(stores["order"], clock, ids, catalog=catalog, topics=config.topics, codec=config.codec,
                            order_events=order_config.order_events, broker=broker)
        self.services: list[EventService] = []
        self._counts = dict.fromkeys(KINDS, 0)

    def _handler(self, kind: str) -> Handler:
        if kind == "order":
            return OrderHandler()
        if kind == "payment":
            return PaymentHandler()
        if kind == "inventory":
            return InventoryHandler(self.catalog)
        raise ValueError(f"unknown service kind {kind!r}; expected one of {KINDS}")

    def add_instance(self, kind: str, name: str | None = None) -> EventService:
        """One more member of ``kind``'s consumer group, named ``{kind}-{n}`` (or ``name``: an instance
        restarted under its old name, so a static member comes back as itself)."""
        handler = self._handler(kind)
        if name is None:
            name = f"{kind}-{self._counts[kind]}"
            self._counts[kind] += 1
        service = EventService(
            name, handler, broker=self.broker, store=self.stores[kind], clock=self.clock,
            logger=self.logger, config=self.configs[kind],
        )
        self.services.append(service)
        return service

    def remove_instance(self, name: str, *, clean: bool = True) -> EventService:
        """Take instance ``name`` out of ``services``. ``clean`` closes it (it leaves its group); pass
        False when the caller crashes its clients instead (e.g. ``world.faults.crash(svc.consumer)``)."""
        service = next(s for s in self.services if s.name == name)
        if clean:
            service.close()
        self.services.remove(service)
        return service

    def place_order(self, body: Any, *, publish: bool = True) -> Order:
        """Validate and accept an order (PENDING); raises services.order_api.ValidationError.

        With ``publish`` an order-service instance publishes the OrderCreated at once (if the broker
        is down it stays in the outbox and that instance's next step publishes it).
        """
        order = self.api.place_order(body)
        if publish:
            instance = next((s for s in self.services if s.handler.group_id == OrderHandler.group_id), None)
            if instance is not None:
                instance.publish_pending()
        return order

    def order(self, order_id: str) -> Order | None:
        return self.api.get_order(order_id)

    def orders(self, status: OrderStatus | None = None) -> list[Order]:
        with self.stores["order"].transaction() as tx:
            return tx.list_orders(status)

    def stock(self) -> dict[str, int]:
        with self.stores["inventory"].transaction() as tx:
            return tx.stock_levels()

    def totals(self) -> ShopTotals:
        with self.stores["payment"].transaction() as tx:
            paid = tx.payment_totals()
        completed = sum(o.amount_cents for o in self.orders(OrderStatus.COMPLETED))
        return ShopTotals(paid.charged_cents, paid.refunded_cents, completed)

    def close(self) -> None:
        for service in self.services:
            service.close()
        self.api.close()


def build_shop(
    broker: Broker,
    stores: Mapping[str, StateStore],
    clock: Clock,
    ids: IdGenerator,
    *,
    instances: Mapping[str, int] | None = None,
    catalog: Catalog = DEFAULT_CATALOG,
    config: ServiceConfig | None = None,
    per_kind: Mapping[str, ServiceConfig] | None = None,
    logger: Any = None,
    create_topics: bool = True,
    partitions: int = 3,
) -> Shop:
    """Seed inventory stock (existing stock is kept), optionally create topics, build the instances.

    ``config`` applies to every kind; ``per_kind`` replaces it for some (e.g. a slower inventory).
    """
    config = config or ServiceConfig()
    shop = Shop(broker, stores, clock, ids, catalog=catalog, config=config, logger=logger, per_kind=per_kind)
    with stores["inventory"].transaction() as tx:
        for product, units in catalog.stock.items():
            tx.seed_stock(product, units)
    if create_topics:
        ensure_topics(broker.admin(), partitions, config.topics)
    counts = {"order": 1, "payment": 1, "inventory": 1, **(instances or {})}
    for kind in KINDS:
        for _ in range(counts[kind]):
            shop.add_instance(kind)
    return shop

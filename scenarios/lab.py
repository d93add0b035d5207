"""A lab: the shop wired to one mode, with the operations scenario steps need.

``Lab`` holds what is the same in both modes (orders, stock, money, reading topics back through the
broker port); ``sim_lab.SimLab`` and ``kafka_lab.KafkaLab`` add how time passes and how faults land.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from services.events import Topics
from services.order_api import ValidationError
from services.ports import Broker, BrokerError, Clock, ConsumerConfig, Record, TopicPartition
from services.runner import EventService
from services.shop import KINDS, Shop

TERMINAL = ("COMPLETED", "CANCELLED")


class Lab:
    mode = "?"

    def __init__(self, seed: int, shop: Shop, broker: Broker, clock: Clock, topics: Topics) -> None:
        self.seed = seed
        self.shop = shop
        self.broker = broker
        self.clock = clock
        self.topics = topics
        self._monitor: Callable[[], None] = lambda: None
        self._observers = 0

    # ------------------------------------------------------------ observing state
    def now_ms(self) -> int:
        return self.clock.now_ms()

    def set_monitor(self, monitor: Callable[[], None]) -> None:
        """Called after steps of the services, e.g. to catch stock going negative mid-run."""
        self._monitor = monitor

    def stock(self) -> dict[str, int]:
        return self.shop.stock()

    def money(self) -> dict[str, Decimal]:
        totals = self.shop.totals()
        return {"charged": Decimal(totals.charged_cents) / 100, "refunded": Decimal(totals.refunded_cents) / 100}

    def order_statuses(self) -> dict[str, str]:
        return {o.order_id: o.status.value for o in self.shop.orders()}

    def instances(self, kind: str) -> list[EventService]:
        return [s for s in self.shop.services if s.name.startswith(f"{kind}-")]

    def settled(self) -> bool:
        """Quiet: every order terminal, every outbox empty, every group caught up on its topics."""
        if any(status not in TERMINAL for status in self.order_statuses().values()):
            return False
        try:
            for kind in KINDS:
                with self.shop.stores[kind].transaction() as tx:
                    if tx.pending_outbox(1):
                        return False
            admin = self.broker.admin()
            for service in {s.group_id: s for s in self.shop.services}.values():
                lags = admin.lag(service.group_id, service.handler.subscriptions(self.topics))
                if any(lag.lag for lag in lags):
                    return False
        except BrokerError:
            return False
        return len({s.name.split("-")[0] for s in self.shop.services}) == len(KINDS)

    # ------------------------------------------------------------ acting
    def set_stock(self, product_id: str, quantity: int) -> None:
        """Setup: put exactly ``quantity`` units of ``product_id`` on the shelf."""
        with self.shop.stores["inventory"].transaction() as tx:
            tx.seed_stock(product_id, quantity)
            current = tx.stock_levels()[product_id]
            if current > quantity:
                tx.reserve_stock(product_id, current - quantity)
            elif current < quantity:
                tx.release_stock(product_id, quantity - current)

    def place_order(self, body: dict[str, Any]) -> tuple[str | None, str]:
        """(order id, "") if accepted, (None, why) if the API refused it."""
        try:
            return self.shop.place_order(body).order_id, ""
        except ValidationError as exc:
            return None, str(exc)

    def physical(self, logical_topic: str) -> str:
        base, dot, rest = logical_topic.partition(".")
        return getattr(self.topics, base) + (dot + rest if dot else "")

    def logical(self, physical_topic: str) -> str:
        for name in ("orders", "payments", "inventory"):
            real = getattr(self.topics, name)
            if physical_topic == real or physical_topic.startswith(real + "."):
                return name + physical_topic[len(real):]
        return physical_topic

    # ------------------------------------------------------------ reading back
    def read_all_topics(self) -> dict[str, list[Record]]:
        """Every record of the saga topics and DLQs, under their logical names, read via a fresh group."""
        physical = list(self.topics.all())
        self._observers += 1
        group = f"{self.shop.config.group_prefix}kafkalab-observer-{self._observers}"
        admin = self.broker.admin()
        ends = {tp: end for tp, end in admin.end_offsets(physical).items() if end > 0}
        consumer = self.broker.consumer(ConsumerConfig(group_id=group, client_id="observer"))
        consumer.subscribe(physical)
        seen: dict[str, list[Record]] = {self.logical(t): [] for t in physical}
        positions: dict[TopicPartition, int] = {}
        try:
            while any(positions.get(tp, 0) < end for tp, end in ends.items()):
                if not self._wait_for_observer():
                    break
                for r in consumer.poll(1000, timeout=0.5):
                    seen[self.logical(r.topic)].append(dataclasses.replace(r, topic=self.logical(r.topic)))
                    positions[r.tp] = r.offset + 1
                for tp in ends:
                    pos = consumer.position(tp)
                    if pos is not None and pos >= ends[tp]:
                        positions[tp] = max(positions.get(tp, 0), pos)
        finally:
            consumer.close()
        return seen

    def _wait_for_observer(self) -> bool:
        """Between polls of the read-back: let time pass; False when the deadline is over."""
        raise NotImplementedError

    # ------------------------------------------------------------ per mode
    def trace_sha256(self) -> str | None:
        return None

    def trace_lines(self) -> list[str]:
        return []

    def close(self) -> None:
        self.shop.close()
        for store in self.shop.stores.values():
            store.close()

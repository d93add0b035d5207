"""The lab on a real broker: KafkaBroker + PostgreSQL stores + wall clock + uuid ids.

The services run in this process, stepped in turn (each ``step()`` polls with a short timeout), and
the runner polls with a deadline until the system is quiet; nothing waits on a fixed sleep. Every
run gets its own topic and group prefix and its own PostgreSQL schemas, so runs never collide.

Faults the real broker cannot take from us (broker down, lost acks) are reported as unavailable; a
crash is a process stopping (its consumer leaves the group, its uncommitted records are redelivered).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Mapping
from typing import Any

from scenarios import root
from scenarios.lab import Lab
from scenarios.model import Step
from scenarios.settings import Settings
from services.events import Topics
from services.ports import Record
from services.runner import EventService, ServiceConfig
from services.shop import KINDS

READ_BACK_TIMEOUT_S = 60.0
POLL_TIMEOUT_S = 0.05  # per instance per round: short, so many instances still make quick rounds


class KafkaLab(Lab):
    mode = "kafka"

    def __init__(self, seed: int, options: Settings, instances: Mapping[str, int] | None = None,
                 logger: Any = None) -> None:
        self.run_id = uuid.uuid4().hex[:10]
        prefix = f"kl-{self.run_id}-"
        topics = Topics.with_prefix(prefix)
        broker = root.kafka_broker(options.bootstrap, client_prefix=f"kafkalab-{self.run_id}")
        stores = root.postgres_stores(options, suffix=f"_{self.run_id}")
        clock = root.wall_clock()
        service_config = ServiceConfig(topics=topics, group_prefix=prefix, poll_timeout_s=POLL_TIMEOUT_S)
        shop = root.shop(broker, stores, clock, root.random_ids(), instances=instances, config=service_config,
                         logger=logger)
        super().__init__(seed, shop, broker, clock, topics)
        self.options = options
        self._slow_until: dict[str, float] = {}
        self._slow_ms: dict[str, int] = {}
        self._observer_deadline = 0.0

    def close(self) -> None:
        """Stop the services; unless asked to keep them, remove the run's topics and schemas."""
        super().close()
        if self.options.keep:
            return
        from adapters.postgres_store import PostgresStore
        from services.ports import BrokerError, StoreError

        with contextlib.suppress(BrokerError):  # best effort: a leftover prefixed topic harms no later run
            self.broker.admin().delete_topics(list(self.topics.all()))
        for store in self.shop.stores.values():
            if isinstance(store, PostgresStore):
                with contextlib.suppress(StoreError):
                    store.drop_schema()

    # ------------------------------------------------------------ time (wall clock, deadlines)
    def _round(self) -> int:
        work = 0
        now = time.monotonic()
        for service in list(self.shop.services):
            if self._slow_until.get(service.name, 0.0) > now:
                continue  # a slow member: it only gets a turn every so often, so it falls behind
            work += service.step()
            if service.name in self._slow_ms:
                self._slow_until[service.name] = time.monotonic() + self._slow_ms[service.name] / 1000
        if work:
            self._monitor()
        return work

    def run_until_quiet(self) -> bool:
        deadline = time.monotonic() + self.options.quiet_timeout_s
        while time.monotonic() < deadline:
            if self._round() == 0 and self.settled():
                return True
        return False

    def advance(self, ms: int) -> None:
        end = time.monotonic() + ms / 1000
        while time.monotonic() < end:
            self._round()

    def _wait_for_observer(self) -> bool:
        # The observer's poll has its own timeout; this only bounds the whole read-back.
        return time.monotonic() < self._observer_deadline

    def read_all_topics(self) -> dict[str, list[Record]]:
        self._observer_deadline = time.monotonic() + READ_BACK_TIMEOUT_S
        return super().read_all_topics()

    # ------------------------------------------------------------ faults
    def fault(self, step: Step) -> bool:
        op = step.op
        if op in ("broker_down", "lose_ack"):
            return False  # the real broker is not ours to break; the simulator models these
        if op == "heal":
            self._slow_ms.clear()
            self._slow_until.clear()
            for kind in KINDS:
                if not self.instances(kind):
                    self.shop.add_instance(kind)
            return True
        if op == "scale":
            self.scale(step.get("service"), int(step.get("instances")))
            return True
        victims = self.instances(step.get("service"))
        if not victims:
            return False
        victim = victims[int(step.get("index", 0)) % len(victims)]
        if op == "slow":
            self._slow_ms[victim.name] = int(step.get("ms"))
        elif op in ("crash", "restart"):
            self.shop.remove_instance(victim.name)
            if op == "restart":
                self.shop.add_instance(step.get("service"))
        else:
            return False
        return True

    def scale(self, kind: str, count: int) -> None:
        current: list[EventService] = self.instances(kind)
        for _ in range(count - len(current)):
            self.shop.add_instance(kind)
        for victim in reversed(current[count:] if count < len(current) else []):
            self.shop.remove_instance(victim.name)

    def inject(self, topic: str, value: bytes, *, key: str | None = None, partition: int | None = None) -> tuple:
        producer = self.broker.producer()
        try:
            producer.produce(self.physical(topic), value, key=key.encode() if key else None,
                             partition=0 if partition is None else int(partition))
            (meta,) = producer.flush(30.0)
        finally:
            producer.close()
        return (topic, meta.partition, meta.offset)

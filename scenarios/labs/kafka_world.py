"""The labs' shop on a real broker: the project's services over KafkaBroker, one thread per instance.

Each instance loops on ``step()`` in its own thread, as it would in its own process, so a slow
inventory instance does not slow the others and three instances really work in parallel. Stores are
in memory (one per service kind, shared by its instances, as a database would be); orders are
accepted by the API in the caller's thread and published by the order service's own loop.

Topics and groups carry a per-run prefix (``kl-lab-<id>-``) so runs on the shared broker never meet;
``close(delete_topics=True)`` removes them again.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any

from adapters.kafka_broker import KafkaBroker
from adapters.memory_store import MemoryStore
from scenarios import root
from scenarios.lab import Lab
from scenarios.labs.labshop import ServiceKnobs, build_lab_shop
from scenarios.root import service_logger
from scenarios.settings import Settings
from services.events import Topics
from services.ids import RandomIds
from services.ports import BrokerError, PartitionLag
from services.runner import EventService, ServiceConfig
from services.shop import KINDS, ensure_topics

POLL_TIMEOUT_S = 0.1
STUCK_BACKOFF_S = 0.2  # a consumer retrying its poison record waits this long between tries
READ_BACK_TIMEOUT_S = 30.0


def new_prefix() -> str:
    return f"kl-lab-{uuid.uuid4().hex[:8]}-"


def bootstrap_of(options: Settings | None) -> str:
    return (options or Settings.resolve()).bootstrap


class KafkaWorld(Lab):
    mode = "kafka"

    def __init__(self, knobs: ServiceKnobs, options: Settings | None = None, *, prefix: str | None = None,
                 instances: Mapping[str, int] | None = None, partitions: int = 3, max_records: int = 500,
                 kinds: tuple[str, ...] = KINDS, logger: Any = None) -> None:
        self.prefix = prefix or new_prefix()
        self.bootstrap = bootstrap_of(options)
        topics = Topics.with_prefix(self.prefix)
        broker = KafkaBroker(self.bootstrap, client_prefix=f"kafkalab-{self.prefix.rstrip('-')}")
        ensure_topics(broker.admin(), partitions, topics)
        config = ServiceConfig(topics=topics, group_prefix=self.prefix, poll_timeout_s=POLL_TIMEOUT_S,
                               max_records=max_records, session_timeout_ms=10_000)
        counts = {kind: 0 for kind in KINDS} | {kind: 1 for kind in kinds} | dict(instances or {})
        shop = build_lab_shop(broker, {kind: MemoryStore() for kind in KINDS}, root.wall_clock(), RandomIds(), knobs,
                              instances=counts, config=config, logger=logger or service_logger("critical"),
                              slow_in_poll=True)
        super().__init__(0, shop, broker, shop.clock, topics)
        self.partitions = partitions
        self._stops: dict[str, threading.Event] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._observer_deadline = 0.0
        self.errors: list[str] = []

    # ------------------------------------------------------------ running the instances
    def start(self) -> KafkaWorld:
        for service in list(self.shop.services):
            self._run(service)
        return self

    def _run(self, service: EventService) -> None:
        stop = threading.Event()

        def loop() -> None:
            while not stop.is_set():
                try:
                    service.step()
                except Exception as exc:  # a bug, not a broker error (step never raises those): report it
                    self.errors.append(f"{service.name}: {exc!r}")
                    stop.wait(0.5)
                if getattr(service, "stuck_at", None) is not None:
                    stop.wait(STUCK_BACKOFF_S)

        thread = threading.Thread(target=loop, name=f"{self.prefix}{service.name}", daemon=True)
        self._stops[service.name] = stop
        self._threads[service.name] = thread
        thread.start()

    def _halt(self, name: str) -> None:
        stop, thread = self._stops.pop(name, None), self._threads.pop(name, None)
        if stop is not None and thread is not None:
            stop.set()
            thread.join(timeout=30)

    def scale(self, kind: str, count: int) -> None:
        current = self.instances(kind)
        for _ in range(count - len(current)):
            self._run(self.shop.add_instance(kind))
        for victim in reversed(current[count:]):
            self._halt(victim.name)
            self.shop.remove_instance(victim.name)

    def place_order(self, body: dict[str, Any]) -> tuple[str | None, str]:
        from services.order_api import ValidationError

        try:  # the order service's own loop publishes it: no producer shared between threads
            return self.shop.place_order(body, publish=False).order_id, ""
        except ValidationError as exc:
            return None, str(exc)

    # ------------------------------------------------------------ looking
    def group(self, kind: str) -> str:
        """The consumer group of a service kind on this run, e.g. ``kl-lab-1a2b3c4d-inventory-service``."""
        return f"{self.prefix}{kind}-service"

    def lag(self, group: str, topic: str) -> list[PartitionLag]:
        try:
            return self.broker.admin().lag(group, [topic])
        except BrokerError as exc:
            self.errors.append(f"lag: {exc}")
            return []

    def members(self, group: str) -> dict[str, int]:
        """client id -> partitions assigned (members of other runs never share our prefixed group)."""
        description = self.broker.admin().describe_group(group)
        return {m.client_id: len(m.assignment) for m in description.members}

    def wait_until(self, condition: Any, timeout_s: float, every_s: float = 0.2) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(every_s)
        return bool(condition())

    def run_until_quiet(self, timeout_s: float = 30.0) -> bool:
        return self.wait_until(self.settled, timeout_s, 0.3)

    def advance(self, ms: int) -> None:
        time.sleep(ms / 1000)  # the instances run in their own threads meanwhile

    def _wait_for_observer(self) -> bool:
        return time.monotonic() < self._observer_deadline

    def read_all_topics(self) -> dict:
        self._observer_deadline = time.monotonic() + READ_BACK_TIMEOUT_S
        return super().read_all_topics()

    # ------------------------------------------------------------ ending
    def stop(self) -> None:
        for name in list(self._threads):
            self._halt(name)

    def close(self, *, delete_topics: bool = False) -> None:
        self.stop()
        super().close()
        if delete_topics:
            delete_run_topics(self.broker, self.prefix)


def delete_run_topics(broker: Any, prefix: str) -> None:
    """Remove every topic of one lab run (prefix ``kl-lab-...``), e.g. the previous ``lab check``'s."""
    if not prefix.startswith("kl-lab-"):
        return  # never delete anything this module did not name
    try:
        admin = broker.admin()
        names = [t for t in admin.list_topics() if t.startswith(prefix)]
        if names:
            admin.delete_topics(names)
    except BrokerError:
        pass  # left behind on the broker: harmless, prefixed, and reported by nobody

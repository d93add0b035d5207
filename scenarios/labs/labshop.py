"""The shop with the labs' knobs: a deliberately slow inventory, DLQ on or off, naive or patient startup.

The services are the project's own (``services.runner.EventService`` and the saga handlers); the
labs only wrap them, the way an operator's configuration would change a deployment:

- ``inventory_delay_ms``: the inventory handler takes this long per event (the consumer-lag lab).
- ``dlq = false``: a record that cannot be processed is not dead-lettered; the consumer seeks back
  to it and tries again forever, so its partition is stuck (the poison-pill lab's first stage).
- ``wait_for_broker``/``startup_retries``/``retry_backoff_ms``: how a service process starts. A
  naive one creates its topics and finds its group coordinator once and dies on the first error;
  a patient one waits for cluster metadata and the coordinator, retrying with exponential backoff
  (the startup-race lab).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from services.catalog import DEFAULT_CATALOG
from services.ids import IdGenerator
from services.ports import Broker, BrokerError, Clock, StateStore
from services.runner import EventService, FailedRecord, Handler, ServiceConfig, _Rewind
from services.shop import KINDS, Shop, ensure_topics


@dataclass(frozen=True, slots=True)
class ServiceKnobs:
    dlq: bool = True
    inventory_delay_ms: int = 0
    wait_for_broker: bool = True
    startup_retries: int = 30
    retry_backoff_ms: int = 200
    retry_backoff_max_ms: int = 2_000

    @classmethod
    def from_mapping(cls, knobs: Mapping[str, Any]) -> ServiceKnobs:
        fields = {k: type(getattr(cls(), k))(v) for k, v in knobs.items() if k in cls.__slots__}
        return cls(**fields)


class SlowHandler:
    """A handler that spends ``delay_ms`` on every event it acts on (virtual time in the simulator)."""

    def __init__(self, inner: Handler, clock: Clock, delay_ms: int) -> None:
        self.inner = inner
        self.clock = clock
        self.delay_ms = delay_ms
        self.group_id = inner.group_id
        self.event_types = inner.event_types

    def subscriptions(self, topics: Any) -> list[str]:
        return self.inner.subscriptions(topics)

    def handle(self, tx: Any, event: Any, now_ms: int) -> list[Any]:
        self.clock.sleep(self.delay_ms)
        return self.inner.handle(tx, event, now_ms)

    def on_dead_letter(self, tx: Any, failed: FailedRecord, now_ms: int) -> list[Any]:
        return self.inner.on_dead_letter(tx, failed, now_ms)


class _StuckPartitionLast:
    """A consumer whose batches put the stuck partition's records last.

    A consumer that processes partition by partition (as most do) only stops the stuck partition; the
    runner's rewind stops the rest of the batch, so the stuck records must come after the others.
    """

    def __init__(self, inner: Any, service: NoDlqService) -> None:
        self._inner = inner
        self._service = service

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def poll(self, max_records: int = 500, timeout: float = 1.0) -> list[Any]:
        records = self._inner.poll(max_records, timeout)
        stuck = self._service.stuck_at
        if stuck is None:
            return records
        return sorted(records, key=lambda r: (r.topic, r.partition) == stuck[:2])  # stable


class SlowConsumer:
    """A consumer that spends ``delay_ms`` per record it returns, outside any store transaction
    (kafka mode: instances sharing one store must be slow in parallel, as separate processes are)."""

    def __init__(self, inner: Any, clock: Clock, delay_ms: int) -> None:
        self._inner = inner
        self._clock = clock
        self._delay_ms = delay_ms

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def poll(self, max_records: int = 500, timeout: float = 1.0) -> list[Any]:
        records = self._inner.poll(max_records, timeout)
        if records:
            self._clock.sleep(self._delay_ms * len(records))
        return records


class _SlowConsumers:
    """A broker whose consumers are ``SlowConsumer``s (producers and admins pass through)."""

    def __init__(self, inner: Broker, clock: Clock, delay_ms: int) -> None:
        self._inner = inner
        self._clock = clock
        self._delay_ms = delay_ms

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def consumer(self, config: Any) -> SlowConsumer:
        return SlowConsumer(self._inner.consumer(config), self._clock, self._delay_ms)


class NoDlqService(EventService):
    """An EventService without a dead-letter queue: a poison record is retried forever, in place.

    (Uses the runner's rewind: the batch stops at the record and the partition is read from there
    again on the next step, so nothing behind it on that partition is ever committed.)
    """

    stuck_at: tuple[str, int, int] | None = None
    stuck_error: str = ""

    def _subscribed(self) -> Any:
        consumer = super()._subscribed()
        if not isinstance(consumer, _StuckPartitionLast):
            consumer = self._consumer = _StuckPartitionLast(consumer, self)
        return consumer

    def _dead_letter(self, failed: FailedRecord) -> None:
        r = failed.record
        if self.stuck_at != (r.topic, r.partition, r.offset):
            self.stuck_at = (r.topic, r.partition, r.offset)
            self.stuck_error = f"{type(failed.error).__name__}: {failed.error}"
            self._log.error("cannot process record; no DLQ configured, retrying it",
                            topic=r.topic, partition=r.partition, offset=r.offset, error=self.stuck_error)
        raise _Rewind


class LabShop(Shop):
    """``services.shop.Shop`` whose instances follow the lab's knobs."""

    knobs = ServiceKnobs()
    slow_in_poll = False  # kafka mode: the inventory's delay is spent after poll, not in the handler

    def add_instance(self, kind: str) -> EventService:
        handler: Any = self._handler(kind)
        broker: Any = self.broker
        slow = kind == "inventory" and self.knobs.inventory_delay_ms > 0
        if slow and self.slow_in_poll:
            broker = _SlowConsumers(broker, self.clock, self.knobs.inventory_delay_ms)
        elif slow:
            handler = SlowHandler(handler, self.clock, self.knobs.inventory_delay_ms)
        name = f"{kind}-{self._counts[kind]}"
        self._counts[kind] += 1
        service_class = EventService if self.knobs.dlq else NoDlqService
        service = service_class(name, handler, broker=broker, store=self.stores[kind], clock=self.clock,
                                logger=self.logger, config=self.config)
        self.services.append(service)
        return service


def build_lab_shop(broker: Broker, stores: Mapping[str, StateStore], clock: Clock, ids: IdGenerator,
                   knobs: ServiceKnobs, *, instances: Mapping[str, int] | None = None,
                   config: ServiceConfig | None = None, logger: Any = None, slow_in_poll: bool = False) -> LabShop:
    """Like ``services.shop.build_shop`` (without creating topics: a service's startup does that)."""
    shop = LabShop(broker, stores, clock, ids, catalog=DEFAULT_CATALOG, config=config or ServiceConfig(),
                   logger=logger)
    shop.knobs = knobs
    shop.slow_in_poll = slow_in_poll
    with stores["inventory"].transaction() as tx:
        for product, units in DEFAULT_CATALOG.stock.items():
            tx.seed_stock(product, units)
    counts = {"order": 1, "payment": 1, "inventory": 1, **(instances or {})}
    for kind in KINDS:
        for _ in range(counts[kind]):
            shop.add_instance(kind)
    return shop


class ServiceProcess:
    """One service instance as a process: start at ``start_at_ms``, start up, then loop on step().

    ``on_exit`` is called once when the process dies during startup (the naive service's crash).
    """

    def __init__(self, service: EventService, broker: Broker, clock: Clock, knobs: ServiceKnobs, *,
                 partitions: int = 3,
                 start_at_ms: int = 0, on_exit: Callable[[ServiceProcess], None] = lambda _p: None) -> None:
        self.service = service
        self.broker = broker
        self.clock = clock
        self.knobs = knobs
        self.partitions = partitions
        self.start_at_ms = start_at_ms
        self.on_exit = on_exit
        self.started = False
        self.attempts = 0
        self.exit_error: str | None = None
        self.startup_errors: list[str] = []

    def step(self) -> int:
        if self.exit_error is not None or self.clock.now_ms() < self.start_at_ms:
            return 0
        if not self.started:
            return self._start()
        return self.service.step()

    def _start(self) -> int:
        self.attempts += 1
        try:
            admin = self.broker.admin()
            ensure_topics(admin, self.partitions, self.service.topics)  # needs cluster metadata
            admin.describe_group(self.service.group_id)  # needs the group coordinator
        except BrokerError as exc:
            self.startup_errors.append(str(exc))
            if self.knobs.wait_for_broker and self.attempts <= self.knobs.startup_retries:
                backoff = self.knobs.retry_backoff_ms << min(self.attempts - 1, 16)
                self.clock.sleep(min(backoff, self.knobs.retry_backoff_max_ms))
                return 1
            self.exit_error = f"{type(exc).__name__}: {exc}"
            self.on_exit(self)
            return 0
        self.started = True
        return 1

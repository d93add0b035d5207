"""One service instance as a real OS process: ``kafkalab service run NAME --instance K``.

The process builds its service over the real broker (``KafkaBroker``) and its own PostgreSQL schema,
then loops ``step()`` (poll with a short timeout, handle, publish the outbox, commit) until SIGTERM or
SIGINT. Shutdown finishes the current step, then closes the consumer, which leaves the group so its
partitions move to the other members at once rather than after session.timeout.ms.

The order process also serves the HTTP API. Design: the HTTP threads and the consumer loop share
only the order store (PostgreSQL, one schema, a pool of connections, so neither waits for the
other's round trips). ``POST /orders`` inserts the PENDING order and its OrderCreated into the outbox
in one transaction; once it commits, the request wakes the outbox relay (a thread), which publishes
what is pending at once, so a new order never waits for the consumer loop's poll. The HTTP side never
touches a Kafka client, an accepted order can never be lost (it is durable before the 201), and any
order instance — this one or another — may publish it. ``GET /orders/{id}`` reads the same store,
which the loop updates as payment and inventory outcomes arrive.

A process handles each polled batch in one store transaction (``ServiceConfig.batch_transactions``),
and each hop of the saga waits for the broker only until its first record is there (the consumer's
poll returns as soon as something arrived).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import structlog

from scenarios import root
from scenarios.settings import Settings
from scenarios.stack.control import start_control
from services.catalog import DEFAULT_CATALOG
from services.events import Topics
from services.fault_points import OrderEvents
from services.order_api import OrderApi
from services.runner import EventService, Handler, ServiceConfig
from services.saga import InventoryHandler, OrderHandler, PaymentHandler
from services.shop import ensure_topics

SERVICE_NAMES = ("order", "payment", "inventory")
POLL_TIMEOUT_S = 0.25  # bounds shutdown latency (a poll returns as soon as a record is there)
IDLE_BACKOFF_S = 0.2  # when a step fails fast (broker down), do not spin
# A member that stops heartbeating (kill -9, a host gone) is dropped by the broker after this, and its
# partitions go to the others: 6 s is the broker's default group.min.session.timeout.ms. A clean
# shutdown leaves the group at once (LeaveGroup on close), whatever this is.
SESSION_TIMEOUT_MS = 6_000
# After a broker restart the clients reconnect on librdkafka's backoff: 100 ms doubling per failed
# attempt up to reconnect.backoff.max.ms (default 10 s).
RECOVERY_SETTINGS: dict[str, int] = {"reconnect.backoff.max.ms": 1_000}
RELAY_IDLE_S = 0.5  # the relay also looks at the outbox this often unwoken (another instance's orders)
ORDER_POOL_SIZE = 6  # the order store's connections: HTTP threads, the relay and the consumer loop


def make_handler(name: str) -> Handler:
    if name == "order":
        return OrderHandler()
    if name == "payment":
        return PaymentHandler()
    if name == "inventory":
        return InventoryHandler(DEFAULT_CATALOG)
    raise ValueError(f"unknown service {name!r}; expected one of {', '.join(SERVICE_NAMES)}")


def group_id(name: str, prefix: str = "") -> str:
    """The consumer group of service ``name``: ``order-service``, ``payment-service``, ..."""
    return f"{prefix}{make_handler(name).group_id}"


@dataclass
class ServiceOptions:
    name: str
    settings: Settings  # bootstrap servers and database URL
    instance: int = 0
    prefix: str = ""  # topics, groups and schemas; "" in normal use
    host: str = "127.0.0.1"
    port: int = 3000
    order_events: str = "relay"  # order only: outbox + relay, or a dual write (services.fault_points)
    schema: str | None = None  # the PostgreSQL schema; None: the kind's own under ``prefix``
    session_timeout_ms: int = SESSION_TIMEOUT_MS
    control: bool = False  # take "arm <fault point>" lines on stdin (a lab's world drives the process)


@dataclass
class LoopStats:
    """What the loop has done; read (not written) by the HTTP health check on another thread."""

    steps: int = 0
    work: int = 0
    errors: int = 0
    started_ms: int = field(default_factory=lambda: time.time_ns() // 1_000_000)


class StopFlag:
    """Set by SIGTERM/SIGINT; the loop checks it between steps."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def install(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, _frame: self.event.set())

    @property
    def stopping(self) -> bool:
        return self.event.is_set()


def run_service(opts: ServiceOptions, stop: StopFlag | None = None) -> int:
    """Run one instance until stopped. Returns the process exit code."""
    if stop is None:
        stop = StopFlag()
        stop.install()
    name = f"{opts.name}-{opts.instance}"
    log = structlog.get_logger("kafkalab.service").bind(service=name)
    handler = make_handler(opts.name)
    topics = Topics.with_prefix(opts.prefix) if opts.prefix else Topics()
    config = ServiceConfig(poll_timeout_s=POLL_TIMEOUT_S, topics=topics, group_prefix=opts.prefix,
                           session_timeout_ms=opts.session_timeout_ms, order_events=OrderEvents(opts.order_events),
                           batch_transactions=True)
    clock = root.wall_clock()
    broker = root.kafka_broker(opts.settings.bootstrap, extra=RECOVERY_SETTINGS)
    schema = opts.schema or root.service_schema(opts.name, opts.prefix)
    store = root.postgres_store(opts.settings.database_url_or_local(), schema,
                                pool_size=ORDER_POOL_SIZE if opts.name == "order" else 3)
    if opts.name == "inventory":
        with store.transaction() as tx:
            for product, units in DEFAULT_CATALOG.stock.items():
                tx.seed_stock(product, units)  # existing stock is kept across restarts
    try:
        ensure_topics(broker.admin(), topics=topics)
    except Exception as exc:  # the loop copes with a broker that is not there yet
        log.warning("topics not ensured", error=repr(exc))
    service = root.event_service(name, handler, broker=broker, store=store, clock=clock, logger=log, config=config)
    stats = LoopStats()
    server = api = relay = None
    if opts.name == "order":
        relay = OutboxRelay(service, stop, log)
        relay.start()
        api = root.order_api(store, clock, root.random_ids(), topics, order_events=config.order_events, broker=broker)
        server = _serve_http(opts, api, stats, service.group_id, relay.wake)
        log.info("http listening", host=opts.host, port=server.port)
    if opts.control:
        points = [service.fault_points] + ([api.fault_points] if api is not None else [])
        start_control(points, server.port if server is not None else None, stop.event.set)
    log.info("started", group_id=service.group_id, bootstrap=opts.settings.bootstrap, pid=os.getpid())
    try:
        _loop(service, stats, stop, log)
    finally:
        if server is not None:
            server.close()
        if api is not None:
            api.close()
        if relay is not None:
            relay.join()
        service.close()  # leaves the group
        store.close()
        log.info("stopped", steps=stats.steps, work=stats.work)
    return 0


class MemberFile:
    """Keeps the group member id this process holds in a file (``KAFKALAB_MEMBER_FILE``), so ``up``
    and ``scale`` can tell this process's membership from a dead predecessor's with the same client id."""

    EVERY_S = 0.5  # asking librdkafka for the member id costs: not at every step

    def __init__(self, path: str | None) -> None:
        self._path = path
        self._written: str | None = None
        self._next_look = 0.0

    def update(self, service: EventService) -> None:
        if not self._path or service.consumer is None or time.monotonic() < self._next_look:
            return
        self._next_look = time.monotonic() + self.EVERY_S
        member = service.consumer.member_id
        if member != self._written:
            tmp = f"{self._path}.tmp"
            with open(tmp, "w") as handle:
                handle.write(member)
            os.replace(tmp, self._path)
            self._written = member


def _loop(service: EventService, stats: LoopStats, stop: StopFlag, log: Any) -> None:
    member = MemberFile(os.environ.get("KAFKALAB_MEMBER_FILE"))
    while not stop.stopping:
        began = time.monotonic()
        try:
            work = service.step()
        except Exception:  # a bug must not kill the consumer: log it, back off, go on
            stats.errors += 1
            log.exception("step failed")
            stop.event.wait(1.0)
            continue
        stats.steps += 1
        stats.work += work
        member.update(service)
        if work == 0 and time.monotonic() - began < POLL_TIMEOUT_S / 2:
            stop.event.wait(IDLE_BACKOFF_S)


class OutboxRelay(threading.Thread):
    """Publishes the order outbox as soon as an HTTP request's transaction committed (``wake``).

    Wakes coalesce: one publish takes everything pending (up to ``outbox_batch``), so under load
    each publish carries many orders. It publishes through the service's own ``publish_pending``,
    which takes the service's lock, so the loop and the relay never send the same entries at once.
    """

    def __init__(self, service: EventService, stop: StopFlag, log: Any) -> None:
        super().__init__(name="outbox-relay", daemon=True)
        self._service, self._stop, self._log = service, stop, log
        self._woken = threading.Event()

    def wake(self) -> None:
        self._woken.set()

    def join(self, timeout: float | None = 5.0) -> None:
        self._woken.set()
        super().join(timeout)

    def run(self) -> None:
        while not self._stop.stopping:
            self._woken.wait(RELAY_IDLE_S)
            self._woken.clear()
            try:
                while self._service.publish_pending() and not self._stop.stopping:
                    pass  # a full batch went out: more may be waiting
            except Exception:  # a bug must not end the relay: the loop's steps publish too
                self._log.exception("outbox relay failed")
                self._stop.event.wait(1.0)


def _serve_http(opts: ServiceOptions, api: OrderApi, stats: LoopStats, group: str, placed: Any) -> Any:
    from scenarios.web.endpoints import OrderApiEndpoints
    from scenarios.web.server import serve_in_thread

    def details() -> dict[str, Any]:
        return {"service": f"{opts.name}-{opts.instance}", "group": group, "steps": stats.steps}

    endpoints = OrderApiEndpoints(api, ready=lambda: stats.steps > 0, details=details, placed=placed)
    return serve_in_thread(endpoints, opts.host, opts.port)

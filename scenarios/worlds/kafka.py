"""The real world: a Kafka broker (through the composition root), PostgreSQL, the wall clock.

Each service instance loops on ``step()`` in its own thread, as it would in its own process, so a
slow instance does not slow the others and three instances really work in parallel. Stores are
PostgreSQL schemas of this run (``order_svc_<run>``...); topics and groups carry the run's prefix
``kl-<run>-``, so runs on one broker never meet. ``close`` removes them unless asked to keep them,
and always stops every server the world started (a private broker), also when the phase failed.

Faults: a crash kills an instance in its next step, after handling and publishing its batch and
before committing it (in-process it still leaves its group: confluent-kafka gives no way to vanish
without a LeaveGroup); ``slow`` pauses an instance after each step. ``broker_down`` and
``lose_ack`` need a fault backend between the clients and the broker (``fault_backend``, e.g. a
fault proxy); without one they are "not available in the kafka world".
"""

from __future__ import annotations

import contextlib
import gc
import threading
import time
import uuid
from typing import Any, Protocol

from compose.runtime import LauncherError
from scenarios import root
from scenarios.engine.model import Step
from scenarios.engine.observation import Observation
from scenarios.engine.spec import WorldSpec
from scenarios.engine.world import NotAvailable, WorldError
from scenarios.settings import Settings
from scenarios.worlds.base import ShopWorld
from scenarios.worlds.cluster import PrivateCluster
from scenarios.worlds.kafka_cli import COMMITTED_TIMEOUT_S, compare_with_cli
from scenarios.worlds.kafka_logs import LibrdkafkaLines
from scenarios.worlds.servers import PrivateBroker, Server
from scenarios.worlds.wiretap import Killed, TappedBroker
from services.events import Topics
from services.ports import BrokerError, StoreError
from services.runner import EventService
from services.shop import KINDS, ensure_topics

BLOCKED_PAUSE_S = 0.2  # an instance retrying a record it cannot process (no DLQ) waits between tries
IDLE_PAUSE_S = 0.05
READ_BACK_TIMEOUT_S = 60.0
READY_TIMEOUT_S = 30.0


class FaultBackend(Protocol):
    """Something that can break the network between the services and the broker (a fault proxy)."""

    def supports(self, op: str) -> bool: ...

    def apply(self, step: Step) -> None: ...


class KafkaWorld(ShopWorld):
    mode = "kafka"
    poll_timeout_s = 0.1
    session_timeout_ms = 10_000
    publish_at_once = False  # the order service's own loop publishes: no producer shared between threads

    def __init__(self, spec: WorldSpec, settings: Settings, *, logger: Any, keep: bool = False,
                 run_id: str | None = None, fault_backend: FaultBackend | None = None) -> None:
        self.settings, self.keep, self.fault_backend = settings, keep, fault_backend
        self.run_id = run_id or uuid.uuid4().hex[:10]
        self.servers: list[Server] = []
        self.lines = LibrdkafkaLines().install()
        self._threads: dict[str, tuple[threading.Thread, threading.Event]] = {}
        self._slow: dict[str, int] = {}
        self._read_deadline = 0.0
        self._readings: list[threading.Thread] = []
        self.errors: list[str] = []
        self.private: PrivateBroker | None = None
        self.cluster: PrivateCluster | None = None  # a replicated world's own three nodes
        prefix = f"kl-{self.run_id}-"
        try:
            bootstrap = settings.bootstrap
            if spec.brokers > 1:
                self.cluster = PrivateCluster()
                self.servers.append(self.cluster)
                bootstrap = self.cluster.start()
            if "broker" in spec.deferred:
                self.private = PrivateBroker()
                self.servers.append(self.private)
                bootstrap = self.private.bootstrap
            self.bootstrap = bootstrap
            observer = root.kafka_broker(bootstrap, client_prefix=f"kafkalab-{self.run_id}")
            super().__init__(spec, observer=observer, clock=root.wall_clock(), topics=Topics.with_prefix(prefix),
                             prefix=prefix)
            services = self._services = root.kafka_broker(spec.bootstrap or bootstrap, timeout_s=spec.client_timeout_s,
                                                          client_prefix=f"kafkalab-{self.run_id}")
            if self.private is None:
                ensure_topics(observer.admin(), spec.partitions, self.topics, replication_factor=spec.replication_factor,
                              config=spec.topic_config)
                self.cluster_topics(observer.admin())
            self.shop = root.shop(TappedBroker(services, self.tap), root.postgres_stores(settings, suffix=f"_{self.run_id}"),
                                  self.clock, root.random_ids(), config=self.service_config("order"),
                                  per_kind=self.per_kind(), instances=spec.instances,
                                  logger=logger, create_topics=False, partitions=spec.partitions)
            for service in self.shop.services:
                if service.name.split("-")[0] not in spec.deferred:
                    self._run(service)
        except BaseException as exc:
            self.close()
            if isinstance(exc, LauncherError | BrokerError | StoreError):
                raise WorldError(f"kafka world at {settings.bootstrap}: {exc}") from None
            raise

    # ------------------------------------------------------------ instances, one thread each
    def _run(self, service: EventService) -> None:
        stop = threading.Event()

        def loop() -> None:
            while not stop.is_set():
                began = time.monotonic()
                try:
                    work = service.step()
                except Killed:  # the crash fault point: handled and published, not committed
                    self.die(service)
                    return
                except Exception as exc:  # a bug, not a broker error (step never raises those): report it
                    self.errors.append(f"{service.name}: {exc!r}")
                    stop.wait(0.5)
                    continue
                if service.consumer is None:
                    gc.collect()  # starting: free failed admin clients here, not in librdkafka's thread (*)
                if service.exited is not None:
                    return  # its startup gave up: the process has ended
                if service.name in self._dying:  # a step without a commit: it dies at the end of it
                    self.die(service)
                    return
                if work and service.name.startswith("inventory-"):
                    self._monitor()  # stock only moves in the inventory service
                pause = self._slow.get(service.name, 0) / 1000
                if service.blocked:
                    pause = max(pause, BLOCKED_PAUSE_S)
                elif not work and time.monotonic() - began < self.poll_timeout_s / 2:
                    pause = max(pause, IDLE_PAUSE_S)
                if pause:
                    stop.wait(pause)

        # (*) An AdminClient collected later may be destroyed inside librdkafka's background thread,
        # where admin results are delivered, and librdkafka aborts the process then
        # (confluent-kafka-python PR #2131); we saw exactly that abort during startup races.
        thread = threading.Thread(target=loop, name=f"{self.prefix}{service.name}", daemon=True)
        self._threads[service.name] = (thread, stop)
        thread.start()

    # ------------------------------------------------------------ brokers of the private cluster
    def kill_broker(self, node_id: int) -> None:
        if self.cluster is None:
            super().kill_broker(node_id)
        else:
            self.cluster.kill(node_id)

    def pause_broker(self, node_id: int, ms: int) -> None:
        if self.cluster is None:
            super().pause_broker(node_id, ms)
        else:
            self.cluster.pause(node_id, ms)

    def start_broker(self, node_id: int) -> None:
        if self.cluster is None:
            super().start_broker(node_id)
        else:
            self.cluster.start_node(node_id)

    def die(self, service: EventService) -> None:
        """In-process, a crash can skip the commit but not the LeaveGroup: the partitions move at once,
        and what it handled since its last commit is delivered again to the others."""
        self._dying.discard(service.name)
        self._threads.pop(service.name, None)
        service.close()
        if service in self.shop.services:
            self.shop.services.remove(service)

    def _halt(self, name: str) -> None:
        thread, stop = self._threads.pop(name, (None, None))
        if thread is not None and stop is not None:
            stop.set()
            thread.join(timeout=60)

    # ------------------------------------------------------------ time (wall clock, deadlines)
    def advance(self, ms: int) -> None:
        self.advance_to(self.now_ms() + int(ms))

    def advance_to(self, at_ms: int) -> None:
        every = min((w[2] for w in self._watches.values()), default=0) / 1000
        while (left := (at_ms - self.now_ms()) / 1000) > 0:
            time.sleep(min(left, every) if every else left)  # the instances run in their threads meanwhile
            self.sample_lag()

    def quiet(self, deadline_ms: int | None) -> bool:
        deadline = time.monotonic() + (self.settings.quiet_timeout_s if deadline_ms is None else deadline_ms / 1000)
        while time.monotonic() < deadline:
            self.sample_lag()
            if self.settled():
                return True
            if self.hopeless():
                return False
            time.sleep(0.3)  # polling the shop's state, bounded by the deadline
        return self.settled()

    def ready(self) -> bool:
        admin = self.admin()

        def stable(kind: str) -> bool:
            try:
                d = admin.describe_group(self.group(kind))
            except BrokerError:
                return False
            return d.state == "Stable" and any(m.assignment for m in d.members)

        return _poll_until(lambda: all(stable(k) for k in KINDS if self.instances(k)), READY_TIMEOUT_S)

    def between_reads(self) -> bool:
        return time.monotonic() < self._read_deadline

    def read_all_topics(self) -> dict:
        self._read_deadline = time.monotonic() + READ_BACK_TIMEOUT_S
        return super().read_all_topics()

    # ------------------------------------------------------------ acting
    def start(self, component: str) -> None:
        if component == "broker":
            if self.private is not None:
                try:
                    bootstrap = self.private.start()
                except LauncherError as exc:
                    raise WorldError(f"kafka world: the lab's private broker did not start: {exc}") from None
                if bootstrap != self.bootstrap:  # it had to move to free ports: so do the clients made later
                    self.bootstrap = self.broker.bootstrap = self._services.bootstrap = bootstrap
            return
        for service in self.instances(component):
            if service.name not in self._threads:
                self._run(service)

    def run_instance(self, service: EventService) -> None:
        self._run(service)

    def stop_instance(self, service: EventService) -> None:
        self._halt(service.name)

    def slow(self, service: EventService, ms: int) -> None:
        self._slow[service.name] = ms  # it pauses this long after each step

    def heal(self) -> None:
        self._slow.clear()

    def network_fault(self, step: Step) -> None:
        if self.fault_backend is None or not self.fault_backend.supports(step.op):
            raise NotAvailable(step.describe(), self.mode, "no fault backend between the clients and the broker")
        self.fault_backend.apply(step)

    def inject(self, topic: str, value: bytes, *, key: str | None, partition: int | None) -> tuple[str, int, int]:
        producer = self.broker.producer()
        try:
            producer.produce(self.physical(topic), value, key=key.encode() if key else None,
                             partition=0 if partition is None else int(partition))
            (meta,) = producer.flush(30.0)
        finally:
            producer.close()
        return (topic, meta.partition, meta.offset)

    def compare_cli_lag(self, kind: str, topic: str) -> dict[str, Any]:
        """Kafka's own LAG between two readings of ours (scenarios.worlds.kafka_cli). It runs beside the
        story, since a JVM takes seconds to start and the load goes on; the dict returned is filled in
        when it is done, and ``collect`` waits for that."""
        reading: dict[str, Any] = {"group": self.group(kind)}
        thread = threading.Thread(target=compare_with_cli, args=(self.admin(), self.group(kind),
                                                                 [self.physical(topic)], self.bootstrap, reading),
                                  name=f"{self.prefix}cli-lag", daemon=True)
        self._readings.append(thread)
        thread.start()
        return reading

    # ------------------------------------------------------------ looking and ending
    def collect(self, obs: Observation) -> None:
        for thread in self._readings:
            thread.join(timeout=COMMITTED_TIMEOUT_S + 60)
        super().collect(obs)
        obs.client_errors = self.lines.connection_errors()
        if self.errors:
            obs.client_errors += self.errors[:3]

    def catch_up(self, kinds: list[str], timeout_s: float) -> bool:
        """Let the given services run until their groups have no lag (after a redrive)."""
        admin = self.admin()

        def caught_up() -> bool:
            lags = [p for k in kinds for s in self.instances(k)[:1] for p in admin.lag(s.group_id, s.subscriptions)]
            return bool(lags) and not any(p.lag for p in lags)

        return _poll_until(caught_up, timeout_s)

    def close(self) -> None:
        try:
            for name in list(self._threads):
                self._halt(name)
            shop = getattr(self, "shop", None)
            if shop is not None:
                shop.close()
                own = self.private is not None or self.cluster is not None
                if not self.keep or own:  # a private broker's run cannot be looked at later
                    if not own:  # a private broker's data is wiped with it
                        _delete_topics(self.broker, self.prefix)
                    for store in shop.stores.values():
                        with contextlib.suppress(StoreError):
                            store.drop_schema()  # type: ignore[attr-defined]
                for store in shop.stores.values():
                    store.close()
        finally:
            getattr(self, "describe_admins", []).clear()
            gc.collect()  # here, in this thread, not in librdkafka's (see _run)
            for server in self.servers:
                server.stop()
            self.servers.clear()
            self.lines.uninstall()


def delete_run(settings: Settings, prefix: str, *, broker: Any = None) -> None:
    """Remove one run's topics and schemas (prefix ``kl-<run>-``); a run kept for a look, later."""
    if not (prefix.startswith("kl-") and prefix.endswith("-")):
        return  # never delete anything this module did not name
    _delete_topics(broker or root.kafka_broker(settings.bootstrap), prefix)
    for store in root.postgres_stores(settings, suffix=f"_{prefix[3:-1]}").values():
        with contextlib.suppress(StoreError):
            store.drop_schema()  # type: ignore[attr-defined]
        store.close()


def _delete_topics(broker: Any, prefix: str) -> None:
    with contextlib.suppress(BrokerError):  # best effort: a leftover prefixed topic harms no later run
        admin = broker.admin()
        names = [t for t in admin.list_topics() if t.startswith(prefix)]
        if names:
            admin.delete_topics(names)


def _poll_until(condition: Any, timeout_s: float, every_s: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if condition():
                return True
        except BrokerError:
            pass
        time.sleep(every_s)  # polling, bounded by the deadline
    return False

"""The real world: a Kafka broker (through the composition root), PostgreSQL, the wall clock.

Each service instance loops on ``step()`` in its own thread, as it would in its own process, so a
slow instance does not slow the others and three instances really work in parallel. Stores are
PostgreSQL schemas of this run (``order_svc_<run>``...); topics and groups carry the run's prefix
``kl-<run>-``, so runs on one broker never meet. ``close`` removes them unless asked to keep them,
and always stops every server the world started (a private broker), also when the phase failed.

Faults: a crash kills an instance in its next step, after handling and publishing its batch and
before committing it (in-process it still leaves its group: confluent-kafka gives no way to vanish
without a LeaveGroup); ``slow`` pauses an instance after each step. ``broker_down`` and
``lose_ack`` need a fault backend between the clients and the broker (``fault_backend``); a phase
whose spec asks for ``network_faults`` gets the fault proxy in front of a private broker
(scenarios.worlds.proxy_faults), otherwise they are "not available in the kafka world".

A kind the phase lists in ``processes`` runs as a real OS process instead (``kafkalab service run``,
scenarios.worlds.processes): orders go to its HTTP API, and ``crash`` at a fault point is a real
SIGKILL where the process reached it, so its consumer never leaves the group (its partitions wait
for the session timeout) and its state is what PostgreSQL committed.
"""

from __future__ import annotations

import contextlib
import gc
import shutil
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from compose.faultproxy import FaultProxyError
from compose.registry import probe as registry_probe
from compose.runtime import LauncherError
from scenarios import root
from scenarios.engine.model import Step
from scenarios.engine.observation import Observation
from scenarios.engine.spec import WorldSpec
from scenarios.engine.world import NO_ANSWER, NotAvailable, WorldError
from scenarios.ops.readback import read_topics
from scenarios.ops.runs import delete_groups
from scenarios.settings import Settings
from scenarios.tuning import lab_run
from scenarios.worlds.base import ShopWorld, ensure_lab_topics
from scenarios.worlds.cluster import PrivateCluster
from scenarios.worlds.kafka_cli import COMMITTED_TIMEOUT_S, compare_with_cli
from scenarios.worlds.kafka_logs import LibrdkafkaLines
from scenarios.worlds.processes import KILL_SETTLED_S, ServiceProcess, log_dir
from scenarios.worlds.proxy_faults import PROXIED_CLIENT_SETTINGS, ProxyFaults
from scenarios.worlds.schemas import WorldSchemas
from scenarios.worlds.servers import PrivateBroker, Server, kept_private_broker
from scenarios.worlds.sim import say_figures
from scenarios.worlds.wiretap import Killed, TappedBroker
from services.events import Topics
from services.ports import BrokerError, InvalidConfig, Record, StoreError
from services.registry import RegistryError
from services.runner import EventService
from services.shop import KINDS, ensure_topics

BLOCKED_PAUSE_S = 0.2  # an instance retrying a record it cannot process (no DLQ) waits between tries
IDLE_PAUSE_S = 0.05
READ_BACK_TIMEOUT_S = 60.0
READY_TIMEOUT_S = 30.0
PROCESS_SESSION_TIMEOUT_MS = 6_000  # a killed process's partitions move after this (the broker's minimum)
ARMED_LANDS_S = 15.0  # an armed instance reaches its fault point within this, or is killed anyway


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
        self._procs: dict[str, ServiceProcess] = {}  # instances that are OS processes (spec.processes)
        self._landed: list[tuple[str, str]] = []  # (instance, fault point) killed there, not yet buried
        self._landed_lock = threading.Lock()
        self._log_dir: Path | None = None
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
            services_bootstrap, extra = spec.bootstrap or bootstrap, {}
            if spec.network_faults and fault_backend is None and "broker" not in spec.deferred:
                kept = self._kept_broker()  # a broker of this process's own: its FAULTY listener is ours
                bootstrap = kept.bootstrap
                proxied = ProxyFaults.start(kept.offset, lambda topic: self.physical(topic))
                self.servers.append(proxied)
                self.fault_backend = proxied
                services_bootstrap, extra = spec.bootstrap or proxied.bootstrap, PROXIED_CLIENT_SETTINGS
            self.bootstrap = bootstrap
            observer = root.kafka_broker(bootstrap, client_prefix=f"kafkalab-{self.run_id}")
            super().__init__(spec, observer=observer, clock=root.wall_clock(), topics=Topics.with_prefix(prefix),
                             prefix=prefix)
            if spec.codec == "avro":
                self.schemas = _registry_of(settings, self.topics, self._readable)
            services = self._services = root.kafka_broker(services_bootstrap, timeout_s=spec.client_timeout_s,
                                                          client_prefix=f"kafkalab-{self.run_id}", extra=extra)
            shop_runs = any(spec.instances.get(k, 1) for k in KINDS)  # type: ignore[call-overload]
            if "broker" not in spec.deferred and shop_runs:  # (a lab of its own components needs none of them)
                ensure_topics(observer.admin(), spec.partitions, self.topics, replication_factor=spec.replication_factor,
                              config=spec.topic_config)
                self.cluster_topics(observer.admin())
            if "broker" not in spec.deferred:
                ensure_lab_topics(observer.admin(), spec, self.physical)
            tapped = TappedBroker(services, self.tap)
            self.shop = root.shop(tapped, root.postgres_stores(settings, suffix=f"_{self.run_id}"),
                                  self.clock, root.random_ids(), config=self.service_config("order"),
                                  per_kind=self.per_kind(), instances=spec.instances,
                                  logger=logger, create_topics=False, partitions=spec.partitions)
            self.build_parts(tapped, wait=lambda ms: time.sleep(int(ms) / 1000))
            for service in sorted(self.shop.services, key=lambda s: s.name.split("-")[0] in spec.processes):
                if service.name.split("-")[0] not in spec.deferred:
                    self._run(service)  # threads first: they join their groups while a process starts
            self.start_parts(self._run)
        except BaseException as exc:
            self.close()
            if isinstance(exc, FaultProxyError):
                raise WorldError(f"kafka world: the fault proxy did not start: {exc}") from None
            if isinstance(exc, LauncherError | BrokerError | StoreError):
                raise WorldError(f"kafka world at {settings.bootstrap}: {exc}") from None
            raise

    # ------------------------------------------------------------ instances, one thread each
    def _run(self, service: EventService) -> None:
        if service.name.split("-")[0] in self.spec.processes:
            self._run_process(service)
            return
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
                if isinstance(service, EventService) and service.consumer is None:
                    gc.collect()  # starting: free failed admin clients here, not in librdkafka's thread (*)
                if service.exited is not None:
                    return  # its startup gave up: the process has ended
                if service.name in self._dying and not getattr(service, "waits_for_fault_point", False):  # no commit: it dies now
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

    # ------------------------------------------------------------ instances that are processes
    def _run_process(self, service: EventService) -> None:
        """``kafkalab service run`` with this run's prefix and schema; ``service`` stays the world's
        handle on it (its group, its subscriptions), never stepped here."""
        kind, _, index = service.name.rpartition("-")
        if self._log_dir is None:
            self._log_dir = log_dir(self.run_id)
        tail = ["--bootstrap", self.spec.bootstrap or self.bootstrap,
                "--database-url", self.settings.database_url_or_local(), "--prefix", self.prefix,
                "--schema", root.service_schema(kind, suffix=f"_{self.run_id}"),
                "--session-timeout-ms", str(PROCESS_SESSION_TIMEOUT_MS),
                "--order-events", self.spec.service(kind).order_events]
        proc = ServiceProcess(kind, int(index), tail, log_dir=self._log_dir)
        self.servers.append(proc)
        self._procs[service.name] = proc
        proc.start()

    def crash_at(self, victim: EventService, point: str) -> None:
        proc = self._procs.get(victim.name)
        if proc is None:
            self._dying.discard(victim.name)
            raise NotAvailable(f"crash {victim.name} at={point}", self.mode, "only an instance in a process of its "
                               "own can be killed at a fault point (the phase's world lists it in processes)")

        def landed(at: str) -> None:  # on the process's reader thread: the runner's thread buries it
            with self._landed_lock:
                self._landed.append((victim.name, at))

        proc.arm(point, landed)

    def _bury(self) -> None:
        """Instances killed at their fault point leave the shop; a process that ended by itself exited."""
        with self._landed_lock:
            landed, self._landed = self._landed, []
        for name, point in landed:
            self.killed_at.append((name, point))
            victim = next((s for s in self.shop.services if s.name == name), None)
            if victim is not None:
                self.die(victim)
        for name, proc in list(self._procs.items()):
            service = next((s for s in self.shop.services if s.name == name), None)
            if service is not None and not proc.alive and proc.killed_at is None and service.exited is None:
                service.exited = f"the process ended: {proc.log_tail(1)}"

    def _await_armed(self) -> None:
        """Before an operator restarts anything: every armed instance has reached its point (or is killed)."""
        for name in sorted(self._dying):
            proc = self._procs.get(name)
            if proc is not None and proc.alive and not proc.wait_killed(ARMED_LANDS_S):
                proc.kill()
                self.errors.append(f"{name} never reached its fault point in {ARMED_LANDS_S:.0f}s: killed anyway")
                victim = next((s for s in self.shop.services if s.name == name), None)
                if victim is not None:
                    self.die(victim)
        self._bury()

    def place_order(self, body: Mapping[str, Any]) -> tuple[str | None, str]:
        if "order" not in self.spec.processes:
            return super().place_order(body)
        self._bury()
        proc = next((self._procs[s.name] for s in self.shop.services
                     if s.name.startswith("order-") and s.name in self._procs and self._procs[s.name].alive), None)
        if proc is None:
            return None, f"{NO_ANSWER}: no order service is running"
        order_id, error = proc.post_order(body)
        if error.startswith(NO_ANSWER):
            proc.wait_killed(KILL_SETTLED_S)
            self._bury()
        return order_id, error

    def fault(self, step: Step) -> None:
        if self._procs and step.op in ("heal", "restart", "scale"):
            self._await_armed()
        elif self._procs:
            self._bury()
        super().fault(step)

    def hopeless(self) -> bool:
        self._bury()
        return super().hopeless()

    # ------------------------------------------------------------ brokers of the private cluster
    def admin(self) -> Any:
        """On a cluster whose brokers the story kills, lag is read through a consumer: the Admin call to a
        just-killed group coordinator aborts the process in librdkafka 2.16 (adapters/kafka_group_offsets)."""
        if self.cluster is not None and self._admin is None:
            self._admin = self.broker.admin(lag_by_consumer=True)
        return super().admin()

    def _read_back_from_cluster(self) -> dict[str, list[Record]]:
        """On the private cluster, through that admin too: a partition whose only replica is dead has no end
        to read up to (and would fail the whole ListOffsets); what the others hold is read back."""
        self._readers += 1
        physical = [*self.topics.all(), *(self.physical(t) for t in self.spec.topics)]
        found = read_topics(_DyingBrokers(self.broker), physical, f"{self.prefix}kafkalab-reader-{self._readers}",
                            wait=self.between_reads, poll_timeout_s=self.read_poll_s)
        return {self.logical(t): [replace(r, topic=self.logical(t)) for r in rs] for t, rs in found.items()}

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
        proc = self._procs.pop(service.name, None)
        if proc is not None:
            proc.kill()  # a process is killed for real: no LeaveGroup, its partitions wait for the session timeout
        self._dying.discard(service.name)
        self._threads.pop(service.name, None)
        service.close()
        self.forget(service)

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

        def stable(group: str, running: int | None) -> bool:
            try:
                d = admin.describe_group(group)
            except BrokerError:
                return False
            # every running instance a member, and (while there are partitions enough) each holding some
            holding = sum(1 for m in d.members if m.assignment)
            return (d.state == "Stable" and len(d.members) >= (running or 0)
                    and holding >= min(len(d.members), self.spec.partitions))

        groups = [(self.group(k), len([s for s in self.instances(k) if s.exited is None]))
                  for k in KINDS if self.instances(k)] + [(g, None) for g in self.part_groups()]
        return _poll_until(lambda: all(stable(g, n) for g, n in groups), READY_TIMEOUT_S)

    def between_reads(self) -> bool:
        return time.monotonic() < self._read_deadline

    def read_all_topics(self) -> dict:
        self._read_deadline = time.monotonic() + READ_BACK_TIMEOUT_S
        return super().read_all_topics() if self.cluster is None else self._read_back_from_cluster()

    def read_as(self, topic: str, event_type: str, readers: Any) -> dict[str, dict[str, Any]]:
        self._read_deadline = time.monotonic() + READ_BACK_TIMEOUT_S
        return super().read_as(topic, event_type, readers)

    # ------------------------------------------------------------ acting
    def _start_private(self) -> str:
        assert self.private is not None
        try:
            return self.private.start()
        except LauncherError as exc:
            raise WorldError(f"kafka world: the lab's private broker did not start: {exc}") from None

    @staticmethod
    def _kept_broker() -> PrivateBroker:
        try:
            return kept_private_broker()
        except LauncherError as exc:
            raise WorldError(f"kafka world: the private broker behind the fault proxy did not start: {exc}") from None

    def start(self, component: str) -> None:
        if component == "broker":
            if self.private is not None:
                bootstrap = self._start_private()
                if bootstrap != self.bootstrap:  # it had to move to free ports: so do the clients made later
                    self.bootstrap = self.broker.bootstrap = self._services.bootstrap = bootstrap
            return
        for service in self.instances(component):
            if service.name not in self._threads:
                self._run(service)

    def run_instance(self, service: EventService) -> None:
        self._run(service)

    def stop_instance(self, service: EventService) -> None:
        proc = self._procs.pop(service.name, None)
        if proc is not None:
            proc.stop()
        self._halt(service.name)

    def slow(self, service: EventService, ms: int) -> None:
        self._slow[service.name] = ms  # it pauses this long after each step

    def heal(self) -> None:
        self._slow.clear()
        if self.fault_backend is not None and self.fault_backend.supports("heal"):
            self.fault_backend.apply(Step("heal"))

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

    def measure_producer(self, settings: Mapping[str, Any], workload: Mapping[str, Any], runs: int) -> dict[str, Any]:
        """The Python client measured on this broker at a target calibrated here (what one record per
        request carries, measured first), then ``runs`` runs; medians."""
        try:
            figures = lab_run.measured_for_lab(self.bootstrap, f"{self.prefix}tuning", settings, workload, runs)
        except (lab_run.TuningError, InvalidConfig) as exc:  # a value refused: the learner's to change, in one line
            return {"kind": "measurement", "refused": str(exc), "say": f"refused: {exc}"}
        return {**figures, "say": say_figures(figures)}

    # ------------------------------------------------------------ looking and ending
    def collect(self, obs: Observation) -> None:
        self._bury()
        for thread in self._readings:
            thread.join(timeout=COMMITTED_TIMEOUT_S + 60)
        if isinstance(self.fault_backend, ProxyFaults):
            self.network_report = self.fault_backend.counts()
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
            for proc in self._procs.values():
                proc.stop()  # before their schemas go
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
            registry = getattr(self, "schemas", None)
            if registry is not None and not self.keep:
                with contextlib.suppress(RegistryError):  # best effort, like the topics
                    registry.forget(self.prefix)
            self.close_parts()  # the running ones once their threads have stopped
        finally:
            if self.cluster is not None and hasattr(getattr(self, "_admin", None), "close"):
                self._admin.close()  # its offset readers: consumers, closed before their cluster stops
            getattr(self, "describe_admins", []).clear()
            gc.collect()  # here, in this thread, not in librdkafka's (see _run)
            for server in reversed(self.servers):  # the proxy before the broker behind it
                server.stop()
            self.servers.clear()
            self.lines.uninstall()
            if self._log_dir is not None:  # the processes are gone; their logs were quoted if they misbehaved
                shutil.rmtree(self._log_dir, ignore_errors=True)


class _DyingBrokers:
    """The world's broker as the read-back sees it on a cluster whose brokers are killed."""

    def __init__(self, broker: Any) -> None:
        self.broker = broker

    def admin(self) -> Any:
        return self.broker.admin(lag_by_consumer=True)

    def consumer(self, config: Any) -> Any:
        return self.broker.consumer(config)


def _registry_of(settings: Settings, topics: Topics, readable: Any) -> WorldSchemas:
    """The registry the run's services use: it must answer already (``kafkalab registry up``)."""
    ready, detail = registry_probe(settings.registry_url)
    if not ready:
        raise WorldError(f"kafka world: no schema registry ({detail}); start one with `kafkalab registry up`, "
                         f"or point KAFKALAB_REGISTRY_URL (or [registry] url) at yours")
    return WorldSchemas(root.registry_client(settings.registry_url), topics, readable=readable)


def delete_run(settings: Settings, prefix: str, *, broker: Any = None) -> None:
    """Remove one run's topics and schemas (prefix ``kl-<run>-``); a run kept for a look, later."""
    if not (prefix.startswith("kl-") and prefix.endswith("-")):
        return  # never delete anything this module did not name
    _delete_topics(broker or root.kafka_broker(settings.bootstrap), prefix)
    if registry_probe(settings.registry_url, timeout=1.0)[0]:  # its subjects, if it had any
        with contextlib.suppress(RegistryError):
            WorldSchemas(root.registry_client(settings.registry_url), Topics()).forget(prefix)
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
        delete_groups(admin, prefix)  # and the run's consumer groups (scenarios.ops.runs)


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

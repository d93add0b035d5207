"""startup-race on a real broker: a private Kafka of the lab's own, started before, between or after the
shop's services, with a fresh data dir each time (so ``__consumer_offsets`` really is created).

The private broker listens on shifted ports (``compose.launcher.up(port_offset=...)``, e.g. localhost:10092)
with its own data dir, and is always stopped and wiped when the run ends: the shared broker on
localhost:9092 is never touched. Each service instance runs in its own thread, as it would in its own
process: first its startup (the learner's knobs), then its ``step()`` loop.

- naive (``wait_for_broker = false``): create topics and describe the group once; the first broker error
  is fatal. Before the broker listens that is librdkafka's "Connection refused"; right after it listens
  the first FindCoordinator makes the broker create ``__consumer_offsets`` and answer NOT_COORDINATOR /
  COORDINATOR_NOT_AVAILABLE.
- patient: ``adapters.kafka_readiness.wait_until_ready`` (metadata + group coordinator) within the retry
  budget, then the same startup calls retried with exponential backoff.
"""

from __future__ import annotations

import gc
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from adapters import kafka_readiness as readiness
from adapters.kafka_broker import LIBRDKAFKA_LOGGER, KafkaBroker
from adapters.memory_store import MemoryStore
from compose import launcher, processes
from compose.config import DataDir
from compose.runtime import LauncherError
from compose.topology import MAX_PORT_OFFSET, bootstrap_servers, cluster_nodes
from scenarios.labs.kafka_world import new_prefix
from scenarios.labs.labshop import LabShop, ServiceKnobs, build_lab_shop
from scenarios.root import service_logger, wall_clock
from services.events import Topics
from services.ids import RandomIds
from services.ports import BrokerError
from services.runner import EventService, ServiceConfig
from services.shop import KINDS, ensure_topics

PORT_OFFSETS = tuple(range(1000, 5001, 500))  # first one whose four ports are all free
STARTUP_TIMEOUT_S = 3.0  # each startup call (create topics, describe group) gives up after this
SERVICE_GAP_S = 0.2  # between one component being started and the next one starting
LISTEN_DEADLINE_S = 90.0  # from launching the broker until its port accepts connections
SAGA_DEADLINE_S = 60.0  # from the last component's start until every saga is terminal
ORDERS = 3
DIR_PREFIX = "kafkalab-startup-race-"
OWNER_FILE = "owner.pid"  # the lab process that started the broker in this dir
COORDINATOR_CODES = ("NOT_COORDINATOR", "COORDINATOR_NOT_AVAILABLE", "COORDINATOR_LOAD_IN_PROGRESS")


def startup_budget_ms(knobs: ServiceKnobs) -> int:
    """How long a patient service keeps trying: the sum of its backoffs (doubling, capped)."""
    return sum(min(knobs.retry_backoff_ms << min(i, 16), knobs.retry_backoff_max_ms)
               for i in range(knobs.startup_retries))


class PrivateBroker:
    """One single-node Kafka on shifted ports with a throwaway data dir. ``close`` stops it and wipes it."""

    def __init__(self) -> None:
        _stop_orphans()
        self.offset = _free_offset()
        self.bootstrap = bootstrap_servers(1, self.offset)
        self.root = Path(tempfile.mkdtemp(prefix=DIR_PREFIX))
        (self.root / OWNER_FILE).write_text(f"{os.getpid()}\n")
        self.data = DataDir(self.root / "kafka")
        self.launched = False
        self.seconds_to_listen: float | None = None

    def start(self, give_up: threading.Event) -> None:
        """Launch it and wait until its port accepts connections (or ``give_up`` is set: the run is decided)."""
        started = time.monotonic()
        launcher.up(1, wait=False, data=self.data, port_offset=self.offset)
        self.launched = True
        port = cluster_nodes(1, self.offset)[0].port("EXTERNAL")
        node = self.data.node(1)
        while not give_up.is_set() and not processes.port_in_use(port):
            pid = processes.read_pid(node.pid_file)
            if not pid or not processes.is_our_broker(pid, node.properties):
                raise LauncherError(f"the private broker exited; see {node.stdout}")
            if time.monotonic() - started > LISTEN_DEADLINE_S:
                raise LauncherError(f"the private broker did not listen on {port} in {LISTEN_DEADLINE_S}s")
            give_up.wait(0.05)  # polling the port, bounded by the deadline above
        if not give_up.is_set():
            self.seconds_to_listen = round(time.monotonic() - started, 1)

    def close(self) -> None:
        try:
            if self.launched:
                launcher.down(data=self.data, wipe=True)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _stop_orphans() -> None:
    """Stop and wipe private brokers whose lab process died without its ``finally`` (e.g. killed)."""
    for root in Path(tempfile.gettempdir()).glob(f"{DIR_PREFIX}*"):
        owner = processes.read_pid(root / OWNER_FILE)
        if owner and processes.command_line(owner):
            continue  # its lab run is alive (maybe in another process): not ours to stop
        launcher.down(data=DataDir(root / "kafka"), wipe=True)  # stops only JVMs with that dir's properties
        shutil.rmtree(root, ignore_errors=True)


def _free_offset() -> int:
    for offset in PORT_OFFSETS:
        if offset <= MAX_PORT_OFFSET and not any(
                processes.port_in_use(p) for p in cluster_nodes(1, offset)[0].ports.values()):
            return offset
    raise LauncherError(f"no free ports for a private broker at offsets {PORT_OFFSETS}")


class ServiceThread:
    """One service instance's process: startup by the knobs, then ``step()`` until stopped."""

    def __init__(self, service: EventService, broker: KafkaBroker, knobs: ServiceKnobs, run: StartupRun) -> None:
        self.service = service
        self.broker = broker
        self.knobs = knobs
        self.run = run
        self.started = False
        self.exit_error: str | None = None
        self.thread = threading.Thread(target=self._main, name=f"startup-race-{service.name}", daemon=True)

    def _main(self) -> None:
        started = self._start_up()
        _collect()
        if not started:
            self.run.decided.set()  # a dead service never comes back: its sagas cannot finish
            return
        self.started = True
        while not self.run.stopping.is_set():
            try:
                self.service.step()
            except Exception as exc:  # a bug, not a broker error (step never raises those)
                self.run.errors.append(f"{self.service.name}: {exc!r}")
                self.run.stopping.wait(0.5)

    def _start_up(self) -> bool:
        if self.knobs.wait_for_broker:
            budget_s = startup_budget_ms(self.knobs) / 1000
            ready = readiness.wait_until_ready(self.broker.bootstrap, 1, timeout=budget_s,
                                               still_alive=lambda: "stopped" if self.run.stopping.is_set() else None)
            _collect()
            if not ready.ready:
                return self._exit(f"broker not ready within the {budget_s:.1f}s retry budget: {ready.detail}")
        attempt = 0
        while not self.run.stopping.is_set():
            attempt += 1
            try:
                _startup_calls(self.broker, self.service)
                return True
            except BrokerError as exc:
                self.run.seen(f"{self.service.name}: {type(exc).__name__}: {exc}")
                if not self.knobs.wait_for_broker or attempt > self.knobs.startup_retries:
                    return self._exit(f"{type(exc).__name__}: {exc}")
                _collect()
                backoff_ms = min(self.knobs.retry_backoff_ms << min(attempt - 1, 16), self.knobs.retry_backoff_max_ms)
                self.run.stopping.wait(backoff_ms / 1000)
        return False

    def _exit(self, why: str) -> bool:
        self.exit_error = why
        return False


def _startup_calls(broker: KafkaBroker, service: EventService) -> None:
    admin = broker.admin()
    ensure_topics(admin, 3, service.topics)  # needs cluster metadata
    admin.describe_group(service.group_id)  # needs the group coordinator


def _collect() -> None:
    """Free failed admin clients here, in our thread. An AdminClient left to a later garbage collection
    may be destroyed inside librdkafka's background thread (where admin results are delivered), and
    librdkafka aborts the process then (confluent-kafka-python PR #2131); we saw exactly that abort."""
    gc.collect()


@dataclass
class StartupRun:
    """What one start order did: who died of what, librdkafka's lines, the sagas' states, timings."""

    order: tuple[str, ...]
    knobs: ServiceKnobs
    statuses: dict[str, str] = field(default_factory=dict)
    exits: dict[str, str] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    broker_listen_s: float | None = None
    decided: threading.Event = field(default_factory=threading.Event)
    stopping: threading.Event = field(default_factory=threading.Event)

    def seen(self, line: str) -> None:
        if line not in self.lines:
            self.lines.append(line)

    @property
    def completed(self) -> bool:
        return len(self.statuses) == ORDERS and all(s in ("COMPLETED", "CANCELLED") for s in self.statuses.values())

    @property
    def refused(self) -> str | None:
        return next((line for line in self.lines if "Connection refused" in line), None)

    @property
    def coordinator(self) -> str | None:
        return next((line for line in self.lines if any(code in line for code in COORDINATOR_CODES)), None)

    def summary(self) -> str:
        if self.completed:
            return f"{ORDERS}/{ORDERS} sagas done in {self.seconds:.1f}s"
        if self.exits:
            return "; ".join(f"{name} exited: {why[:110]}" for name, why in self.exits.items())
        pending = sum(1 for s in self.statuses.values() if s not in ("COMPLETED", "CANCELLED"))
        return f"{pending}/{ORDERS} sagas unfinished after {self.seconds:.1f}s" + (f" ({self.errors[0]})" if self.errors else "")


class _Lines(logging.Handler):
    """librdkafka's own connection lines, e.g. 'Connect to ipv4#127.0.0.1:10092 failed: Connection refused'."""

    def __init__(self, run: StartupRun) -> None:
        super().__init__(logging.DEBUG)
        self.run = run

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage().split("]: ", 1)[-1].split(" (after ")[0]
        if "Connect to" in text or "Coordinator" in text or "coordinator" in text:
            self.run.seen(f"librdkafka: {text}")


def run_order(order: Sequence[str], knobs: ServiceKnobs) -> StartupRun:
    """Start broker and services in ``order`` (a private broker, always stopped and wiped) and watch."""
    run = StartupRun(tuple(order), knobs)
    began = time.monotonic()
    broker = PrivateBroker()
    shop, threads = _shop(broker.bootstrap, knobs, run)
    lines, logger = _Lines(run), logging.getLogger(LIBRDKAFKA_LOGGER)
    logger.addHandler(lines)
    old = logger.level, logger.propagate
    logger.setLevel(logging.DEBUG)
    logger.propagate = False  # the lines are the lab's findings, reported in its checks, not log noise
    try:
        for i in range(ORDERS):
            shop.place_order({"customerId": f"cust_race_{i}", "productId": "prod_789", "quantity": 1,
                              "amount": 10.0 + i}, publish=False)  # accepted; waits in the outbox
        for position, name in enumerate(order):
            if run.decided.is_set():
                break
            if position:
                run.decided.wait(SERVICE_GAP_S)
            if name == "broker":
                broker.start(run.decided)
            else:
                threads[name].thread.start()
        deadline = time.monotonic() + SAGA_DEADLINE_S
        while not run.decided.is_set() and time.monotonic() < deadline:
            run.statuses = {o.order_id: o.status.value for o in shop.orders()}
            if run.completed:
                break
            run.decided.wait(0.2)  # polling the sagas, bounded by the deadline above
    finally:
        run.stopping.set()
        for t in threads.values():
            if t.thread.is_alive():
                t.thread.join(timeout=30)
        run.statuses = {o.order_id: o.status.value for o in shop.orders()}
        run.exits = {t.service.name: t.exit_error for t in threads.values() if t.exit_error}
        run.broker_listen_s = broker.seconds_to_listen
        shop.close()
        _collect()
        logger.removeHandler(lines)
        logger.setLevel(old[0])
        logger.propagate = old[1]
        broker.close()
        run.seconds = round(time.monotonic() - began, 1)
    return run


def _shop(bootstrap: str, knobs: ServiceKnobs, run: StartupRun) -> tuple[LabShop, dict[str, ServiceThread]]:
    prefix = new_prefix()
    topics = Topics.with_prefix(prefix)
    broker = KafkaBroker(bootstrap, client_prefix=f"kafkalab-{prefix.rstrip('-')}", timeout_s=STARTUP_TIMEOUT_S)
    config = ServiceConfig(topics=topics, group_prefix=prefix, poll_timeout_s=0.1, session_timeout_ms=10_000)
    shop = build_lab_shop(broker, {kind: MemoryStore() for kind in KINDS}, wall_clock(), RandomIds(), knobs,
                          config=config, logger=service_logger("critical"))
    threads = {s.name.split("-")[0]: ServiceThread(s, broker, knobs, run) for s in shop.services}
    return shop, threads

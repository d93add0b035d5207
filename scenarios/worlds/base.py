"""What both worlds share: the shop and its state, topics by name, reading back, lag, group members.

A subclass says how instances run (actors in virtual time, or threads on the wall clock), how time
passes and how faults land; everything here goes through the ports, so it is the same in both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from scenarios.engine.model import Step
from scenarios.engine.observation import LagSamples, Observation
from scenarios.engine.spec import WorldSpec
from scenarios.engine.world import NotAvailable
from scenarios.ops import dlq
from scenarios.ops.readback import read_topics
from scenarios.worlds.brokers import ClusterSteps
from scenarios.worlds.wiretap import Wiretap
from services.events import Topics
from services.handling import ServiceConfig, StartupPolicy
from services.order_api import ValidationError
from services.ports import Broker, BrokerError, Clock, Record
from services.runner import EventService
from services.shop import KINDS, Shop

TERMINAL = ("COMPLETED", "CANCELLED")
TOPIC_NAMES = ("orders", "payments", "inventory")
BLOCKED_GIVE_UP_MS = 5_000  # a partition stopped at the same record this long (no DLQ) will stay stopped


class ShopWorld(ClusterSteps):
    mode = "?"
    poll_timeout_s = 0.0  # the services' poll timeout: 0 on virtual time
    session_timeout_ms = 45_000
    publish_at_once = True  # the API's thread publishes an accepted order; kafka: the order service's loop
    read_poll_s = 0.5  # reading topics back

    def __init__(self, spec: WorldSpec, *, observer: Broker, clock: Clock, topics: Topics, prefix: str = "") -> None:
        self.spec = spec
        self.broker = observer  # how the world itself looks: the broker's own host, never the services' view
        self.clock = clock
        self.topics = topics
        self.prefix = prefix
        self.tap = Wiretap(clock.now_ms, self.group_name)
        self.shop: Shop
        self._monitor: Callable[[], None] = lambda: None
        self._admin: Any = None
        self._watches: dict[str, tuple[str, str, int]] = {}
        self._samples: dict[str, LagSamples] = {}
        self._last_sample = -(10**12)
        self._readers = 0
        self._redriven: set[tuple[str, int, int]] = set()
        self._blocked: tuple[frozenset[Any], int] = (frozenset(), 0)
        self._dying: set[str] = set()  # crashed at the fault point of their next step
        self.on_sample: Callable[[int, dict[str, LagSamples]], None] | None = None  # e.g. a live lag table
        self.started_ms = clock.now_ms()
        self._init_cluster()

    # ------------------------------------------------------------ building
    def service_config(self, kind: str) -> ServiceConfig:
        s = self.spec.service(kind)
        startup = None if s.startup is None else StartupPolicy(
            s.startup.wait, s.startup.retries, s.startup.backoff_ms, s.startup.backoff_max_ms, self.spec.partitions)
        return ServiceConfig(max_records=s.max_records, poll_timeout_s=self.poll_timeout_s, topics=self.topics,
                             group_prefix=self.prefix, session_timeout_ms=self.session_timeout_ms,
                             subscribe=s.subscribe, work_ms=s.work_ms, dead_letter=s.dead_letter, dedupe=s.dedupe,
                             startup=startup, acks=s.acks)

    def per_kind(self) -> dict[str, ServiceConfig]:
        return {kind: self.service_config(kind) for kind in KINDS}

    # ------------------------------------------------------------ names
    def now_ms(self) -> int:
        return self.clock.now_ms()

    def physical(self, logical_topic: str) -> str:
        base, dot, rest = logical_topic.partition(".")
        if base not in TOPIC_NAMES:
            raise ValueError(f"no topic {logical_topic!r}; the topics are {', '.join(TOPIC_NAMES)} and their .dlq")
        return getattr(self.topics, base) + (dot + rest if dot else "")

    def logical(self, physical_topic: str) -> str:
        for name in TOPIC_NAMES:
            real = getattr(self.topics, name)
            if physical_topic == real or physical_topic.startswith(real + "."):
                return name + physical_topic[len(real):]
        return physical_topic

    def group_name(self, group: str) -> str:
        return group[len(self.prefix):] if self.prefix and group.startswith(self.prefix) else group

    def group(self, kind: str) -> str:
        return f"{self.prefix}{kind}-service"

    def set_monitor(self, monitor: Callable[[], None]) -> None:
        self._monitor = monitor

    def admin(self) -> Any:
        """The world's own admin client, made once (a real one opens connections)."""
        if self._admin is None:
            self._admin = self.broker.admin()
        return self._admin

    def emit(self, kind: str, **fields: Any) -> None:
        """No trace in this world."""

    def trace_lines(self) -> list[str]:
        return []

    # ------------------------------------------------------------ the shop's state
    def set_stock(self, product_id: str, quantity: int) -> None:
        with self.shop.stores["inventory"].transaction() as tx:
            tx.seed_stock(product_id, quantity)
            current = tx.stock_levels()[product_id]
            if current > quantity:
                tx.reserve_stock(product_id, current - quantity)
            elif current < quantity:
                tx.release_stock(product_id, quantity - current)

    def place_order(self, body: Mapping[str, Any]) -> tuple[str | None, str]:
        try:
            return self.shop.place_order(dict(body), publish=self.publish_at_once).order_id, ""
        except ValidationError as exc:
            return None, str(exc)

    def stock(self) -> dict[str, int]:
        return self.shop.stock()

    def money(self) -> dict[str, Decimal]:
        totals = self.shop.totals()
        return {"charged": Decimal(totals.charged_cents) / 100, "refunded": Decimal(totals.refunded_cents) / 100}

    def order_statuses(self) -> dict[str, str]:
        return {o.order_id: o.status.value for o in self.shop.orders()}

    def instances(self, kind: str) -> list[EventService]:
        """The live instances of ``kind`` (not those whose crash is under way)."""
        return [s for s in self.shop.services if s.name.startswith(f"{kind}-") and s.name not in self._dying]

    def victim(self, step: Step) -> EventService:
        victims = [s for s in self.instances(step.get("service")) if s.exited is None]
        if not victims:
            raise NotAvailable(step.describe(), self.mode, f"no running {step.get('service')} instance")
        return victims[int(step.get("index", 0)) % len(victims)]

    # ------------------------------------------------------------ faults (how each lands: the subclass)
    def fault(self, step: Step) -> None:
        op = step.op
        if op in ("broker_down", "lose_ack"):
            self.network_fault(step)
        elif op == "heal":
            self.heal()
            for kind in KINDS:  # an operator restarts whatever is down
                if not self.instances(kind):
                    self.run_instance(self.shop.add_instance(kind))
        elif op == "scale":
            kind, count = step.get("service"), int(step.get("instances"))
            current = self.instances(kind)
            for _ in range(count - len(current)):
                self.run_instance(self.shop.add_instance(kind))
            for victim in reversed(current[count:]):
                self.stop_instance(victim)
                self.shop.remove_instance(victim.name)
        else:
            victim = self.victim(step)
            if op == "slow":
                self.slow(victim, int(step.get("ms")))
            else:  # crash, restart: the instance dies in its next step, after handling, before committing
                self._dying.add(victim.name)
                if victim.consumer is None:
                    self.die(victim)
                else:
                    victim.consumer.arm_crash()  # type: ignore[attr-defined]
                if op == "restart":
                    self.run_instance(self.shop.add_instance(step.get("service")))

    def run_instance(self, service: EventService) -> None:
        raise NotImplementedError

    def stop_instance(self, service: EventService) -> None:
        raise NotImplementedError

    def die(self, service: EventService) -> None:
        """The crash lands: the instance's process is gone."""
        raise NotImplementedError

    def slow(self, service: EventService, ms: int) -> None:
        raise NotImplementedError

    def heal(self) -> None:
        raise NotImplementedError

    def network_fault(self, step: Step) -> None:
        raise NotAvailable(step.describe(), self.mode)

    def exited(self) -> dict[str, str]:
        return {s.name: s.exited for s in self.shop.services if s.exited}

    def hopeless(self) -> bool:
        """Nothing more can happen: an instance gave up starting, or a partition has been stopped at
        the same record (no DLQ) for a while. Either way some saga can never finish."""
        if self.exited():
            return True
        try:
            blocked = frozenset((s.name, tp, at[0]) for s in self.shop.services for tp, at in list(s.blocked.items()))
        except RuntimeError:  # an instance's thread changed it just now: look again next time
            return False
        if blocked != self._blocked[0]:
            self._blocked = (blocked, self.now_ms())
            return False
        return bool(blocked) and self.now_ms() - self._blocked[1] >= BLOCKED_GIVE_UP_MS

    def settled(self) -> bool:
        """Quiet: every order terminal, every outbox empty, every group caught up on its topics."""
        if any(status not in TERMINAL for status in self.order_statuses().values()):
            return False
        try:
            for kind in KINDS:
                with self.shop.stores[kind].transaction() as tx:
                    if tx.pending_outbox(1):
                        return False
            admin = self.admin()
            for service in {s.group_id: s for s in self.shop.services}.values():
                if any(lag.lag for lag in admin.lag(service.group_id, service.subscriptions)):
                    return False
        except BrokerError:
            return False
        live = {s.name.split("-")[0] for s in self.shop.services if s.exited is None and s.name not in self._dying}
        return live == set(KINDS)

    # ------------------------------------------------------------ looking
    def watch(self, kind: str, topic: str, every_ms: int) -> None:
        self._watches[f"{kind}/{topic}"] = (kind, topic, every_ms)
        self._samples.setdefault(f"{kind}/{topic}", [])

    def sample_lag(self, *, force: bool = False) -> None:
        """Read lag of every watched group, at most once per ``every_ms`` of world time."""
        now = self.now_ms()
        for key, (kind, topic, every) in self._watches.items():
            if not force and now - self._last_sample < every:
                continue
            try:
                lags = self.admin().lag(self.group(kind), [self.physical(topic)])
            except BrokerError:
                continue
            self._samples[key].append((now - self.started_ms, {p.partition: p.lag for p in lags}))
        if self._watches and (force or now - self._last_sample >= min(w[2] for w in self._watches.values())):
            self._last_sample = now
            if self.on_sample is not None:
                self.on_sample(now - self.started_ms, self._samples)

    def members(self, kind: str) -> dict[str, int]:
        """client id -> partitions assigned, as ``kafka-consumer-groups --describe --members`` shows."""
        try:
            description = self.admin().describe_group(self.group(kind))
        except BrokerError:
            return {}
        return {m.client_id: len(m.assignment) for m in description.members}

    def read_all_topics(self) -> dict[str, list[Record]]:
        """Every record of the saga topics and DLQs, under their logical names."""
        self._readers += 1
        physical = list(self.topics.all())
        found = read_topics(self.broker, physical, f"{self.prefix}kafkalab-reader-{self._readers}",
                            wait=self.between_reads, poll_timeout_s=self.read_poll_s)
        return {self.logical(t): [replace(r, topic=self.logical(t)) for r in rs] for t, rs in found.items()}

    def between_reads(self) -> bool:
        raise NotImplementedError

    def collect(self, obs: Observation) -> None:
        self.sample_lag(force=True)
        obs.lag = {k: list(v) for k, v in self._samples.items()}
        obs.members = {kind: self.members(kind) for kind in KINDS}
        obs.exits = self.exited()
        obs.blocked = {s.name: (self.logical(t), p, off, err) for s in self.shop.services
                       for (t, p), (off, err) in s.blocked.items()}
        obs.rebalances = [replace(r, at_ms=r.at_ms - self.started_ms) for r in self.tap.rebalances]
        obs.redeliveries = dict(self.tap.redeliveries)
        obs.run_prefix = self.prefix
        obs.acked = {self.logical(t): set(ids) for t, ids in sorted(self.tap.acked.items())}
        obs.produce_errors = list(self.tap.produce_errors)

    # ------------------------------------------------------------ dead letters
    def redrive(self, topic: str, partition: int | None, offset: int | None, max_redrives: int) -> dict[str, Any]:
        """Send the dead letters of ``topic`` (or the one at partition/offset) back to their source,
        each once; ``max_redrives`` refuses a letter that came back too often."""
        letters = [r for r in self.read_all_topics().get(topic, [])
                   if (r.topic, r.partition, r.offset) not in self._redriven
                   and (partition is None or r.partition == partition) and (offset is None or r.offset == offset)]
        physical = [replace(r, topic=self.physical(r.topic)) for r in letters]
        producer = self.broker.producer()
        try:
            sent, refused = dlq.redrive(producer, physical, max_redrives)
        finally:
            producer.close()
        refused_at = {line.split(" ")[0] for line in refused}
        self._redriven |= {(r.topic, r.partition, r.offset) for r in letters
                           if f"{self.physical(r.topic)}[{r.partition}]@{r.offset}" not in refused_at}
        return {"sent": len(sent), "refused": [self._readable(line) for line in refused]}

    def _readable(self, text: str) -> str:
        return text.replace(self.prefix, "") if self.prefix else text


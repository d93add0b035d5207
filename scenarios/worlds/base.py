"""What both worlds share: the shop and its state, topics by name, reading back, lag, group members.

A subclass says how instances run (actors in virtual time, or threads on the wall clock), how time
passes and how faults land; everything here goes through the ports, so it is the same in both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from scenarios.engine import components
from scenarios.engine.model import Step
from scenarios.engine.observation import LagSamples, Observation
from scenarios.engine.spec import WorldSpec
from scenarios.engine.world import NotAvailable
from scenarios.ops import dlq
from scenarios.ops.readback import read_topics
from scenarios.worlds.brokers import ClusterSteps
from scenarios.worlds.schemas import WorldSchemas
from scenarios.worlds.wiretap import Wiretap
from services.events import Topics
from services.fault_points import FAULT_POINTS, OrderEvents
from services.handling import ServiceConfig, StartupPolicy
from services.order_api import ValidationError
from services.ports import Admin, Broker, BrokerError, Clock, Record, StoreError, TopicSpec
from services.runner import EventService
from services.shop import KINDS, Shop

TERMINAL = ("COMPLETED", "CANCELLED")
TOPIC_NAMES = ("orders", "payments", "inventory")
BLOCKED_GIVE_UP_MS = 5_000  # a partition stopped at the same record this long (no DLQ) will stay stopped
STALLED_GIVE_UP_MS = 3_000  # orders PENDING with nothing left to deliver this long will stay PENDING


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
        self._stalled_since: int | None = None
        self.killed_at: list[tuple[str, str]] = []  # (instance, fault point): crashes that landed at a point
        self._dying: set[str] = set()  # crashed at the fault point of their next step
        self.on_sample: Callable[[int, dict[str, LagSamples]], None] | None = None  # e.g. a live lag table
        self.schemas: WorldSchemas | None = None  # codec "avro": the phase's registry (the subclass makes it)
        self.started_ms = clock.now_ms()
        self.components: dict[str, components.Called] = {}  # a lab's own parts a call step built, by name
        self.parts: list[Any] = []  # running instances of a lab's own parts (scenarios.engine.components)
        self.notes: list[dict[str, Any]] = []  # what they wrote down for the checks
        self._shared: dict[str, Any] = {}
        self._part_kinds = {components.short_name(name): name for name in spec.components}  # "ledger" -> "exactly-once/ledger"
        self._part_names = dict.fromkeys(self._part_kinds, 0)
        self.network_report: dict[str, Any] = {}  # faults the network backend applied (kafka: the proxy's counts)

        self._init_cluster()

    # ------------------------------------------------------------ a lab's own components
    def build_parts(self, broker: Broker, wait: Callable[[int], None]) -> None:
        """Every instance the spec asks for, built over the services' broker (call once the shop is built);
        ``broker`` and ``wait`` (how the world lets time pass) are what every part is lent from now on."""
        self._parts_broker, self._parts_wait = broker, wait
        for name, spec in sorted(self.spec.components.items()):  # by name: a recorded script's keys are sorted
            for _ in range(spec.instances):
                self.add_part(components.short_name(name))

    def lend_ports(self, name: str, index: int, config: Mapping[str, Any]) -> components.Ports:
        """The one ports object a part gets, called or run: the same fields in both worlds."""
        return components.Ports(name, index, self._parts_broker, self.clock, config, self.part_topic,
                                lambda group: f"{self.prefix}{group}", self._parts_wait, self.mode, self.notes,
                                self._shared, self.poll_timeout_s)

    def part_topic(self, name: str) -> str:
        """A part's topic: the shop's by its physical name, any other (a lab's own) with the run's prefix."""
        return self.physical(name) if name.partition(".")[0] in TOPIC_NAMES else self.prefix + name

    def add_part(self, kind: str) -> Any:
        """One more instance of part ``kind``; a replacement takes the lowest index no live one has
        (so a restarted instance has the same transactional id as the one it replaces)."""
        taken = {p.index for p in self.parts if p.name.startswith(f"{kind}-") and p.name not in self._dying}
        index = next(i for i in range(len(taken) + 1) if i not in taken)
        name = f"{kind}-{self._part_names[kind]}"
        self._part_names[kind] += 1
        registered = self._part_kinds[kind]
        built = components.build(registered, self.lend_ports(name, index, self.spec.components[registered].config))
        self.parts.append(built)
        return built

    def add_instance(self, kind: str) -> Any:
        return self.add_part(kind) if kind in self._part_kinds else self.shop.add_instance(kind)

    def running(self) -> list[Any]:
        """Every instance: the shop's services and the lab's components."""
        return [*self.shop.services, *self.parts]

    def forget(self, service: Any) -> None:
        """A dead instance leaves the lists."""
        for group in (self.shop.services, self.parts):
            if service in group:
                group.remove(service)

    def start_parts(self, run: Callable[[Any], None]) -> None:
        for part in self.parts:
            if not self.spec.components[self._part_kinds[part.name.rsplit("-", 1)[0]]].deferred:
                run(part)

    def part_groups(self) -> list[str]:
        """The consumer groups of the lab's components (each once, in the order first built)."""
        return list(dict.fromkeys(p.group_id for p in self.parts if p.group_id))

    def expected_kinds(self) -> set[str]:
        """The kinds that must have a live instance for the world to be settled."""
        shop = {k for k in KINDS if self.spec.instances.get(k, 1) > 0}  # type: ignore[call-overload]
        return shop | {components.short_name(k) for k, c in self.spec.components.items() if c.instances > 0}

    # ------------------------------------------------------------ building
    def service_config(self, kind: str) -> ServiceConfig:
        s = self.spec.service(kind)
        startup = None if s.startup is None else StartupPolicy(
            s.startup.wait, s.startup.retries, s.startup.backoff_ms, s.startup.backoff_max_ms, self.spec.partitions)
        codec = {} if self.schemas is None else {"codec": self.schemas.codec()}
        return ServiceConfig(max_records=s.max_records, poll_timeout_s=self.poll_timeout_s, topics=self.topics,
                             group_prefix=self.prefix, session_timeout_ms=s.session_timeout_ms or self.session_timeout_ms,
                             subscribe=s.subscribe, work_ms=s.work_ms, dead_letter=s.dead_letter, dedupe=s.dedupe,
                             startup=startup, order_events=OrderEvents(s.order_events),
                             static_membership=s.static_membership, assignor=s.assignor,
                             group_protocol=s.group_protocol, max_poll_interval_ms=s.max_poll_interval_ms,
                             acks=s.acks, **codec)

    def per_kind(self) -> dict[str, ServiceConfig]:
        return {kind: self.service_config(kind) for kind in KINDS}

    # ------------------------------------------------------------ names
    def now_ms(self) -> int:
        return self.clock.now_ms()

    def physical(self, logical_topic: str) -> str:
        base, dot, rest = logical_topic.partition(".")
        if base in self.spec.topics:
            return self.prefix + logical_topic
        if base not in TOPIC_NAMES:
            raise ValueError(f"no topic {logical_topic!r}; the topics are {', '.join(TOPIC_NAMES)} and their .dlq")
        return getattr(self.topics, base) + (dot + rest if dot else "")

    def logical(self, physical_topic: str) -> str:
        for name in TOPIC_NAMES:
            real = getattr(self.topics, name)
            if physical_topic == real or physical_topic.startswith(real + "."):
                return name + physical_topic[len(real):]
        for name in self.spec.topics:
            if physical_topic == self.prefix + name:
                return name
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
        return [s for s in self.running() if s.name.startswith(f"{kind}-") and s.name not in self._dying]

    def victim(self, step: Step) -> EventService:
        victims = [s for s in self.instances(step.get("service")) if s.exited is None]
        if not victims:
            raise NotAvailable(step.describe(), self.mode, f"no running {step.get('service')} instance")
        return victims[int(step.get("index", 0)) % len(victims)]

    # ------------------------------------------------------------ faults (how each lands: the subclass)
    def fault(self, step: Step) -> None:
        op = step.op
        if op in ("broker_down", "lose_ack", "slow_network"):
            self.network_fault(step)
        elif op == "heal":
            self.heal()
            expected = self.expected_kinds()
            for kind in [*(k for k in KINDS if k in expected), *sorted(expected - set(KINDS))]:  # an operator
                # restarts whatever is down
                if not self.instances(kind):
                    self.run_instance(self.add_instance(kind))
        elif op == "scale":
            kind, count = step.get("service"), int(step.get("instances"))
            current = self.instances(kind)
            for _ in range(count - len(current)):
                self.run_instance(self.add_instance(kind))
            for victim in reversed(current[count:]):
                self.stop_instance(victim)
                if victim in self.parts:
                    victim.close()
                    self.parts.remove(victim)
                else:
                    self.shop.remove_instance(victim.name)
        elif op == "bounce":
            self.bounce(self.victim(step), int(step.get("ms", 0)))
        else:
            victim = self.victim(step)
            if op == "slow":
                self.slow(victim, int(step.get("ms")))
            elif op == "crash" and step.get("at") is not None:  # dies where the fault point is reached
                point = str(step.get("at"))
                if point not in FAULT_POINTS:
                    raise NotAvailable(step.describe(), self.mode,
                                       f"no fault point {point!r}; the fault points are {', '.join(FAULT_POINTS)}")
                self._dying.add(victim.name)
                self.crash_at(victim, point)
            else:  # crash, restart: the instance dies in its next step, after handling, before committing
                self._dying.add(victim.name)
                if victim.consumer is None:
                    self.die(victim)
                else:
                    victim.consumer.arm_crash()  # type: ignore[attr-defined]
                if op == "restart":
                    self.run_instance(self.add_instance(step.get("service")))

    def crash_at(self, victim: EventService, point: str) -> None:
        """Arm ``point`` in the victim (and in the order API, part of the order service's process)."""
        raise NotImplementedError

    def bounce(self, victim: EventService, down_ms: int) -> None:
        """A deploy's restart: the instance stops after its step (committed), closes (a dynamic member
        leaves its group, a static one does not), is down ``down_ms``, and comes back under its name."""
        kind = victim.name.split("-")[0]
        self.stop_instance(victim)
        self.shop.remove_instance(victim.name)
        self.advance(down_ms)
        self.run_instance(self.shop.add_instance(kind, name=victim.name))

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
        return {s.name: s.exited for s in self.shop.services if s.exited}  # a component may end on purpose

    def hopeless(self) -> bool:
        """Nothing more can happen: an instance gave up starting, or a partition has been stopped at
        the same record (no DLQ) for a while. Either way some saga can never finish."""
        if self.exited():
            return True
        try:
            blocked = frozenset((s.name, tp, at[0]) for s in self.running() for tp, at in list(s.blocked.items()))
        except RuntimeError:  # an instance's thread changed it just now: look again next time
            return False
        if blocked != self._blocked[0]:
            self._blocked = (blocked, self.now_ms())
            return False
        if blocked:
            return self.now_ms() - self._blocked[1] >= BLOCKED_GIVE_UP_MS
        return self.stalled()

    def stalled(self) -> bool:
        """Some order is PENDING, yet every service runs, every outbox is empty and every group has
        read everything, and it stayed so for a while: no event is coming that could move it (an
        order stored that no OrderCreated announces)."""
        still = False
        try:
            if any(status not in TERMINAL for status in self.order_statuses().values()) and self._nothing_to_do():
                still = True
        except (BrokerError, StoreError):
            pass
        if not still:
            self._stalled_since = None
            return False
        if self._stalled_since is None:
            self._stalled_since = self.now_ms()
        return self.now_ms() - self._stalled_since >= STALLED_GIVE_UP_MS

    def _nothing_to_do(self) -> bool:
        live = {s.name.split("-")[0] for s in self.shop.services if s.exited is None and s.name not in self._dying}
        if live != set(KINDS):
            return False
        for kind in KINDS:
            with self.shop.stores[kind].transaction() as tx:
                if tx.pending_outbox(1):
                    return False
        admin = self.admin()
        return not any(lag.lag for service in {s.group_id: s for s in self.shop.services}.values()
                       for lag in admin.lag(service.group_id, service.subscriptions))

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
            for service in {s.group_id: s for s in self.running() if s.group_id}.values():
                if any(lag.lag for lag in admin.lag(service.group_id, service.subscriptions)):
                    return False
            if not all(p.idle() for p in self.parts if p.exited is None):
                return False
        except BrokerError:
            return False
        live = {s.name.rsplit("-", 1)[0] for s in self.running() if s.exited is None and s.name not in self._dying}
        return live >= self.expected_kinds()

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
        physical = [*self.topics.all(), *(self.physical(t) for t in self.spec.topics)]
        found = read_topics(self.broker, physical, f"{self.prefix}kafkalab-reader-{self._readers}",
                            wait=self.between_reads, poll_timeout_s=self.read_poll_s)
        return {self.logical(t): [replace(r, topic=self.logical(t)) for r in rs] for t, rs in found.items()}

    def between_reads(self) -> bool:
        raise NotImplementedError

    # ------------------------------------------------------------ schemas
    def _registry(self, op: str) -> WorldSchemas:
        if self.schemas is None:
            raise NotAvailable(op, self.mode, "this phase writes JSON (codec json): it has no schema registry")
        return self.schemas

    def set_compatibility(self, event_type: str, level: str) -> dict[str, Any]:
        return self._registry("set_compatibility").set_compatibility(event_type, level)

    def deploy_schema(self, event_type: str, schema: str, renames: Mapping[str, str]) -> dict[str, Any]:
        registry = self._registry("deploy_schema")
        result = registry.deploy(event_type, schema, renames)
        if result["accepted"]:  # the new producer version: the API writes OrderCreated, services the rest
            self.shop.api.codec = registry.codec()
            for service in self.shop.services:
                service.write_with(registry.codec())
            self.shop.configs = {k: replace(c, codec=registry.codec()) for k, c in self.shop.configs.items()}
        return result

    def read_as(self, topic: str, event_type: str, readers: Mapping[str, str]) -> dict[str, dict[str, Any]]:
        registry = self._registry("read_as")
        self._readers += 1
        physical = self.physical(topic)
        found = read_topics(self.broker, [physical], f"{self.prefix}kafkalab-reader-{self._readers}",
                            wait=self.between_reads, poll_timeout_s=self.read_poll_s)
        records = [replace(r, topic=self.logical(r.topic)) for r in found.get(physical, [])]
        return registry.read_as(records, event_type, readers)

    def collect(self, obs: Observation) -> None:
        if self.schemas is not None:
            obs.sizes = self.schemas.meter.to_json()
            obs.registry_json = self.schemas.snapshot()
        self.sample_lag(force=True)
        obs.lag = {k: list(v) for k, v in self._samples.items()}
        obs.members = {kind: self.members(kind) for kind in KINDS}
        obs.exits = self.exited()
        obs.blocked = {s.name: (self.logical(t), p, off, err) for s in self.running()
                       for (t, p), (off, err) in s.blocked.items()}
        # On the timeline's clock (from the phase's start, not the world's: a real world takes a while to build)
        obs.rebalances = [replace(r, at_ms=r.at_ms - obs.started_ms) for r in self.tap.rebalances]
        obs.redeliveries = dict(self.tap.redeliveries)
        obs.joined = [(at - obs.started_ms, group, member) for at, group, member in self.tap.joined]
        obs.run_prefix = self.prefix
        obs.killed_at = list(self.killed_at)
        obs.notes = [dict(n) for n in self.notes]
        obs.network_faults = dict(self.network_report)

        obs.acked = {self.logical(t): set(ids) for t, ids in sorted(self.tap.acked.items())}
        obs.produce_errors = list(self.tap.produce_errors)

    # ------------------------------------------------------------ a lab's own components, called
    def call(self, component: str, action: str, args: Mapping[str, Any]) -> dict[str, Any]:
        if component not in self.components:
            spec = self.spec.components.get(component)
            ports = self.lend_ports(components.short_name(component), 0, spec.config if spec else {})
            try:
                self.components[component] = components.build(component, ports)
            except components.UnknownComponent as exc:
                raise NotAvailable(f"call {component}", self.mode, str(exc)) from None
        return self.components[component].call(action, args)

    def close_parts(self) -> None:
        """Every part of the lab's: the called ones and the running instances (a world that failed while
        opening may have none)."""
        for part in [*getattr(self, "components", {}).values(), *getattr(self, "parts", [])]:
            part.close()
        getattr(self, "components", {}).clear()

    def measure_producer(self, settings: Mapping[str, Any], workload: Mapping[str, Any], runs: int) -> dict[str, Any]:
        raise NotAvailable("measure_producer", self.mode)

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



def ensure_lab_topics(admin: Admin, spec: WorldSpec, physical: Callable[[str], str]) -> None:
    """A lab's own topics (``spec.topics``), with the phase's partitions; kept when they exist."""
    if spec.topics:
        admin.create_topics([TopicSpec(physical(t), spec.partitions) for t in spec.topics], exist_ok=True)

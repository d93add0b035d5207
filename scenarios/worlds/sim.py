"""The simulated world: one seeded ``sim.World``, virtual time, each instance an actor, trace on.

Faults are the simulator's own (a crash without LeaveGroup, slow members, broker outages, lost
acks, raw bytes), so every one of them is in the trace and a run replays byte for byte. When a
phase's services bootstrap at an address of their own, or the broker starts late, their broker
port goes through a simulated host network (scenarios.worlds.network); the world itself always
looks through the plain simulated broker, as an operator on the broker's machine would.

The trace also covers content: every API write (the order body's digest) and every record read
back at the end (a digest of its key, value and headers), so an edited script changes the trace.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from compose.topology import EXTERNAL_BOOTSTRAP
from scenarios import root
from scenarios.engine.model import Step
from scenarios.engine.observation import Observation
from scenarios.engine.spec import WorldSpec
from scenarios.engine.world import NO_ANSWER, NotAvailable
from scenarios.tuning import lab_run
from scenarios.worlds.base import ShopWorld, ensure_lab_topics
from scenarios.worlds.gated import GatedBroker
from scenarios.worlds.network import NOT_YET, SimNetwork
from scenarios.worlds.schemas import WorldSchemas
from scenarios.worlds.wiretap import Killed, TappedBroker
from services.events import Topics
from services.ports import Record
from services.runner import EventService
from services.shop import KINDS, ensure_topics

PERIOD_MS = 10  # each instance polls every 10 virtual ms when it has nothing to do
QUIET_DEADLINE_MS = 600_000  # ten virtual minutes: longer than any session timeout or broker outage
SETTLE_TICK_MS = 1_000  # idle but not settled: let timers (session timeouts, outages) move on
READ_BACK_MS = 5_000  # reading topics back gives up after 5 virtual seconds (the kafka world after 60 s)


class SimWorld(ShopWorld):
    mode = "sim"

    def __init__(self, seed: int, spec: WorldSpec, *, logger: Any) -> None:
        self.world = root.sim_world(seed, trace=True, brokers=spec.brokers)
        raw = root.sim_broker(self.world)
        super().__init__(spec, observer=raw, clock=raw.clock, topics=Topics())
        if spec.codec == "avro":  # an in-process registry of the phase's own: ids from 1, every run alike
            self.schemas = WorldSchemas(root.memory_registry_client(), self.topics)
        self.network: SimNetwork | None = None
        self._read_until = 0
        services_broker: Any = TappedBroker(raw, self.tap)
        if spec.bootstrap is not None or "broker" in spec.deferred:
            late = "broker" in spec.deferred
            self.network = SimNetwork(raw.clock, up_at_ms=NOT_YET if late else 0,
                                      coordinator_at_ms=NOT_YET if late else 0)
            services_broker = GatedBroker(services_broker, self.network, spec.bootstrap or EXTERNAL_BOOTSTRAP)
        ensure_topics(raw.admin(), spec.partitions, replication_factor=spec.replication_factor,
                      config=spec.topic_config)  # the topics are there (from an earlier run)
        self.cluster_topics(raw.admin())
        self.publish_at_once = "order" not in spec.deferred  # the API is part of the order service
        self.shop = root.shop(services_broker, root.memory_stores(), raw.clock, root.seeded_ids(seed),
                              config=self.service_config("order"), per_kind=self.per_kind(),
                              instances=spec.instances, logger=logger,
                              create_topics=False, partitions=spec.partitions)
        ensure_lab_topics(raw.admin(), spec, self.physical)
        self.build_parts(services_broker, wait=lambda ms: self.world.run_for(int(ms)))
        for service in self.shop.services:
            if service.name.split("-")[0] not in spec.deferred:
                self._spawn(service)
        self.start_parts(self._spawn)

    def _spawn(self, service: EventService) -> None:
        def step() -> int:
            try:
                work = service.step()
            except Killed:  # the crash fault point: handled and published, not committed
                self.die(service)
                return 1
            if work and service.name.startswith("inventory-"):
                self._monitor()  # stock only moves in the inventory service
            if service.name in self._dying and not getattr(service, "waits_for_fault_point", False):  # no commit: it dies now
                self.die(service)
            elif service.exited is not None:  # its startup gave up: the process has ended
                self.world.stop_actor(service.name)
            return work

        self.world.spawn(service.name, step, period_ms=PERIOD_MS)

    # ------------------------------------------------------------ time
    def advance(self, ms: int) -> None:
        end = self.now_ms() + int(ms)
        every = min((w[2] for w in self._watches.values()), default=ms) or ms
        while self.now_ms() < end:
            self.world.run_for(min(every, end - self.now_ms()))
            self.sample_lag()

    def advance_to(self, at_ms: int) -> None:
        if at_ms > self.now_ms():
            self.advance(at_ms - self.now_ms())

    def quiet(self, deadline_ms: int | None) -> bool:
        deadline = self.now_ms() + (QUIET_DEADLINE_MS if deadline_ms is None else int(deadline_ms))
        while self.now_ms() < deadline:
            tick_end = min(self.now_ms() + SETTLE_TICK_MS, deadline)
            self.world.run_until_idle(max_steps=500_000, max_ms=tick_end - self.now_ms())
            self.sample_lag()
            if self.settled():
                return True
            if self.hopeless():
                return False
            if self.now_ms() < tick_end:
                self.advance(tick_end - self.now_ms())
        return self.settled()

    def ready(self) -> bool:
        self.world.run_until_idle(max_steps=100_000, max_ms=5_000)
        admin = self.admin()
        parts = all(any(m.assignment for m in admin.describe_group(g).members) for g in self.part_groups())
        return all(self.members(kind) for kind in KINDS if self.instances(kind)) and parts

    def between_reads(self) -> bool:
        self.world.run_for(PERIOD_MS)
        return self.now_ms() < self._read_until  # e.g. a partition whose only broker is gone stays unread

    # ------------------------------------------------------------ acting
    def start(self, component: str) -> None:
        if component == "broker":
            if self.network is not None:
                self.network.broker_starts()
            return
        for service in self.instances(component):
            self._spawn(service)

    def run_instance(self, service: EventService) -> None:
        self._spawn(service)

    def stop_instance(self, service: EventService) -> None:
        self.world.stop_actor(service.name)

    def slow(self, service: EventService, ms: int) -> None:
        self.world.faults.slow(service.name, ms)

    def heal(self) -> None:
        self.world.faults.heal_all()

    def network_fault(self, step: Step) -> None:
        if step.op == "broker_down":
            self.world.faults.broker_down(int(step.get("ms")))
        elif step.op == "slow_network":
            raise NotAvailable(step.describe(), self.mode, "the simulator has no network latency; use slow")
        else:
            self.world.faults.lose_next_ack(self.physical(step.get("topic")) if step.get("topic") else None)

    def crash_at(self, victim: EventService, point: str) -> None:
        """The instance's actor dies where it reaches ``point``: in its own step (the relay), or in the
        API call it is serving (the order service takes the request in its own process)."""
        armed = [victim.fault_points]
        if victim.name.startswith("order-"):
            armed.append(self.shop.api.fault_points)

        def crash(reached: str) -> None:
            for points in armed:
                points.disarm(reached)
            self.killed_at.append((victim.name, reached))
            self.emit("killed", instance=victim.name, at=reached)
            raise Killed(victim.name)

        for points in armed:
            points.arm(point, crash)

    def place_order(self, body: Mapping[str, Any]) -> tuple[str | None, str]:
        try:
            return super().place_order(body)
        except Killed as exc:  # the order service died while serving it: the client's connection drops
            victim = next((s for s in self.shop.services if s.name == exc.args[0]), None)
            if victim is not None:
                self.die(victim)
            return None, f"{NO_ANSWER}: {exc.args[0]} was killed mid-request, the connection dropped"
    def kill_broker(self, node_id: int) -> None:
        if self.spec.brokers == 1:
            super().kill_broker(node_id)
        self.world.faults.broker_crash(node_id)

    def pause_broker(self, node_id: int, ms: int) -> None:
        if self.spec.brokers == 1:
            super().pause_broker(node_id, ms)
        self.world.faults.broker_pause(node_id, ms)

    def start_broker(self, node_id: int) -> None:
        self.world.faults.broker_restart(node_id)

    def die(self, victim: EventService) -> None:
        """No LeaveGroup, no flush: its partitions wait for the session timeout, then are read again
        from the last committed offset (what it handled since is delivered again)."""
        self._dying.discard(victim.name)
        for client in (victim.consumer, victim.producer):
            if client is not None:
                self.world.faults.crash(client)
        self.world.stop_actor(victim.name)
        self.forget(victim)

    def inject(self, topic: str, value: bytes, *, key: str | None, partition: int | None) -> tuple[str, int, int]:
        partition = 0 if partition is None else int(partition)
        offset = self.world.faults.inject(self.physical(topic), value, key=key.encode() if key else None,
                                          partition=partition)
        return (topic, partition, offset)

    def compare_cli_lag(self, kind: str, topic: str) -> dict[str, Any]:
        raise NotAvailable("compare_cli_lag", self.mode, "Kafka's own CLI needs a real broker")

    def measure_producer(self, settings: Mapping[str, Any], workload: Mapping[str, Any], runs: int) -> dict[str, Any]:
        """The batch-formation model's prediction: no clock, no broker, the same figures every run."""
        try:
            figures = lab_run.modelled_for_lab(settings, workload)
        except lab_run.TuningError as exc:
            return {"kind": "model", "refused": str(exc), "say": f"refused: {exc}"}
        return {**figures, "say": say_figures(figures)}

    # ------------------------------------------------------------ looking
    def read_as(self, topic: str, event_type: str, readers: Mapping[str, str]) -> dict[str, dict[str, Any]]:
        self._read_until = self.now_ms() + READ_BACK_MS  # its reads get the same deadline as read-back's
        return super().read_as(topic, event_type, readers)

    def read_all_topics(self) -> dict[str, list[Record]]:
        self._read_until = self.now_ms() + READ_BACK_MS
        records = super().read_all_topics()
        for topic, rs in records.items():
            for r in rs:
                self.emit("record", topic=topic, partition=r.partition, offset=r.offset, digest=record_digest(r))
        return records

    def collect(self, obs: Observation) -> None:
        super().collect(obs)
        obs.client_errors = self.network.first_errors() if self.network is not None else []

    def emit(self, kind: str, **fields: Any) -> None:
        self.world.trace.emit(kind, **fields)

    def trace_lines(self) -> list[str]:
        return self.world.trace.lines()

    def close(self) -> None:
        self.shop.close()
        self.close_parts()
        for store in self.shop.stores.values():
            store.close()


def record_digest(r: Record) -> str:
    """sha256 over a record's key, value and headers (lengths framed, so fields cannot run together)."""
    h = hashlib.sha256()
    for part in (r.key, r.value, *(x for k, v in r.headers for x in (k.encode(), v))):
        h.update(b"-" if part is None else len(part).to_bytes(4, "big") + part)
    return h.hexdigest()[:20]


def say_figures(figures: Mapping[str, Any]) -> str:
    """One line for the timeline: what was measured (or modelled) at these settings."""
    latency = figures.get("latency_ms") or {}
    p99 = latency.get("p99")
    what = "model (not a measurement)" if figures.get("kind") == "model" else "measured"
    return (f"{what}: {figures.get('msgs_per_s', 0):,.0f} msgs/s, p99 "
            + (f"{p99:.1f} ms" if p99 is not None else "not promised (saturated)")
            + f", {figures.get('records_per_batch') or 0:.1f} records per batch, "
            + f"{figures.get('requests_per_s') or 0:,.0f} requests/s")

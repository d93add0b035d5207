"""The lab on the simulator: one seeded World, memory stores, seeded ids, virtual time.

Each service instance is an actor of the world. Faults are the simulator's own (crash without
LeaveGroup, slow members, broker down windows, lost acks, raw bytes), so every one of them is in the
trace and a run replays byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.memory_store import MemoryStore
from adapters.sim_broker import SimBroker
from scenarios.lab import Lab
from scenarios.model import Step
from services.events import Topics
from services.ids import SeededIds
from services.runner import EventService
from services.shop import KINDS, build_shop
from sim import World

PERIOD_MS = 10  # each instance polls every 10 virtual ms when it has nothing to do
QUIET_DEADLINE_MS = 600_000  # ten virtual minutes: longer than any session timeout or broker outage
SETTLE_TICK_MS = 1_000  # idle but not settled: let timers (session timeouts, outages) move on


class SimLab(Lab):
    mode = "sim"

    def __init__(self, seed: int, instances: Mapping[str, int] | None = None, partitions: int = 3,
                 logger: Any = None) -> None:
        self.world = World(seed, trace=True)
        broker = SimBroker(self.world)
        stores = {kind: MemoryStore() for kind in KINDS}
        shop = build_shop(broker, stores, broker.clock, SeededIds(seed), instances=instances,
                          partitions=partitions, logger=logger)
        super().__init__(seed, shop, broker, broker.clock, Topics())
        for service in shop.services:
            self._spawn(service)

    def _spawn(self, service: EventService) -> None:
        def step() -> int:
            work = service.step()
            if work:
                self._monitor()
            return work

        self.world.spawn(service.name, step, period_ms=PERIOD_MS)

    # ------------------------------------------------------------ time
    def run_until_quiet(self) -> bool:
        deadline = self.world.clock.now_ms() + QUIET_DEADLINE_MS
        while self.world.clock.now_ms() < deadline:
            self.world.run_until_idle(max_steps=500_000)
            if self.settled():
                return True
            self.world.run_for(SETTLE_TICK_MS)
        return False

    def advance(self, ms: int) -> None:
        self.world.run_for(ms)

    def _wait_for_observer(self) -> bool:
        self.world.run_for(PERIOD_MS)
        return True

    # ------------------------------------------------------------ faults
    def fault(self, step: Step) -> bool:
        op, faults = step.op, self.world.faults
        if op == "broker_down":
            faults.broker_down(int(step.get("ms")))
        elif op == "lose_ack":
            faults.lose_next_ack(self.physical(step.get("topic")) if step.get("topic") else None)
        elif op == "heal":
            faults.heal_all()
            for kind in KINDS:  # an operator restarts whatever is down
                if not self.instances(kind):
                    self._spawn(self.shop.add_instance(kind))
        elif op == "scale":
            self.scale(step.get("service"), int(step.get("instances")))
        else:
            victims = self.instances(step.get("service"))
            if not victims:
                return False
            victim = victims[int(step.get("index", 0)) % len(victims)]
            if op == "slow":
                faults.slow(victim.name, int(step.get("ms")))
            elif op in ("crash", "restart"):
                self.crash(victim)
                if op == "restart":
                    self._spawn(self.shop.add_instance(step.get("service")))
            else:
                return False
        return True

    def crash(self, victim: EventService) -> None:
        """The process dies: no LeaveGroup, no flush; its partitions wait for the session timeout."""
        for client in (victim.consumer, victim.producer):
            if client is not None:
                self.world.faults.crash(client)
        self.world.stop_actor(victim.name)
        self.shop.services.remove(victim)

    def scale(self, kind: str, count: int) -> None:
        current = self.instances(kind)
        for _ in range(count - len(current)):
            self._spawn(self.shop.add_instance(kind))
        for victim in reversed(current[count:] if count < len(current) else []):
            self.world.stop_actor(victim.name)
            self.shop.remove_instance(victim.name)

    def inject(self, topic: str, value: bytes, *, key: str | None = None, partition: int | None = None) -> tuple:
        physical = self.physical(topic)
        partition = 0 if partition is None else int(partition)
        offset = self.world.faults.inject(physical, value, key=key.encode() if key else None, partition=partition)
        return (topic, partition, offset)

    # ------------------------------------------------------------ trace
    def trace_sha256(self) -> str | None:
        return self.world.trace.sha256()

    def trace_lines(self) -> list[str]:
        return self.world.trace.lines()

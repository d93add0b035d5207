"""A SimLab (the scenarios' simulated shop) with the labs' knobs and a simulated host network.

The services talk to the broker through ``GatedBroker`` (what the host can resolve and reach, and
whether the broker has started); the lab itself observes through the plain simulated broker, the way
an operator on the broker's own machine would. Each instance is a ``ServiceProcess`` actor.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.memory_store import MemoryStore
from adapters.sim_broker import SimBroker
from compose.topology import EXTERNAL_BOOTSTRAP
from scenarios.lab import Lab
from scenarios.labs.gated import GatedBroker
from scenarios.labs.labshop import ServiceKnobs, ServiceProcess, build_lab_shop
from scenarios.labs.network import SimNetwork
from scenarios.root import service_logger
from scenarios.sim_lab import PERIOD_MS, SimLab
from services.events import Topics
from services.ids import SeededIds
from services.ports import PartitionLag
from services.runner import EventService, ServiceConfig
from services.shop import KINDS, ensure_topics
from sim import World


class LabSim(SimLab):
    def __init__(
        self,
        seed: int,
        *,
        bootstrap: str = EXTERNAL_BOOTSTRAP,
        knobs: ServiceKnobs | None = None,
        instances: Mapping[str, int] | None = None,
        start_at: Mapping[str, int] | None = None,
        broker_up_at_ms: int = 0,
        coordinator_at_ms: int = 0,
        partitions: int = 3,
        max_records: int = 500,
        logger: Any = None,
    ) -> None:
        self.world = World(seed, trace=True)
        raw = SimBroker(self.world)
        self.network = SimNetwork(raw.clock, up_at_ms=broker_up_at_ms, coordinator_at_ms=coordinator_at_ms)
        self.knobs = knobs or ServiceKnobs()
        self.start_at = dict(start_at or {})
        self.partitions = partitions
        self.processes: dict[str, ServiceProcess] = {}
        self.watched: tuple[str, str] | None = None  # (group, topic) whose lag ``advance`` samples
        self.samples: list[tuple[int, dict[int, int]]] = []
        self.gated = GatedBroker(raw, self.network, bootstrap)
        ensure_topics(raw.admin(), partitions)  # the topics exist from an earlier run
        shop = build_lab_shop(self.gated, {kind: MemoryStore() for kind in KINDS}, raw.clock, SeededIds(seed),
                              self.knobs, instances=instances, logger=logger or service_logger("critical"),
                              config=ServiceConfig(max_records=max_records))
        Lab.__init__(self, seed, shop, raw, raw.clock, Topics())
        for service in shop.services:
            self._spawn(service)

    def _spawn(self, service: EventService) -> None:
        kind = service.name.split("-")[0]
        process = ServiceProcess(service, self.gated, self.clock, self.knobs, partitions=self.partitions,
                                 start_at_ms=self.start_at.get(kind, 0), on_exit=self._exited)
        self.processes[service.name] = process

        def step() -> int:
            work = process.step()
            if work:
                self._monitor()
            return work

        self.world.spawn(service.name, step, period_ms=PERIOD_MS)

    def _exited(self, process: ProcessLike) -> None:
        self.world.stop_actor(process.service.name)

    # ------------------------------------------------------------ what the labs look at
    def exits(self) -> dict[str, str]:
        return {name: p.exit_error for name, p in sorted(self.processes.items()) if p.exit_error}

    def lag(self, group: str, topic: str) -> list[PartitionLag]:
        return self.broker.admin().lag(group, [topic])

    def members(self, group: str) -> dict[str, int]:
        """client id -> partitions assigned, as ``kafka-consumer-groups --describe --members`` shows."""
        description = self.broker.admin().describe_group(group)
        return {m.client_id: len(m.assignment) for m in description.members}

    def watch(self, group: str, topic: str, every_ms: int = 500) -> None:
        self.watched = (group, topic)
        self.sample_every_ms = every_ms

    def advance(self, ms: int) -> None:
        self.world.run_for(ms)
        last = self.samples[-1][0] if self.samples else -10**9
        if self.watched is not None and self.now_ms() - last >= self.sample_every_ms:
            self.samples.append((self.now_ms(), {p.partition: p.lag for p in self.lag(*self.watched)}))


ProcessLike = ServiceProcess

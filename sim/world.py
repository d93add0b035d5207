"""The world: one seed, one virtual clock, one scheduler, one cluster, one trace, one fault injector."""

from __future__ import annotations

import random
from collections.abc import Callable

from services.ports import ConsumerConfig, ProducerConfig

from .admin import SimAdmin
from .broker_config import BrokerConfig
from .clock import VirtualClock
from .cluster import Cluster
from .consumer import SimConsumer
from .faults import Faults
from .producer import SimProducer
from .scheduler import Actor, Scheduler
from .trace import Trace


class World:
    """Everything a simulated run needs, driven by ``step``/``run_until_idle``/``run_for``.

    Same seed + same script = same trace, byte for byte.
    """

    def __init__(self, seed: int = 0, *, trace: bool = True, broker: BrokerConfig | None = None,
                 start_ms: int = 0, brokers: int = 1) -> None:
        """``start_ms``: the virtual clock's first reading (e.g. an epoch time, so record timestamps look
        like a real broker's); ``broker``: the simulated broker's settings; ``brokers``: a cluster of
        that many (the lab cluster's settings, ``BrokerConfig.cluster``) when ``broker`` is not given."""
        if broker is None and brokers > 1:
            broker = BrokerConfig.cluster(brokers)
        self.seed = seed
        self.rng = random.Random(seed)
        self.clock = VirtualClock()
        self.clock.advance_to(start_ms)
        self.trace = Trace(self.clock.now_ms, enabled=trace)
        self.cluster = Cluster(self.clock, self.rng, self.trace, broker)
        self.scheduler = Scheduler(self.clock, self.rng)
        self.faults = Faults(self.cluster, self.scheduler)
        self.trace.emit("world_start", seed=seed)

    # ---------------------------------------------------------------- clients (the adapter wraps these)
    def create_topic(self, name: str, partitions: int = 1, config: dict[str, str] | None = None) -> None:
        self.cluster.create_topic(name, partitions, config)

    def producer(self, config: ProducerConfig | None = None, *, name: str = "") -> SimProducer:
        return SimProducer(self.cluster, config, name=name)

    def consumer(self, config: ConsumerConfig) -> SimConsumer:
        return SimConsumer(self.cluster, config)

    def admin(self, isolation_level: str = "read_committed") -> SimAdmin:
        return SimAdmin(self.cluster, isolation_level=isolation_level)

    # ---------------------------------------------------------------- actors
    def spawn(self, name: str, step: Callable[[], int], *, period_ms: int = 10) -> Actor:
        actor = self.scheduler.spawn(name, step, period_ms)
        self.cluster.emit("spawn", actor=name, period_ms=period_ms)
        return actor

    def stop_actor(self, name: str) -> None:
        self.scheduler.stop(name)
        self.cluster.emit("stop_actor", actor=name)

    # ---------------------------------------------------------------- running
    def _next_event(self) -> tuple[int | None, bool]:
        """(time of the next event, whether it is a cluster timer rather than an actor)."""
        wake = self.scheduler.next_wake()
        deadline = self.cluster.next_deadline()
        if deadline is not None and (wake is None or deadline < wake):
            return deadline, True
        return wake, False

    def step(self) -> bool:
        """Run the next due actor, or fire the next cluster timer; False when there is nothing left."""
        when, is_timer = self._next_event()
        if when is None:
            return False
        self.clock.advance_to(when)
        self.cluster.tick()
        if not is_timer:
            self.scheduler.run_next(lambda: self.cluster.version)
        return True

    def idle(self) -> bool:
        version = self.cluster.version
        return not self.cluster.pending() and all(a.idle_at_version == version for a in self.scheduler.live())

    def run_until_idle(self, max_steps: int = 1_000_000, max_ms: int | None = None) -> int:
        """Step until every live actor's latest step did nothing, no rebalance or timer is pending and
        nothing changed since; returns the steps taken (stops early at max_steps or max_ms)."""
        end = None if max_ms is None else self.clock.now_ms() + max_ms
        steps = 0
        while steps < max_steps and not self.idle():
            when, _ = self._next_event()
            if when is None or (end is not None and when > end):
                break
            self.step()
            steps += 1
        return steps

    def run_for(self, ms: int) -> int:
        """Run every event due in the next ``ms`` of virtual time, then move the clock to the end."""
        end = self.clock.now_ms() + int(ms)
        steps = 0
        while True:
            when, _ = self._next_event()
            if when is None or when > end:
                break
            self.step()
            steps += 1
        self.clock.advance_to(end)
        self.cluster.tick()
        return steps

"""The broker port over the simulator: ``SimBroker(world)`` hands out the simulator's own clients."""

from __future__ import annotations

from services.ports import ConsumerConfig, ProducerConfig
from sim import World
from sim.admin import SimAdmin
from sim.consumer import SimConsumer
from sim.producer import SimProducer


class SimClock:
    """``services.ports.Clock`` over the world's virtual clock (sleep charges the running actor)."""

    def __init__(self, world: World) -> None:
        self._clock = world.clock

    def now_ms(self) -> int:
        return self._clock.now_ms()

    def sleep(self, ms: int) -> None:
        self._clock.sleep(ms)


class SimBroker:
    """Implements ``services.ports.Broker`` on one simulated world."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.clock = SimClock(world)

    def producer(self, config: ProducerConfig | None = None) -> SimProducer:
        return self.world.producer(config)

    def consumer(self, config: ConsumerConfig) -> SimConsumer:
        return self.world.consumer(config)

    def admin(self) -> SimAdmin:
        return self.world.admin()

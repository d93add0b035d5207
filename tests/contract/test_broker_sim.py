"""The broker contract on the simulator: runs everywhere, in milliseconds of wall time.

Time here is virtual: ``tick`` runs the world for 100 ms between polls, so session and poll-interval
timeouts pass as they would on a real broker, without waiting for them.
"""

from __future__ import annotations

from adapters.sim_broker import SimBroker
from services.ports import Broker, Consumer
from sim import World
from tests.contract.broker_contract import BrokerContract

TICK_MS = 100
START_MS = 1_717_200_000_000  # 2024-06-01: record timestamps look like a real broker's


class TestBrokerSim(BrokerContract):
    poll_timeout_s = 0.0  # the simulator's poll never blocks
    deadline_s = 3.0  # wall clock: a guard against a simulator that never converges

    def make_broker(self) -> Broker:
        self.world = World(seed=20240601, start_ms=START_MS)
        return SimBroker(self.world)

    def now_ms(self) -> int:
        return self.world.clock.now_ms()

    def tick(self) -> None:
        self.world.run_for(TICK_MS)

    def settle(self) -> None:
        self.world.run_for(0)  # fire whatever is due now; never jump ahead past members' deadlines

    def crash(self, consumer: Consumer) -> None:
        self.world.faults.crash(consumer)

"""``kafkalab up --mode sim``: the shop on the simulator, in this process, with the HTTP API on :3000.

For a learner without Java: the seed's curl commands work against it. One driver thread owns the
simulated world and advances its virtual clock in step with the wall clock (``run_for(tick)``); the
HTTP threads only touch the order store (thread-safe), never the world, so the simulator stays
single-threaded as sim/ requires. Runs in the foreground until Ctrl-C. It is a playground, not a
replayable run: orders arrive whenever curl sends them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from scenarios import root
from scenarios.web.endpoints import OrderApiEndpoints
from services.ports import Record
from services.shop import Shop

TICK_MS = 20


class SimStack:
    """A simulated world running the shop; ``advance`` moves it on, ``drive`` keeps it moving."""

    def __init__(self, seed: int = 1, instances: Mapping[str, int] | None = None) -> None:
        self.world = root.sim_world(seed, trace=False)
        self.broker = root.sim_broker(self.world)
        self.shop: Shop = root.shop(self.broker, root.memory_stores(), self.broker.clock, root.random_ids(),
                                    instances=instances)
        for service in self.shop.services:
            self.world.spawn(service.name, service.step)
        self._lock = threading.Lock()  # one thread at a time inside the world

    def endpoints(self) -> OrderApiEndpoints:
        def details() -> dict[str, Any]:
            return {"mode": "sim", "virtualMs": self.world.clock.now_ms(),
                    "instances": [s.name for s in self.shop.services]}

        return OrderApiEndpoints(self.shop.api, details=details)

    def advance(self, ms: int) -> None:
        """Run ``ms`` of virtual time."""
        with self._lock:
            self.world.run_for(ms)

    def drive(self, stop: threading.Event, tick_ms: int = TICK_MS) -> None:
        """Advance virtual time alongside wall time until ``stop`` is set."""
        while not stop.is_set():
            began = time.monotonic()
            self.advance(tick_ms)
            stop.wait(max(0.0, tick_ms / 1000 - (time.monotonic() - began)))

    def records(self, topic: str) -> list[Record]:
        """Every committed record of ``topic``, partition by partition."""
        with self._lock:
            found: list[Record] = []
            for partition in range(len(self.world.cluster.topic(topic).partitions)):
                found += self.world.cluster.log(topic, partition).read(0, 1_000_000, committed_only=True)[0]
            return found

    def close(self) -> None:
        with self._lock:
            self.shop.close()


def run_sim_stack(host: str, port: int, instances: Mapping[str, int], seed: int, echo: Any = print) -> int:
    """Serve the shop on the simulator until Ctrl-C."""
    from scenarios.stack.service_process import StopFlag
    from scenarios.web.server import serve_in_thread

    root.configure_process_logging()
    stack = SimStack(seed, instances)
    server = serve_in_thread(stack.endpoints(), host, port)
    flag = StopFlag()
    flag.install()  # SIGTERM and SIGINT end the loop below
    stop = flag.event
    names = ", ".join(s.name for s in stack.shop.services)
    echo(f"kafkalab sim stack: order API on http://{host}:{server.port} ({names}); Ctrl-C stops it")
    try:
        stack.drive(stop)
    finally:
        stop.set()
        server.close()
        stack.close()
    echo("sim stack stopped")
    return 0

"""``kafkalab console``: the shop running in a world (or a broker looked at as it is), the console over
it, and one loopback server for both the console and the order API.

- sim: the shop on the simulator in this process; one driver thread moves virtual time along with
  the wall clock (``speed`` times as fast), holding the world's lock, and the console reads under
  the same lock, so the simulator stays single-threaded.
- kafka: the shop's services in threads over the real broker and PostgreSQL, on the run's own
  ``kl-<run>-`` topics (removed when the console stops).
- attach: no shop, only a broker (e.g. the one ``kafkalab up`` uses) and the topics on it.

Every reading goes through the broker port (``live.LiveConsole``); only the gate differs.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable
from typing import Any

from scenarios import worlds
from scenarios.console.app import add_console
from scenarios.console.live import Gate, LabPanel, LiveConsole
from scenarios.engine.model import Step
from scenarios.engine.spec import WorldSpec
from scenarios.ops import dlq
from scenarios.settings import Settings
from scenarios.validation import ConfigError
from scenarios.web.app import create_app, guarded_app
from scenarios.web.endpoints import OrderApiEndpoints
from scenarios.web.limits import HttpLimits
from scenarios.web.server import OrderHttpServer, listening_socket

TICK_MS = 20
SIM_READS = 50  # polls one refresh may take in the simulator (records come at once there)
KAFKA_READ_S = 3.0


def loopback(host: str) -> str:
    """The console is for this machine only: it can redrive records and place orders."""
    try:
        ok = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        ok = False
    if not ok:
        raise ConfigError(f"--host {host}: the console serves on loopback only (127.0.0.1, ::1 or localhost)")
    return host


def _counter(n: int) -> Callable[[], Callable[[], bool]]:
    def patience() -> Callable[[], bool]:
        left = [n]

        def go_on() -> bool:
            left[0] -= 1
            return left[0] >= 0

        return go_on

    return patience


def _deadline(seconds: float) -> Callable[[], Callable[[], bool]]:
    def patience() -> Callable[[], bool]:
        end = time.monotonic() + seconds
        return lambda: time.monotonic() < end

    return patience


def _wall_ms() -> int:
    return int(time.time() * 1000)  # record timestamps are wall-clock ms in the real world


class ConsoleStack:
    """The world, the console over it and the server; ``close`` stops them all."""

    def __init__(self, mode: str, settings: Settings, *, spec: WorldSpec | None = None, seed: int = 1,
                 attach: bool = False, prefix: str = "", speed: float = 1.0, title: str = "kafkalab console",
                 max_redrives: int = dlq.DEFAULT_MAX_REDRIVES, lab: LabPanel | None = None,
                 host: str = "127.0.0.1", port: int = 0, refresh_s: float | None = None) -> None:
        loopback(host)
        self.world: Any = None
        self._stop = threading.Event()
        self._driver: threading.Thread | None = None
        hold = self._hold = threading.RLock()
        orders = None
        if attach:
            if mode != "kafka":
                raise ConfigError("--attach: only a real broker can be attached to; sim runs its own shop")
            from scenarios import root

            broker: Any = root.kafka_broker(settings.bootstrap, client_prefix="kafkalab-console")
            gate = Gate(lambda: hold, _deadline(KAFKA_READ_S), _wall_ms)
        else:
            self.world = worlds.open_world_now(mode, seed, spec or WorldSpec(), settings)
            broker, prefix = self.world.broker, getattr(self.world, "prefix", "")
            orders = OrderApiEndpoints(self.world.shop.api, details=lambda: {"mode": mode})
            if mode == "sim":
                self.world.world.trace.enabled = False  # a playground, not a replayable run: no trace to grow
                gate = Gate(lambda: hold, _counter(SIM_READS), self.world.now_ms)
                self._driver = threading.Thread(target=self._drive, args=(hold, speed), name="sim-driver",
                                                daemon=True)
            else:
                gate = Gate(lambda: hold, _deadline(KAFKA_READ_S), _wall_ms)
        self.mode, self.prefix = mode, prefix
        self.console = LiveConsole(broker, gate, mode=mode, prefix=prefix, title=title, max_redrives=max_redrives,
                                   lab=lab, reader=self._reader())
        limits = HttpLimits()
        app = create_app(orders, limits) if orders else guarded_app(title, "The kafkalab console.", limits)
        add_console(app, self.console, orders, scale=None if self.world is None else self._scale)
        if self._driver is not None:
            self._driver.start()
        self.console.start(refresh_s or (0.25 if mode == "sim" else 1.0))
        self.server = OrderHttpServer(app, listening_socket(host, port), limits)
        self.server.start()
        self.url = f"http://{'[' + host + ']' if ':' in host else host}:{self.server.port}"

    def _reader(self) -> Any:
        """Reads Avro values through the phase's registry (a world whose codec is avro), else none."""
        schemas = getattr(self.world, "schemas", None)
        if schemas is None:
            return None
        from scenarios import root

        return root.avro_reader(schemas.client)

    def _scale(self, kind: str, instances: int) -> None:
        """Members of a service's group, as the ``scale`` step of a lab does it (a rebalance follows)."""
        with self._hold:
            self.world.fault(Step("scale", {"service": kind, "instances": instances}))

    def _drive(self, hold: threading.RLock, speed: float) -> None:
        while not self._stop.is_set():
            began = time.monotonic()
            with hold:
                self.world.advance(max(1, int(TICK_MS * speed)))
            self._stop.wait(max(0.0, TICK_MS / 1000 - (time.monotonic() - began)))

    def close(self) -> None:
        self.server.close()
        self._stop.set()
        if self._driver is not None:
            self._driver.join(timeout=10)
        self.console.close()
        if self.world is not None:
            self.world.close()

"""The stack's watcher: compose's ``restart: unless-stopped`` for ``kafkalab up``.

``kafkalab up`` starts it as one more recorded process (``supervisor-0`` in ``kafkalab ps``). Every
half second it looks at the recorded instances; one that died (a crash, a ``kill -9``, an exit of
its own) and was not stopped by kafkalab (``down`` and ``scale`` remove the record first, under the
supervisor's lock) is started again as the same instance (same name, port, consumer group), after a
backoff that doubles per crash in a row — 1 s, 2 s, 4 s ... 30 s — and resets once the instance has
run for ``STABLE_S``. Each death and restart is a line in its log (``supervisor-0.log``); ``ps``
shows the restart count.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from scenarios.stack.supervisor import ServiceProcess, Supervisor, exit_reason, is_alive

WATCHER = "supervisor"  # its service name in the records
SWEEP_S = 0.5
BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
STABLE_S = 30.0  # running this long after a restart: the next crash starts the backoff again


@dataclass
class _Crashes:
    in_a_row: int = 0
    restart_at: float | None = None  # monotonic time of the scheduled restart


def backoff(in_a_row: int) -> float:
    return BACKOFF_S[min(in_a_row, len(BACKOFF_S)) - 1] if in_a_row > 0 else 0.0


class Watcher:
    def __init__(self, sup: Supervisor, restart: Callable[[ServiceProcess], ServiceProcess],
                 echo: Callable[[str], None]) -> None:
        self.sup, self._restart, self._echo = sup, restart, echo
        self._crashes: dict[str, _Crashes] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda _signum, _frame: self.stop.set())
        self._echo("watching the stack's instances: a dead one is restarted with backoff")
        while not self.stop.is_set():
            self.sweep(time.monotonic())
            self.stop.wait(SWEEP_S)

    def sweep(self, now: float) -> None:
        with self.sup.lock():
            for proc in self.sup.records():
                if proc.service != WATCHER and not self.stop.is_set():
                    self._look_at(proc, now)

    def _look_at(self, proc: ServiceProcess, now: float) -> None:
        crashes = self._crashes.setdefault(proc.name, _Crashes())
        if is_alive(proc):
            if crashes.in_a_row and time.time() - proc.started_at > STABLE_S:
                crashes.in_a_row = 0
            return
        if crashes.restart_at is None:
            crashes.in_a_row += 1
            delay = backoff(crashes.in_a_row)
            crashes.restart_at = now + delay
            ran = time.time() - proc.started_at
            self._echo(f"{proc.name} (pid {proc.pid}) {exit_reason(proc.pid)} after {ran:.1f}s; "
                       f"restarting in {delay:g}s (crash {crashes.in_a_row} in a row)")
        if now >= crashes.restart_at:
            crashes.restart_at = None
            new = self._restart(proc)
            self._echo(f"restarted {new.name} as pid {new.pid} (restart {new.restarts})")

"""The stack's watcher: a dead instance is restarted after a backoff that doubles per crash in a row."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from scenarios.stack.supervisor import Supervisor, is_alive
from scenarios.stack.watcher import BACKOFF_S, Watcher, backoff

QUICK_EXIT = [sys.executable, "-c", "pass"]
SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def test_backoff_doubles_and_stops_at_thirty_seconds() -> None:
    assert [backoff(n) for n in range(1, 9)] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert BACKOFF_S[-1] == 30.0


def test_a_dead_instance_is_restarted_after_its_backoff_and_a_stopped_one_is_not(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path)
    lines: list[str] = []
    restarted = []

    def restart(proc):
        new = sup.start(proc.service, proc.instance, SLEEPER, restarts=proc.restarts + 1)
        restarted.append(new)
        return new

    watcher = Watcher(sup, restart, lines.append)
    crashing = sup.start("payment", 0, QUICK_EXIT)
    stopped = sup.start("inventory", 0, SLEEPER)
    sup.stop(stopped, timeout=5)  # stopped by kafkalab: its record is gone, nothing to restart
    try:


        deadline = time.monotonic() + 10
        while is_alive(crashing) and time.monotonic() < deadline:
            time.sleep(0.02)  # the child exits at once; poll until it has
        watcher.sweep(now=100.0)
        assert restarted == [] and "payment-0" in lines[-1] and "restarting in 1s" in lines[-1]
        watcher.sweep(now=100.5)
        assert restarted == []  # still backing off
        watcher.sweep(now=101.0)
        assert [p.name for p in restarted] == ["payment-0"] and restarted[0].restarts == 1
        assert "restarted payment-0 as pid" in lines[-1]
        assert [p.name for p in sup.running()] == ["payment-0"]
    finally:
        for proc in sup.running():
            sup.stop(proc, timeout=5)

"""A service process driven by a lab's world: ``kafkalab service run ... --control``.

The parent writes commands on the process's standard input, one per line; the process answers on
its standard output (its logs go to stderr), each answer a line starting with ``kafkalab-control:``.

    -> (once the HTTP API listens)   kafkalab-control: ready port=41235
    arm after-db-commit           -> kafkalab-control: armed after-db-commit
    (the point is reached)        -> kafkalab-control: reached after-db-commit   (and the thread waits)

At a reached fault point the thread that got there (an HTTP request, or the relay in the loop) stops
for good: the parent kills the process with SIGKILL, so the crash lands exactly there, as a real
``kill -9`` would. Nothing here kills anything itself. When stdin ends (the parent closed it, or
died), the service stops as on SIGTERM: a lab's process never outlives the lab.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

from services.fault_points import FAULT_POINTS, FaultPoints

PREFIX = "kafkalab-control:"


def say(line: str) -> None:
    sys.stdout.write(f"{PREFIX} {line}\n")
    sys.stdout.flush()


def wait_for_kill(point: str) -> None:
    """The action of an armed point: tell the parent, then never return (it sends SIGKILL)."""
    say(f"reached {point}")
    threading.Event().wait()


def start_control(points: list[FaultPoints], port: int | None, parent_gone: Callable[[], None]) -> threading.Thread:
    """Announce readiness, then take commands from stdin; at its end (the parent closed it, or died)
    call ``parent_gone``, which stops the service: a lab's process never outlives its lab."""

    def serve() -> None:
        say("ready" + (f" port={port}" if port is not None else ""))  # the HTTP API listens; the loop starts now
        for line in sys.stdin:
            command, _, point = line.strip().partition(" ")
            if command == "arm" and point in FAULT_POINTS:
                for each in points:
                    each.arm(point, _once(points, point))
                say(f"armed {point}")
            elif command:
                say(f"refused {line.strip()!r}: the commands are 'arm <fault point>' with one of "
                    f"{', '.join(FAULT_POINTS)}")
        parent_gone()

    thread = threading.Thread(target=serve, name="control", daemon=True)
    thread.start()
    return thread


def _once(points: list[FaultPoints], point: str) -> Any:
    def reached(at: str) -> None:
        for each in points:
            each.disarm(at)
        wait_for_kill(at)

    return reached

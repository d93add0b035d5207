"""Named places in a service's work where a world may crash it, and how the order service announces
an order (the outbox lab's switch).

A fault point is a line in the code that says where it is: ``points.reached(AFTER_DB_COMMIT)``.
Nothing happens there unless a world armed that point (``points.arm(AFTER_DB_COMMIT, crash)``); then
the action runs once, the first time the point is reached. The simulator's action raises the
exception its actors die of; a service process's action tells its parent and waits for ``kill -9``.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

AFTER_DB_COMMIT = "after-db-commit"  # the order's transaction has committed; nothing produced for it yet
AFTER_PRODUCE = "after-produce"  # its OrderCreated was produced and acked; what follows has not run
FAULT_POINTS = (AFTER_DB_COMMIT, AFTER_PRODUCE)


class OrderEvents(StrEnum):
    """How an accepted order gets its OrderCreated onto ``orders`` (``ServiceConfig.order_events``).

    - ``relay`` (the default, correct): the order and its event are written in ONE database
      transaction (the event into the outbox table); a relay publishes the outbox afterwards and
      retries until acked. A crash anywhere leaves either nothing or both, and the relay finishes.
    - ``write-then-produce``: commit the order, then produce the event straight to Kafka. A crash
      between the two leaves an order stored that no event announces: it stays PENDING for ever.
    - ``produce-then-write``: produce the event, then commit the order. A crash between the two
      announces an order that was never stored: the saga charges money for an order nobody has.
    """

    RELAY = "relay"
    WRITE_THEN_PRODUCE = "write-then-produce"
    PRODUCE_THEN_WRITE = "produce-then-write"


class FaultPoints:
    """The armed fault points of one service instance (or of its API). Unarmed, reaching a point costs
    one dict lookup."""

    def __init__(self) -> None:
        self._armed: dict[str, Callable[[str], None]] = {}

    def arm(self, point: str, action: Callable[[str], None]) -> None:
        """Run ``action(point)`` the next time ``point`` is reached (once)."""
        if point not in FAULT_POINTS:
            raise ValueError(f"unknown fault point {point!r}; the fault points are {', '.join(FAULT_POINTS)}")
        self._armed[point] = action

    def disarm(self, point: str) -> None:
        self._armed.pop(point, None)

    def armed(self) -> list[str]:
        return sorted(self._armed)

    def reached(self, point: str) -> None:
        if self._armed:
            action = self._armed.pop(point, None)
            if action is not None:
                action(point)

"""One seeded scheduler for every actor: earliest wake first, ties broken by the world's rng."""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass

from .clock import VirtualClock


@dataclass(slots=True, eq=False)
class Actor:
    name: str
    step: Callable[[], int]
    period_ms: int
    wake_ms: int
    alive: bool = True
    steps: int = 0
    last_work: int = -1
    idle_at_version: int = -1  # the cluster version at which its last step did nothing
    extra_ms_per_step: int = 0  # fault: slowness


class Scheduler:
    def __init__(self, clock: VirtualClock, rng: random.Random) -> None:
        self._clock = clock
        self._rng = rng
        self._heap: list[tuple[int, float, int, Actor]] = []
        self._seq = 0
        self.actors: dict[str, Actor] = {}

    def spawn(self, name: str, step: Callable[[], int], period_ms: int = 10, start_ms: int | None = None) -> Actor:
        if name in self.actors and self.actors[name].alive:
            raise ValueError(f"an actor named {name!r} is already running")
        if period_ms < 0:
            raise ValueError("period_ms must be >= 0")
        wake = self._clock.now_ms() if start_ms is None else start_ms
        actor = Actor(name, step, int(period_ms), wake)
        self.actors[name] = actor
        self._push(actor)
        return actor

    def _push(self, actor: Actor) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (actor.wake_ms, self._rng.random(), self._seq, actor))

    def stop(self, name: str) -> None:
        actor = self.actors.get(name)
        if actor is None:
            raise KeyError(f"no actor named {name!r}")
        actor.alive = False

    def next_wake(self) -> int | None:
        heap = self._heap
        while heap and not heap[0][3].alive:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def run_next(self, version: Callable[[], int]) -> Actor:
        """Step the earliest actor (the caller checked there is one); reschedule it after its busy time."""
        _, _, _, actor = heapq.heappop(self._heap)
        clock = self._clock
        clock.advance_to(actor.wake_ms)
        before = version()
        clock.begin_step()
        try:
            work = actor.step()
        finally:
            busy = clock.end_step()
            actor.steps += 1
            actor.wake_ms = clock.now_ms() + actor.period_ms + busy + actor.extra_ms_per_step
            if actor.alive:
                self._push(actor)
        actor.last_work = int(work or 0)
        actor.idle_at_version = version() if (actor.last_work == 0 and version() == before) else -1
        return actor

    def live(self) -> list[Actor]:
        return [a for a in self.actors.values() if a.alive]

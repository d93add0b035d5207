"""Virtual time. Nothing here reads the wall clock."""

from __future__ import annotations


class VirtualClock:
    """Milliseconds since the world began.

    ``sleep`` inside an actor step does not move the global clock: it charges the running actor busy
    time, so its next wake is later (a slow consumer really falls behind). Outside a step (a test
    driving clients by hand) ``sleep`` simply advances the clock.
    """

    __slots__ = ("_now", "_busy", "_in_step")

    def __init__(self) -> None:
        self._now = 0
        self._busy = 0
        self._in_step = False

    def now_ms(self) -> int:
        return self._now

    def sleep(self, ms: int) -> None:
        if ms < 0:
            raise ValueError("cannot sleep a negative time")
        if self._in_step:
            self._busy += int(ms)
        else:
            self._now += int(ms)

    def local_ms(self) -> int:
        """The running actor's own time: the clock plus the busy time its step has charged so far (a
        commit at the end of a slow batch happens this late, as far as its group is concerned)."""
        return self._now + self._busy if self._in_step else self._now

    # ---- used by the scheduler only
    def advance_to(self, t_ms: int) -> None:
        if t_ms > self._now:
            self._now = t_ms

    def begin_step(self) -> None:
        self._in_step = True
        self._busy = 0

    def end_step(self) -> int:
        """Leave the step; return the busy time it charged."""
        self._in_step = False
        busy, self._busy = self._busy, 0
        return busy

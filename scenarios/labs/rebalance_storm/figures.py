"""The storm's figures, from what the wiretap saw of one group's assignment callbacks (both worlds).

- stop-the-world time: how long running members stood idle in rebalances, as one timeline (the
  union): from giving up its last partition (not by closing) until it gets its next ones. An eager
  rebalance does that to every member, until the slowest has rejoined; a cooperative one only to a
  member that gives everything up;
- rebalances: bursts of callbacks on members that were already running (a consumer's first
  assignment and what a closing consumer gives up are its own start and stop, not a rebalance of the
  others); callbacks less than ``BURST_GAP_MS`` apart belong to one rebalance;
- redelivered records: records the group was handed again (a batch whose commit failed, a member
  that left without committing).

Everything counts from ``since_ms`` (the moment the group was first ready) to the end of the phase.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scenarios.engine.observation import Observation, Rebalance

BURST_GAP_MS = 1_500


@dataclass(frozen=True, slots=True)
class Figures:
    stop_the_world_ms: int
    rebalances: int
    span_ms: int
    redelivered: int
    longest_stop_ms: int

    @property
    def per_minute(self) -> float:
        return self.rebalances * 60_000 / self.span_ms if self.span_ms > 0 else 0.0

    def text(self) -> str:
        return (f"stop-the-world {self.stop_the_world_ms / 1000:.1f}s (longest {self.longest_stop_ms / 1000:.1f}s), "
                f"{self.rebalances} rebalances ({self.per_minute:.1f}/min over {self.span_ms / 1000:.0f}s), "
                f"{self.redelivered} records redelivered")


def figures(obs: Observation, group: str, since_ms: int, end_ms: int) -> Figures:
    events = sorted((r for r in obs.rebalances if r.group == group), key=lambda r: r.at_ms)
    joins = [(at, member) for at, g, member in obs.joined if g == group]
    spans = _union([(max(s, since_ms), min(e, end_ms)) for s, e in _idle(events, joins, end_ms)
                    if min(e, end_ms) > max(s, since_ms)])
    return Figures(sum(e - s for s, e in spans), _bursts([r for r in events if r.at_ms >= since_ms]),
                   max(0, end_ms - since_ms), obs.redeliveries.get(group, 0), max((e - s for s, e in spans), default=0))


def _idle(events: Sequence[Rebalance], joins: Sequence[tuple[int, str]], end_ms: int) -> list[tuple[int, int]]:
    """Spans in which a running member held nothing because of a rebalance: from giving up its last
    partition (not by closing) to its next assignment. A consumer that just started is not counted while
    it waits for its first partitions: that is its own start (it was not working before)."""
    spans: list[tuple[int, int]] = []
    timeline = sorted([(at, 0, member, None) for at, member in joins] +
                      [(r.at_ms, 1, r.member, r) for r in events], key=lambda item: (item[0], item[1]))
    holding: dict[str, set[str]] = {}
    idle: dict[str, int] = {}  # member -> since when it has held nothing
    for at, _, member, r in timeline:
        if r is None or r.closing:  # a new consumer under this name, or the old one going: its wait ends
            if member in idle:
                spans.append((idle.pop(member), at))
            if r is None:
                holding[member] = set()
            continue
        held = holding.setdefault(member, set())
        held.difference_update(r.revoked)
        held.update(r.assigned)
        if held and member in idle:
            spans.append((idle.pop(member), at))
        elif not held and r.revoked and member not in idle:
            idle[member] = at
    spans += [(began, end_ms) for began in idle.values()]
    return spans


def _union(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def _bursts(events: Sequence[Rebalance]) -> int:
    count, last = 0, None
    for r in events:
        if r.first or r.closing:
            continue
        if last is None or r.at_ms - last > BURST_GAP_MS:
            count += 1
        last = r.at_ms
    return count

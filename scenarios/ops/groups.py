"""Consumer groups over time, through the broker's admin port: lag per partition sampled again and
again, with the moments the group's membership or assignment changed (its rebalances) marked.

The admin API gives the state now; history is what a watcher keeps. Time-based lag ("30 s behind")
is the age of the oldest record the group has not committed yet, from the records a ``TopicTail``
has read (``behind_ms``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.ports import BrokerError, GroupDescription, PartitionLag, Record, TopicPartition

MAX_SAMPLES = 600  # per group: ten minutes at one a second


@dataclass
class GroupHistory:
    group: str
    times_ms: list[int] = field(default_factory=list)
    lags: list[dict[str, int]] = field(default_factory=list)  # per sample: "topic[p]" -> lag
    rebalances: list[tuple[int, str]] = field(default_factory=list)  # (ms, what changed)
    last: GroupDescription | None = None
    partitions: list[PartitionLag] = field(default_factory=list)
    _signature: tuple[Any, ...] | None = None


def _signature(desc: GroupDescription) -> tuple[Any, ...]:
    return tuple(sorted((m.member_id, tuple(sorted((tp.topic, tp.partition) for tp in m.assignment)))
                        for m in desc.members))


class GroupWatch:
    """Samples every group ``wanted`` accepts each time ``sample`` is called."""

    def __init__(self, admin: Callable[[], Any], now_ms: Callable[[], int],
                 wanted: Callable[[str], bool] = lambda _g: True, label: Callable[[str], str] = str) -> None:
        self._admin = admin
        self._now_ms = now_ms
        self._wanted = wanted
        self._label = label
        self.started_ms = now_ms()
        self.groups: dict[str, GroupHistory] = {}

    def sample(self) -> None:
        admin = self._admin()
        t = self._now_ms() - self.started_ms
        for group in sorted(g for g in admin.list_groups() if self._wanted(g)):
            try:
                desc = admin.describe_group(group)
                lags = admin.lag(group)
            except BrokerError:
                continue  # a group going away between the list and the look
            h = self.groups.setdefault(group, GroupHistory(group))
            sig = _signature(desc)
            if h._signature is not None and sig != h._signature:
                before, after = len(h._signature), len(sig)
                h.rebalances.append((t, f"rebalance: {before} -> {after} member(s)" if before != after
                                     else "rebalance: partitions moved"))
            elif h._signature is None and desc.members:
                h.rebalances.append((t, f"{len(desc.members)} member(s) assigned"))
            h._signature = sig
            h.last, h.partitions = desc, lags
            h.times_ms.append(t)
            h.lags.append({f"{self._label(p.topic)}[{p.partition}]": p.lag for p in lags})
            if len(h.times_ms) > MAX_SAMPLES:
                del h.times_ms[0], h.lags[0]


def behind_ms(p: PartitionLag, records: Mapping[TopicPartition, Sequence[Record]], now_ms: int) -> int | None:
    """How old the oldest record the group has yet to commit is; None when it has none to do."""
    if p.lag == 0:
        return 0
    first = p.committed or 0
    for r in records.get(TopicPartition(p.topic, p.partition), ()):
        if r.offset >= first:
            return max(0, now_ms - r.timestamp)
    return None

"""Resetting a consumer group's offsets, as ``kafka-consumer-groups --reset-offsets`` does.

``plan_reset`` is a pure function of what the broker reports (committed, beginning and end offsets,
offsets for a time), so a caller can show the plan before anything changes (a dry run, a preview in a
console); ``gather`` asks the Admin port for those facts and ``apply_reset`` writes the plan. Like
Kafka's tool: a target outside the log is clamped to its start or end (and the row says so), a time
with no record at or after it means the end offset, and offsets are written only while the group has
no members (GroupNotEmpty otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from services.ports import Admin, InvalidConfig, TopicPartition, UnknownTopic

ResetKind = Literal["earliest", "latest", "offset", "shift", "timestamp", "current"]


@dataclass(frozen=True, slots=True)
class ResetTarget:
    """Where to move: --to-earliest, --to-latest, --to-offset N, --shift-by N, --to-datetime (ms), --to-current."""

    kind: ResetKind
    value: int | None = None

    def __post_init__(self) -> None:
        if self.kind in ("offset", "shift", "timestamp") and not isinstance(self.value, int):
            raise InvalidConfig(f"reset to {self.kind} needs a whole number, not {self.value!r}")
        if self.kind == "offset" and self.value < 0:
            raise InvalidConfig(f"--to-offset must be >= 0, not {self.value}")


@dataclass(frozen=True, slots=True)
class ResetRow:
    """One partition of the plan: the group's committed offset now, the one it will have, and why."""

    tp: TopicPartition
    current: int | None
    target: int
    note: str = ""

    @property
    def changes(self) -> bool:
        return self.current != self.target


@dataclass(frozen=True, slots=True)
class LogFacts:
    """What the broker said about the partitions: the inputs of a plan."""

    committed: Mapping[TopicPartition, int]
    beginning: Mapping[TopicPartition, int]
    end: Mapping[TopicPartition, int]
    by_time: Mapping[TopicPartition, int | None]


def plan_reset(target: ResetTarget, partitions: Sequence[TopicPartition], facts: LogFacts) -> list[ResetRow]:
    """The new committed offset of each partition (sorted), clamped to the log as Kafka's tool does."""
    rows = []
    for tp in sorted(partitions):
        current, start, end = facts.committed.get(tp), facts.beginning[tp], facts.end[tp]
        note = ""
        if target.kind == "earliest":
            wanted = start
        elif target.kind == "latest":
            wanted = end
        elif target.kind == "offset":
            wanted = target.value
        elif target.kind == "shift":
            wanted = (current if current is not None else end) + target.value
            if current is None:
                note = "no committed offset: shifted from the end"
        elif target.kind == "timestamp":
            found = facts.by_time.get(tp)
            wanted, note = (end, "no record at or after that time: the end") if found is None else (found, "")
        else:  # current
            wanted = current if current is not None else end
        if wanted < start:
            wanted, note = start, f"{_was(target, wanted)} is before the log start: clamped to {start}"
        elif wanted > end:
            wanted, note = end, f"{_was(target, wanted)} is past the end: clamped to {end}"
        rows.append(ResetRow(tp, current, wanted, note))
    return rows


def _was(target: ResetTarget, wanted: int) -> str:
    return f"offset {wanted}" if target.kind != "timestamp" else f"offset {wanted} for that time"


def partitions_of(admin: Admin, topics: Sequence[str], only: Mapping[str, Sequence[int]] | None = None,
                  ) -> list[TopicPartition]:
    """Every partition of ``topics`` (or, per topic in ``only``, just the ones named)."""
    counts = admin.list_topics()
    out = []
    for topic in topics:
        if topic not in counts:
            raise UnknownTopic(f"topic {topic!r} does not exist")
        wanted = (only or {}).get(topic)
        for p in wanted or range(counts[topic]):
            if not 0 <= p < counts[topic]:
                raise InvalidConfig(f"topic {topic} has partitions 0..{counts[topic] - 1}, not {p}")
            out.append(TopicPartition(topic, p))
    return out


def gather(admin: Admin, group_id: str, partitions: Sequence[TopicPartition], target: ResetTarget) -> LogFacts:
    """Ask the broker what a plan needs (offsets for a time only when the target is a time)."""
    topics = sorted({tp.topic for tp in partitions})
    committed = admin.committed_offsets(group_id)
    beginning, end = admin.beginning_offsets(topics), admin.end_offsets(topics)
    by_time = admin.offsets_for_times({tp: target.value for tp in partitions}) if target.kind == "timestamp" else {}
    return LogFacts(committed, beginning, end, by_time)


def apply_reset(admin: Admin, group_id: str, rows: Sequence[ResetRow]) -> None:
    """Write the plan's offsets (GroupNotEmpty while the group has members: stop its consumers first)."""
    admin.alter_group_offsets(group_id, {row.tp: row.target for row in rows})

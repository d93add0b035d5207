"""Admin: topics, group offsets, lag and group descriptions, as Kafka's Admin API reports them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from services.ports import (
    GroupDescription,
    MemberDescription,
    PartitionLag,
    TopicPartition,
    TopicSpec,
    UnknownTopic,
)

if TYPE_CHECKING:
    from .cluster import Cluster


class SimAdmin:
    """Implements ``services.ports.Admin``. End offsets and lag use the LSO unless read_uncommitted."""

    def __init__(self, cluster: Cluster, *, isolation_level: str = "read_committed") -> None:
        self._cluster = cluster
        self._committed_only = isolation_level == "read_committed"

    def create_topics(self, specs: Sequence[TopicSpec], *, exist_ok: bool = True) -> None:
        self._cluster.check_up()
        for spec in specs:
            self._cluster.create_topic(spec.name, spec.partitions, dict(spec.config), exist_ok=exist_ok)

    def delete_topics(self, names: Sequence[str]) -> None:
        self._cluster.check_up()
        for name in names:
            self._cluster.delete_topic(name)

    def list_topics(self) -> dict[str, int]:
        self._cluster.check_up()
        return {name: len(t.partitions) for name, t in sorted(self._cluster.topics.items()) if not name.startswith("__")}

    def _end(self, topic: str, partition: int) -> int:
        log = self._cluster.log(topic, partition)
        return log.last_stable_offset() if self._committed_only else log.high_watermark

    def end_offsets(self, topics: Sequence[str]) -> dict[TopicPartition, int]:
        self._cluster.check_up()
        out = {}
        for name in topics:
            for p in range(len(self._cluster.topic(name).partitions)):
                out[TopicPartition(name, p)] = self._end(name, p)
        return out

    def committed_offsets(self, group_id: str) -> dict[TopicPartition, int]:
        self._cluster.check_up(group_call=True)
        group = self._cluster.groups.get(group_id)
        if group is None:
            return {}
        return {TopicPartition(t, p): o for (t, p), o in sorted(group.committed.items())}

    def lag(self, group_id: str, topics: Sequence[str] | None = None) -> list[PartitionLag]:
        self._cluster.check_up(group_call=True)
        group = self._cluster.groups.get(group_id)
        committed = group.committed if group is not None else {}
        if topics is None:
            topics = sorted({t for t, _ in committed})
        out = []
        for name in sorted(topics):
            if name not in self._cluster.topics:
                raise UnknownTopic(f"unknown topic {name!r}")
            for p in range(len(self._cluster.topics[name].partitions)):
                out.append(PartitionLag(name, p, committed.get((name, p)), self._end(name, p)))
        return out

    def describe_group(self, group_id: str) -> GroupDescription:
        self._cluster.check_up(group_call=True)
        group = self._cluster.groups.get(group_id)
        if group is None:
            return GroupDescription(group_id, "Dead", "", ())
        members = tuple(
            MemberDescription(m.member_id, m.client_id, m.instance_id,
                              tuple(TopicPartition(t, p) for t, p in sorted(m.owned)))
            for m in sorted(group.members.values(), key=lambda m: m.member_id)
        )
        return GroupDescription(group_id, group.state, group.protocol, members)

    def list_groups(self) -> list[str]:
        self._cluster.check_up(group_call=True)
        return sorted(self._cluster.groups)

"""Admin: topics, configs, partitions, offsets, records, groups and lag, as Kafka's Admin API reports them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from services.ports import (
    ConfigEntry,
    GroupDescription,
    GroupNotEmpty,
    InvalidConfig,
    MemberDescription,
    OffsetOutOfRange,
    PartitionInfo,
    PartitionLag,
    PolicyViolation,
    TopicPartition,
    TopicSpec,
    UnknownGroup,
    UnknownTopic,
)

from .topic_config import TOPIC_CONFIGS

if TYPE_CHECKING:
    from .cluster import Cluster


class SimAdmin:
    """Implements ``services.ports.Admin``. End offsets and lag use the LSO unless read_uncommitted."""

    def __init__(self, cluster: Cluster, *, isolation_level: str = "read_committed") -> None:
        self._cluster = cluster
        self._committed_only = isolation_level == "read_committed"

    # ---------------------------------------------------------------- topics
    def create_topics(self, specs: Sequence[TopicSpec], *, exist_ok: bool = True) -> None:
        self._cluster.check_up()
        for spec in specs:
            rf = spec.replication_factor
            if rf != -1 and rf < 1:
                raise InvalidConfig("Replication factor must be larger than 0, or -1 to use the default value. "
                                    "[INVALID_REPLICATION_FACTOR]")
            replication = self._cluster.replication
            registered = 1 if replication is None else len(replication.alive())
            if rf == -1:
                rf = self._cluster.broker.default_replication_factor
            if rf > registered:
                raise InvalidConfig(f"Unable to replicate the partition {rf} time(s): The target replication factor of "
                                    f"{rf} cannot be reached because only {registered} broker(s) are registered. "
                                    "[INVALID_REPLICATION_FACTOR]")
            self._cluster.create_topic(spec.name, spec.partitions, dict(spec.config), exist_ok=exist_ok,
                                       replication_factor=rf)

    def delete_topics(self, names: Sequence[str]) -> None:
        self._cluster.check_up()
        for name in names:
            self._cluster.delete_topic(name)

    def list_topics(self) -> dict[str, int]:
        self._cluster.check_up()
        return {name: len(t.partitions) for name, t in sorted(self._cluster.topics.items()) if not name.startswith("__")}

    def create_partitions(self, topic: str, total: int) -> None:
        self._cluster.check_up()
        self._cluster.create_partitions(topic, total)

    def describe_topic_config(self, topic: str) -> dict[str, ConfigEntry]:
        self._cluster.check_up()
        t = self._cluster.topic(topic)
        broker = self._cluster.broker
        return {name: ConfigEntry(name, t.config.get(name, broker.default(name)), name not in t.config)
                for name, key in sorted(TOPIC_CONFIGS.items()) if not key.internal}

    def alter_topic_config(self, topic: str, set: Mapping[str, str] | None = None, delete: Sequence[str] = ()) -> None:
        self._cluster.check_up()
        self._cluster.alter_topic_config(topic, dict(set or {}), list(delete))

    def describe_partitions(self, topics: Sequence[str]) -> list[PartitionInfo]:
        self._cluster.check_up()
        out = []
        for name in sorted(topics):
            for p, log in enumerate(self._cluster.topic(name).partitions):
                rep = log.replicas
                if rep is None:  # one broker, node 1, holds everything
                    out.append(PartitionInfo(name, p, 1, (1,), (1,), 0))
                else:
                    out.append(PartitionInfo(name, p, rep.leader, rep.replicas, tuple(sorted(rep.isr)), rep.epoch))
        return out

    # ---------------------------------------------------------------- offsets and records
    def _partitions(self, topics: Sequence[str]):
        for name in topics:
            for p, log in enumerate(self._cluster.topic(name).partitions):
                yield TopicPartition(name, p), log

    def _end(self, log) -> int:
        return log.last_stable_offset() if self._committed_only else log.high_watermark

    def beginning_offsets(self, topics: Sequence[str]) -> dict[TopicPartition, int]:
        self._cluster.check_up()
        return {tp: log.log_start for tp, log in self._partitions(topics)}

    def end_offsets(self, topics: Sequence[str]) -> dict[TopicPartition, int]:
        self._cluster.check_up()
        return {tp: self._end(log) for tp, log in self._partitions(topics)}

    def offsets_for_times(self, timestamps: Mapping[TopicPartition, int]) -> dict[TopicPartition, int | None]:
        self._cluster.check_up()
        return {tp: self._cluster.log(tp.topic, tp.partition).offset_for_time(ts)
                for tp, ts in sorted(timestamps.items())}

    def delete_records(self, before: Mapping[TopicPartition, int]) -> dict[TopicPartition, int]:
        self._cluster.check_up()
        out = {}
        for tp, offset in sorted(before.items()):
            topic = self._cluster.topic(tp.topic)
            log = self._cluster.log(tp.topic, tp.partition)
            if not topic.settings.delete:
                raise PolicyViolation(f"delete records of {tp}: Records of partitions of topic '{tp.topic}' can be "
                                      "deleted only if the topic has cleanup.policy=delete [POLICY_VIOLATION]")
            if not 0 <= offset <= log.high_watermark:
                raise OffsetOutOfRange(f"delete records of {tp} before {offset}: outside [0, {log.high_watermark}] "
                                       "[OFFSET_OUT_OF_RANGE]")
            if offset > log.log_start:
                log.drop_before(offset)
                self._cluster.emit("records_deleted", topic=tp.topic, partition=tp.partition, log_start=offset)
                self._cluster.background.wake(clean=False)  # the segments below go at the next retention check
            out[tp] = log.log_start
        return out

    # ---------------------------------------------------------------- groups
    def committed_offsets(self, group_id: str) -> dict[TopicPartition, int]:
        self._cluster.check_up(group_call=True)
        group = self._cluster.groups.get(group_id)
        if group is None:
            return {}
        return {TopicPartition(t, p): o for (t, p), o in sorted(group.committed.items())}

    def alter_group_offsets(self, group_id: str, offsets: Mapping[TopicPartition, int]) -> None:
        """Like AlterConsumerGroupOffsets: partitions that exist are set, then the first refusal is raised."""
        self._cluster.check_up(group_call=True)
        for tp, offset in offsets.items():
            if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
                raise InvalidConfig(f"alter offsets of {group_id}: offset {offset!r} for {tp} must be >= 0")
        group = self._cluster.group(group_id)
        if group.members:
            raise GroupNotEmpty(f"group {group_id} has {len(group.members)} active member(s): its offsets can only be "
                                "changed while it is empty (stop its consumers first) [UNKNOWN_MEMBER_ID]")
        known = {(tp.topic, tp.partition): o for tp, o in offsets.items()
                 if tp.topic in self._cluster.topics and 0 <= tp.partition < len(self._cluster.topics[tp.topic].partitions)}
        if known:
            group.store(known, None)
        missing = sorted(f"{tp}" for tp in offsets if (tp.topic, tp.partition) not in known)
        if missing:
            raise UnknownTopic(f"alter offsets of {group_id}: unknown partition(s) {', '.join(missing)} "
                               "[UNKNOWN_TOPIC_OR_PART]")

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
            for p, log in enumerate(self._cluster.topics[name].partitions):
                out.append(PartitionLag(name, p, committed.get((name, p)), self._end(log)))
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

    def delete_group(self, group_id: str) -> None:
        self._cluster.check_up(group_call=True)
        group = self._cluster.groups.get(group_id)
        if group is None:
            raise UnknownGroup(f"delete group {group_id}: Broker: The group id does not exist [GROUP_ID_NOT_FOUND]")
        if group.members:
            raise GroupNotEmpty(f"delete group {group_id}: Broker: The group is not empty [NON_EMPTY_GROUP]")
        self._cluster.forget_group(group_id)
        self._cluster.emit("group_deleted", group=group_id)

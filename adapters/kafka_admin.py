"""The broker port's Admin over ``confluent_kafka.admin.AdminClient``. Every wait is bounded."""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Sequence
from typing import Any

import confluent_kafka
from confluent_kafka import ConsumerGroupState, IsolationLevel, KafkaError, KafkaException, TopicCollection
from confluent_kafka.admin import AdminClient, NewTopic, OffsetSpec

from adapters.kafka_admin_log import LogAdmin
from adapters.kafka_errors import ConnectionWatch
from services.ports import (
    BrokerError,
    BrokerUnavailable,
    GroupDescription,
    MemberDescription,
    PartitionInfo,
    PartitionLag,
    TopicAlreadyExists,
    TopicPartition,
    TopicSpec,
)

# Kafka's own names for the classic group states, as the simulator and kafka-consumer-groups.sh print them.
_STATE_NAMES = {
    ConsumerGroupState.EMPTY: "Empty",
    ConsumerGroupState.STABLE: "Stable",
    ConsumerGroupState.PREPARING_REBALANCING: "PreparingRebalance",
    ConsumerGroupState.COMPLETING_REBALANCING: "CompletingRebalance",
    ConsumerGroupState.DEAD: "Dead",
    ConsumerGroupState.UNKNOWN: "Unknown",
}


class KafkaAdmin(LogAdmin):
    """Topics, offsets and groups. ``end_offsets`` uses ``isolation_level`` (read_committed: the LSO)."""

    def __init__(
        self,
        settings: dict[str, Any],
        watch: ConnectionWatch,
        *,
        isolation_level: str = "read_committed",
        timeout_s: float = 15.0,
    ) -> None:
        self._watch = watch
        self._timeout = timeout_s
        self._isolation = (
            IsolationLevel.READ_COMMITTED
            if isolation_level == "read_committed"
            else IsolationLevel.READ_UNCOMMITTED
        )
        try:
            self._admin = AdminClient(settings)
        except KafkaException as exc:
            raise watch.translate(exc, "create admin client") from exc

    # ------------------------------------------------------------ topics

    def create_topics(self, specs: Sequence[TopicSpec], *, exist_ok: bool = True) -> None:
        if not specs:
            return
        new = [
            NewTopic(
                s.name,
                num_partitions=s.partitions,
                replication_factor=s.replication_factor,
                config=dict(s.config),
            )
            for s in specs
        ]
        futures = self._admin.create_topics(
            new, operation_timeout=self._timeout, request_timeout=self._timeout
        )
        expected = {s.name: s.partitions for s in specs}
        for name, future in futures.items():
            try:
                self._result(future, f"create topic {name}")
            except TopicAlreadyExists:
                if not exist_ok:
                    raise
                expected[name] = 1  # it keeps the partition count it has
        # CreateTopics returns before every broker has the metadata: wait until all partitions have leaders.
        self._wait_for(
            lambda topics: all(_ready(topics.get(n), count) for n, count in expected.items()),
            "created topics",
        )

    def delete_topics(self, names: Sequence[str]) -> None:
        if not names:
            return
        futures = self._admin.delete_topics(
            list(names), operation_timeout=self._timeout, request_timeout=self._timeout
        )
        for name, future in futures.items():
            self._result(future, f"delete topic {name}")
        self._wait_for(lambda topics: not any(n in topics for n in names), "deleted topics")

    def list_topics(self) -> dict[str, int]:
        return {
            name: len(meta.partitions)
            for name, meta in self._topics().items()
            if meta.error is None and not name.startswith("__")
        }

    # ------------------------------------------------------------ offsets

    def end_offsets(self, topics: Sequence[str]) -> dict[TopicPartition, int]:
        found = self._list_offsets(self._all_partitions(topics, OffsetSpec.latest()), "end offset")
        return {tp: info.offset for tp, info in found.items()}

    def committed_offsets(self, group_id: str) -> dict[TopicPartition, int]:
        request = [confluent_kafka.ConsumerGroupTopicPartitions(group_id)]
        futures = self._admin.list_consumer_group_offsets(request, request_timeout=self._timeout)
        result = self._result(futures[group_id], f"committed offsets of group {group_id}")
        return {
            TopicPartition(tp.topic, tp.partition): tp.offset
            for tp in sorted(result.topic_partitions or (), key=lambda t: (t.topic, t.partition))
            if tp.offset >= 0 and tp.error is None
        }

    def lag(self, group_id: str, topics: Sequence[str] | None = None) -> list[PartitionLag]:
        committed = self.committed_offsets(group_id)
        names = sorted({tp.topic for tp in committed}) if topics is None else list(topics)
        ends = self.end_offsets(names)
        return [
            PartitionLag(tp.topic, tp.partition, committed.get(tp), end) for tp, end in sorted(ends.items())
        ]

    def describe_partitions(self, topics: Sequence[str]) -> list[PartitionInfo]:
        """DescribeTopics: leader, replicas and ISR per partition (no leader epoch: the client omits it)."""
        futures = self._admin.describe_topics(TopicCollection(sorted(topics)), request_timeout=self._timeout)
        out = []
        for name, future in sorted(futures.items()):
            desc = self._result(future, f"describe topic {name}")
            for p in desc.partitions:
                leader = p.leader.id if p.leader is not None and p.leader.id >= 0 else None
                out.append(PartitionInfo(name, p.id, leader, tuple(n.id for n in p.replicas),
                                         tuple(sorted(n.id for n in p.isr))))
        return sorted(out, key=lambda i: (i.topic, i.partition))

    # ------------------------------------------------------------ groups

    def describe_group(self, group_id: str) -> GroupDescription:
        futures = self._admin.describe_consumer_groups([group_id], request_timeout=self._timeout)
        try:
            desc = self._result(futures[group_id], f"describe group {group_id}")
        except BrokerError as exc:
            if "GROUP_ID_NOT_FOUND" in str(exc):
                return GroupDescription(group_id, "Dead", "", ())
            raise
        members = tuple(
            sorted(
                (
                    MemberDescription(
                        member_id=m.member_id,
                        client_id=m.client_id,
                        group_instance_id=m.group_instance_id or None,
                        assignment=tuple(
                            sorted(_port_tps(m.assignment.topic_partitions if m.assignment else []))
                        ),
                    )
                    for m in desc.members
                ),
                key=lambda m: m.member_id,
            )
        )
        return GroupDescription(
            group_id, _STATE_NAMES.get(desc.state, str(desc.state)), desc.partition_assignor or "", members
        )

    def list_groups(self) -> list[str]:
        result = self._result(self._admin.list_consumer_groups(request_timeout=self._timeout), "list groups")
        return sorted(g.group_id for g in result.valid or ())

    # ------------------------------------------------------------ helpers

    def _topics(self) -> dict[str, Any]:
        try:
            meta = self._admin.list_topics(timeout=self._timeout)
        except KafkaException as exc:
            self._admin.poll(0)  # serve error_cb so the watch knows why
            raise self._watch.translate(exc, "fetch metadata") from exc
        self._watch.healthy()
        return meta.topics

    def _result(self, future: concurrent.futures.Future, action: str) -> Any:
        try:
            return future.result(timeout=self._timeout + 5)
        except concurrent.futures.TimeoutError as exc:
            self._admin.poll(0)
            raise BrokerUnavailable(
                self._watch.translate(KafkaError(KafkaError._TIMED_OUT), action).args[0]
            ) from exc
        except KafkaException as exc:
            self._admin.poll(0)
            raise self._watch.translate(exc, action) from exc

    def _wait_for(self, done: Any, what: str) -> None:
        deadline = time.monotonic() + self._timeout
        while not done(self._topics()):
            if time.monotonic() > deadline:
                raise BrokerUnavailable(f"metadata for {what} did not settle within {self._timeout:g}s")
            time.sleep(0.1)  # metadata propagation has no notification to wait on


def _ready(meta: Any, partitions: int) -> bool:
    if meta is None or meta.error is not None or len(meta.partitions) < partitions:
        return False
    return all(p.leader >= 0 and p.error is None for p in meta.partitions.values())


def _port_tps(tps: Sequence[confluent_kafka.TopicPartition]) -> list[TopicPartition]:
    return [TopicPartition(tp.topic, tp.partition) for tp in tps]


__all__ = ["KafkaAdmin"]

"""An Admin for a cluster whose brokers are killed: lag read through a consumer, ends of led partitions only.

librdkafka 2.16's Admin requests to a group coordinator (ListConsumerGroupOffsets, DescribeConsumerGroups)
free their request state early when the send fails, e.g. to a coordinator that was just killed; the next
response then aborts the whole process: ``rd_kafka_enq_once_del_source_return: Assertion `eonce->refcnt > 0'
failed`` (confluentinc/librdkafka#4605; the fix proposed upstream is #5397). A consumer's own OffsetFetch
(``Consumer.committed``) goes through the consumer-group handle instead, times out while the coordinator is
gone and answers again once another broker coordinates the group.

The reading consumer never subscribes (it is no member of the group) and reads with
``isolation.level=read_uncommitted`` so, like the Admin call, it does not wait for pending transactional
offsets (OffsetFetch's ``require_stable``).

``describe_group`` (DescribeConsumerGroups, the same kind of request) goes through a fresh Admin client
each time: it asks FindCoordinator anew and so sends to the live coordinator, where the long-lived
client's request to a dead one is what aborts. Those clients are kept until ``close``: a client collected
in one of librdkafka's own threads aborts the process too (confluent-kafka-python PR #2131).

A partition whose every replica is dead has no leader, and ListOffsets for a set that holds it fails as a
whole: end offsets (and so lag and reading back) cover the partitions that have a leader.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from confluent_kafka import Consumer, KafkaException
from confluent_kafka import TopicPartition as KafkaTopicPartition

from adapters.kafka_admin import KafkaAdmin
from adapters.kafka_errors import ConnectionWatch
from services.ports import GroupDescription, PartitionLag, TopicPartition


class ConsumerOffsetsAdmin(KafkaAdmin):
    """``lag(group, topics)`` over ``Consumer.committed``, offsets of led partitions only; the rest as
    ``KafkaAdmin``. ``close`` it."""

    def __init__(self, settings: dict[str, Any], watch: ConnectionWatch, **kwargs: Any) -> None:
        super().__init__(settings, watch, **kwargs)
        self._settings = dict(settings)
        self._readers: dict[str, Consumer] = {}  # group id -> its reading consumer
        self._describers: list[KafkaAdmin] = []
        self._kwargs = kwargs

    def lag(self, group_id: str, topics: Sequence[str] | None = None) -> list[PartitionLag]:
        if topics is None:  # which topics the group committed: only the Admin call can say
            return super().lag(group_id, topics)
        ends = self.end_offsets(list(topics))
        committed = self.committed_by_consumer(group_id, sorted(ends, key=lambda t: (t.topic, t.partition)))
        return [PartitionLag(tp.topic, tp.partition, committed.get(tp), end) for tp, end in sorted(ends.items())]

    def describe_group(self, group_id: str) -> GroupDescription:
        fresh = KafkaAdmin(dict(self._settings), self._watch, **self._kwargs)
        self._describers.append(fresh)
        return fresh.describe_group(group_id)

    def _all_partitions(self, topics: Sequence[str], spec: Any) -> dict:
        request = super()._all_partitions(topics, spec)
        known = self._topics()
        return {tp: s for tp, s in request.items() if known[tp.topic].partitions[tp.partition].leader >= 0}

    def committed_by_consumer(self, group_id: str, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        if not partitions:
            return {}
        reader = self._reader(group_id)
        try:
            found = reader.committed([KafkaTopicPartition(tp.topic, tp.partition) for tp in partitions],
                                     timeout=self._timeout)
        except KafkaException as exc:
            raise self._watch.translate(exc, f"committed offsets of group {group_id}") from exc
        return {TopicPartition(tp.topic, tp.partition): tp.offset for tp in found if tp.offset >= 0 and tp.error is None}

    def _reader(self, group_id: str) -> Consumer:
        if group_id not in self._readers:
            settings = {**self._settings, "group.id": group_id, "enable.auto.commit": False,
                        "isolation.level": "read_uncommitted",
                        "client.id": f"{self._settings.get('client.id', 'kafkalab')}-offsets"}
            try:
                self._readers[group_id] = Consumer(settings)
            except KafkaException as exc:
                raise self._watch.translate(exc, "create offsets reader") from exc
        return self._readers[group_id]

    def close(self) -> None:
        readers, self._readers = self._readers, {}
        for reader in readers.values():
            reader.close()
        self._describers.clear()  # collected by the caller's thread (the world's close runs gc there)

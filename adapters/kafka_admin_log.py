"""The Admin port's log and offset calls over confluent-kafka: topic configs, partitions, offsets by
position and time, deleting records, and a group's offsets. A mixin of ``KafkaAdmin``, which provides
``_admin``, ``_result``, ``_topics`` and ``_wait_for``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import confluent_kafka
from confluent_kafka import ConsumerGroupTopicPartitions, KafkaError
from confluent_kafka.admin import (
    AlterConfigOpType,
    ConfigResource,
    ConfigSource,
    NewPartitions,
    OffsetSpec,
    ResourceType,
)
from confluent_kafka.admin import ConfigEntry as KafkaConfigEntry

from services.ports import ConfigEntry, GroupNotEmpty, InvalidConfig, TopicPartition, UnknownTopic


def _lib_tp(tp: TopicPartition, offset: int | None = None) -> confluent_kafka.TopicPartition:
    if offset is None:
        return confluent_kafka.TopicPartition(tp.topic, tp.partition)
    return confluent_kafka.TopicPartition(tp.topic, tp.partition, offset)


class LogAdmin:
    _admin: Any
    _timeout: float

    # ------------------------------------------------------------ configs and partitions

    def create_partitions(self, topic: str, total: int) -> None:
        futures = self._admin.create_partitions([NewPartitions(topic, total)], request_timeout=self._timeout)
        self._result(futures[topic], f"create partitions of {topic}")
        self._wait_for(lambda topics: topic in topics and len(topics[topic].partitions) >= total,
                       f"{total} partitions of {topic}")

    def describe_topic_config(self, topic: str) -> dict[str, ConfigEntry]:
        resource = ConfigResource(ResourceType.TOPIC, topic)
        futures = self._admin.describe_configs([resource], request_timeout=self._timeout)
        entries = self._result(futures[resource], f"describe configs of {topic}")
        return {
            name: ConfigEntry(name, entry.value, int(entry.source) != ConfigSource.DYNAMIC_TOPIC_CONFIG.value)
            for name, entry in sorted(entries.items())
        }

    def alter_topic_config(self, topic: str, set: Mapping[str, str] | None = None, delete: Sequence[str] = ()) -> None:
        ops = [KafkaConfigEntry(name, value, incremental_operation=AlterConfigOpType.SET)
               for name, value in (set or {}).items()]
        ops += [KafkaConfigEntry(name, None, incremental_operation=AlterConfigOpType.DELETE) for name in delete]
        if not ops:
            return
        resource = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=ops)
        futures = self._admin.incremental_alter_configs([resource], request_timeout=self._timeout)
        self._result(futures[resource], f"alter configs of {topic}")

    # ------------------------------------------------------------ offsets and records

    def _list_offsets(self, request: dict, what: str) -> dict[TopicPartition, Any]:
        if not request:
            return {}
        futures = self._admin.list_offsets(request, isolation_level=self._isolation, request_timeout=self._timeout)
        return {
            TopicPartition(tp.topic, tp.partition): self._result(future, f"{what} of {tp.topic}-{tp.partition}")
            for tp, future in sorted(futures.items(), key=lambda kv: (kv[0].topic, kv[0].partition))
        }

    def _all_partitions(self, topics: Sequence[str], spec: Any) -> dict:
        known = self._topics()
        request = {}
        for topic in topics:
            meta = known.get(topic)
            if meta is None or meta.error is not None:
                raise UnknownTopic(f"offsets: topic {topic} does not exist")
            for p in meta.partitions:
                request[confluent_kafka.TopicPartition(topic, p)] = spec
        return request

    def beginning_offsets(self, topics: Sequence[str]) -> dict[TopicPartition, int]:
        found = self._list_offsets(self._all_partitions(topics, OffsetSpec.earliest()), "beginning offset")
        return {tp: info.offset for tp, info in found.items()}

    def offsets_for_times(self, timestamps: Mapping[TopicPartition, int]) -> dict[TopicPartition, int | None]:
        request = {_lib_tp(tp): OffsetSpec.for_timestamp(ts) for tp, ts in timestamps.items()}
        found = self._list_offsets(request, "offset for time")
        return {tp: (info.offset if info.offset >= 0 else None) for tp, info in found.items()}

    def delete_records(self, before: Mapping[TopicPartition, int]) -> dict[TopicPartition, int]:
        if not before:
            return {}
        futures = self._admin.delete_records([_lib_tp(tp, off) for tp, off in before.items()],
                                             request_timeout=self._timeout, operation_timeout=self._timeout)
        return {
            TopicPartition(tp.topic, tp.partition): self._result(future, f"delete records of {tp.topic}-{tp.partition}")
            .low_watermark
            for tp, future in sorted(futures.items(), key=lambda kv: (kv[0].topic, kv[0].partition))
        }

    # ------------------------------------------------------------ group offsets

    def alter_group_offsets(self, group_id: str, offsets: Mapping[TopicPartition, int]) -> None:
        bad = [f"{tp}={off!r}" for tp, off in offsets.items() if not isinstance(off, int) or off < 0]
        if bad:
            raise InvalidConfig(f"alter offsets of {group_id}: offsets must be >= 0 ({', '.join(bad)})")
        if not offsets:
            return
        request = [ConsumerGroupTopicPartitions(group_id, [_lib_tp(tp, off) for tp, off in sorted(offsets.items())])]
        futures = self._admin.alter_consumer_group_offsets(request, request_timeout=self._timeout)
        result = self._result(futures[group_id], f"alter offsets of {group_id}")
        for tp in result.topic_partitions or ():
            if tp.error is None:
                continue
            if tp.error.code() == KafkaError.UNKNOWN_MEMBER_ID:
                raise GroupNotEmpty(f"group {group_id} has active members: its offsets can only be changed while it "
                                    "is empty (stop its consumers first) [UNKNOWN_MEMBER_ID]")
            raise self._watch.translate(tp.error, f"alter offsets of {group_id} for {tp.topic}-{tp.partition}")

    def delete_group(self, group_id: str) -> None:
        futures = self._admin.delete_consumer_groups([group_id], request_timeout=self._timeout)
        self._result(futures[group_id], f"delete group {group_id}")

"""The cluster: topics and their partition logs, group coordinators, producer ids, and the broker's timers."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from services.ports import BrokerUnavailable, CoordinatorNotAvailable, TopicAlreadyExists, UnknownTopic

from .clock import VirtualClock
from .group import Group
from .log import PartitionLog
from .partitioner import partition_for_key
from .trace import Trace
from .transactions import TransactionCoordinator

TP = tuple[str, int]
_ROUTES_LIMIT = 65_536


@dataclass(slots=True)
class Topic:
    name: str
    partitions: list[PartitionLog]
    config: dict[str, str] = field(default_factory=dict)
    # key -> (name, partition), memoised for producers; a recreated topic is a new Topic with fresh routes
    routes: dict[bytes, tuple[str, int]] = field(default_factory=dict, repr=False, compare=False)

    def route(self, key: bytes) -> tuple[str, int]:
        """Where a keyed record goes: Kafka's murmur2 partitioner, memoised (services reuse their keys)."""
        if len(self.routes) >= _ROUTES_LIMIT:
            self.routes.clear()
        tp = self.routes[key] = (self.name, partition_for_key(key, len(self.partitions)))
        return tp

    @property
    def compacted(self) -> bool:
        return "compact" in self.config.get("cleanup.policy", "delete").split(",")


class Cluster:
    """One broker holding every partition (replication is not modelled: acks=all is immediate)."""

    group_class = Group  # test-only variants swap this to plant a bug in the coordinator
    auto_create_topics = True  # Kafka's auto.create.topics.enable default (producers only, as in librdkafka)
    default_partitions = 1  # num.partitions

    def __init__(self, clock: VirtualClock, rng: random.Random, trace: Trace) -> None:
        self.clock = clock
        self.rng = rng
        self.trace = trace
        self.topics: dict[str, Topic] = {}
        self.groups: dict[str, Group] = {}
        self.txns = TransactionCoordinator(self)
        self.version = 0  # bumped on every observable change; the scheduler's idle test reads it
        self.down_until = -1
        self.lost_acks: list[str | None] = []  # topics (None = any) whose next batch ack is lost

    # ---------------------------------------------------------------- bookkeeping
    def bump(self) -> None:
        self.version += 1

    def emit(self, kind: str, /, **fields: object) -> None:
        self.version += 1
        self.trace.emit(kind, **fields)

    def check_up(self, *, group_call: bool = False) -> None:
        if self.clock.now_ms() < self.down_until:
            if group_call:
                raise CoordinatorNotAvailable(f"coordinator unavailable until t={self.down_until}ms")
            raise BrokerUnavailable(f"broker unavailable until t={self.down_until}ms")

    # ---------------------------------------------------------------- topics
    def create_topic(self, name: str, partitions: int = 1, config: dict[str, str] | None = None,
                     *, exist_ok: bool = False) -> Topic:
        if name in self.topics:
            if exist_ok:
                return self.topics[name]
            raise TopicAlreadyExists(name)
        if partitions < 1:
            raise ValueError("a topic needs at least one partition")
        topic = Topic(name, [PartitionLog(name, p) for p in range(partitions)], dict(config or {}))
        self.topics[name] = topic
        self.emit("topic_created", topic=name, partitions=partitions, config=dict(sorted(topic.config.items())))
        self._metadata_changed(name)
        return topic

    def delete_topic(self, name: str) -> None:
        if name not in self.topics:
            raise UnknownTopic(name)
        del self.topics[name]
        for group in self.groups.values():
            group.committed = {tp: o for tp, o in group.committed.items() if tp[0] != name}
        self.emit("topic_deleted", topic=name)
        self._metadata_changed(name)

    def _metadata_changed(self, topic: str) -> None:
        for group in self.groups.values():
            if any(topic in m.topics for m in group.members.values()):
                group.start_rebalance(f"metadata changed: {topic}")

    def topic(self, name: str) -> Topic:
        found = self.topics.get(name)
        if found is None:
            raise UnknownTopic(f"unknown topic {name!r}")
        return found

    def log(self, topic: str, partition: int) -> PartitionLog:
        parts = self.topic(topic).partitions
        if not 0 <= partition < len(parts):
            raise UnknownTopic(f"unknown partition {topic}-{partition}")
        return parts[partition]

    def partition_counts(self) -> dict[str, int]:
        return {name: len(t.partitions) for name, t in self.topics.items()}

    def compact(self, topic: str) -> int:
        """Run the log cleaner on a ``cleanup.policy=compact`` topic now; returns records removed."""
        t = self.topic(topic)
        if not t.compacted:
            raise ValueError(f"topic {topic} has cleanup.policy={t.config.get('cleanup.policy', 'delete')}")
        removed = sum(log.compact() for log in t.partitions)
        self.emit("compacted", topic=topic, removed=removed)
        return removed

    # ---------------------------------------------------------------- groups
    def group(self, group_id: str) -> Group:
        found = self.groups.get(group_id)
        if found is None:
            found = self.groups[group_id] = self.group_class(self, group_id)
        return found

    # ---------------------------------------------------------------- time
    def tick(self) -> None:
        now = self.clock.now_ms()
        for group in list(self.groups.values()):
            group.tick(now)
        self.txns.tick(now)

    def next_deadline(self) -> int | None:
        times = [t for t in (g.next_deadline() for g in self.groups.values()) if t is not None]
        txn = self.txns.next_deadline()
        if txn is not None:
            times.append(txn)
        if self.down_until > self.clock.now_ms():
            times.append(self.down_until)  # clients blocked by the outage get going again then
        return min(times) if times else None

    def pending(self) -> bool:
        return (self.down_until > self.clock.now_ms() or any(g.pending() for g in self.groups.values())
                or self.txns.pending())

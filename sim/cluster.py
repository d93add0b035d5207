"""The cluster: topics and their partition logs, group coordinators, producer ids, and the broker's timers."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from services.ports import (
    BrokerUnavailable,
    CoordinatorNotAvailable,
    InvalidConfig,
    TopicAlreadyExists,
    UnknownTopic,
)

from .broker_config import BrokerConfig, TopicSettings, resolve
from .cleaner import LogBackground
from .clock import VirtualClock
from .group import Group
from .log import PartitionLog
from .partitioner import partition_for_key
from .replication import Replication
from .trace import Trace
from .transactions import TransactionCoordinator

TP = tuple[str, int]
_ROUTES_LIMIT = 65_536


@dataclass(slots=True)
class Topic:
    name: str
    partitions: list[PartitionLog]
    settings: TopicSettings
    config: dict[str, str] = field(default_factory=dict)  # what was set on the topic itself
    replication_factor: int = 1
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
        return self.settings.compact


class Cluster:
    """The brokers and what they hold. One broker (the default) holds every partition and acks=all is
    immediate; with ``BrokerConfig.brokers`` > 1 partitions are replicated (``sim.replication``)."""

    group_class = Group  # test-only variants swap this to plant a bug in the coordinator

    def __init__(self, clock: VirtualClock, rng: random.Random, trace: Trace,
                 broker: BrokerConfig | None = None) -> None:
        self.clock = clock
        self.rng = rng
        self.trace = trace
        self.broker = broker or BrokerConfig()
        self.background = LogBackground(self)
        self.topics: dict[str, Topic] = {}
        self.groups: dict[str, Group] = {}
        self.forgotten: dict[str, Group] = {}  # deleted groups whose objects consumers may still hold
        self.txns = TransactionCoordinator(self)
        self.version = 0  # bumped on every observable change; the scheduler's idle test reads it
        self.down_until = -1
        self.lost_acks: list[str | None] = []  # topics (None = any) whose next batch ack is lost
        self.replication = Replication(self, self.broker.brokers) if self.broker.brokers > 1 else None

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

    # auto.create.topics.enable (producers only, as in librdkafka) and num.partitions
    @property
    def auto_create_topics(self) -> bool:
        return self.broker.auto_create_topics_enable

    @auto_create_topics.setter
    def auto_create_topics(self, on: bool) -> None:
        self.broker.auto_create_topics_enable = on

    @property
    def default_partitions(self) -> int:
        return self.broker.num_partitions

    # ---------------------------------------------------------------- topics
    def create_topic(self, name: str, partitions: int = 1, config: dict[str, str] | None = None,
                     *, exist_ok: bool = False, replication_factor: int = -1) -> Topic:
        if name in self.topics:
            if exist_ok:
                return self.topics[name]
            raise TopicAlreadyExists(f"Topic '{name}' already exists.")
        if not isinstance(partitions, int) or partitions < 1:
            raise InvalidConfig(f"Number of partitions must be larger than 0 (got {partitions}).")
        config = dict(config or {})
        settings = resolve(config, self.broker)
        rf = self.broker.default_replication_factor if replication_factor == -1 else replication_factor
        topic = Topic(name, [PartitionLog(name, p, settings, self.background) for p in range(partitions)],
                      settings, config, rf)
        if self.replication is not None:
            for log in topic.partitions:
                self.replication.place(log, rf)
        self.topics[name] = topic
        self.emit("topic_created", topic=name, partitions=partitions, config=dict(sorted(config.items())))
        self._metadata_changed(name)
        return topic

    def alter_topic_config(self, name: str, set_: dict[str, str], delete: list[str]) -> None:
        """Incremental AlterConfigs: validated as a whole before anything changes (deleting a name that is
        not set, even an unknown one, is a no-op, as on Kafka)."""
        topic = self.topic(name)
        config = {k: v for k, v in topic.config.items() if k not in delete}
        config.update(set_)
        settings = resolve(config, self.broker)
        topic.config, topic.settings = config, settings
        for log in topic.partitions:
            log.settings = settings
        self.emit("topic_config_altered", topic=name, config=dict(sorted(config.items())))
        self.background.wake()

    def create_partitions(self, name: str, total: int) -> None:
        """Add partitions (CreatePartitions); classic members notice at their next metadata refresh, a
        consumer-protocol group at once (its coordinator bumps the group epoch)."""
        topic = self.topic(name)
        current = len(topic.partitions)
        if not isinstance(total, int) or total <= current:
            raise InvalidConfig(f"Topic already has {current} partition(s)." if total == current else
                                f"The topic {name} currently has {current} partition(s); {total} would not be an increase.")
        topic.partitions.extend(PartitionLog(name, p, topic.settings, self.background) for p in range(current, total))
        if self.replication is not None:
            for log in topic.partitions[current:]:
                self.replication.place(log, topic.replication_factor)
        topic.routes = {}  # keys hash over the new partition count from now on
        self.emit("partitions_created", topic=name, partitions=total)
        for group in self.groups.values():  # KIP-848: the coordinator watches metadata itself, no client refresh
            if group.kip848 is not None and any(name in m.topics for m in group.members.values()):
                group.start_rebalance(f"partitions added to {name}")

    def delete_topic(self, name: str) -> None:
        if name not in self.topics:
            raise UnknownTopic(name)
        gone = self.topics.pop(name)
        if self.replication is not None:
            self.replication.forget(gone.partitions)
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


    # ---------------------------------------------------------------- groups
    def group(self, group_id: str) -> Group:
        found = self.groups.get(group_id)
        if found is None:
            found = self.forgotten.pop(group_id, None) or self.group_class(self, group_id)
            self.groups[group_id] = found
        return found

    def forget_group(self, group_id: str) -> None:
        """DeleteGroups: the group and its offsets go; a consumer that still holds the object brings the
        group back (empty) when it joins or commits, as a new group of that name would be."""
        group = self.groups.pop(group_id)
        group.committed = {}
        self.forgotten[group_id] = group

    # ---------------------------------------------------------------- time
    def tick(self) -> None:
        now = self.clock.now_ms()
        for group in list(self.groups.values()):
            group.tick(now)
        self.txns.tick(now)
        if self.replication is not None:
            self.replication.tick(now)
        background = self.background
        due = background.next_due
        if due is not None and now >= due:
            background.tick(now)

    def next_deadline(self) -> int | None:
        times = [t for t in (g.next_deadline() for g in self.groups.values()) if t is not None]
        txn = self.txns.next_deadline()
        if txn is not None:
            times.append(txn)
        if self.down_until > self.clock.now_ms():
            times.append(self.down_until)  # clients blocked by the outage get going again then
        if self.replication is not None:
            replicated = self.replication.next_deadline(self.clock.now_ms())
            if replicated is not None:
                times.append(replicated)
        background = self.background.next_due  # maintenance: a timer, but never "pending" work
        if background is not None:
            times.append(background)
        return min(times) if times else None

    def pending(self) -> bool:
        return (self.down_until > self.clock.now_ms() or any(g.pending() for g in self.groups.values())
                or self.txns.pending()
                or (self.replication is not None and self.replication.pending(self.clock.now_ms())))

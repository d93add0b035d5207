"""A consumer group member (or a manually assigned reader). Group work (join, revoke, assign) happens
inside poll(), as in librdkafka; fetching and positions live in ``sim.fetcher``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from services.ports import (
    ClientClosed,
    CommitFailed,
    ConsumerConfig,
    FencedInstance,
    InvalidConfig,
    PartitionNotAssigned,
    RebalanceCallback,
    Record,
    TopicPartition,
    UnknownTopic,
)

from . import consumer_protocol
from .client_config import check_consumer, session_timeout_refused
from .fetcher import Fetcher
from .group import Member

if TYPE_CHECKING:
    from .cluster import Cluster

TP = tuple[str, int]


class SimConsumer:
    """Implements ``services.ports.Consumer``.

    ``poll`` never blocks and ignores ``timeout`` (an empty poll costs no virtual time; an actor's
    period paces it). A live consumer always heartbeats; only a crash stops that.
    """

    def __init__(self, cluster: Cluster, config: ConsumerConfig) -> None:
        check_consumer(config)
        self.config = config
        self._cluster = cluster
        self._group = cluster.group(config.group_id)  # the same object even across delete_group
        self._member: Member | None = None
        self._topics: tuple[str, ...] = ()
        self._manual = False  # assign() rather than subscribe()
        self._on_assign: RebalanceCallback | None = None
        self._on_revoke: RebalanceCallback | None = None
        self._assigned: list[TP] = []
        self._fetcher = Fetcher(cluster, group_id=config.group_id, reset=config.auto_offset_reset,
                                read_committed=config.isolation_level == "read_committed")
        self._positions = self._fetcher.positions
        self._reported_missing: set[str] = set()
        self._kip848 = config.group_protocol == "consumer"  # incremental, the broker assigns (KIP-848)
        self._refused = False  # the broker refused it for good (UNRELEASED_INSTANCE_ID)
        self._eager = config.assignor != "cooperative-sticky" and not self._kip848
        self._refresh_ms = config.topic_metadata_refresh_interval_ms
        self._next_refresh = -1
        self._known_counts: dict[str, int] = {}
        self.closed = False
        self.crashed = False

    # ---------------------------------------------------------------- identity
    @property
    def group_id(self) -> str:
        return self.config.group_id

    @property
    def member_id(self) -> str:
        return self._member.member_id if self._member is not None else ""

    @property
    def generation(self) -> int:
        return self._member.generation if self._member is not None else -1

    def _check_usable(self) -> None:
        if self.crashed or self.closed:
            raise ClientClosed(f"consumer {self.config.client_id} of {self.group_id} was {'crashed' if self.crashed else 'closed'}")

    # ---------------------------------------------------------------- subscription and assignment
    def subscribe(self, topics: Sequence[str], *, on_assign: RebalanceCallback | None = None,
                  on_revoke: RebalanceCallback | None = None) -> None:
        self._check_usable()
        if self._manual:
            raise InvalidConfig("subscribe() after assign(): call unsubscribe() first")
        self._on_assign, self._on_revoke = on_assign, on_revoke
        topics = tuple(dict.fromkeys(topics))
        if self._member is not None and topics != self._topics and self._is_member():
            self._group.subscription_changed(self._member, topics)
        self._topics = topics

    def assign(self, partitions: Sequence[TopicPartition]) -> None:
        self._check_usable()
        if self._topics:
            raise InvalidConfig("assign() while subscribed: call unsubscribe() first")
        self._manual = True
        wanted = list(dict.fromkeys((tp.topic, tp.partition) for tp in partitions))
        self._fetcher.forget([tp for tp in self._assigned if tp not in wanted])
        self._assigned = wanted
        self._cluster.emit("assign", group=self.group_id, client=self.config.client_id,
                           partitions=[f"{t}-{p}" for t, p in wanted])

    def unsubscribe(self) -> None:
        self._check_usable()
        if self._assigned and not self._manual:
            self._drop(list(self._assigned), lost=False)
        self._fetcher.forget(list(self._assigned))
        self._assigned = []
        self._manual = False
        self._topics = ()
        if self._is_member():
            self._leave()
        self._member = None

    def _is_member(self) -> bool:
        m = self._member
        return m is not None and self._group.members.get(m.member_id) is m

    def _leave(self) -> None:
        if self.config.group_instance_id is None:
            self._group.leave(self._member, "left")
        else:  # static members send no LeaveGroup: the session timeout decides
            self._member.left = True
            self._group.stop_heartbeats(self._member)

    # ---------------------------------------------------------------- poll
    def poll(self, max_records: int = 500, timeout: float = 1.0) -> list[Record]:
        self._check_usable()
        cluster = self._cluster
        member = self._member
        if member is not None:  # the application did call poll, even if the broker cannot answer
            now = cluster.clock.now_ms()
            if (member.instance_id is not None and member.protocol == "classic" and self._is_member()
                    and now - member.last_poll_ms >= member.max_poll_interval_ms):
                self._static_poll_overdue()
            else:
                member.last_poll_ms = now
        cluster.check_up()
        cluster.tick()
        if not self._manual:
            self._drive_group()
            self._report_missing_topics()
        if not self._assigned:
            return []
        return self._fetcher.fetch(self._assigned, max_records, self.member_id)

    def _static_poll_overdue(self) -> None:
        """librdkafka, past max.poll.interval.ms, for a static member: no LeaveGroup, but it forgets its
        member id and loses its partitions, then rejoins under its instance id, so the coordinator hands
        the same partitions back without a rebalance; what it had not committed is read again."""
        self._cluster.emit("max_poll_exceeded", group=self.group_id, member=self.member_id, static=True)
        if self._assigned:
            self._drop(list(self._assigned), lost=True)
        self._member = None

    def _report_missing_topics(self) -> None:
        """Like librdkafka: a subscribed topic that does not exist is reported once, then waited for."""
        topics = self._cluster.topics
        self._reported_missing &= {t for t in self._reported_missing if t not in topics}
        for topic in self._topics:
            if topic not in topics and topic not in self._reported_missing:
                self._reported_missing.add(topic)
                raise UnknownTopic(f"Subscribed topic not available: {topic!r}")

    def _refresh_metadata(self, now: int) -> None:
        """librdkafka refreshes metadata every topic.metadata.refresh.interval.ms; a subscribed topic that
        gained partitions since the last refresh makes this member rejoin, so the group rebalances."""
        self._next_refresh = now + self._refresh_ms if self._refresh_ms >= 0 else -1
        topics = self._cluster.topics
        counts = {t: len(topics[t].partitions) for t in self._topics if t in topics}
        grown = sorted(t for t, n in counts.items() if n > self._known_counts.get(t, n))
        self._known_counts = counts
        if grown and self._is_member():
            self._group.start_rebalance(f"metadata refresh: partitions added to {', '.join(grown)}")

    def _drive_group(self) -> None:
        group = self._group
        if self._member is not None and not self._is_member():
            if self._member.replaced:
                raise FencedInstance(f"group.instance.id {self.config.group_instance_id!r} is used by a newer consumer "
                                     "[FENCED_INSTANCE_ID: fatal]")
            self._member = None
            if self._assigned:  # we were kicked out: the partitions are lost
                self._drop(list(self._assigned), lost=True)
        if not self._topics:
            return
        cluster = self._cluster
        now = cluster.clock.now_ms()
        if self._kip848:
            self._drive_consumer_protocol(now)
            return
        if self._member is None:
            cfg = self.config
            refused = session_timeout_refused(cfg, cluster.broker.group_min_session_timeout_ms,
                                              cluster.broker.group_max_session_timeout_ms)
            if refused is not None:
                raise refused
            self._member = group.join(client_id=cfg.client_id, instance_id=cfg.group_instance_id, topics=self._topics,
                                      assignor=cfg.assignor, session_timeout_ms=cfg.session_timeout_ms,
                                      max_poll_interval_ms=cfg.max_poll_interval_ms,
                                      heartbeat_interval_ms=cfg.heartbeat_interval_ms)
            self._member.positions = self._positions
            self._next_refresh = now  # a join fetches metadata first (then every interval, unless -1)
        if now >= self._next_refresh >= 0:
            self._refresh_metadata(now)
        member = self._member
        member.last_poll_ms = now
        for _ in range(6):  # a cooperative sync can start the second round at once
            if group.needs_sync(member):
                revoked, added = group.sync(member)
                if self._eager:
                    self._assigned = list(member.owned)
                    self._call(self._on_assign, self._assigned)
                else:
                    if revoked:
                        self._drop(revoked, lost=False)
                        group.released(member, revoked)
                    self._assigned.extend(added)
                    # librdkafka calls the incremental assign callback after every rebalance, empty or not
                    self._call(self._on_assign, added)
                continue
            if group.state == "PreparingRebalance" and not member.rejoined:
                if now < member.heard_by(group.rebalance_began_ms):
                    return  # it learns of the rebalance from its next heartbeat's answer; it works on until then
                if self._eager and self._assigned:
                    self._drop(list(self._assigned), lost=False)
                if not self._is_member():
                    return
                if self._eager:
                    member.owned = []
                member.last_join_ms = now
                group.rejoin(member)
                continue
            return

    def _drive_consumer_protocol(self, now: int) -> None:
        group, cfg = self._group, self.config
        if self._refused:  # librdkafka: a fatal error is reported once; the consumer then gets nothing
            return
        if self._member is None:
            self._refused = True
            self._member = group.join_consumer(client_id=cfg.client_id, instance_id=cfg.group_instance_id,
                                               topics=self._topics, remote_assignor=cfg.remote_assignor,
                                               max_poll_interval_ms=cfg.max_poll_interval_ms)
            self._refused = False
            self._member.positions = self._positions
            self._next_refresh = now
        if now >= self._next_refresh >= 0:
            self._refresh_metadata(now)
        self._member.last_poll_ms = now
        if group.kip848 is not None:
            consumer_protocol.drive(self, group.kip848, self._member, now)

    def _drop(self, tps: list[TP], *, lost: bool) -> None:
        self._cluster.emit("revoke", group=self.group_id, member=self.member_id, lost=lost,
                           partitions=[f"{t}-{p}" for t, p in tps])
        # The callback runs while the partitions are still assigned, so it can commit what it processed.
        self._call(self._on_revoke, tps)
        self._fetcher.forget(tps)
        self._assigned = [tp for tp in self._assigned if tp not in tps]

    @staticmethod
    def _call(callback: RebalanceCallback | None, tps: list[TP]) -> None:
        if callback is not None:
            callback([TopicPartition(t, p) for t, p in tps])

    # ---------------------------------------------------------------- offsets
    def check_can_commit(self, tps: Mapping[TP, int]) -> None:
        self._check_usable()
        self._cluster.tick()
        if self._manual:
            self._check_manual(tps)
            return
        self._group.check_can_commit(self._member, tps)

    def _check_manual(self, tps) -> None:
        """A commit outside any generation (manual assignment) is taken only while the group is empty."""
        not_owned = [tp for tp in tps if tp not in self._assigned]
        if not_owned:
            raise CommitFailed(f"commit refused: {not_owned[0][0]}-{not_owned[0][1]} is not assigned to this consumer")
        if self._group.members:
            raise CommitFailed(f"group {self.group_id} has members: a manually assigned consumer cannot commit "
                               "for it [UNKNOWN_MEMBER_ID]")

    def commit(self, offsets: Mapping[TopicPartition, int] | None = None) -> None:
        self._check_usable()
        self._cluster.check_up(group_call=True)
        if offsets is None:
            todo = self._fetcher.committable(self._assigned)
        else:
            todo = {(tp.topic, tp.partition): int(off) for tp, off in offsets.items()}
        if not todo:
            return
        self._cluster.tick()
        if self._manual:
            self._check_manual(todo)
            self._group.store(todo, None)
            return
        self._check_poll_interval()
        self._group.commit(self._member, todo)

    def _check_poll_interval(self) -> None:
        """A commit at the end of a batch that outlasted max.poll.interval.ms: librdkafka left the group at
        the interval, so the broker refuses it (the group itself notices at that time, in ``tick``)."""
        m = self._member
        if m is None:
            return
        late = self._cluster.clock.local_ms() - (m.last_poll_ms + m.max_poll_interval_ms)
        if late >= 0:
            raise CommitFailed(f"group {self.group_id}: the batch took longer than max.poll.interval.ms="
                               f"{m.max_poll_interval_ms}: the member left the group [UNKNOWN_MEMBER_ID]")

    def committed(self, tp: TopicPartition) -> int | None:
        return self._group.committed.get((tp.topic, tp.partition))

    # ---------------------------------------------------------------- positions
    def assignment(self) -> list[TopicPartition]:
        return [TopicPartition(t, p) for t, p in sorted(self._assigned)]

    def position(self, tp: TopicPartition) -> int | None:
        return self._fetcher.position((tp.topic, tp.partition))

    def _owned(self, tps: Sequence[TopicPartition], action: str) -> list[TP]:
        self._check_usable()
        keys = [(tp.topic, tp.partition) for tp in tps]
        missing = [f"{t}-{p}" for t, p in keys if (t, p) not in self._assigned]
        if missing:
            raise PartitionNotAssigned(f"{action}: {', '.join(missing)} not assigned to this consumer")
        return keys

    def seek(self, tp: TopicPartition, offset: int) -> None:
        [key] = self._owned([tp], "seek")
        self._fetcher.seek(key, int(offset))

    def pause(self, partitions: Sequence[TopicPartition]) -> None:
        self._fetcher.paused.update(self._owned(partitions, "pause"))

    def resume(self, partitions: Sequence[TopicPartition]) -> None:
        self._fetcher.paused.difference_update(self._owned(partitions, "resume"))

    def paused(self) -> list[TopicPartition]:
        return [TopicPartition(t, p) for t, p in sorted(self._fetcher.paused)]

    # ---------------------------------------------------------------- lifecycle
    def close(self) -> None:
        if self.closed or self.crashed:
            return
        if self._assigned and not self._manual:
            self._drop(list(self._assigned), lost=False)
        if self._is_member():
            self._leave()
        self.closed = True
        self._cluster.emit("consumer_closed", group=self.group_id, member=self.member_id)

    def crash(self) -> None:
        """Fault: gone without a LeaveGroup or callbacks; the coordinator waits for the session timeout."""
        if self.crashed or self.closed:
            return
        self.crashed = True
        self._cluster.emit("fault_crash", client=self.member_id or self.config.client_id, kind="consumer",
                           group=self.group_id)
        if self._is_member():
            self._group.stop_heartbeats(self._member)

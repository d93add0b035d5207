"""A consumer group member. Group work (join, revoke, assign) happens inside poll(), as in librdkafka."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from services.ports import (
    ClientClosed,
    ConsumerConfig,
    FencedInstance,
    InvalidConfig,
    OffsetOutOfRange,
    RebalanceCallback,
    Record,
    TopicPartition,
    UnknownTopic,
)

from .assignors import ASSIGNORS
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
        if config.assignor not in ASSIGNORS:
            raise InvalidConfig(f"partition.assignment.strategy {config.assignor!r} is not one of {ASSIGNORS}")
        if config.auto_offset_reset not in ("earliest", "latest", "error"):
            raise InvalidConfig(f"auto.offset.reset {config.auto_offset_reset!r}")
        if config.session_timeout_ms <= 0 or config.max_poll_interval_ms <= 0:
            raise InvalidConfig("session_timeout_ms and max_poll_interval_ms must be positive")
        self.config = config
        self._cluster = cluster
        self._group = cluster.group(config.group_id)
        self._member: Member | None = None
        self._topics: tuple[str, ...] = ()
        self._on_assign: RebalanceCallback | None = None
        self._on_revoke: RebalanceCallback | None = None
        self._assigned: list[TP] = []
        self._positions: dict[TP, int] = {}
        self._reported_missing: set[str] = set()
        self._turn = 0  # rotates the first partition fetched, so no partition starves
        self._read_committed = config.isolation_level == "read_committed"
        self._eager = config.assignor != "cooperative-sticky"
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

    # ---------------------------------------------------------------- subscription
    def subscribe(self, topics: Sequence[str], *, on_assign: RebalanceCallback | None = None,
                  on_revoke: RebalanceCallback | None = None) -> None:
        self._check_usable()
        self._on_assign, self._on_revoke = on_assign, on_revoke
        topics = tuple(dict.fromkeys(topics))
        if self._member is not None and topics != self._topics and self._is_member():
            self._group.subscription_changed(self._member, topics)
        self._topics = topics

    def _is_member(self) -> bool:
        m = self._member
        return m is not None and self._group.members.get(m.member_id) is m

    # ---------------------------------------------------------------- poll
    def poll(self, max_records: int = 500, timeout: float = 1.0) -> list[Record]:
        self._check_usable()
        cluster = self._cluster
        if self._member is not None:  # the application did call poll, even if the broker cannot answer
            self._member.last_poll_ms = cluster.clock.now_ms()
        cluster.check_up()
        cluster.tick()
        self._drive_group()
        self._report_missing_topics()
        if not self._assigned:
            return []
        return self._fetch(max_records)

    def _report_missing_topics(self) -> None:
        """Like librdkafka: a subscribed topic that does not exist is reported once, then waited for."""
        topics = self._cluster.topics
        self._reported_missing &= {t for t in self._reported_missing if t not in topics}
        for topic in self._topics:
            if topic not in topics and topic not in self._reported_missing:
                self._reported_missing.add(topic)
                raise UnknownTopic(f"Subscribed topic not available: {topic!r}")

    def _drive_group(self) -> None:
        group = self._group
        if self._member is not None and not self._is_member():
            if self._member.replaced:
                raise FencedInstance(f"group.instance.id {self.config.group_instance_id!r} is used by a newer consumer")
            self._member = None
            if self._assigned:  # we were kicked out: the partitions are lost
                self._drop(list(self._assigned), lost=True)
        if not self._topics:
            return
        now = self._cluster.clock.now_ms()
        if self._member is None:
            cfg = self.config
            self._member = group.join(client_id=cfg.client_id, instance_id=cfg.group_instance_id, topics=self._topics,
                                      assignor=cfg.assignor, session_timeout_ms=cfg.session_timeout_ms,
                                      max_poll_interval_ms=cfg.max_poll_interval_ms)
            self._member.positions = self._positions
        member = self._member
        member.last_poll_ms = now
        for _ in range(4):  # a cooperative sync can start the second round at once
            if group.state == "PreparingRebalance" and not member.rejoined:
                if self._eager and self._assigned:
                    self._drop(list(self._assigned), lost=False)
                if not self._is_member():
                    return
                if self._eager:
                    member.owned = []
                group.rejoin(member)
            if not group.needs_sync(member):
                return
            revoked, added = group.sync(member)
            if self._eager:
                self._assigned = list(member.owned)
                self._call(self._on_assign, self._assigned)
            else:
                if revoked:
                    self._drop(revoked, lost=False)
                    group.released(member, revoked)
                self._assigned.extend(added)
                if added:
                    self._call(self._on_assign, added)

    def _drop(self, tps: list[TP], *, lost: bool) -> None:
        self._cluster.emit("revoke", group=self.group_id, member=self.member_id, lost=lost,
                           partitions=[f"{t}-{p}" for t, p in tps])
        # The callback runs while the partitions are still assigned, so it can commit what it processed.
        self._call(self._on_revoke, tps)
        for tp in tps:
            self._positions.pop(tp, None)
        self._assigned = [tp for tp in self._assigned if tp not in tps]

    @staticmethod
    def _call(callback: RebalanceCallback | None, tps: list[TP]) -> None:
        if callback is not None:
            callback([TopicPartition(t, p) for t, p in tps])

    def _fetch(self, max_records: int) -> list[Record]:
        cluster = self._cluster
        assigned = self._assigned
        n = len(assigned)
        start = self._turn % n
        self._turn += 1
        out: list[Record] = []
        fetched = {}
        for k in range(n):
            tp = assigned[(start + k) % n]
            topic = cluster.topics.get(tp[0])
            if topic is None or tp[1] >= len(topic.partitions):
                continue
            log = topic.partitions[tp[1]]
            pos = self._positions.get(tp)
            if pos is None or pos > log.next_offset:
                pos = self._reset(tp, log, use_committed=pos is None)
            recs, self._positions[tp] = log.read(pos, max_records - len(out), committed_only=self._read_committed)
            if recs:
                out.extend(recs)
                fetched[f"{tp[0]}-{tp[1]}"] = [recs[0].offset, len(recs)]
                if len(out) >= max_records:
                    break
        if out:
            cluster.emit("fetch", group=self.group_id, member=self.member_id, parts=fetched)
        return out

    def _reset(self, tp: TP, log, *, use_committed: bool) -> int:
        if use_committed:
            committed = self._group.committed.get(tp)
            if committed is not None and committed <= log.next_offset:
                return committed
        policy = self.config.auto_offset_reset
        if policy == "earliest":
            return log.start_offset
        if policy == "latest":
            return log.last_stable_offset() if self._read_committed else log.next_offset
        raise OffsetOutOfRange(f"{tp[0]}-{tp[1]}: no valid offset for group {self.group_id} and auto_offset_reset=error")

    # ---------------------------------------------------------------- offsets
    def check_can_commit(self, tps: Mapping[TP, int]) -> None:
        self._check_usable()
        self._cluster.tick()
        self._group.check_can_commit(self._member, tps)

    def commit(self, offsets: Mapping[TopicPartition, int] | None = None) -> None:
        self._check_usable()
        self._cluster.check_up(group_call=True)
        if offsets is None:
            todo = {tp: self._positions[tp] for tp in self._assigned if tp in self._positions}
        else:
            todo = {(tp.topic, tp.partition): int(off) for tp, off in offsets.items()}
        if not todo:
            return
        self._cluster.tick()
        self._group.commit(self._member, todo)

    def committed(self, tp: TopicPartition) -> int | None:
        return self._group.committed.get((tp.topic, tp.partition))

    def assignment(self) -> list[TopicPartition]:
        return [TopicPartition(t, p) for t, p in sorted(self._assigned)]

    def position(self, tp: TopicPartition) -> int | None:
        return self._positions.get((tp.topic, tp.partition))

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self._check_usable()
        key = (tp.topic, tp.partition)
        if key not in self._assigned:
            raise ValueError(f"seek: {tp} is not assigned to this consumer")
        self._positions[key] = int(offset)

    # ---------------------------------------------------------------- lifecycle
    def close(self) -> None:
        if self.closed or self.crashed:
            return
        if self._assigned:
            self._drop(list(self._assigned), lost=False)
        if self._is_member():
            if self.config.group_instance_id is None:
                self._group.leave(self._member, "left")
            else:  # static members send no LeaveGroup: the session timeout decides
                self._group.stop_heartbeats(self._member)
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

"""Replication across simulated brokers: replicas per partition, leader, ISR, high watermark, leader
epochs, elections, and the broker faults that move them (crash, restart, pause, slow, cut from the
controller).

Only a cluster of more than one broker replicates; a single broker keeps ``PartitionLog.replicas``
None and costs nothing here. The model, as KRaft does it:

- The leader's ``PartitionLog`` is the partition's log; a follower is its log end offset (LEO): it
  holds a prefix of the leader's log, because a follower truncates to its new leader's log when the
  leader changes. The high watermark is the smallest LEO in the ISR; consumers read up to it.
- Followers fetch on the cluster's tick (at most every ``slow_ms`` for a slow broker, never while
  paused, down or partitioned from the leader). A follower not caught up for
  ``replica.lag.time.max.ms`` leaves the ISR; one that reaches the high watermark rejoins it.
- ``acks=all`` is refused with NOT_ENOUGH_REPLICAS while the ISR is smaller than
  ``min.insync.replicas`` (capped at the replication factor, as Kafka's effective min ISR is); the ack waits for every ISR member, and when one cannot fetch now the
  request times out (the batch is in the leader's log, the producer is told it failed: a retry
  writes it again). ``acks=1`` is answered by the leader alone: what no follower fetched yet is lost
  if the leader dies and an ISR follower takes over.
- The controller fences a broker that crashed or lost its link to the controller (immediately; a
  pause longer than the broker session timeout too): it leaves every ISR (never the last member)
  and a new leader is elected from the live ISR, epoch + 1. With no live ISR member the partition
  is offline, unless ``unclean.leader.election.enable`` lets a live out-of-sync replica lead: the
  log is cut back to what that replica holds, and the acknowledged records above it are gone.

Not modelled: the zombie leader that keeps taking acks=1 writes before it learns it was fenced,
eligible leader replicas (KIP-966), preferred-leader rebalancing, and the broker session timeout
before a crashed broker is fenced (the controller notices at once).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from services.ports import BrokerUnavailable, NotEnoughReplicas, ProduceFailed

if TYPE_CHECKING:
    from .cluster import Cluster
    from .log import PartitionLog

FETCH_GAP_MS = 1  # a lagging follower's next fetch: followers long-poll, so data reaches them at once
BROKER_SESSION_TIMEOUT_MS = 9_000  # broker.session.timeout.ms: a pause longer than this is fenced


@dataclass(slots=True)
class Node:
    """One broker as the controller and its peers see it."""

    node_id: int
    up: bool = True
    isolated: bool = False  # no link to the controller: fenced, but it still fetches as a follower
    paused_until: int = -1  # a long GC pause / SIGSTOP: answers nobody and fetches nothing until then
    paused_since: int = -1
    slow_ms: int = 0  # fetches at most this often
    fenced: bool = False

    def responsive(self, now: int) -> bool:
        return self.up and now >= self.paused_until


class Replicas:
    """One partition's replica set: who holds it, who leads, who is in sync, how far each got."""

    __slots__ = ("log", "replicas", "leader", "epoch", "isr", "leo", "caught_up_ms", "next_fetch", "followers",
                 "dirty")

    def __init__(self, log: PartitionLog, replicas: tuple[int, ...], now: int) -> None:
        self.log = log
        self.replicas = replicas
        self.leader: int | None = replicas[0]
        self.epoch = 0
        self.isr: list[int] = list(replicas)
        self.leo = dict.fromkeys(replicas, 0)
        self.caught_up_ms = dict.fromkeys(replicas, now)
        self.next_fetch = dict.fromkeys(replicas, now)
        self.followers = replicas[1:]
        self.dirty = False  # on the replication's work list (a follower behind, or the ISR not full)
        log.hw = 0

    def in_sync(self) -> tuple[int, ...]:
        return tuple(r for r in self.replicas if r in self.isr)

    def update_hw(self) -> None:
        log = self.log
        if self.leader is not None:
            self.leo[self.leader] = log.next_offset
        hw = min((self.leo[r] for r in self.isr), default=log.next_offset)
        if hw > log.hw:
            log.hw = min(hw, log.next_offset)


class Replication:
    """Every replicated partition of one cluster and its brokers; driven by the cluster's tick."""

    def __init__(self, cluster: Cluster, brokers: int) -> None:
        self.cluster = cluster
        self.nodes = {n: Node(n) for n in range(1, brokers + 1)}
        self.partitions: list[Replicas] = []
        self.dirty: list[Replicas] = []  # the partitions the tick must look at; the rest are settled
        self._next_start = 0
        self.lag_max_ms = cluster.broker.replica_lag_time_max_ms
        self.plant_unclean_bug = False  # tests only: elect the first live replica, in the ISR or not

    # ---------------------------------------------------------------- placement
    def alive(self) -> list[int]:
        return [n for n, node in self.nodes.items() if node.up and not node.fenced]

    def place(self, log: PartitionLog, rf: int) -> None:
        """Kafka's round robin: partition p's replicas start at broker (start + p) and go on in order."""
        ids = sorted(self.nodes)
        start = self._next_start
        self._next_start += 1
        replicas = tuple(ids[(start + i) % len(ids)] for i in range(rf))
        rep = Replicas(log, replicas, self.cluster.clock.now_ms())
        log.replicas = rep
        self.partitions.append(rep)
        self.mark(rep)
        for r in replicas:
            if self.nodes[r].fenced or not self.nodes[r].up:
                self._fence_replica(rep, r)

    def forget(self, logs: list[PartitionLog]) -> None:
        gone = {id(log) for log in logs}
        self.partitions = [p for p in self.partitions if id(p.log) not in gone]
        self.dirty = [p for p in self.dirty if id(p.log) not in gone]

    def mark(self, rep: Replicas) -> None:
        if not rep.dirty:
            rep.dirty = True
            self.dirty.append(rep)

    # ---------------------------------------------------------------- the produce path
    def before_append(self, rep: Replicas, acks: str, now: int) -> None:
        """Raise what the leader would answer instead of writing (no leader, paused, too few in sync)."""
        tp = f"{rep.log.topic}-{rep.log.partition}"
        if rep.leader is None:
            raise BrokerUnavailable(f"produce to {tp}: no leader (partition offline, replicas "
                                    f"{_ids(rep.replicas)} down or out of sync) [LEADER_NOT_AVAILABLE]")
        if not self.nodes[rep.leader].responsive(now):
            raise BrokerUnavailable(f"produce to {tp}: leader {rep.leader} did not answer [REQUEST_TIMED_OUT]")
        if acks == "all":
            min_isr = min(rep.log.settings.min_insync_replicas, len(rep.replicas))  # Kafka caps it at the RF
            if len(rep.isr) < min_isr:
                raise NotEnoughReplicas(f"produce to {tp}: Broker: Not enough in-sync replicas: ISR {_ids(rep.in_sync())} "
                                        f"is smaller than min.insync.replicas={min_isr} [NOT_ENOUGH_REPLICAS]")

    def after_append(self, rep: Replicas, acks: str, now: int) -> None:
        """acks=all: every ISR follower fetches now, or the request times out (written, not acked)."""
        self.mark(rep)
        if acks != "all":
            rep.update_hw()
            return
        behind = []
        for f in rep.isr:
            if f == rep.leader:
                continue
            if self._can_fetch(f, rep, now):
                self._fetch(rep, f, now)
            else:
                behind.append(f)
        rep.update_hw()
        if behind:
            raise ProduceFailed(f"produce to {rep.log.topic}-{rep.log.partition}: in-sync replica(s) {_ids(behind)} "
                                "did not fetch in time [REQUEST_TIMED_OUT]", retriable=True)

    def readable(self, rep: Replicas, now: int) -> bool:
        return rep.leader is not None and self.nodes[rep.leader].responsive(now)

    # ---------------------------------------------------------------- followers
    def _can_fetch(self, f: int, rep: Replicas, now: int) -> bool:
        node = self.nodes[f]
        leader = rep.leader
        return (leader is not None and node.responsive(now) and self.nodes[leader].responsive(now)
                and now >= rep.next_fetch[f])

    def _fetch(self, rep: Replicas, f: int, now: int) -> None:
        rep.leo[f] = rep.log.next_offset
        rep.caught_up_ms[f] = now
        slow = self.nodes[f].slow_ms
        rep.next_fetch[f] = now + slow if slow else now

    def tick(self, now: int) -> None:
        for node in self.nodes.values():
            if node.up and not node.fenced and node.paused_until > now \
                    and now - node.paused_since >= BROKER_SESSION_TIMEOUT_MS:
                self._fence(node.node_id, "missed heartbeats while paused")
            elif node.fenced and node.up and not node.isolated and now >= node.paused_until:
                node.fenced = False
                self._unfenced(node.node_id)
        if not self.dirty:
            return
        settled = False
        for rep in self.dirty:
            if self._tick_partition(rep, now):
                rep.dirty = False
                settled = True
        if settled:
            self.dirty = [rep for rep in self.dirty if rep.dirty]

    def _tick_partition(self, rep: Replicas, now: int) -> bool:
        """Followers fetch, the leader shrinks and expands the ISR; True once nothing is left to do."""
        if rep.leader is None:
            return True  # offline: a restart or an election puts it back on the list
        end = rep.log.next_offset
        leo, nodes = rep.leo, self.nodes
        for f in rep.followers:
            if leo[f] < end and self._can_fetch(f, rep, now):
                self._fetch(rep, f, now)
        if nodes[rep.leader].responsive(now):  # the leader shrinks and expands its ISR
            for f in list(rep.isr):
                if f != rep.leader and leo[f] < end and now - rep.caught_up_ms[f] > self.lag_max_ms:
                    rep.isr.remove(f)
                    self._emit("isr_shrink", rep, replica=f, why="replica.lag.time.max.ms")
            if len(rep.isr) < len(rep.replicas):
                for f in rep.followers:
                    node = nodes[f]
                    if f not in rep.isr and node.up and not node.fenced and leo[f] >= rep.log.hw:
                        rep.isr.append(f)
                        self._emit("isr_expand", rep, replica=f)
        rep.update_hw()
        return all((leo[f] >= end and f in rep.isr) or not nodes[f].up for f in rep.followers)

    def next_deadline(self, now: int) -> int | None:
        times = []
        for node in self.nodes.values():
            if node.paused_until > now:
                times.append(node.paused_until)
                if not node.fenced:
                    times.append(node.paused_since + BROKER_SESSION_TIMEOUT_MS)
        for rep in self.dirty:
            if rep.leader is None:
                continue
            end = rep.log.next_offset
            leader_answers = self.nodes[rep.leader].responsive(now)
            for f in rep.followers:
                if rep.leo[f] < end:
                    if leader_answers and self.nodes[f].responsive(now):  # else a pause's end or a restart wakes it
                        times.append(max(rep.next_fetch[f], now + FETCH_GAP_MS))
                    if f in rep.isr and leader_answers:
                        times.append(rep.caught_up_ms[f] + self.lag_max_ms + 1)
        times = [t for t in times if t > now]
        return min(times) if times else None

    def pending(self, now: int) -> bool:
        """Followers that can catch up now (not the ones waiting for a pause or a restart)."""
        for rep in self.dirty:
            if rep.leader is None:
                continue
            end = rep.log.next_offset
            if any(rep.leo[f] < end and self.nodes[f].responsive(now) and self.nodes[rep.leader].responsive(now)
                   for f in rep.followers):
                return True
        return False

    # ---------------------------------------------------------------- faults
    def crash(self, node_id: int) -> None:
        node = self._node(node_id)
        node.up = False
        now = self.cluster.clock.now_ms()
        for rep in self.partitions:  # it fetched until now if it was caught up
            if node_id in rep.replicas and rep.leo[node_id] >= rep.log.next_offset:
                rep.caught_up_ms[node_id] = now
        self._fence(node_id, "crashed")

    def restart(self, node_id: int) -> None:
        node = self._node(node_id)
        node.up, node.paused_until, node.slow_ms, node.isolated = True, -1, 0, False
        now = self.cluster.clock.now_ms()
        for rep in self.partitions:
            if node_id in rep.replicas:
                rep.next_fetch[node_id] = now
                self.mark(rep)
        node.fenced = False
        self._emit_node("broker_restarted", node_id)
        self._unfenced(node_id)

    def pause(self, node_id: int, ms: int) -> None:
        node = self._node(node_id)
        now = self.cluster.clock.now_ms()
        node.paused_since, node.paused_until = now, now + int(ms)
        self._mark_node(node_id)
        self._emit_node("broker_paused", node_id, until=node.paused_until)

    def slow(self, node_id: int, ms: int) -> None:
        self._node(node_id).slow_ms = int(ms)
        self._mark_node(node_id)
        self._emit_node("broker_slow", node_id, ms=int(ms))

    def isolate(self, node_id: int) -> None:
        self._node(node_id).isolated = True
        self._fence(node_id, "partitioned from the controller")

    def heal(self, node_id: int) -> None:
        node = self._node(node_id)
        node.isolated, node.slow_ms, node.paused_until = False, 0, -1
        self._mark_node(node_id)
        self._emit_node("broker_healed", node_id)
        if node.up and node.fenced:
            node.fenced = False
            self._unfenced(node_id)

    def _mark_node(self, node_id: int) -> None:
        for rep in self.partitions:
            if node_id in rep.replicas:
                self.mark(rep)

    def _node(self, node_id: int) -> Node:
        node = self.nodes.get(node_id)
        if node is None:
            raise ValueError(f"no broker {node_id}; the brokers are {_ids(sorted(self.nodes))}")
        return node

    # ---------------------------------------------------------------- the controller
    def _fence(self, node_id: int, why: str) -> None:
        self.nodes[node_id].fenced = True
        self._emit_node("broker_fenced", node_id, why=why)
        for rep in self.partitions:
            if node_id in rep.replicas:
                self._fence_replica(rep, node_id)

    def _fence_replica(self, rep: Replicas, node_id: int) -> None:
        self.mark(rep)
        if node_id in rep.isr and len(rep.isr) > 1:
            rep.isr.remove(node_id)
            self._emit("isr_shrink", rep, replica=node_id, why="fenced")
        if rep.leader == node_id:
            self._elect(rep)
        rep.update_hw()

    def _unfenced(self, node_id: int) -> None:
        for rep in self.partitions:
            if node_id not in rep.replicas:
                continue
            self.mark(rep)
            if rep.leader is None:
                self._elect(rep)
            elif node_id != rep.leader:
                rep.leo[node_id] = min(rep.leo[node_id], rep.log.next_offset)  # truncates to the leader's log

    def _eligible(self, node_id: int) -> bool:
        node = self.nodes[node_id]
        return node.up and not node.fenced

    def _elect(self, rep: Replicas) -> None:
        old = rep.leader
        clean = [r for r in rep.replicas if r in rep.isr and self._eligible(r)]
        if self.plant_unclean_bug:  # tests only: the first live replica, in sync or not
            clean = [r for r in rep.replicas if self._eligible(r)][:1]
            if clean and clean[0] not in rep.isr:
                rep.isr = [clean[0]]
        unclean = rep.log.settings.unclean_leader_election
        if clean:
            leader, how = clean[0], "clean"
        elif unclean and (live := [r for r in rep.replicas if self._eligible(r)]):
            leader, how = max(live, key=lambda r: (rep.leo[r], -rep.replicas.index(r))), "unclean"
            rep.isr = [leader]
        else:
            if rep.leader is not None:
                rep.leader = None
                rep.epoch += 1
                self._emit("partition_offline", rep, was=old)
            return
        rep.leader = leader
        rep.followers = tuple(r for r in rep.replicas if r != leader)
        rep.epoch += 1
        kept = rep.leo[leader]
        lost = rep.log.next_offset - kept
        if lost > 0:
            rep.log.truncate_to(kept)
            for r in rep.replicas:
                rep.leo[r] = min(rep.leo[r], kept)
        rep.leo[leader] = rep.log.next_offset
        if rep.log.hw > rep.log.next_offset:
            rep.log.hw = rep.log.next_offset
        self._emit("leader_elected", rep, leader=leader, was=old, how=how, truncated=lost)

    # ---------------------------------------------------------------- trace
    def _emit(self, kind: str, rep: Replicas, **fields: object) -> None:
        self.cluster.emit(kind, topic=rep.log.topic, partition=rep.log.partition, epoch=rep.epoch,
                          isr=list(rep.in_sync()), **fields)

    def _emit_node(self, kind: str, node_id: int, **fields: object) -> None:
        self.cluster.emit(kind, broker=node_id, **fields)


def _ids(ids) -> str:
    return ",".join(str(i) for i in ids) or "none"

"""The group coordinator of one consumer group: members, generations, rebalances, committed offsets.

Classic protocol, modelled on the broker's state machine: Empty -> PreparingRebalance (every member
must rejoin) -> Stable (the assignment is computed as soon as the last member rejoined; each member
picks it up, i.e. syncs, at its next poll). Members that stop polling or stop heartbeating are removed
by virtual-time deadlines checked in ``tick``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from services.ports import CommitFailed, InvalidConfig, RebalanceInProgress

from .assignors import EAGER, cooperative_round
from .consumer_protocol import ConsumerProtocol

if TYPE_CHECKING:
    from .cluster import Cluster

TP = tuple[str, int]


@dataclass(slots=True)
class Member:
    """The coordinator's view of one member (the consumer object keeps its own positions)."""

    member_id: str
    client_id: str
    instance_id: str | None
    topics: tuple[str, ...]
    assignor: str
    session_timeout_ms: int
    max_poll_interval_ms: int
    last_poll_ms: int
    expires_at: int | None = None  # set when heartbeats stopped (crash, or a static member closed)
    rejoined: bool = True  # has (re)joined the rebalance in progress
    generation: int = -1  # generation of the assignment this member adopted
    owned: list[TP] = field(default_factory=list)  # what it actually holds now
    positions: dict | None = None  # the consumer's fetch positions (for inspection and planted bugs)
    replaced: bool = False  # a newer consumer with the same group.instance.id took this identity over
    protocol: str = "classic"  # group.protocol: classic, or consumer (KIP-848)
    left: bool = False  # a static member closed (consumer protocol: left with epoch -2, its assignment waits)
    next_heartbeat_ms: int = 0  # consumer protocol: when its next heartbeat is due
    heartbeat_interval_ms: int = 3_000  # classic: heartbeats tick from the (re)join on, this far apart
    last_join_ms: int = 0

    def heard_by(self, at_ms: int) -> int:
        """Classic: the first heartbeat at or after ``at_ms``, which tells it of a rebalance begun then."""
        if at_ms <= self.last_join_ms:
            return at_ms
        beats = -(-(at_ms - self.last_join_ms) // self.heartbeat_interval_ms)
        return self.last_join_ms + beats * self.heartbeat_interval_ms


class Group:
    def __init__(self, cluster: Cluster, group_id: str) -> None:
        self.cluster = cluster
        self.group_id = group_id
        self.members: dict[str, Member] = {}  # insertion (join) order: deterministic
        self.state = "Empty"
        self.generation = 0
        self.protocol = ""
        self.assignment: dict[str, list[TP]] = {}
        self.committed: dict[TP, int] = {}
        self.kip848: ConsumerProtocol | None = None  # set while the group is a consumer-protocol group
        self.rebalance_began_ms = 0

    # ---------------------------------------------------------------- membership
    def join(self, *, client_id: str, instance_id: str | None, topics: tuple[str, ...], assignor: str,
             session_timeout_ms: int, max_poll_interval_ms: int, heartbeat_interval_ms: int = 3_000) -> Member:
        cluster = self.cluster
        cluster.group(self.group_id)  # a deleted group comes back when someone joins it
        self._check_protocol("classic")
        others = {m.assignor for m in self.members.values() if m.instance_id is None or m.instance_id != instance_id}
        if others and assignor not in others:
            raise InvalidConfig(f"inconsistent group protocol: group {self.group_id} uses {sorted(others)}, not {assignor}")
        member_id = f"{client_id}-{uuid.UUID(int=cluster.rng.getrandbits(128), version=4)}"
        now = cluster.clock.now_ms()
        member = Member(member_id, client_id, instance_id, topics, assignor, session_timeout_ms,
                        max_poll_interval_ms, now, heartbeat_interval_ms=heartbeat_interval_ms, last_join_ms=now)
        old = self._static_member(instance_id)
        if old is not None and old.topics == topics:
            # Static restart: take over the old identity's assignment without a rebalance.
            del self.members[old.member_id]
            old.replaced = True
            member.rejoined = old.rejoined
            self.members[member_id] = member
            if old.member_id in self.assignment:
                self.assignment[member_id] = self.assignment.pop(old.member_id)
            cluster.emit("static_rejoin", group=self.group_id, member=member_id, replaced=old.member_id,
                         instance=instance_id)
            return member
        if old is not None:
            self._remove(old, "fenced")
        self.members[member_id] = member
        cluster.emit("join", group=self.group_id, member=member_id, instance=instance_id, topics=list(topics))
        self.start_rebalance(f"member joined: {member_id}")
        member.rejoined = True  # its JoinGroup is the one that started the rebalance
        self.maybe_complete()
        return member

    def join_consumer(self, *, client_id: str, instance_id: str | None, topics: tuple[str, ...],
                      remote_assignor: str | None, max_poll_interval_ms: int) -> Member:
        """A member of the consumer protocol (KIP-848) joins: sim.consumer_protocol does the rest."""
        self.cluster.group(self.group_id)
        self._check_protocol("consumer")
        if self.kip848 is None:
            self.kip848 = ConsumerProtocol(self)
        return self.kip848.join(client_id=client_id, instance_id=instance_id, topics=topics,
                                remote_assignor=remote_assignor, max_poll_interval_ms=max_poll_interval_ms)

    def _check_protocol(self, protocol: str) -> None:
        mixed = sorted({m.protocol for m in self.members.values()} - {protocol})
        if mixed:
            raise InvalidConfig(f"group {self.group_id} has {mixed[0]}-protocol members; a {protocol}-protocol member "
                                "cannot join it here (the simulator does not model mixed groups): use one "
                                "group.protocol for every member")
        if protocol == "classic" and self.kip848 is not None:
            self.kip848 = None  # empty: the next members decide what the group is

    def _static_member(self, instance_id: str | None) -> Member | None:
        if instance_id is None:
            return None
        return next((m for m in self.members.values() if m.instance_id == instance_id), None)

    def rejoin(self, member: Member) -> None:
        member.rejoined = True
        self.cluster.emit("rejoin", group=self.group_id, member=member.member_id,
                          owned=[f"{t}-{p}" for t, p in member.owned])
        self.maybe_complete()

    def leave(self, member: Member, reason: str = "left") -> None:
        if self.members.get(member.member_id) is member:
            self._remove(member, reason)

    def stop_heartbeats(self, member: Member) -> None:
        """Crash, or a static member's close: the coordinator notices only after the session timeout."""
        if self.members.get(member.member_id) is member and member.expires_at is None:
            member.expires_at = self.cluster.clock.now_ms() + member.session_timeout_ms
            self.cluster.bump()

    def _remove(self, member: Member, reason: str) -> None:
        del self.members[member.member_id]
        self.assignment.pop(member.member_id, None)
        self.cluster.emit("member_removed", group=self.group_id, member=member.member_id, reason=reason)
        self.on_member_removed(member, reason)
        self.start_rebalance(f"{reason}: {member.member_id}")
        self.maybe_complete()

    def on_member_removed(self, member: Member, reason: str) -> None:
        """Hook for test-only variants (planted bugs); the real coordinator does nothing more."""

    def subscription_changed(self, member: Member, topics: tuple[str, ...]) -> None:
        member.topics = topics
        self.start_rebalance(f"subscription changed: {member.member_id}")

    # ---------------------------------------------------------------- rebalance
    def start_rebalance(self, reason: str) -> None:
        self.cluster.bump()
        if self.kip848 is not None:  # no barrier: a new group epoch, and members converge by heartbeats
            self.kip848.bump(reason)
            return
        if not self.members:
            self.state, self.protocol = "Empty", ""
            self.generation += 1
            self.assignment = {}
            self.cluster.emit("group_empty", group=self.group_id, generation=self.generation)
            return
        if self.state != "PreparingRebalance":
            self.state = "PreparingRebalance"
            self.rebalance_began_ms = self.cluster.clock.now_ms()
            for m in self.members.values():
                m.rejoined = False
        self.cluster.emit("rebalance_start", group=self.group_id, reason=reason, generation=self.generation)

    def maybe_complete(self) -> None:
        if self.kip848 is not None:
            return
        if self.state != "PreparingRebalance" or not all(m.rejoined for m in self.members.values()):
            return
        self.generation += 1
        first = next(iter(self.members.values()))
        self.protocol = first.assignor
        subs = {mid: m.topics for mid, m in self.members.items()}
        counts = self.cluster.partition_counts()
        if self.protocol == "cooperative-sticky":
            owned = {mid: m.owned for mid, m in self.members.items()}
            self.assignment, _ = cooperative_round(subs, counts, owned)
        else:
            self.assignment = EAGER[self.protocol](subs, counts)
        self.state = "Stable"
        self.cluster.bump()
        self.cluster.emit("rebalance_done", group=self.group_id, generation=self.generation, protocol=self.protocol,
                          assignment={mid: [f"{t}-{p}" for t, p in tps] for mid, tps in self.assignment.items()})

    def sync(self, member: Member) -> tuple[list[TP], list[TP]]:
        """The member adopts the current generation's assignment: returns (revoked, added)."""
        new = self.assignment.get(member.member_id, [])
        revoked = [tp for tp in member.owned if tp not in new]
        added = [tp for tp in new if tp not in member.owned]
        # Revoked partitions stay owned until the member's revoke callback ran (it may commit them);
        # the consumer calls ``released`` then.
        member.owned = member.owned + added
        member.generation = self.generation
        self.cluster.bump()
        self.cluster.emit("sync", group=self.group_id, member=member.member_id, generation=self.generation,
                          revoked=[f"{t}-{p}" for t, p in revoked], added=[f"{t}-{p}" for t, p in added])
        if revoked and self.protocol == "cooperative-sticky":
            # A cooperative member that gave partitions up rejoins at once: the second round hands them out.
            self.start_rebalance(f"cooperative follow-up: {member.member_id}")
        return revoked, added

    def released(self, member: Member, tps: list[TP]) -> None:
        member.owned = [tp for tp in member.owned if tp not in tps]

    def needs_sync(self, member: Member) -> bool:
        """The member has an assignment of the completed generation to pick up. In a cooperative group a
        member still picks it up after the next (follow-up) rebalance began, as its SyncGroup is answered
        before the other member's rejoin arrives: librdkafka then calls its assign callback with it."""
        if member.generation == self.generation:
            return False
        if self.state == "Stable":
            return True
        return (self.protocol == "cooperative-sticky" and self.state == "PreparingRebalance" and not member.rejoined
                and member.member_id in self.assignment)

    # ---------------------------------------------------------------- offsets
    def check_can_commit(self, member: Member | None, tps) -> None:
        if member is None or self.members.get(member.member_id) is not member:
            raise CommitFailed(f"group {self.group_id}: member is no longer in the group (fenced or removed)")
        if member.protocol == "consumer":  # no generation barrier: a member commits what it holds
            self._check_owned(member, tps)
            return
        if (self.state == "PreparingRebalance" and member.rejoined) or member.generation != self.generation:
            raise RebalanceInProgress(f"group {self.group_id} is rebalancing; poll, then commit again")
        self._check_owned(member, tps)

    def _check_owned(self, member: Member, tps) -> None:
        owned = set(member.owned)
        for tp in tps:
            if tp not in owned:
                raise CommitFailed(f"group {self.group_id}: {tp[0]}-{tp[1]} is not assigned to {member.member_id}")

    def commit(self, member: Member | None, offsets: dict[TP, int]) -> None:
        self.check_can_commit(member, offsets)
        self.store(offsets, member.member_id if member else None)

    def store(self, offsets: dict[TP, int], member_id: str | None) -> None:
        self.cluster.group(self.group_id)  # committing to a deleted group brings it back
        for tp, off in offsets.items():
            self.committed[tp] = off
        self.cluster.bump()
        self.cluster.emit("commit", group=self.group_id, member=member_id,
                          offsets={f"{t}-{p}": o for (t, p), o in sorted(offsets.items())})

    # ---------------------------------------------------------------- time
    def tick(self, now: int) -> None:
        for m in list(self.members.values()):
            if self.members.get(m.member_id) is not m:
                continue
            if m.expires_at is not None:
                if now >= m.expires_at:
                    self._remove(m, "session_timeout")
            elif now >= m.last_poll_ms + m.max_poll_interval_ms:
                if m.protocol == "consumer":  # KIP-848: the member leaves (epoch -1), static or not
                    self._remove(m, "max_poll_interval")
                elif m.instance_id is not None:
                    # A static member sends no LeaveGroup: it stops heartbeating, then its session ends.
                    m.expires_at = m.last_poll_ms + m.max_poll_interval_ms + m.session_timeout_ms
                    self.cluster.emit("max_poll_exceeded", group=self.group_id, member=m.member_id)
                else:
                    self._remove(m, "max_poll_interval")

    def next_deadline(self) -> int | None:
        times = [m.expires_at if m.expires_at is not None else m.last_poll_ms + m.max_poll_interval_ms
                 for m in self.members.values()]
        return min(times) if times else None

    def pending(self) -> bool:
        """A rebalance or a session expiry is still to happen."""
        if self.kip848 is not None:
            return self.kip848.pending()
        return self.state == "PreparingRebalance" or any(
            m.expires_at is not None or m.generation != self.generation for m in self.members.values())

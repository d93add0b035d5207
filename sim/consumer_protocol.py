"""The consumer group protocol (KIP-848, ``group.protocol=consumer``) on the coordinator's side, and the
member's side of its heartbeat.

There is no rebalance barrier. Every change of membership, subscription or partition count bumps the
group epoch; the broker then computes a target assignment with its own assignor (uniform: balanced
and sticky; range: per topic, members in id order) and each member converges on its share through
heartbeats: a partition that moves is first revoked from its owner (only that partition: the rest
keep flowing), and handed to its new owner at that member's next heartbeat once released. Session and
heartbeat timing are the broker's (``group.consumer.*``). A static member that closes keeps its
assignment until the broker's session timeout; a consumer joining with the instance id of a member
that is still there is refused (UNRELEASED_INSTANCE_ID), where the classic protocol fences the old one.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from services.ports import InvalidConfig, UnreleasedInstance

from .assignors import range_assign, sticky_target

if TYPE_CHECKING:
    from .consumer import SimConsumer
    from .group import Group, Member

TP = tuple[str, int]


class ConsumerProtocol:
    """The KIP-848 half of one group: the group epoch is ``group.generation``; a member's epoch (its
    ``generation``) catches up with the target's once it holds exactly its target."""

    def __init__(self, group: Group) -> None:
        self.group = group
        self.target_epoch = -1
        self.targets: dict[str, list[TP]] = {}

    # ---------------------------------------------------------------- membership
    def join(self, *, client_id: str, instance_id: str | None, topics: tuple[str, ...],
             remote_assignor: str | None, max_poll_interval_ms: int) -> Member:
        from .group import Member

        group, cluster = self.group, self.group.cluster
        broker = cluster.broker
        assignor = remote_assignor or broker.group_consumer_assignors[0]
        if assignor not in broker.group_consumer_assignors:
            raise InvalidConfig(f"group.remote.assignor={assignor}: Broker: Unsupported assignor "
                                f"[UNSUPPORTED_ASSIGNOR]; the broker has {', '.join(broker.group_consumer_assignors)}")
        old = group._static_member(instance_id)
        if old is not None and not old.left:
            cluster.emit("unreleased_instance", group=group.group_id, instance=instance_id, holder=old.member_id)
            raise UnreleasedInstance(f"group.instance.id {instance_id!r}: Broker: The instance ID is still used by "
                                     "another member in the consumer group [UNRELEASED_INSTANCE_ID: fatal]")
        member_id = f"{client_id}-{uuid.UUID(int=cluster.rng.getrandbits(128), version=4)}"
        member = Member(member_id, client_id, instance_id, topics, assignor, broker.group_consumer_session_timeout_ms,
                        max_poll_interval_ms, cluster.clock.now_ms(), protocol="consumer")
        if not group.members:
            group.protocol = assignor
        if old is not None:
            # A static member that left comes back within the session: its assignment waited for it.
            del group.members[old.member_id]
            old.replaced = True
            group.members[member_id] = member
            if old.member_id in self.targets:
                self.targets[member_id] = self.targets.pop(old.member_id)
            cluster.emit("static_rejoin", group=group.group_id, member=member_id, replaced=old.member_id,
                         instance=instance_id)
        else:
            group.members[member_id] = member
            cluster.emit("join", group=group.group_id, member=member_id, instance=instance_id, topics=list(topics),
                         protocol="consumer")
            self.bump(f"member joined: {member_id}")
        self.update_state()
        return member

    def bump(self, reason: str) -> None:
        group = self.group
        group.generation += 1
        if not group.members:
            group.protocol, self.targets = "", {}
        group.cluster.emit("group_epoch", group=group.group_id, epoch=group.generation, reason=reason)
        self.update_state()

    # ---------------------------------------------------------------- assignment
    def _refresh_targets(self) -> None:
        group = self.group
        if self.target_epoch == group.generation:
            return
        subs = {mid: m.topics for mid, m in group.members.items()}
        counts = group.cluster.partition_counts()
        if group.protocol == "range":
            self.targets = range_assign(subs, counts)
        else:  # uniform: balanced, and sticky to the previous target
            self.targets = sticky_target(subs, counts, self.targets)
        self.target_epoch = group.generation
        group.cluster.emit("target_assignment", group=group.group_id, epoch=group.generation, assignor=group.protocol,
                           assignment={mid: [f"{t}-{p}" for t, p in tps] for mid, tps in self.targets.items()})

    def heartbeat(self, member: Member) -> list[TP]:
        """The member's heartbeat: what it should hold now. Partitions leaving it are dropped first; new
        ones come only once no other member holds them."""
        self._refresh_targets()
        group, cluster = self.group, self.group.cluster
        target = self.targets.get(member.member_id, [])
        wanted, owned = set(target), member.owned
        keep = [tp for tp in owned if tp in wanted]
        if len(keep) < len(owned):
            result = keep  # incremental revocation: only what moves
        else:
            held = {tp for m in group.members.values() if m is not member for tp in m.owned}
            result = owned + [tp for tp in target if tp not in keep and tp not in held]
        if set(result) == wanted:
            member.generation = self.target_epoch
        member.next_heartbeat_ms = cluster.clock.now_ms() + cluster.broker.group_consumer_heartbeat_interval_ms
        if set(result) != set(owned):
            cluster.emit("heartbeat", group=group.group_id, member=member.member_id, epoch=member.generation,
                         assignment=[f"{t}-{p}" for t, p in sorted(result)])
        return sorted(result)

    def reconciled(self, member: Member) -> bool:
        return set(member.owned) == set(self.targets.get(member.member_id, ()))

    def update_state(self) -> None:
        group = self.group
        if not group.members:
            group.state = "Empty"
            return
        self._refresh_targets()
        group.state = "Stable" if all(self.reconciled(m) for m in group.members.values()) else "Reconciling"

    def pending(self) -> bool:
        """Some member has yet to converge on its target, or a session is running out."""
        members = self.group.members.values()
        if self.target_epoch != self.group.generation and members:
            return True
        return any(m.expires_at is not None or not self.reconciled(m) for m in members)


def drive(consumer: SimConsumer, protocol: ConsumerProtocol, member: Member, now: int) -> None:
    """The member's side, inside poll: heartbeat when due, apply the answer (revoke, then assign, with
    incremental callbacks), and heartbeat again at once to acknowledge it, as librdkafka does."""
    group = protocol.group
    due = now >= member.next_heartbeat_ms
    for _ in range(4):
        if not due:
            return
        assignment = protocol.heartbeat(member)
        revoked = [tp for tp in consumer._assigned if tp not in assignment]
        added = [tp for tp in assignment if tp not in consumer._assigned]
        if not revoked and not added:
            break
        if revoked:
            consumer._drop(revoked, lost=False)
            group.released(member, revoked)
            if not consumer._is_member():
                return
        consumer._assigned.extend(added)
        member.owned = member.owned + added
        group.cluster.bump()
        consumer._call(consumer._on_assign, added)  # librdkafka calls it after a revocation too, even empty
    protocol.update_state()

"""Fault injection: every fault is traced, so a failing run can be replayed from its trace."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .batches import Batch
from .partitioner import partition_for_key

if TYPE_CHECKING:
    from .cluster import Cluster
    from .scheduler import Scheduler


class Faults:
    def __init__(self, cluster: Cluster, scheduler: Scheduler) -> None:
        self._cluster = cluster
        self._scheduler = scheduler

    def crash(self, client) -> None:
        """The client vanishes: no LeaveGroup, no callbacks, no flush; using it again raises ClientClosed."""
        client.crash()

    def slow(self, actor_name: str, extra_ms_per_step: int) -> None:
        actor = self._scheduler.actors[actor_name]
        actor.extra_ms_per_step = int(extra_ms_per_step)
        self._cluster.emit("fault_slow", actor=actor_name, extra_ms=int(extra_ms_per_step))

    def heal(self, actor_name: str) -> None:
        self._scheduler.actors[actor_name].extra_ms_per_step = 0
        self._cluster.emit("fault_heal", actor=actor_name)

    def heal_all(self) -> None:
        for name in sorted(self._scheduler.actors):
            if self._scheduler.actors[name].extra_ms_per_step:
                self.heal(name)

    def broker_down(self, duration_ms: int) -> None:
        """Every client call raises BrokerUnavailable (group calls: CoordinatorNotAvailable) until then."""
        self._cluster.down_until = self._cluster.clock.now_ms() + int(duration_ms)
        self._cluster.emit("fault_broker_down", until=self._cluster.down_until)

    # ---------------------------------------------------------------- one broker of a replicated cluster
    def _replication(self):
        replication = self._cluster.replication
        if replication is None:
            raise ValueError("broker faults need a cluster of more than one broker (World(brokers=3))")
        return replication

    def broker_crash(self, node_id: int) -> None:
        """kill -9: it stops answering and fetching; its log stays on disk for a restart."""
        self._replication().crash(node_id)

    def broker_restart(self, node_id: int) -> None:
        """It comes back as a follower, truncates to its leader's log, catches up and rejoins the ISR."""
        self._replication().restart(node_id)

    def broker_pause(self, node_id: int, ms: int) -> None:
        """A stop-the-world pause (SIGSTOP): no answers, no fetches for ``ms``; fenced past the session timeout."""
        self._replication().pause(node_id, ms)

    def broker_slow(self, node_id: int, ms: int) -> None:
        """Its followers fetch at most every ``ms``: past replica.lag.time.max.ms it drops out of the ISR."""
        self._replication().slow(node_id, ms)

    def broker_isolate(self, node_id: int) -> None:
        """Cut from the controller: fenced (no leadership, out of every ISR) but still fetching."""
        self._replication().isolate(node_id)

    def broker_heal(self, node_id: int) -> None:
        self._replication().heal(node_id)

    def lose_next_ack(self, topic: str | None = None) -> None:
        """The next batch (to ``topic``, or any) is written but its ack is lost, so the producer resends it."""
        self._cluster.lost_acks.append(topic)
        self._cluster.emit("fault_lose_next_ack", topic=topic)

    def inject(self, topic: str, value: bytes | None, *, key: bytes | None = None, partition: int | None = None,
               headers: Sequence[tuple[str, bytes]] = ()) -> int:
        """Raw bytes straight into the log (bypassing producers and validation); returns the offset."""
        cluster = self._cluster
        n = len(cluster.topic(topic).partitions)
        if partition is None:
            partition = partition_for_key(key, n) if key is not None else cluster.rng.randrange(n)
        log = cluster.log(topic, partition)
        now = cluster.clock.now_ms()
        batch = Batch((topic, partition), [(key, value, tuple(headers), now)], explicit_ts=False)
        base, _ = log.append_batch(batch.keys, batch.values, batch.headers, batch.stamps, now, batch_bytes=batch.bytes)
        cluster.emit("fault_inject", topic=topic, partition=partition, offset=base,
                     key=key.hex() if key is not None else None, size=None if value is None else len(value),
                     digest=batch.digest())
        return base

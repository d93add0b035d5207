"""The transaction coordinator: producer ids and epochs, open transactions, commit/abort markers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from services.ports import ProducerFenced, TransactionStateError

from .log import PartitionLog, Txn

if TYPE_CHECKING:
    from .cluster import Cluster


@dataclass(slots=True)
class TransactionalId:
    producer_id: int
    epoch: int
    timeout_ms: int
    current: Txn | None = None


class TransactionCoordinator:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self._next_pid = 1000
        self.by_id: dict[str, TransactionalId] = {}

    def allocate_pid(self) -> int:
        pid = self._next_pid
        self._next_pid += 1
        return pid

    def init(self, transactional_id: str, timeout_ms: int) -> tuple[int, int]:
        """InitProducerId: bump the epoch (fencing any older producer) and abort what it left open."""
        state = self.by_id.get(transactional_id)
        if state is None:
            state = self.by_id[transactional_id] = TransactionalId(self.allocate_pid(), 0, timeout_ms)
        else:
            if state.current is not None:
                self.end(state.current, commit=False, reason="fenced by a new producer")
            state.epoch += 1
            state.timeout_ms = timeout_ms
        self.cluster.emit("init_producer_id", transactional_id=transactional_id, producer_id=state.producer_id,
                          epoch=state.epoch)
        return state.producer_id, state.epoch

    def check_epoch(self, transactional_id: str, epoch: int) -> TransactionalId:
        state = self.by_id[transactional_id]
        if state.epoch != epoch:
            raise ProducerFenced(f"transactional id {transactional_id!r} now belongs to a newer producer (epoch {state.epoch})")
        return state

    def begin(self, transactional_id: str, epoch: int) -> Txn:
        state = self.check_epoch(transactional_id, epoch)
        if state.current is not None:
            raise TransactionStateError("a transaction is already open")
        state.current = Txn(transactional_id, state.producer_id, epoch, self.cluster.clock.now_ms())
        self.cluster.emit("txn_begin", transactional_id=transactional_id, epoch=epoch)
        return state.current

    def add_partition(self, txn: Txn, log: PartitionLog) -> None:
        txn.partitions.setdefault((log.topic, log.partition), log)

    def end(self, txn: Txn, *, commit: bool, reason: str = "") -> None:
        """Write a marker to every partition of the transaction; apply its group offsets on commit."""
        if txn.done:
            return
        now = self.cluster.clock.now_ms()
        txn.aborted = not commit
        txn.done = True
        markers = {}
        for (topic, part), log in txn.partitions.items():
            markers[f"{topic}-{part}"] = log.append_marker(txn.producer_id, commit, now)
        if commit and txn.offsets:
            by_group: dict[str, dict] = {}
            for (group_id, topic, part), off in txn.offsets.items():
                by_group.setdefault(group_id, {})[(topic, part)] = off
            for group_id, offsets in by_group.items():
                self.cluster.group(group_id).store(offsets, None)
        state = self.by_id.get(txn.transactional_id)
        if state is not None and state.current is txn:
            state.current = None
        self.cluster.emit("txn_commit" if commit else "txn_abort", transactional_id=txn.transactional_id,
                          markers=markers, reason=reason)

    # ---------------------------------------------------------------- time
    def tick(self, now: int) -> None:
        for tid, state in self.by_id.items():
            txn = state.current
            if txn is not None and now >= txn.started_ms + state.timeout_ms:
                self.end(txn, commit=False, reason="transaction timeout")
                state.epoch += 1  # the coordinator fences the producer that let its transaction expire
                self.cluster.emit("txn_timeout_fenced", transactional_id=tid, epoch=state.epoch)

    def next_deadline(self) -> int | None:
        times = [s.current.started_ms + s.timeout_ms for s in self.by_id.values() if s.current is not None]
        return min(times) if times else None

    def pending(self) -> bool:
        return any(s.current is not None for s in self.by_id.values())

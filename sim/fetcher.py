"""A consumer's fetch state: positions, what the application has seen, paused partitions, offset resets.

Two positions per partition, as in librdkafka: the fetch position (where the next fetch starts; it
moves past control markers) and whether the application has one yet. ``position()`` is None until a
record was returned or the application sought, and ``commit()`` with no offsets commits only those.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.ports import OffsetOutOfRange, Record

from .client_config import OFFSET_RESETS

if TYPE_CHECKING:
    from .cluster import Cluster
    from .log import PartitionLog

TP = tuple[str, int]


class Fetcher:
    def __init__(self, cluster: Cluster, *, group_id: str, reset: str, read_committed: bool) -> None:
        self._cluster = cluster
        self._group_id = group_id
        self._policy = OFFSET_RESETS[reset]
        self._read_committed = read_committed
        self.positions: dict[TP, int] = {}  # fetch positions
        self.known: set[TP] = set()  # partitions whose position the application has (a record, or a seek)
        self.paused: set[TP] = set()
        self._turn = 0  # rotates the first partition fetched, so no partition starves

    def forget(self, tps) -> None:
        """Partitions revoked or lost: their positions and pause state go with them."""
        for tp in tps:
            self.positions.pop(tp, None)
            self.known.discard(tp)
            self.paused.discard(tp)

    def seek(self, tp: TP, offset: int) -> None:
        self.positions[tp] = offset
        self.known.add(tp)

    def position(self, tp: TP) -> int | None:
        return self.positions.get(tp) if tp in self.known else None

    def committable(self, assigned: list[TP]) -> dict[TP, int]:
        positions, known = self.positions, self.known
        return {tp: positions[tp] for tp in assigned if tp in known and tp in positions}

    def fetch(self, assigned: list[TP], max_records: int, member_id: str) -> list[Record]:
        cluster = self._cluster
        n = len(assigned)
        start = self._turn % n
        self._turn += 1
        out: list[Record] = []
        fetched = {}
        positions, paused, known = self.positions, self.paused, self.known
        for k in range(n):
            tp = assigned[(start + k) % n]
            if paused and tp in paused:
                continue
            topic = cluster.topics.get(tp[0])
            if topic is None or tp[1] >= len(topic.partitions):
                continue
            log = topic.partitions[tp[1]]
            if log.replicas is not None and not cluster.replication.readable(log.replicas, cluster.clock.now_ms()):
                continue  # no leader that answers: nothing to read from this partition now
            pos = positions.get(tp)
            if pos is None or pos > log.next_offset or pos < log.log_start:
                pos = self._reset(tp, log, pos)
            recs, positions[tp] = log.read(pos, max_records - len(out), committed_only=self._read_committed)
            if recs:
                known.add(tp)
                out.extend(recs)
                fetched[f"{tp[0]}-{tp[1]}"] = [recs[0].offset, len(recs)]
                if len(out) >= max_records:
                    break
        if out:
            cluster.emit("fetch", group=self._group_id, member=member_id, parts=fetched)
        return out

    def _reset(self, tp: TP, log: PartitionLog, pos: int | None) -> int:
        """Where to read from with no valid position: the committed offset, else auto.offset.reset."""
        if pos is None:
            group = self._cluster.groups.get(self._group_id)
            committed = group.committed.get(tp) if group is not None else None
            if committed is None:
                return self._by_policy(tp, log, "no committed offset")
            if log.log_start <= committed <= log.next_offset:
                return committed
            pos = committed
        reason = f"offset {pos} is out of range [{log.log_start}, {log.next_offset}]"
        offset = self._by_policy(tp, log, reason)
        self._cluster.emit("offset_reset", group=self._group_id, partition=f"{tp[0]}-{tp[1]}", was=pos, now=offset,
                           policy=self._policy)
        return offset

    def _by_policy(self, tp: TP, log: PartitionLog, reason: str) -> int:
        if self._policy == "earliest":
            return log.log_start
        if self._policy == "latest":
            return log.last_stable_offset() if self._read_committed else log.high_watermark
        raise OffsetOutOfRange(f"{tp[0]}-{tp[1]}: {reason} for group {self._group_id} and auto_offset_reset=error "
                               "[_AUTO_OFFSET_RESET]")

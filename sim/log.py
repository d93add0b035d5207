"""One partition's log: dense offsets, high watermark, last stable offset, producer dedupe, compaction."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field

from services.ports import Record, RecordMetadata


def _slot_setters(cls: type, names: tuple[str, ...]) -> tuple:
    return tuple(cls.__dict__[name].__set__ for name in names)


RECORD_SETTERS = _slot_setters(Record, ("topic", "partition", "offset", "key", "value", "headers", "timestamp"))
METADATA_SETTERS = _slot_setters(RecordMetadata, ("topic", "partition", "offset"))


def make_records(topic: str, partition: int, base: int, entries: list) -> list[Record]:
    """Build real frozen ``Record``s from ``(key, value, headers, timestamp)`` entries, twice as fast as
    the dataclass __init__ (which calls object.__setattr__ per field): the hot path of every produce."""
    new = object.__new__
    s_topic, s_part, s_off, s_key, s_value, s_headers, s_ts = RECORD_SETTERS
    out = []
    append = out.append
    offset = base
    for key, value, headers, ts in entries:
        r = new(Record)
        s_topic(r, topic)
        s_part(r, partition)
        s_off(r, offset)
        s_key(r, key)
        s_value(r, value)
        s_headers(r, headers)
        s_ts(r, ts)
        append(r)
        offset += 1
    return out




@dataclass(slots=True)
class Txn:
    """One transaction of one producer; its records point at it so an abort reaches all of them."""

    transactional_id: str
    producer_id: int
    epoch: int
    started_ms: int
    partitions: dict = field(default_factory=dict)  # (topic, partition) -> PartitionLog, insertion ordered
    offsets: dict = field(default_factory=dict)  # (group_id, topic, partition) -> offset, applied on commit
    aborted: bool = False
    done: bool = False


class ControlMarker:
    """A commit or abort marker: it takes an offset and is never delivered."""

    __slots__ = ("committed",)

    def __init__(self, committed: bool) -> None:
        self.committed = committed


class PartitionLog:
    """Records of one partition. ``records[i]`` has offset ``offsets[i]``; offsets only ever grow.

    ``meta`` is None until the first transactional record or marker arrives; from then on it runs
    parallel to ``records`` (None for a plain record, a Txn or a ControlMarker), so a plain log is
    fetched by slicing, with no per-record work.
    """

    __slots__ = ("topic", "partition", "records", "offsets", "meta", "next_offset", "open_txns", "_last_seq", "compacted")

    def __init__(self, topic: str, partition: int) -> None:
        self.topic = topic
        self.partition = partition
        self.records: list[Record] = []
        self.offsets: list[int] = []
        self.meta: list | None = None
        self.next_offset = 0  # the high watermark (one broker, so every append is replicated at once)
        self.open_txns: dict[int, int] = {}  # producer id -> first offset of its open transaction
        self._last_seq: dict[int, tuple[int, int, int]] = {}  # producer id -> (epoch, base seq, base offset)
        self.compacted = False

    # ---------------------------------------------------------------- positions
    @property
    def high_watermark(self) -> int:
        return self.next_offset

    @property
    def start_offset(self) -> int:
        return self.offsets[0] if self.offsets else self.next_offset

    def last_stable_offset(self) -> int:
        if self.open_txns:
            return min(self.open_txns.values())
        return self.next_offset

    # ---------------------------------------------------------------- writes
    def append_batch(self, entries: list, now_ms: int, *, producer_id: int = -1, epoch: int = 0,
                     base_seq: int = -1, txn: Txn | None = None) -> tuple[int, bool]:
        """Append ``(key, value, headers, timestamp)`` entries; return (base offset, was a duplicate).

        An idempotent producer's retry of the batch the log saw last (same producer id, epoch and
        base sequence) is acknowledged with the original offsets and not written again.
        """
        if producer_id >= 0 and base_seq >= 0:
            last = self._last_seq.get(producer_id)
            if last is not None and last[0] == epoch and last[1] == base_seq:
                return last[2], True
        base = self.next_offset
        if txn is not None:
            self._ensure_meta()  # before the append, so meta stays parallel to records
        self.records.extend(make_records(self.topic, self.partition, base, entries))
        self.offsets.extend(range(base, base + len(entries)))
        self.next_offset = base + len(entries)
        if txn is not None:
            self.meta.extend([txn] * len(entries))
            self.open_txns.setdefault(producer_id, base)
        elif self.meta is not None:
            self.meta.extend([None] * len(entries))
        if producer_id >= 0 and base_seq >= 0:
            self._last_seq[producer_id] = (epoch, base_seq, base)
        return base, False

    def append_marker(self, producer_id: int, committed: bool, now_ms: int) -> int:
        offset = self.next_offset
        self._ensure_meta()  # before the append, so meta stays parallel to records
        self.records.append(Record(self.topic, self.partition, offset, None, None, (), now_ms))
        self.offsets.append(offset)
        self.meta.append(ControlMarker(committed))
        self.next_offset = offset + 1
        self.open_txns.pop(producer_id, None)
        return offset

    def _ensure_meta(self) -> None:
        if self.meta is None:
            self.meta = [None] * len(self.records)

    # ---------------------------------------------------------------- reads
    def read(self, position: int, max_records: int, *, committed_only: bool) -> tuple[list[Record], int]:
        """Records from ``position`` on; returns them and the next position.

        read_committed stops at the last stable offset and skips aborted records; both isolation
        levels skip control markers.
        """
        limit = self.last_stable_offset() if committed_only else self.next_offset
        if position >= limit:
            return [], position
        if self.compacted:
            i, end = bisect_left(self.offsets, position), bisect_left(self.offsets, limit)
        else:  # dense: offset == index
            i, end = position, limit
        if self.meta is None:
            stop = min(end, i + max_records)
            out = self.records[i:stop]
            return out, (limit if stop == end else self.offsets[stop])
        out = []
        meta = self.meta
        records = self.records
        while i < end and len(out) < max_records:
            m = meta[i]
            if m is None or (m.__class__ is Txn and not (committed_only and m.aborted)):
                out.append(records[i])
            i += 1
        return out, (limit if i == end else self.offsets[i])

    # ---------------------------------------------------------------- compaction
    def compact(self) -> int:
        """Keep the latest value per key below the LSO; drop tombstones and aborted records.

        Offsets never change. Markers and keyless records stay. Returns how many records went.
        """
        lso = self.last_stable_offset()
        cut = bisect_left(self.offsets, lso)
        meta = self.meta or [None] * len(self.records)
        latest: dict[bytes, int] = {}
        for i in range(cut):
            rec, m = self.records[i], meta[i]
            if rec.key is not None and m.__class__ is not ControlMarker and not (m is not None and m.aborted):
                latest[rec.key] = i
        keep = []
        for i in range(cut):
            rec, m = self.records[i], meta[i]
            if m.__class__ is ControlMarker or (m is None or not m.aborted) and (
                rec.key is None or (latest.get(rec.key) == i and rec.value is not None)
            ):
                keep.append(i)
        keep.extend(range(cut, len(self.records)))
        removed = len(self.records) - len(keep)
        if removed:
            self.records = [self.records[i] for i in keep]
            self.offsets = [self.offsets[i] for i in keep]
            if self.meta is not None:
                self.meta = [meta[i] for i in keep]
            self.compacted = True
        return removed

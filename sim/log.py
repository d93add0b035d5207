"""One partition's log: dense offsets, high watermark, last stable offset, producer dedupe, compaction."""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from dataclasses import dataclass, field
from itertools import repeat

from services.ports import Record, RecordMetadata


def _slot_setters(cls: type, names: tuple[str, ...]) -> tuple:
    return tuple(cls.__dict__[name].__set__ for name in names)


RECORD_SETTERS = _slot_setters(Record, ("topic", "partition", "offset", "key", "value", "headers", "timestamp"))
METADATA_SETTERS = _slot_setters(RecordMetadata, ("topic", "partition", "offset"))


consume = deque(maxlen=0).extend  # runs an iterator to its end in C, keeping nothing


def make_records(topic: str, partition: int, offsets, keys, values, headers, timestamps) -> list[Record]:
    """Build real frozen ``Record``s from parallel columns (``offsets`` may be a range).

    The hot path of every fetch: one C-level ``map`` pass per field over the slot setters is about twice
    as fast as a Python loop over the same setters, and four times the dataclass ``__init__`` (which
    calls object.__setattr__ per field).
    """
    n = len(keys)
    out = list(map(object.__new__, repeat(Record, n)))
    s_topic, s_part, s_off, s_key, s_value, s_headers, s_ts = RECORD_SETTERS
    consume(map(s_topic, out, repeat(topic, n)))
    consume(map(s_part, out, repeat(partition, n)))
    consume(map(s_off, out, offsets))
    consume(map(s_key, out, keys))
    consume(map(s_value, out, values))
    consume(map(s_headers, out, headers))
    consume(map(s_ts, out, timestamps))
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
    """Records of one partition, stored as parallel columns: position ``i`` holds the record at offset
    ``offsets[i]`` (while the log was never compacted, simply ``i``); offsets only ever grow.

    Columns rather than ``Record`` objects: a write copies references (no per-record object, so a long
    log costs the garbage collector nothing) and a fetch slices the columns and builds only the records
    it returns. ``meta`` is None until the first transactional record or marker arrives; from then on
    it runs parallel to the columns (None for a plain record, a Txn or a ControlMarker).
    """

    __slots__ = ("topic", "partition", "keys", "values", "headers", "timestamps", "_offsets", "meta",
                 "next_offset", "open_txns", "_last_seq", "compacted")

    def __init__(self, topic: str, partition: int) -> None:
        self.topic = topic
        self.partition = partition
        self.keys: list[bytes | None] = []
        self.values: list[bytes | None] = []
        self.headers: list[tuple] = []
        self.timestamps: list[int] = []
        self._offsets: list[int] | None = None  # None while dense (offset == position): until compaction
        self.meta: list | None = None
        self.next_offset = 0  # the high watermark (one broker, so every append is replicated at once)
        self.open_txns: dict[int, int] = {}  # producer id -> first offset of its open transaction
        self._last_seq: dict[int, tuple[int, int, int]] = {}  # producer id -> (epoch, base seq, base offset)
        self.compacted = False

    # ---------------------------------------------------------------- positions
    @property
    def offsets(self) -> list[int]:
        """The offset of every stored record, in order."""
        return list(range(len(self.keys))) if self._offsets is None else list(self._offsets)

    @property
    def records(self) -> list[Record]:
        """Every stored record, control markers included (built on demand: for tests and tools)."""
        return self._build(0, len(self.keys))

    @property
    def high_watermark(self) -> int:
        return self.next_offset

    @property
    def start_offset(self) -> int:
        if not self.keys:
            return self.next_offset
        return 0 if self._offsets is None else self._offsets[0]

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
        n = len(entries)
        if not n:
            return base, False
        if txn is not None:
            self._ensure_meta()  # before the append, so meta stays parallel to the columns
        keys, values, headers, timestamps = zip(*entries, strict=True)
        self.keys.extend(keys)
        self.values.extend(values)
        self.headers.extend(headers)
        self.timestamps.extend(timestamps)
        if self._offsets is not None:
            self._offsets.extend(range(base, base + n))
        self.next_offset = base + n
        if txn is not None:
            self.meta.extend([txn] * n)
            self.open_txns.setdefault(producer_id, base)
        elif self.meta is not None:
            self.meta.extend([None] * n)
        if producer_id >= 0 and base_seq >= 0:
            self._last_seq[producer_id] = (epoch, base_seq, base)
        return base, False

    def append_marker(self, producer_id: int, committed: bool, now_ms: int) -> int:
        offset = self.next_offset
        self._ensure_meta()  # before the append, so meta stays parallel to the columns
        self.keys.append(None)
        self.values.append(None)
        self.headers.append(())
        self.timestamps.append(now_ms)
        if self._offsets is not None:
            self._offsets.append(offset)
        self.meta.append(ControlMarker(committed))
        self.next_offset = offset + 1
        self.open_txns.pop(producer_id, None)
        return offset

    def _ensure_meta(self) -> None:
        if self.meta is None:
            self.meta = [None] * len(self.keys)

    # ---------------------------------------------------------------- reads
    def _build(self, i: int, stop: int) -> list[Record]:
        """Records for positions ``i`` to ``stop`` (exclusive)."""
        offsets = range(i, stop) if self._offsets is None else self._offsets[i:stop]
        return make_records(self.topic, self.partition, offsets, self.keys[i:stop], self.values[i:stop],
                            self.headers[i:stop], self.timestamps[i:stop])

    def _offset_at(self, i: int) -> int:
        return i if self._offsets is None else self._offsets[i]

    def read(self, position: int, max_records: int, *, committed_only: bool) -> tuple[list[Record], int]:
        """Records from ``position`` on; returns them and the next position.

        read_committed stops at the last stable offset and skips aborted records; both isolation
        levels skip control markers.
        """
        limit = self.last_stable_offset() if committed_only else self.next_offset
        if position >= limit:
            return [], position
        if self._offsets is not None:
            i, end = bisect_left(self._offsets, position), bisect_left(self._offsets, limit)
        else:  # dense: offset == position
            i, end = position, limit
        if self.meta is None:
            stop = min(end, i + max_records)
            return self._build(i, stop), (limit if stop == end else self._offset_at(stop))
        keep = []
        meta = self.meta
        while i < end and len(keep) < max_records:
            m = meta[i]
            if m is None or (m.__class__ is Txn and not (committed_only and m.aborted)):
                keep.append(i)
            i += 1
        return self._pick(keep), (limit if i == end else self._offset_at(i))

    def _pick(self, positions: list[int]) -> list[Record]:
        """Records at scattered positions (a transactional log skips markers and aborted records)."""
        offsets = positions if self._offsets is None else list(map(self._offsets.__getitem__, positions))
        return make_records(self.topic, self.partition, offsets, list(map(self.keys.__getitem__, positions)),
                            list(map(self.values.__getitem__, positions)),
                            list(map(self.headers.__getitem__, positions)),
                            list(map(self.timestamps.__getitem__, positions)))

    # ---------------------------------------------------------------- compaction
    def compact(self) -> int:
        """Keep the latest value per key below the LSO; drop tombstones and aborted records.

        Offsets never change. Markers and keyless records stay. Returns how many records went.
        """
        lso = self.last_stable_offset()
        offsets = self.offsets
        cut = bisect_left(offsets, lso)
        keys, values = self.keys, self.values
        meta = self.meta or [None] * len(keys)
        latest: dict[bytes, int] = {}
        for i in range(cut):
            key, m = keys[i], meta[i]
            if key is not None and m.__class__ is not ControlMarker and not (m is not None and m.aborted):
                latest[key] = i
        keep = []
        for i in range(cut):
            key, m = keys[i], meta[i]
            if m.__class__ is ControlMarker or (m is None or not m.aborted) and (
                key is None or (latest.get(key) == i and values[i] is not None)
            ):
                keep.append(i)
        keep.extend(range(cut, len(keys)))
        removed = len(keys) - len(keep)
        if removed:
            for column in ("keys", "values", "headers", "timestamps"):
                setattr(self, column, list(map(getattr(self, column).__getitem__, keep)))
            self._offsets = [offsets[i] for i in keep]
            if self.meta is not None:
                self.meta = [meta[i] for i in keep]
            self.compacted = True
        return removed

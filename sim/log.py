"""One partition's log: offsets, segments, high watermark, last stable offset, producer dedupe.

The log cleaner and retention (``sim.cleaner``) rewrite it through ``retain`` and ``drop_before``;
offsets never change, the log start offset moves only by retention and delete_records.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from itertools import repeat
from typing import TYPE_CHECKING

from .records import CREATE_TIME, LOG_APPEND_TIME, make_records

BATCH_OVERHEAD = 61  # bytes of a v2 record batch header
MARKER_BYTES = BATCH_OVERHEAD + 10  # a control batch holding one marker record

if TYPE_CHECKING:
    from services.ports import Record


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


class Segment:
    """One segment's bookkeeping: the broker rolls, cleans and deletes whole segments."""

    __slots__ = ("base", "first_ts", "max_ts", "bytes", "batches", "jitter_ms")

    def __init__(self, base: int, jitter_ms: int = 0) -> None:
        self.base = base  # offset of the first record it was created for
        self.first_ts = -1  # max timestamp of its first batch: what segment.ms is measured from
        self.max_ts = -1  # largest record timestamp: what retention.ms is measured from
        self.bytes = 0
        self.batches = 0
        self.jitter_ms = jitter_ms


class PartitionLog:
    """Records of one partition, stored as parallel columns: position ``i`` holds the record at offset
    ``offsets[i]`` (while no record was ever removed from the middle, simply ``base + i``).

    Columns rather than ``Record`` objects: a write copies references (no per-record object, so a long
    log costs the garbage collector nothing) and a fetch slices the columns and builds only the records
    it returns. ``meta`` is None until the first transactional record or marker arrives; from then on
    it runs parallel to the columns (None for a plain record, a Txn or a ControlMarker); ``ts_types``
    likewise until the first LogAppendTime batch.
    """

    __slots__ = ("topic", "partition", "keys", "values", "headers", "timestamps", "ts_types", "_offsets", "_base",
                 "meta", "next_offset", "log_start", "open_txns", "_last_seq", "segments", "settings", "horizons",
                 "cleaned_to", "background", "hw", "replicas")

    def __init__(self, topic: str, partition: int, settings, background=None) -> None:
        self.topic = topic
        self.partition = partition
        self.keys: list[bytes | None] = []
        self.values: list[bytes | None] = []
        self.headers: list[tuple] = []
        self.timestamps: list[int] = []
        self.ts_types: list[str] | None = None
        self._offsets: list[int] | None = None  # None while dense: offset == _base + position
        self._base = 0
        self.meta: list | None = None
        self.next_offset = 0  # the high watermark (one broker, so every append is replicated at once)
        self.log_start = 0
        self.open_txns: dict[int, int] = {}  # producer id -> first offset of its open transaction
        self._last_seq: dict[int, tuple[int, int, int]] = {}  # producer id -> (epoch, base seq, base offset)
        self.segments: list[Segment] = [Segment(0)]
        self.settings = settings  # the topic's TopicSettings (replaced when its configs change)
        self.horizons: dict[int, int] = {}  # tombstone offset -> delete horizon (set by the cleaner)
        self.cleaned_to = 0  # the cleaner's checkpoint: offsets below it are clean
        self.background = background  # the broker's LogBackground, told when segments roll or grow
        self.hw: int | None = None  # replicated: the high watermark (sim.replication); None: next_offset
        self.replicas = None  # replicated: its sim.replication.Replicas

    # ---------------------------------------------------------------- positions
    @property
    def offsets(self) -> list[int]:
        """The offset of every stored record, in order."""
        if self._offsets is None:
            return list(range(self._base, self._base + len(self.keys)))
        return list(self._offsets)

    @property
    def records(self) -> list[Record]:
        """Every stored record, control markers included (built on demand: for tests and tools)."""
        return self._build(0, len(self.keys))

    @property
    def high_watermark(self) -> int:
        return self.next_offset if self.hw is None else self.hw

    @property
    def start_offset(self) -> int:
        return self.log_start

    @property
    def size_bytes(self) -> int:
        return sum(s.bytes for s in self.segments)

    def last_stable_offset(self) -> int:
        end = self.next_offset if self.hw is None else self.hw
        if self.open_txns:
            return min(min(self.open_txns.values()), end)
        return end

    def position_of(self, offset: int) -> int:
        """Position of the first stored record at or after ``offset``."""
        if self._offsets is None:
            return min(max(offset - self._base, 0), len(self.keys))
        return bisect_left(self._offsets, offset)

    def _offset_at(self, i: int) -> int:
        return self._base + i if self._offsets is None else self._offsets[i]

    # ---------------------------------------------------------------- writes
    def append_batch(self, keys: tuple, values: tuple, headers: tuple, timestamps: tuple, now_ms: int, *,
                     batch_bytes: int = BATCH_OVERHEAD, max_ts: int | None = None, producer_id: int = -1,
                     epoch: int = 0, base_seq: int = -1, txn: Txn | None = None) -> tuple[int, bool]:
        """Append one batch, given as columns; return (base offset, was a duplicate). With LogAppendTime
        the broker's clock replaces the producer's timestamps.

        An idempotent producer's retry of the batch the log saw last (same producer id, epoch and
        base sequence) is acknowledged with the original offsets and not written again.
        """
        if producer_id >= 0 and base_seq >= 0:
            last = self._last_seq.get(producer_id)
            if last is not None and last[0] == epoch and last[1] == base_seq:
                return last[2], True
        base = self.next_offset
        n = len(keys)
        if not n:
            return base, False
        if txn is not None:
            self._ensure_meta()  # before the append, so meta stays parallel to the columns
        if self.settings.log_append_time:
            timestamps = repeat(now_ms, n)
            max_ts = now_ms
            self._ensure_ts_types().extend(repeat(LOG_APPEND_TIME, n))
        elif self.ts_types is not None:
            self.ts_types.extend(repeat(CREATE_TIME, n))
        if max_ts is None:
            max_ts = max(timestamps)
        self._account(base, batch_bytes, max_ts)
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

    def _account(self, base: int, batch_bytes: int, max_ts: int) -> None:
        """Roll the active segment if Kafka would (size, or age measured in record time), then count the batch."""
        seg = self.segments[-1]
        settings = self.settings
        if seg.bytes and (seg.bytes + batch_bytes > settings.segment_bytes
                          or max_ts - seg.first_ts > settings.segment_ms - seg.jitter_ms):
            seg = self.roll(base)
        elif settings.retention_bytes >= 0 and self.background is not None:
            self.background.grew(self)  # size-based retention can apply without a roll
        if seg.first_ts < 0:
            seg.first_ts = max_ts
            if seg is self.segments[0] and self.background is not None:
                self.background.started(self, max_ts)  # time-based retention may apply from now on
        if max_ts > seg.max_ts:
            seg.max_ts = max_ts
        seg.bytes += batch_bytes
        seg.batches += 1

    def roll(self, base: int) -> Segment:
        """Start a new active segment at offset ``base``."""
        jitter = self.background.rolled(self) if self.background is not None else 0
        seg = Segment(base, jitter)
        self.segments.append(seg)
        return seg

    def append_marker(self, producer_id: int, committed: bool, now_ms: int) -> int:
        offset = self.next_offset
        self._ensure_meta()  # before the append, so meta stays parallel to the columns
        self._account(offset, MARKER_BYTES, now_ms)
        self.keys.append(None)
        self.values.append(None)
        self.headers.append(())
        self.timestamps.append(now_ms)
        if self.ts_types is not None:
            self.ts_types.append(CREATE_TIME)
        if self._offsets is not None:
            self._offsets.append(offset)
        self.meta.append(ControlMarker(committed))
        self.next_offset = offset + 1
        self.open_txns.pop(producer_id, None)
        return offset

    def _ensure_meta(self) -> None:
        if self.meta is None:
            self.meta = [None] * len(self.keys)

    def _ensure_ts_types(self) -> list[str]:
        if self.ts_types is None:
            self.ts_types = [CREATE_TIME] * len(self.keys)
        return self.ts_types

    # ---------------------------------------------------------------- rewrites (cleaner, retention)
    def retain(self, keep: list[int]) -> None:
        """Keep only the records at these positions (in order); offsets stay as they were."""
        offsets = self.offsets
        for column in ("keys", "values", "headers", "timestamps"):
            setattr(self, column, list(map(getattr(self, column).__getitem__, keep)))
        if self.ts_types is not None:
            self.ts_types = list(map(self.ts_types.__getitem__, keep))
        if self.meta is not None:
            self.meta = list(map(self.meta.__getitem__, keep))
        self._offsets = list(map(offsets.__getitem__, keep))
        self._base = 0

    def drop_before(self, offset: int) -> None:
        """Forget every record below ``offset`` and make it the log start offset."""
        cut = self.position_of(offset)
        if cut:
            for column in ("keys", "values", "headers", "timestamps", "ts_types", "meta"):
                values = getattr(self, column)
                if values is not None:
                    del values[:cut]
            if self._offsets is None:
                self._base += cut
            else:
                del self._offsets[:cut]
        self.horizons = {o: h for o, h in self.horizons.items() if o >= offset}
        self.log_start = max(self.log_start, offset)

    def truncate_to(self, offset: int) -> None:
        """Forget every record at ``offset`` and above (a new leader's log is shorter: sim.replication)."""
        cut = self.position_of(offset)
        for column in ("keys", "values", "headers", "timestamps", "ts_types", "meta"):
            values = getattr(self, column)
            if values is not None:
                del values[cut:]
        if self._offsets is not None:
            del self._offsets[cut:]
        self.next_offset = max(offset, self.log_start)
        self.segments = [s for s in self.segments if s.base < offset] or [Segment(offset)]
        self.open_txns = {pid: first for pid, first in self.open_txns.items() if first < offset}
        self._last_seq = {pid: last for pid, last in self._last_seq.items() if last[2] < offset}
        self.horizons = {o: h for o, h in self.horizons.items() if o < offset}
        if self.hw is not None and self.hw > self.next_offset:
            self.hw = self.next_offset

    # ---------------------------------------------------------------- reads
    def _build(self, i: int, stop: int) -> list[Record]:
        """Records for positions ``i`` to ``stop`` (exclusive)."""
        offsets = range(self._base + i, self._base + stop) if self._offsets is None else self._offsets[i:stop]
        types = None if self.ts_types is None else self.ts_types[i:stop]
        return make_records(self.topic, self.partition, offsets, self.keys[i:stop], self.values[i:stop],
                            self.headers[i:stop], self.timestamps[i:stop], types)

    def read(self, position: int, max_records: int, *, committed_only: bool) -> tuple[list[Record], int]:
        """Records from offset ``position`` on; returns them and the next position.

        read_committed stops at the last stable offset and skips aborted records; both isolation
        levels skip control markers.
        """
        limit = self.last_stable_offset() if committed_only else self.next_offset
        if self.hw is not None and limit > self.hw:  # replicated: consumers read up to the high watermark
            limit = self.hw
        if position >= limit:
            return [], position
        if self._offsets is not None:
            i, end = bisect_left(self._offsets, position), bisect_left(self._offsets, limit)
        else:  # dense: offset == base + position
            base = self._base
            i, end = max(position - base, 0), limit - base
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
        if self._offsets is None:
            offsets = [self._base + p for p in positions]
        else:
            offsets = list(map(self._offsets.__getitem__, positions))
        types = None if self.ts_types is None else list(map(self.ts_types.__getitem__, positions))
        return make_records(self.topic, self.partition, offsets, list(map(self.keys.__getitem__, positions)),
                            list(map(self.values.__getitem__, positions)),
                            list(map(self.headers.__getitem__, positions)),
                            list(map(self.timestamps.__getitem__, positions)), types)

    def offset_for_time(self, timestamp: int) -> int | None:
        """The first offset (in log order) whose record timestamp is >= ``timestamp`` (ListOffsets)."""
        meta = self.meta
        for i, ts in enumerate(self.timestamps):
            if ts >= timestamp and (meta is None or meta[i].__class__ is not ControlMarker):
                return self._offset_at(i)
        return None

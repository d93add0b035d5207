"""The broker's background log work, on virtual time: the log cleaner and the retention check.

Kafka's rules, as its LogCleanerManager, Cleaner and UnifiedLog apply them:

- cleaning (``cleanup.policy`` has compact) runs every ``log.cleaner.backoff.ms``. It never touches the
  active segment, what is above the last stable offset, or segments whose newest record is younger than
  ``min.compaction.lag.ms``. A log is cleaned when its dirty bytes (rolled since the last clean) exceed
  ``min.cleanable.dirty.ratio`` of the cleanable log, or its oldest dirty record waited longer than
  ``max.compaction.lag.ms``. Cleaning keeps the latest record per key (offsets unchanged), drops
  keyless and aborted records, and stamps each surviving tombstone with a delete horizon
  (now + ``delete.retention.ms``); a later cleaning after the horizon removes it.
- retention (``cleanup.policy`` has delete) runs every ``log.retention.check.interval.ms`` and deletes
  whole segments from the front: below the log start offset, beyond ``retention.bytes``, or whose
  newest record is older than ``retention.ms``; if every segment goes, the active one is rolled first.
  The log start offset moves to the first segment left.

Both run as one cluster timer, only when something could be due, and every change is in the trace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .batches import stored_size
from .log import BATCH_OVERHEAD, ControlMarker, PartitionLog, Segment, Txn

if TYPE_CHECKING:
    from .cluster import Cluster

class LogBackground:
    """The cleaner and the retention check as two tasks on fixed grids (every backoff / interval ms from
    t=0); a task is scheduled only while something could be due, so an idle world stays idle."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self._clean_at: int | None = None
        self._check_at: int | None = None
        self.next_due: int | None = None  # the earlier of the two: read by the cluster on every step

    @property
    def next_clean(self) -> int | None:
        return self._clean_at

    @next_clean.setter
    def next_clean(self, at: int | None) -> None:
        self._clean_at = at
        self._update_due()

    @property
    def next_check(self) -> int | None:
        return self._check_at

    @next_check.setter
    def next_check(self, at: int | None) -> None:
        self._check_at = at
        self._update_due()

    def _update_due(self) -> None:
        times = [t for t in (self._clean_at, self._check_at) if t is not None]
        self.next_due = min(times) if times else None

    # ---------------------------------------------------------------- scheduling
    @staticmethod
    def _grid(period: int, at: int) -> int:
        """The first run at or after ``at`` of a task that runs every ``period`` ms from t=0."""
        return -(-at // period) * period

    def _soonest(self, current: int | None, period: int, at: int) -> int:
        run = self._grid(period, at)
        return run if current is None or run < current else current

    def wake(self, *, clean: bool = True, check: bool = True) -> None:
        """Something changed that a task may act on: schedule its next run."""
        broker, now = self.cluster.broker, self.cluster.clock.now_ms()
        if clean:
            self.next_clean = self._soonest(self.next_clean, broker.log_cleaner_backoff_ms, now)
        if check:
            self.next_check = self._soonest(self.next_check, broker.log_retention_check_interval_ms, now)

    def rolled(self, log: PartitionLog) -> int:
        """A segment rolled: work may be due. Returns the new segment's roll jitter (segment.jitter.ms)."""
        self.wake(clean=log.settings.compact)
        jitter = log.settings.segment_jitter_ms
        return self.cluster.rng.randrange(jitter) if jitter > 0 else 0

    def grew(self, log: PartitionLog) -> None:
        if log.settings.delete:
            self.wake(clean=False)

    def started(self, log: PartitionLog, max_ts: int) -> None:
        """The log's oldest segment got its first records: a retention check is due when they expire."""
        settings = log.settings
        if settings.delete and settings.retention_ms >= 0:
            self.next_check = self._soonest(self.next_check, self.cluster.broker.log_retention_check_interval_ms,
                                            max(max_ts + settings.retention_ms + 1, self.cluster.clock.now_ms()))

    def tick(self, now: int) -> None:
        broker = self.cluster.broker
        if self.next_clean is not None and now >= self.next_clean:
            logs = [(t.settings, log) for _, t in sorted(self.cluster.topics.items()) if t.settings.compact
                    for log in t.partitions]
            later = self._clean_all(now, logs)
            self.next_clean = None
            for at in later:
                self.next_clean = self._soonest(self.next_clean, broker.log_cleaner_backoff_ms, max(at, now + 1))
        if self.next_check is not None and now >= self.next_check:
            self.next_check = None
            for _, t in sorted(self.cluster.topics.items()):
                for log in t.partitions:
                    at = self._retention(now, t.settings, log)
                    if at is not None:
                        self.next_check = self._soonest(self.next_check, broker.log_retention_check_interval_ms,
                                                        max(at, now + 1))

    # ---------------------------------------------------------------- cleaning
    def _clean_all(self, now: int, logs) -> list[int]:
        """Clean every log that is due, dirtiest first; return times when a blocked one may become due."""
        due, later = [], []
        for settings, log in logs:
            verdict = _dirty(now, settings, log)
            if verdict is None:
                continue
            ratio, clean_to, cleanable, must, wake_at = verdict
            if cleanable and (must or ratio > settings.min_cleanable_dirty_ratio):
                due.append((-ratio, log.topic, log.partition, settings, log, clean_to))
            elif wake_at is not None:
                later.append(wake_at)
        for neg_ratio, _, _, settings, log, clean_to in sorted(due, key=lambda d: d[:3]):
            self._clean(now, settings, log, clean_to, -neg_ratio)
        return later

    def _clean(self, now: int, settings, log: PartitionLog, end: int, ratio: float) -> None:
        offsets = log.offsets
        cut = log.position_of(end)
        first_dirty = log.position_of(max(log.cleaned_to, log.log_start))
        keys, values, meta = log.keys, log.values, log.meta or [None] * len(offsets)
        latest: dict[bytes, int] = {}
        for i in range(first_dirty, cut):
            m = meta[i]
            if keys[i] is not None and m.__class__ is not ControlMarker and not (m is not None and m.aborted):
                latest[keys[i]] = i
        keep, removed, tombstones = [], 0, 0
        horizon = now + settings.delete_retention_ms
        for i in range(cut):
            m, key = meta[i], keys[i]
            if m.__class__ is ControlMarker:
                keep.append(i)
                continue
            if key is None or (m is not None and m.aborted) or latest.get(key, i) > i:
                removed += 1
                continue
            if values[i] is None:
                stamped = log.horizons.setdefault(offsets[i], horizon)
                if now >= stamped:
                    del log.horizons[offsets[i]]
                    removed += 1
                    tombstones += 1
                    continue
            keep.append(i)
        keep.extend(range(cut, len(offsets)))
        if removed:
            _resize_segments(log, keep, end)
            log.retain(keep)
        log.cleaned_to = end
        self.cluster.emit("log_cleaned", topic=log.topic, partition=log.partition, removed=removed,
                          tombstones_removed=tombstones, dirty_ratio=round(ratio, 4), cleaned_to=end)

    # ---------------------------------------------------------------- retention
    def _retention(self, now: int, settings, log: PartitionLog) -> int | None:
        """Delete what is due; return when this log may next have something to delete."""
        self._delete_front(now, log, "log_start", lambda seg, nxt: nxt is not None and nxt.base <= log.log_start)
        if not settings.delete:
            return None
        if settings.retention_bytes >= 0 and log.size_bytes >= settings.retention_bytes:
            excess = [log.size_bytes - settings.retention_bytes]

            def over_size(seg: Segment, _nxt) -> bool:
                if excess[0] - seg.bytes < 0:
                    return False
                excess[0] -= seg.bytes
                return True

            self._delete_front(now, log, "retention.bytes", over_size)
        if settings.retention_ms >= 0:
            self._delete_front(now, log, "retention.ms", lambda seg, _n: now - seg.max_ts > settings.retention_ms)
            first = log.segments[0]
            if first.bytes:
                return first.max_ts + settings.retention_ms + 1
        return None

    def _delete_front(self, now: int, log: PartitionLog, reason: str, should) -> None:
        segments = log.segments
        doomed = 0
        for k, seg in enumerate(segments):
            nxt = segments[k + 1] if k + 1 < len(segments) else None
            if (nxt is None and seg.bytes == 0) or not should(seg, nxt):
                break
            doomed += 1
        if not doomed:
            return
        if doomed == len(segments):
            log.roll(log.next_offset)  # the log always keeps one segment
        del log.segments[:doomed]
        start = log.segments[0].base
        log.drop_before(start)
        self.cluster.emit("segments_deleted", topic=log.topic, partition=log.partition, reason=reason,
                          segments=doomed, log_start=log.log_start)


def _dirty(now: int, settings, log: PartitionLog):
    """(dirty ratio, end of the cleanable range, cleanable bytes, max.compaction.lag breached, when it may
    become due by time: a min.compaction.lag block ends or max.compaction.lag passes) of a compacted
    log, or None if nothing is dirty."""
    segments = log.segments
    first_dirty = max(log.cleaned_to, log.log_start)
    end = min(log.last_stable_offset(), segments[-1].base)
    blocked_until = None
    if settings.min_compaction_lag_ms > 0:
        for seg in segments[:-1]:
            if seg.base >= first_dirty and seg.max_ts > now - settings.min_compaction_lag_ms:
                end = min(end, seg.base)
                blocked_until = seg.max_ts + settings.min_compaction_lag_ms + 1
                break
    end = max(end, first_dirty)
    dirty_segs = [s for s in segments[:-1] if first_dirty <= s.base < end]
    if not dirty_segs:
        return None if blocked_until is None else (0.0, end, 0, False, blocked_until)
    clean = sum(s.bytes for s in segments if s.base < first_dirty)
    cleanable = sum(s.bytes for s in dirty_segs)
    oldest = min((s.first_ts for s in dirty_segs if s.first_ts >= 0), default=None)
    must = oldest is not None and oldest < now - settings.max_compaction_lag_ms
    wake_at = blocked_until
    if oldest is not None and settings.max_compaction_lag_ms < 2**62:  # "never" unless the topic sets it
        due = oldest + settings.max_compaction_lag_ms + 1
        wake_at = due if wake_at is None else min(wake_at, due)
    ratio = cleanable / (clean + cleanable) if clean + cleanable else 0.0
    return ratio, end, cleanable, must, wake_at


def _resize_segments(log: PartitionLog, keep: list[int], end: int) -> None:
    """Recount the cleaned segments from what they kept and merge neighbours that fit in segment.bytes."""
    offsets, keys, values, headers, stamps = log.offsets, log.keys, log.values, log.headers, log.timestamps
    cleaned = [s for s in log.segments if s.base < end]
    rest = log.segments[len(cleaned):]
    bounds = [s.base for s in cleaned[1:]] + [end]
    kept = iter(k for k in keep if offsets[k] < end)
    k = next(kept, None)
    for seg, upper in zip(cleaned, bounds, strict=True):
        size, n, newest = 0, 0, -1
        while k is not None and offsets[k] < upper:
            size += stored_size(keys[k], values[k], headers[k])
            newest = max(newest, stamps[k])
            n += 1
            k = next(kept, None)
        seg.batches = min(seg.batches, n)
        seg.bytes = size + BATCH_OVERHEAD * seg.batches
        if n:
            seg.max_ts = newest
    merged: list[Segment] = []
    for seg in cleaned:
        if merged and merged[-1].bytes + seg.bytes <= log.settings.segment_bytes:
            last = merged[-1]
            last.bytes += seg.bytes
            last.batches += seg.batches
            last.max_ts = max(last.max_ts, seg.max_ts)
        else:
            merged.append(seg)
    log.segments = merged + rest


__all__ = ["LogBackground", "Txn"]

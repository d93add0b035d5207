"""The customer-profile service: each customer's current profile lives in one topic, keyed by customer.

It is built from ports only (the broker port, the clock, and the world's way to let time pass), so
both worlds run it unchanged. Writes go to the topic first (put: the profile as JSON; delete: a
tombstone, a record with no value); the in-memory table is what the service serves. On (re)start it
forgets everything and rebuilds the table by reading the topic from its log start to its end, the
way a Kafka Streams KTable or a cache warmed from a changelog does: whatever the topic no longer
holds, the service no longer knows.

``ProfileSettings`` are the topic's configs, switched by the lab's typed knobs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scenarios.engine.components import Ports
from services.ports import BrokerError, ConsumerConfig, Record, TopicPartition, TopicSpec

TOPIC = "profiles"
READ_DEADLINE_MS = 30_000
POLL_EVERY_MS = 20


@dataclass(frozen=True, slots=True)
class ProfileSettings:
    """The profile topic's configs (Kafka's names), from the lab's knobs."""

    cleanup_policy: str = "delete"
    retention_ms: int = 1_000
    segment_ms: int = 500
    min_cleanable_dirty_ratio: float = 0.01
    min_compaction_lag_ms: int = 0
    delete_retention_ms: int = 2_000

    def topic_config(self) -> dict[str, str]:
        return {"cleanup.policy": self.cleanup_policy, "retention.ms": str(self.retention_ms),
                "segment.ms": str(self.segment_ms), "min.cleanable.dirty.ratio": str(self.min_cleanable_dirty_ratio),
                "min.compaction.lag.ms": str(self.min_compaction_lag_ms),
                "delete.retention.ms": str(self.delete_retention_ms)}


def encode(profile: Mapping[str, Any]) -> bytes:
    return json.dumps(dict(profile), sort_keys=True, separators=(",", ":")).encode()


def log_entry(r: Record) -> list[Any]:
    """[offset, key, value] as text; a tombstone's value is None, a keyless record's key is None."""
    return [r.offset, r.key.decode() if r.key is not None else None,
            r.value.decode() if r.value is not None else None]


class ProfileService:
    def __init__(self, ports: Ports) -> None:
        self.ports = ports
        self.topic = ports.topic(TOPIC)
        self.table: dict[str, dict[str, Any]] = {}
        self.written: list[list[Any]] = []  # [offset, key, value] of every write the broker acknowledged
        self._producer: Any = None
        self._admin: Any = None
        self._readers = 0
        self.compacted = False

    # ------------------------------------------------------------ the component interface
    def call(self, action: str, args: Mapping[str, Any]) -> dict[str, Any]:
        actions = {"create": self.create, "put": self.put, "delete": self.delete, "put_keyless": self.put_keyless,
                   "restart": self.restart, "serve": self.serve, "read": self.read, "wait_log": self.wait_log}
        if action not in actions:
            return {"refused": f"no action {action!r}; the actions are {', '.join(actions)}"}
        return actions[action](**dict(args))

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close()
            self._producer = None

    # ------------------------------------------------------------ actions
    def create(self, **settings: Any) -> dict[str, Any]:
        config = ProfileSettings(**settings).topic_config()
        self.compacted = "compact" in config["cleanup.policy"]
        if self._admin is None:
            self._admin = self.ports.broker.admin()
        self._admin.create_topics([TopicSpec(self.topic, partitions=1, config=config)])
        shown = ", ".join(f"{k}={v}" for k, v in config.items())
        return {"config": config, "say": f"topic {TOPIC} created: {shown}"}

    def put(self, key: str, profile: Mapping[str, Any]) -> dict[str, Any]:
        offset = self._send(key.encode(), encode(profile))
        self.table[key] = dict(profile)
        return {"offset": offset}

    def delete(self, key: str) -> dict[str, Any]:
        offset = self._send(key.encode(), None)
        self.table.pop(key, None)
        return {"offset": offset, "say": f"{key} deleted: a tombstone at offset {offset}"}

    def put_keyless(self, profile: Mapping[str, Any]) -> dict[str, Any]:
        """A record without a key (a bug in some other writer): what does the topic do with it?"""
        try:
            offset = self._send(None, encode(profile))
        except BrokerError as exc:
            why = "a compacted topic keeps the latest record per key, and this one has none" if self.compacted else ""
            reason = f"{why} (the broker: {exc})" if why else str(exc)
            return {"refused": reason, "say": f"a keyless record was refused: {reason}"}
        return {"offset": offset, "say": f"a keyless record was accepted at offset {offset}"}

    def restart(self) -> dict[str, Any]:
        """The service stops and starts again: its table is gone and is rebuilt from the topic."""
        served_before = sorted(self.table)
        self.close()
        self.table = {}
        log = self.read_log()
        for _offset, key, value in log["records"]:
            if key is None:
                continue
            if value is None:
                self.table.pop(key, None)
            else:
                self.table[key] = json.loads(value)
        lost = [k for k in served_before if k not in self.table]
        say = (f"restarted: {len(log['records'])} record(s) read from offset {log['log_start']}, "
               f"{len(self.table)} customer(s) rebuilt" + (f"; lost {', '.join(lost)}" if lost else ""))
        return {"served_before": served_before, "customers": sorted(self.table), "lost": lost, "log": log, "say": say}

    def read(self) -> dict[str, Any]:
        """The log as it is now, every record with its offset."""
        log = self.read_log()
        return {**log, "say": f"log now: {len(log['records'])} record(s) from offset {log['log_start']} to {log['end']}"}

    def serve(self) -> dict[str, Any]:
        return {"profiles": {k: self.table[k] for k in sorted(self.table)}}

    def wait_log(self, until: str, below: int | None = None, deadline_ms: int = 10_000) -> dict[str, Any]:
        """Read the log until it shows ``until`` (``one_per_key`` below offset ``below``, or
        ``no_tombstones``), polling while the broker's cleaner works; the last reading either way."""
        end = self.ports.clock.now_ms() + int(deadline_ms)
        while True:
            log = self.read_log()
            below = self.written[-1][0] if below is None and self.written else below
            done = (one_per_key(log["records"], below) if until == "one_per_key" else
                    not any(v is None for _o, k, v in log["records"] if k is not None))
            if done or self.ports.clock.now_ms() >= end:
                present = {r[0] for r in log["records"]}
                gaps = [o for o in range(log["log_start"], log["end"]) if o not in present]  # offsets stay
                say = (f"log after waiting for {until}: {len(log['records'])} record(s) from offset {log['log_start']} "
                       f"to {log['end']}" + (f", offsets {gaps} gone (gaps)" if gaps else ", no gaps")
                       + ("" if done else " (not reached before the deadline)"))
                written = {tuple(w) for w in self.written}
                moved = [r for r in log["records"] if tuple(r) not in written]
                return {**log, "until": until, "reached": done, "gaps": gaps, "not_as_written": moved,
                        "say": say}
            self.ports.wait(250)

    # ------------------------------------------------------------ the topic
    def _send(self, key: bytes | None, value: bytes | None) -> int:
        if self._producer is None:
            self._producer = self.ports.broker.producer()
        self._producer.produce(self.topic, value, key=key)
        (meta,) = self._producer.flush(30.0)
        offset = int(meta.offset) if meta.offset is not None else -1
        self.written.append([offset, key.decode() if key is not None else None,
                             value.decode() if value is not None else None])
        return offset

    def read_log(self) -> dict[str, Any]:
        """Every record from the log start to the end offset seen first, with its offset."""
        if self._admin is None:
            self._admin = self.ports.broker.admin()
        admin = self._admin
        tp = TopicPartition(self.topic, 0)
        start = admin.beginning_offsets([self.topic]).get(tp, 0)
        end = admin.end_offsets([self.topic]).get(tp, 0)
        records: list[list[Any]] = []
        if end > start:
            self._readers += 1
            consumer = self.ports.broker.consumer(ConsumerConfig(group_id=f"{self.topic}-reader-{self._readers}",
                                                                 client_id="profile-service", auto_offset_reset="earliest"))
            deadline = self.ports.clock.now_ms() + READ_DEADLINE_MS
            try:
                consumer.assign([tp])
                while self.ports.clock.now_ms() < deadline:
                    records += [log_entry(r) for r in consumer.poll(500, timeout=0.2) if r.offset < end]
                    position = consumer.position(tp)
                    if position is not None and position >= end:
                        break
                    self.ports.wait(POLL_EVERY_MS)
            finally:
                consumer.close()
        return {"log_start": start, "end": end, "records": records}


def one_per_key(records: list[list[Any]], below: int | None) -> bool:
    keys = [k for o, k, _v in records if k is not None and (below is None or o < below)]
    return len(keys) == len(set(keys))

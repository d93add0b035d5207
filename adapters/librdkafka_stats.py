"""librdkafka's statistics JSON (``statistics.interval.ms`` + ``stats_cb``) turned into producer figures.

Pure functions over the parsed JSON, so they are tested offline. Two kinds of field matter here
(librdkafka's STATISTICS.md, checked against what librdkafka 2.16 emits):

- counters that only grow: per broker ``txbytes`` (every byte written to the socket, request headers
  included: the bytes on the wire) and ``req.Produce`` (ProduceRequests sent); top level ``txmsgs``
  and ``txmsg_bytes`` (records sent and their key + value bytes, before compression). A run's figure
  is the last snapshot minus the one taken just before the run.
- window stats that restart at every emit: per topic ``batchsize`` (bytes of each record batch as
  written, i.e. after compression) and ``batchcnt`` (records per batch). Each emit covers only the
  batches since the previous one, so a run sums ``sum`` and ``cnt`` over every emit after its baseline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Counters:
    """The cumulative counters of one snapshot (or the difference of two)."""

    wire_bytes: int = 0
    produce_requests: int = 0
    records_sent: int = 0
    payload_bytes: int = 0

    def minus(self, earlier: Counters) -> Counters:
        return Counters(
            self.wire_bytes - earlier.wire_bytes,
            self.produce_requests - earlier.produce_requests,
            self.records_sent - earlier.records_sent,
            self.payload_bytes - earlier.payload_bytes,
        )


def counters(stats: Mapping[str, Any]) -> Counters:
    """Cumulative counters of one stats snapshot, summed over the real brokers (bootstrap entries too)."""
    wire = requests = 0
    for broker in stats.get("brokers", {}).values():
        wire += int(broker.get("txbytes", 0))
        requests += int(broker.get("req", {}).get("Produce", 0))
    return Counters(
        wire_bytes=wire,
        produce_requests=requests,
        records_sent=int(stats.get("txmsgs", 0)),
        payload_bytes=int(stats.get("txmsg_bytes", 0)),
    )


@dataclass(slots=True)
class BatchWindows:
    """Running sums of the per-topic batch windows of every emit fed to it."""

    topic: str
    batches: int = 0
    records: int = 0
    bytes: int = 0

    def feed(self, stats: Mapping[str, Any]) -> None:
        topic = stats.get("topics", {}).get(self.topic)
        if not topic:
            return
        count = topic.get("batchcnt", {})
        size = topic.get("batchsize", {})
        # Both windows see the same batches; cnt is how many, sum adds up records resp. bytes.
        self.batches += int(count.get("cnt", 0))
        self.records += int(count.get("sum", 0))
        self.bytes += int(size.get("sum", 0))


@dataclass(frozen=True, slots=True)
class ProducerStats:
    """What librdkafka says a run sent: bytes on the wire, requests, batches and their sizes."""

    wire_bytes: int
    produce_requests: int
    records_sent: int
    payload_bytes: int
    batches: int
    batch_records: int
    batch_bytes: int

    @property
    def mean_batch_records(self) -> float:
        return self.batch_records / self.batches if self.batches else 0.0

    @property
    def mean_batch_bytes(self) -> float:
        return self.batch_bytes / self.batches if self.batches else 0.0

    @property
    def compression_ratio(self) -> float:
        """Key + value bytes per byte of record batch: > 1 when compression pays, < 1 shows framing cost."""
        return self.payload_bytes / self.batch_bytes if self.batch_bytes else 0.0


def summarise(baseline: Mapping[str, Any], final: Mapping[str, Any], windows: BatchWindows) -> ProducerStats:
    """The run between two snapshots; ``windows`` must have been fed every emit after ``baseline``."""
    delta = counters(final).minus(counters(baseline))
    return ProducerStats(
        wire_bytes=delta.wire_bytes,
        produce_requests=delta.produce_requests,
        records_sent=delta.records_sent,
        payload_bytes=delta.payload_bytes,
        batches=windows.batches,
        batch_records=windows.records,
        batch_bytes=windows.bytes,
    )

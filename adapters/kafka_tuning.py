"""One producer-tuning measurement on a real broker: a confluent_kafka Producer driven at a chosen rate.

``run_producer`` produces ``load.records`` records with the given librdkafka settings, timing every
record from ``produce()`` to its acknowledgement (librdkafka's own ``Message.latency()``, read in the
delivery callback) and reading bytes, requests and batches from librdkafka's statistics
(``adapters.librdkafka_stats``). It returns plain data; nothing of confluent_kafka leaves this module.

A warm-up (connection, metadata, producer id) is produced and acknowledged first and kept out of
every figure, as ``kafka-producer-perf-test --warmup-records`` does.
"""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import confluent_kafka
from confluent_kafka import KafkaException

from adapters.librdkafka_stats import BatchWindows, ProducerStats, summarise
from services.ports import BrokerUnavailable, InvalidConfig

STATS_INTERVAL_MS = 100  # short, so the snapshot after the last ack comes quickly
STATS_WAIT_S = 5.0
PACE_SLACK_S = 0.001  # a rate-limited record may leave up to 1 ms early (bursts of rate/1000)
MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ProduceLoad:
    """What to send: records cycle through ``payloads`` and ``keys`` (no keys: keyless records)."""

    topic: str
    payloads: Sequence[bytes]
    keys: Sequence[bytes] = ()
    records: int = 10_000
    rate: float | None = None  # records/s; None: as fast as the client takes them
    warmup: int = 200


@dataclass(frozen=True, slots=True)
class ProducerRun:
    """One measured run. ``latency_ms`` holds p50, p99, p99.9, avg and max of produce→ack."""

    records: int
    failed: int
    elapsed_s: float
    value_bytes: int
    latency_ms: dict[str, float]
    stats: ProducerStats
    cpu_s: float
    first_error: str | None = None

    @property
    def msgs_per_s(self) -> float:
        return (self.records - self.failed) / self.elapsed_s if self.elapsed_s else 0.0

    @property
    def mb_per_s(self) -> float:
        """MiB of values per second, counted as kafka-producer-perf-test counts its MB/sec."""
        return self.value_bytes / MIB / self.elapsed_s if self.elapsed_s else 0.0

    def figures(self) -> dict[str, Any]:
        s = self.stats
        return {
            "records": self.records,
            "failed": self.failed,
            "elapsed_s": round(self.elapsed_s, 4),
            "msgs_per_s": round(self.msgs_per_s, 1),
            "mb_per_s": round(self.mb_per_s, 3),
            "latency_ms": self.latency_ms,
            "wire_bytes": s.wire_bytes,
            "payload_bytes": s.payload_bytes,
            "wire_bytes_per_record": round(s.wire_bytes / self.records, 2) if self.records else 0.0,
            "compression_ratio": round(s.compression_ratio, 3),
            "batches": s.batches,
            "produce_requests": s.produce_requests,
            "mean_batch_records": round(s.mean_batch_records, 2),
            "mean_batch_bytes": round(s.mean_batch_bytes, 1),
            "cpu_s": round(self.cpu_s, 4),
            "cpu_pct": round(100.0 * self.cpu_s / self.elapsed_s, 1) if self.elapsed_s else 0.0,
            "first_error": self.first_error,
        }


def latency_summary(latencies_s: Sequence[float]) -> dict[str, float]:
    """p50/p99/p99.9 (nearest rank), mean and max, in milliseconds; zeros when nothing was acked."""
    if not latencies_s:
        return {"p50": 0.0, "p99": 0.0, "p99_9": 0.0, "avg": 0.0, "max": 0.0}
    ordered = sorted(latencies_s)

    def rank(q: float) -> float:
        index = min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.999999) - 1))
        return round(ordered[index] * 1000.0, 3)

    return {
        "p50": rank(0.50),
        "p99": rank(0.99),
        "p99_9": rank(0.999),
        "avg": round(sum(ordered) / len(ordered) * 1000.0, 3),
        "max": round(ordered[-1] * 1000.0, 3),
    }


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread: ours and librdkafka's
    return usage.ru_utime + usage.ru_stime


class _Deliveries:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.failed = 0
        self.first_error: str | None = None

    def __call__(self, err: Any, msg: Any) -> None:
        if err is not None:
            self.failed += 1
            self.first_error = self.first_error or str(err.str())
            return
        latency = msg.latency()
        if latency is not None:
            self.latencies.append(latency)


def _make_producer(bootstrap: str, settings: Mapping[str, Any], emits: list[dict]) -> Any:
    conf: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        "partitioner": "murmur2_random",  # keys land where the Java client puts them
        **settings,
        "statistics.interval.ms": STATS_INTERVAL_MS,
        "stats_cb": lambda raw: emits.append(json.loads(raw)),
    }
    try:
        return confluent_kafka.Producer(conf)
    except KafkaException as exc:
        raise InvalidConfig(f"librdkafka refused the producer settings: {exc.args[0].str()}") from exc
    except (TypeError, ValueError) as exc:
        raise InvalidConfig(f"librdkafka refused the producer settings: {exc}") from exc


def _next_emit(producer: Any, emits: list[dict], deadline_s: float = STATS_WAIT_S) -> dict:
    """Serve callbacks until librdkafka emits a statistics snapshot taken after this call."""
    seen = len(emits)
    deadline = time.monotonic() + deadline_s
    while len(emits) == seen:
        if time.monotonic() > deadline:
            raise BrokerUnavailable(f"librdkafka emitted no statistics within {deadline_s:g}s")
        producer.poll(0.02)
    return emits[-1]


def _produce_all(producer: Any, load: ProduceLoad, count: int, on_delivery: Any, paced: bool) -> None:
    payloads, keys = load.payloads, load.keys
    gap = 1.0 / load.rate if (paced and load.rate) else 0.0
    start = time.perf_counter()
    for i in range(count):
        if gap:
            while (wait := start + i * gap - time.perf_counter()) > PACE_SLACK_S:
                producer.poll(wait)  # pacing: serves delivery reports while it waits
        key = keys[i % len(keys)] if keys else None
        while True:
            try:
                producer.produce(load.topic, payloads[i % len(payloads)], key, on_delivery=on_delivery)
                break
            except BufferError:  # the client's queue is full: let it drain
                producer.poll(0.005)
        if i & 255 == 0:
            producer.poll(0)


def _flush(producer: Any, timeout_s: float, bootstrap: str, what: str) -> None:
    remaining = producer.flush(timeout_s)
    if remaining:
        producer.purge(in_queue=True, in_flight=False)
        raise BrokerUnavailable(f"{remaining} {what} record(s) not acknowledged by {bootstrap} within {timeout_s:g}s")


def run_producer(bootstrap: str, settings: Mapping[str, Any], load: ProduceLoad, *,
                 timeout_s: float = 120.0) -> ProducerRun:
    """Measure one run. Raises InvalidConfig for settings librdkafka refuses, BrokerUnavailable when
    the warm-up or the run is not acknowledged in time."""
    if not load.payloads:
        raise InvalidConfig("a produce load needs at least one payload")
    emits: list[dict] = []
    producer = _make_producer(bootstrap, settings, emits)
    warm = _Deliveries()
    _produce_all(producer, load, load.warmup, warm, paced=False)
    _flush(producer, min(timeout_s, 30.0), bootstrap, "warm-up")
    if warm.failed:
        raise BrokerUnavailable(f"warm-up produce to {load.topic} failed: {warm.first_error}")
    baseline = _next_emit(producer, emits)
    first_window = len(emits)

    deliveries = _Deliveries()
    cpu0, t0 = _cpu_seconds(), time.perf_counter()
    _produce_all(producer, load, load.records, deliveries, paced=True)
    _flush(producer, timeout_s, bootstrap, "measured")
    elapsed, cpu = time.perf_counter() - t0, _cpu_seconds() - cpu0

    final = _next_emit(producer, emits)
    windows = BatchWindows(load.topic)
    for snapshot in emits[first_window:]:
        windows.feed(snapshot)
    cycles, rest = divmod(load.records, len(load.payloads))
    value_bytes = cycles * sum(map(len, load.payloads)) + sum(map(len, load.payloads[:rest]))
    return ProducerRun(
        records=load.records,
        failed=deliveries.failed,
        elapsed_s=elapsed,
        value_bytes=value_bytes,
        latency_ms=latency_summary(deliveries.latencies),
        stats=summarise(baseline, final, windows),
        cpu_s=cpu,
        first_error=deliveries.first_error,
    )


def librdkafka_version() -> str:
    return confluent_kafka.libversion()[0]

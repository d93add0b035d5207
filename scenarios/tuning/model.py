"""How librdkafka forms batches, as a deterministic cost model: ``kafkalab tune --mode sim``.

A model, not a measurement: steady arrivals, no clock, no broker, the same numbers every run. The
derivation, its constants and where it is off against the real broker are in
docs/producer-tuning-model.md. In short, per partition p with arrival rate λp:

    cap  C  = min(batch.num.messages, (batch.size − batch header) ÷ bytes per record)
    batch b = C                       if λp·linger ≥ C − 1   (full before linger ends)
            = 1 + λp·linger           otherwise              (linger ends first)
    requests/s = Σ λp / b             (librdkafka sends one batch per ProduceRequest here)

then idempotence's 5 requests in flight per connection can force bigger batches, and wire bytes
follow from the framing constants and the compression ratio (an input, not a prediction).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from scenarios.tuning.grid import Cell, Knobs, Workload
from sim.partitioner import partition_for_key

MODEL_LABEL = "model, not a measurement"
BATCH_HEADER_BYTES = 61  # RecordBatch v2 header
REQUEST_OVERHEAD_BYTES = 60  # ProduceRequest header, topic and partition framing (kl-tune-… topic names)
STICKY_FACTOR = 2  # sticky.partitioning.linger.ms left unset is 2 × linger.ms: keyless records stay on one partition that long
IN_FLIGHT = {True: 5, False: 1_000_000}  # max.in.flight per connection, with and without idempotence
EXACT_KEY_LIMIT = 20_000  # more keys than this: assume they spread evenly instead of hashing each
# Compression of the records section, measured for the json payload in batches of ~20 records
# (docs/producer-tuning-model.md); bigger batches compress better. An input: --compression-ratio overrides.
ASSUMED_RATIO = {"none": 1.0, "gzip": 3.5, "snappy": 2.3, "lz4": 2.05, "zstd": 3.4}


@dataclass(frozen=True, slots=True)
class ModelInputs:
    compression_ratio: float | None = None  # None: ASSUMED_RATIO of the cell's codec
    rtt_ms: float = 1.0  # broker round trip until the acknowledgement (assumed, not modelled)


@dataclass(frozen=True, slots=True)
class Prediction:
    records_per_batch: float
    limited_by: str
    active_partitions: int
    batches_per_10k_records: float
    requests_per_10k_records: float
    batches_per_s: float | None
    requests_per_s: float | None
    batch_bytes_uncompressed: float
    batch_bytes_on_wire: float
    wire_bytes_per_record: float
    wire_mb_per_s: float | None
    compression_ratio: float  # key+value bytes per batch byte, as the measurement defines it
    batching_delay_ms: dict[str, float] | None  # mean / p99 / max time a record waits in its batch
    ack_latency_ms: dict[str, float] | None  # batching delay + the assumed round trip


def _varint_len(value: int) -> int:
    zigzag = (value << 1) ^ (value >> 63)
    return max(1, math.ceil(zigzag.bit_length() / 7))


def record_bytes(key_len: int | None, value_len: int, offset_delta: int) -> int:
    """One record inside a v2 batch: key + value + varint framing (length, attributes, deltas, header count)."""
    body = (key_len or 0) + value_len
    framing = 1 + 1 + _varint_len(offset_delta) + _varint_len(-1 if key_len is None else key_len)
    framing += _varint_len(value_len) + 1  # attributes, timestamp delta, offset delta, key/value lengths, headers
    return body + framing + _varint_len(body + framing)


def partition_shares(keys: int, partitions: int) -> list[float]:
    """Share of the records each partition gets when keys "0".."K-1" are sent in turn (murmur2)."""
    if keys > EXACT_KEY_LIMIT:
        return [1.0 / partitions] * partitions
    counts = Counter(partition_for_key(str(i).encode(), partitions) for i in range(keys))
    return [counts[p] / keys for p in range(partitions)]


def _cap(knobs: Knobs, per_record: int) -> tuple[int, str]:
    by_size = max(1, (knobs.batch_size - BATCH_HEADER_BYTES) // per_record)
    if knobs.batch_num_messages <= by_size:
        return knobs.batch_num_messages, "batch.num.messages"
    return by_size, "batch.size"


def _batch(rate: float | None, linger_s: float, cap: int, cap_name: str) -> tuple[float, str, float | None]:
    """(records per batch, what closed it, how long its first record waited) for one partition."""
    if rate is None:  # an upper bound: how full they really get depends on how fast the client enqueues
        return float(cap), f"{cap_name} (upper bound at unlimited rate)", None
    if rate * linger_s >= cap - 1:
        return float(cap), cap_name, (cap - 1) / rate
    return 1.0 + rate * linger_s, "linger.ms", linger_s


def predict(knobs: Knobs, workload: Workload, inputs: ModelInputs = ModelInputs()) -> Prediction:
    key_len = len(str(max(workload.keys - 1, 0))) if workload.keys else None
    rate = workload.rate
    linger_s = knobs.linger_ms / 1000.0
    if workload.keys:
        shares = [s for s in partition_shares(workload.keys, workload.partitions) if s > 0]
        rates, active = [share * rate if rate else None for share in shares], len(shares)
    else:  # keyless: the sticky partitioner feeds one partition at a time, for longer than linger.ms
        rates, active = [rate], 1
    per_record = record_bytes(key_len, workload.record_size, offset_delta=32)
    cap, cap_name = _cap(knobs, per_record)
    shape = [_batch(r, linger_s, cap, cap_name) for r in rates]
    sizes = [b for b, _, _ in shape]
    limited_by = Counter(why for _, why, _ in shape).most_common(1)[0][0]
    waits = [w for _, _, w in shape if w is not None]

    batches_per_record = sum(1.0 / b for b in sizes) / len(sizes)  # partitions get near-equal shares
    if rate:
        batches_per_record = sum((r or 0.0) / b for r, b in zip(rates, sizes, strict=True)) / rate
        in_flight = rate * batches_per_record * inputs.rtt_ms / 1000.0
        if in_flight > IN_FLIGHT[knobs.idempotence]:
            squeeze = in_flight / IN_FLIGHT[knobs.idempotence]
            batches_per_record = max(batches_per_record / squeeze, 1.0 / cap)
            limited_by = "max.in.flight (5 with idempotence)"
    b = 1.0 / batches_per_record
    ratio = inputs.compression_ratio or ASSUMED_RATIO[knobs.compression]
    if knobs.compression == "none":
        ratio = 1.0
    uncompressed = BATCH_HEADER_BYTES + b * per_record
    on_wire = BATCH_HEADER_BYTES + b * per_record / ratio
    wire_per_record = (on_wire + REQUEST_OVERHEAD_BYTES) / b
    payload = b * ((key_len or 0) + workload.record_size)
    delay = ack = None
    if waits:
        wait_ms = max(waits) * 1000.0
        delay = {"mean": round(wait_ms / 2, 3), "p99": round(0.99 * wait_ms, 3), "max": round(wait_ms, 3)}
        ack = {k: round(v + inputs.rtt_ms, 3) for k, v in delay.items()}
    return Prediction(
        records_per_batch=round(b, 2),
        limited_by=limited_by,
        active_partitions=active,
        batches_per_10k_records=round(10_000 * batches_per_record, 2),
        requests_per_10k_records=round(10_000 * batches_per_record, 2),
        batches_per_s=round(rate * batches_per_record, 1) if rate else None,
        requests_per_s=round(rate * batches_per_record, 1) if rate else None,
        batch_bytes_uncompressed=round(uncompressed, 1),
        batch_bytes_on_wire=round(on_wire, 1),
        wire_bytes_per_record=round(wire_per_record, 2),
        wire_mb_per_s=round(rate * wire_per_record / 1e6, 3) if rate else None,
        compression_ratio=round(payload / on_wire, 3),
        batching_delay_ms=delay,
        ack_latency_ms=ack,
    )


def model_grid(cells: list[Cell], workload: Workload, inputs: ModelInputs = ModelInputs()) -> dict[str, Any]:
    """The whole grid as one JSON-ready object, labelled a model."""
    return {
        "kind": "model",
        "label": MODEL_LABEL,
        "mode": "sim",
        "workload": workload.model_dump(),
        "assumptions": {
            "rtt_ms": inputs.rtt_ms,
            "compression_ratio": inputs.compression_ratio or dict(ASSUMED_RATIO),
            "batch_header_bytes": BATCH_HEADER_BYTES,
            "request_overhead_bytes": REQUEST_OVERHEAD_BYTES,
            "sticky_partitioning_linger_ms": f"{STICKY_FACTOR} × linger.ms (unset: librdkafka's default)",
            "arrivals": "steady (evenly spaced), keys sent in turn",
        },
        "cells": [
            {"name": c.name, "changed": c.changed, "librdkafka_settings": c.knobs.librdkafka(),
             "prediction": asdict(predict(c.knobs, workload, inputs))}
            for c in cells
        ],
    }

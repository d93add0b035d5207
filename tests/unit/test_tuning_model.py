"""The batch-formation model of ``kafkalab tune --mode sim``: deterministic, labelled, and sensible."""

from __future__ import annotations

import json

import pytest

from scenarios.tuning.grid import Knobs, Workload, default_grid
from scenarios.tuning.model import (
    MODEL_LABEL,
    ModelInputs,
    model_grid,
    partition_shares,
    predict,
    record_bytes,
)

STEADY = Workload(rate=10_000, keys=100, partitions=3, record_size=200)


def test_linger_closes_batches_at_one_plus_rate_times_linger_per_partition() -> None:
    shares = partition_shares(100, 3)
    prediction = predict(Knobs(linger_ms=20), STEADY)
    per_partition = [1 + 10_000 * s * 0.020 for s in shares]
    expected = 10_000 / sum(10_000 * s / b for s, b in zip(shares, per_partition, strict=True))
    assert prediction.records_per_batch == pytest.approx(expected, rel=1e-3)
    assert prediction.limited_by == "linger.ms"
    assert prediction.requests_per_s == pytest.approx(10_000 / expected, rel=1e-3)


def test_more_linger_means_bigger_batches_fewer_requests_and_more_delay() -> None:
    short, long = predict(Knobs(linger_ms=5), STEADY), predict(Knobs(linger_ms=100), STEADY)
    assert long.records_per_batch > short.records_per_batch
    assert long.requests_per_s < short.requests_per_s
    assert long.ack_latency_ms["p99"] > short.ack_latency_ms["p99"]
    assert long.wire_bytes_per_record < short.wire_bytes_per_record  # framing spread over more records


def test_batch_num_messages_caps_a_batch_before_linger_ends() -> None:
    prediction = predict(Knobs(linger_ms=100, batch_num_messages=50), STEADY)
    assert prediction.records_per_batch == 50
    assert prediction.limited_by == "batch.num.messages"
    assert prediction.batching_delay_ms["max"] < 100


def test_batch_size_caps_a_batch_by_bytes_including_framing() -> None:
    per_record = record_bytes(2, 200, offset_delta=32)
    prediction = predict(Knobs(linger_ms=100, batch_size=4_096), STEADY)
    assert prediction.limited_by == "batch.size"
    assert prediction.records_per_batch == (4_096 - 61) // per_record


def test_record_framing_matches_what_librdkafka_reported_for_200_byte_values() -> None:
    # Measured on the broker: 4308.7 batch bytes for 20.14 records (2-char keys) => 211 bytes a record.
    assert record_bytes(2, 200, offset_delta=32) == 211
    assert record_bytes(None, 200, offset_delta=32) == 209


def test_unlimited_rate_fills_batches_to_the_cap_and_models_no_latency() -> None:
    prediction = predict(Knobs(batch_num_messages=500), Workload(rate=None))
    assert prediction.records_per_batch == 500
    assert prediction.requests_per_s is None and prediction.ack_latency_ms is None
    assert prediction.requests_per_10k_records == 20


def test_idempotence_limits_requests_in_flight_which_forces_bigger_batches() -> None:
    fast = Workload(rate=100_000, keys=100, partitions=3)
    plain = predict(Knobs(linger_ms=0), fast, ModelInputs(rtt_ms=1.0))
    idempotent = predict(Knobs(linger_ms=0, idempotence=True), fast, ModelInputs(rtt_ms=1.0))
    assert plain.records_per_batch == 1
    assert idempotent.records_per_batch == pytest.approx(20)  # 100k/s × 1 ms ÷ 5 in flight
    assert idempotent.limited_by.startswith("max.in.flight")


def test_keyless_records_fill_one_partition_at_a_time_for_the_whole_linger() -> None:
    # The sticky partition lasts 2 × linger.ms, so one partition gets every record until linger ends
    # (measured: 976 records per batch at 10k/s and linger.ms=100).
    prediction = predict(Knobs(linger_ms=100), Workload(rate=10_000, keys=0))
    assert prediction.active_partitions == 1
    assert prediction.records_per_batch == pytest.approx(1 + 10_000 * 0.100)
    assert prediction.batching_delay_ms["max"] == 100


def test_compression_ratio_is_an_input_that_shrinks_the_wire_bytes() -> None:
    none = predict(Knobs(), STEADY, ModelInputs(compression_ratio=3.0))
    lz4 = predict(Knobs(compression="lz4"), STEADY, ModelInputs(compression_ratio=3.0))
    assert none.compression_ratio < 1 < lz4.compression_ratio  # "none" ignores the input ratio
    assert lz4.batch_bytes_on_wire < none.batch_bytes_on_wire / 2


def test_the_model_grid_is_labelled_and_the_same_on_every_run() -> None:
    spec = default_grid()
    first = json.dumps(model_grid(spec.cells(), spec.workload))
    second = json.dumps(model_grid(spec.cells(), spec.workload))
    assert first == second
    document = json.loads(first)
    assert document["kind"] == "model" and document["label"] == MODEL_LABEL
    assert len(document["cells"]) == len(spec.cells())

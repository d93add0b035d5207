"""Figures from librdkafka's statistics, per-record latency, and the median/spread of several runs."""

from __future__ import annotations

import pytest

from adapters.kafka_tuning import latency_summary
from adapters.librdkafka_stats import BatchWindows, counters, summarise
from scenarios.tuning.summary import flatten, spread, summarise_runs


def _snapshot(txbytes: int, produce: int, txmsgs: int, txmsg_bytes: int, batches: int = 0, records: int = 0,
              batch_bytes: int = 0) -> dict:
    """The fields we read, laid out as librdkafka 2.16 emits them (plus a bootstrap-only broker entry)."""
    return {
        "txmsgs": txmsgs, "txmsg_bytes": txmsg_bytes, "tx_bytes": txbytes + 100,
        "brokers": {
            "localhost:9092/bootstrap": {"txbytes": 100, "req": {"Metadata": 1}},
            "localhost:9092/1": {"txbytes": txbytes, "req": {"Produce": produce, "Metadata": 2}},
        },
        "topics": {"t": {"batchsize": {"sum": batch_bytes, "cnt": batches},
                         "batchcnt": {"sum": records, "cnt": batches}}},
    }


def test_counters_sum_every_broker_and_read_produce_requests() -> None:
    c = counters(_snapshot(5_000, 7, 100, 20_000))
    assert (c.wire_bytes, c.produce_requests, c.records_sent, c.payload_bytes) == (5_100, 7, 100, 20_000)


def test_a_run_is_the_difference_of_counters_and_the_sum_of_the_windows_after_its_baseline() -> None:
    baseline = _snapshot(1_000, 2, 10, 2_000, batches=2, records=10, batch_bytes=999)
    emits = [_snapshot(3_000, 5, 40, 8_000, batches=3, records=30, batch_bytes=1_500),
             _snapshot(6_000, 8, 100, 20_000, batches=3, records=60, batch_bytes=1_500)]
    windows = BatchWindows("t")
    for emit in emits:
        windows.feed(emit)
    stats = summarise(baseline, emits[-1], windows)
    assert (stats.wire_bytes, stats.produce_requests, stats.records_sent) == (5_000, 6, 90)
    assert (stats.batches, stats.batch_records, stats.batch_bytes) == (6, 90, 3_000)
    assert stats.mean_batch_records == 15 and stats.mean_batch_bytes == 500
    assert stats.compression_ratio == pytest.approx(18_000 / 3_000)


def test_windows_ignore_snapshots_without_the_topic() -> None:
    windows = BatchWindows("other")
    windows.feed(_snapshot(1, 1, 1, 1, batches=5, records=5, batch_bytes=5))
    assert windows.batches == 0


def test_latency_percentiles_are_nearest_rank_in_milliseconds_and_ordered() -> None:
    summary = latency_summary([i / 1000 for i in range(1, 1001)])  # 1..1000 ms
    assert summary == {"p50": 500.0, "p99": 990.0, "p99_9": 999.0, "avg": 500.5, "max": 1000.0}
    assert latency_summary([]) == {"p50": 0.0, "p99": 0.0, "p99_9": 0.0, "avg": 0.0, "max": 0.0}


def test_flatten_keeps_numbers_only_under_dotted_names() -> None:
    flat = flatten({"msgs_per_s": 10, "latency_ms": {"p99": 2.5}, "first_error": None, "steady_state": True})
    assert flat == {"msgs_per_s": 10.0, "latency_ms.p99": 2.5}


def test_spread_gives_quartiles_only_from_four_runs() -> None:
    assert spread([3, 1, 2]) == {"median": 2, "min": 1, "max": 3, "n": 3}
    assert spread([1, 2, 3, 4, 5])["iqr"] == [2, 4]


def test_runs_are_summarised_per_figure_they_all_have() -> None:
    summary = summarise_runs([{"msgs_per_s": 10, "latency_ms": {"p99": 4}}, {"msgs_per_s": 30},
                              {"msgs_per_s": 20, "latency_ms": {"p99": 1}}])
    assert summary == {"msgs_per_s": {"median": 20.0, "min": 10.0, "max": 30.0, "n": 3}}

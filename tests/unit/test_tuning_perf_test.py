"""Reading kafka-producer-perf-test's summary and building its command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios.tuning.perf_test import PerfTestError, parse_summary, perf_test_args

# What Kafka 4.4's ProducerPerformance printed here with --warmup-records (progress lines, then summaries).
OUTPUT = """\
Reading payloads from: /tmp/payloads.txt
Number of records read: 200
Warmup first 1000 records. Steady state results will print after the complete test summary.
3000 records sent, 962.463908 records/sec (0.01 MB/sec), 79.16 ms avg latency, 1475.00 ms max latency, \
76 ms 50th, 204 ms 95th, 227 ms 99th, 238 ms 99.9th.
2000 steady state records sent, 1139.601140 records/sec (0.01 MB/sec), 41.91 ms avg latency, \
120.00 ms max latency, 24 ms 50th, 107 ms 95th, 119 ms 99th, 119 ms 99.9th.
"""


def test_the_steady_state_summary_wins_over_the_whole_run() -> None:
    summary = parse_summary(OUTPUT)
    assert summary.steady_state and summary.records == 2000
    assert summary.msgs_per_s == pytest.approx(1139.60114)
    assert summary.latency_ms == {"avg": 41.91, "max": 120.0, "p50": 24.0, "p95": 107.0, "p99": 119.0,
                                  "p99_9": 119.0}


def test_without_warmup_the_whole_run_summary_is_read() -> None:
    lines = [line for line in OUTPUT.splitlines() if "steady state" not in line]
    summary = parse_summary("\n".join(lines))
    assert not summary.steady_state and summary.records == 3000 and summary.mb_per_s == 0.01


def test_an_output_without_summary_fails_with_its_last_line() -> None:
    with pytest.raises(PerfTestError, match="last line: Exception in thread main: TimeoutException"):
        parse_summary("starting\nException in thread main: TimeoutException\n\n")


def test_arguments_carry_the_same_records_keys_payloads_and_settings() -> None:
    args = perf_test_args("t", {"linger.ms": "5", "acks": "all"}, records=2000, warmup=500, rate=10_000.0,
                          payload_file=Path("/tmp/p.txt"), keys=100)
    joined = " ".join(args)
    assert "--num-records 2500" in joined and "--warmup-records 500" in joined
    assert "--throughput 10000" in joined and "--payload-file /tmp/p.txt" in joined
    assert "--key-distribution range --record-key-range 100" in joined
    assert args[-3:] == ["--command-property", "linger.ms=5", "acks=all"]


def test_unlimited_keyless_runs_use_throughput_minus_one_and_no_keys() -> None:
    args = perf_test_args("t", {}, records=100, warmup=0, rate=None, payload_file=Path("p"), keys=0)
    assert args[args.index("--throughput") + 1] == "-1"
    assert "--key-distribution" not in args and "--warmup-records" not in args

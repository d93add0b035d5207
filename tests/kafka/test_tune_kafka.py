"""``kafkalab tune`` on the real broker: a tiny grid (2 cells, 1 run) with every figure present and plausible."""

from __future__ import annotations

import pytest

from scenarios.tuning.grid import GridSpec, Workload
from scenarios.tuning.measure import measure_grid

pytestmark = pytest.mark.kafka

RECORDS = 2_000


@pytest.fixture(scope="module")
def tiny_grid(kafka_bootstrap: str) -> dict:
    spec = GridSpec(vary={"compression": ["lz4"]}, runs=1, perf_test_runs=1,
                    workload=Workload(records=RECORDS, warmup=200, rate=4_000, keys=100, partitions=3))
    return measure_grid(spec, kafka_bootstrap).to_json()


def _python(result: dict, cell: str) -> dict:
    (run,) = next(c for c in result["cells"] if c["name"] == cell)["python"]["runs"]
    return run


def test_every_python_figure_is_present_and_plausible(tiny_grid: dict) -> None:
    assert [c["name"] for c in tiny_grid["cells"]] == ["baseline", "compression.type=lz4"]
    for cell in ("baseline", "compression.type=lz4"):
        run = _python(tiny_grid, cell)
        assert run["records"] == RECORDS and run["failed"] == 0 and run["first_error"] is None
        assert run["msgs_per_s"] > 0 and run["mb_per_s"] > 0
        lat = run["latency_ms"]
        assert 0 < lat["p50"] <= lat["p99"] <= lat["p99_9"] <= lat["max"]
        # librdkafka's txmsg_bytes counts key + value: 200-byte values, keys "0".."99" in turn.
        assert run["payload_bytes"] == RECORDS * 200 + (RECORDS // 100) * (10 * 1 + 90 * 2)
        assert run["wire_bytes"] > 0 and run["cpu_s"] > 0
        assert 1 <= run["produce_requests"] <= run["batches"]
        assert run["mean_batch_records"] * run["batches"] == pytest.approx(RECORDS, rel=0.01)


def test_compression_shows_in_the_ratio_and_the_bytes_on_the_wire(tiny_grid: dict) -> None:
    plain, lz4 = _python(tiny_grid, "baseline"), _python(tiny_grid, "compression.type=lz4")
    assert 0.8 < plain["compression_ratio"] < 1.0  # uncompressed: record framing costs a little
    assert lz4["compression_ratio"] > 1.2  # the json payload compresses
    assert lz4["wire_bytes"] < plain["wire_bytes"]


def test_the_perf_test_baseline_ran_at_the_same_settings(tiny_grid: dict) -> None:
    for cell in tiny_grid["cells"]:
        assert cell["errors"] == []
        (java,) = cell["perf_test"]["runs"]
        assert java["steady_state"] and java["records"] == RECORDS and java["msgs_per_s"] > 0
        lat = java["latency_ms"]
        assert lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["p99_9"] <= lat["max"]
        assert java["jvm_cpu_s"] > 0
        assert "batch.num.messages" not in cell["java_settings"]
        assert cell["python_over_java"]["msgs_per_s"] > 0


def test_the_run_topic_is_removed_afterwards(tiny_grid: dict, kafka_bootstrap: str) -> None:
    from adapters.kafka_broker import KafkaBroker

    assert tiny_grid["topic"] not in KafkaBroker(kafka_bootstrap).admin().list_topics()

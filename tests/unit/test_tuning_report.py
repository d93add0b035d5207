"""The HTML report and the terminal table of ``kafkalab tune``, from a grid result built offline."""

from __future__ import annotations

import json
import re

from rich.console import Console

from scenarios.tuning.grid import GridSpec
from scenarios.tuning.measure import CellResult, GridResult, meets_target
from scenarios.tuning.model import MODEL_LABEL, model_grid
from scenarios.tuning.report import render, write_report
from scenarios.tuning.table import measurement_table, model_table


def _figures(rate: float, p99: float, ratio: float) -> dict:
    return {"records": 1000, "msgs_per_s": rate, "mb_per_s": rate * 200 / 2**20,
            "latency_ms": {"p50": p99 / 4, "p99": p99, "p99_9": p99 * 1.2, "avg": p99 / 3, "max": p99 * 2},
            "wire_bytes_per_record": 210 / ratio, "compression_ratio": ratio, "mean_batch_records": 20.0,
            "produce_requests": 50, "cpu_s": 0.2, "cpu_pct": 15.0, "first_error": None}


def _java(rate: float, p99: float) -> dict:
    return {"records": 1000, "steady_state": True, "msgs_per_s": rate, "mb_per_s": 1.9,
            "latency_ms": {"avg": 3.0, "max": 9.0, "p50": 2.0, "p95": 5.0, "p99": p99, "p99_9": p99 + 1}}


def _result() -> dict:
    spec = GridSpec(vary={"compression": ["lz4"]}, runs=2)
    base, lz4 = (CellResult(c) for c in spec.cells())
    base.python_runs = [_figures(9_000, 8.0, 0.95), _figures(9_500, 6.0, 0.95)]
    base.perf_runs = [_java(10_000, 5.0)]
    lz4.python_runs = [_figures(9_800, 7.0, 2.4), _figures(9_900, 9.0, 2.5)]
    lz4.errors = ["kafka-producer-perf-test exited with 1: </script><b>boom"]
    return GridResult(spec, "localhost:1", "kl-tune-x", [base, lz4], "2.16.0", started_at=0.0).to_json()


def test_a_measured_report_inlines_chart_js_and_its_charts_as_data(tmp_path) -> None:
    page = write_report(_result(), tmp_path / "r" / "tune.html").read_text()
    assert "Chart.js v4" in page and "<script src" not in page  # works offline
    assert "sourceMappingURL" not in page
    specs = json.loads(re.search(r'<script type="application/json" id="specs">(.*?)</script>', page, re.S).group(1))
    scatter = specs[0]["config"]
    assert scatter["type"] == "scatter"
    base, lz4 = scatter["data"]["datasets"]
    assert base["label"] == "baseline" and base["pointStyle"] == ["circle", "triangle"]
    assert base["data"][1] == {"x": 10_000.0, "y": 5.0, "cell": "baseline", "client": "Java"}
    assert [p["client"] for p in lz4["data"]] == ["Python"]  # its perf-test failed
    codecs = specs[1]["config"]["data"]
    assert codecs["labels"] == ["baseline", "compression.type=lz4"]
    assert codecs["datasets"][1]["data"] == [0.95, 2.45]


def test_a_model_report_says_it_is_a_model() -> None:
    spec = GridSpec(vary={"linger_ms": [50]})
    page = render(model_grid(spec.cells(), spec.workload))
    assert page.count(MODEL_LABEL) >= 3
    assert "measured on a real broker" not in page


def test_the_table_shows_medians_spreads_and_the_java_baseline() -> None:
    console = Console(width=250, record=True)
    console.print(measurement_table(_result()))
    text = console.export_text()
    assert "9,250" in text and "9,000–9,500" in text  # median msgs/s, then the spread
    assert "10,000" in text and "0.93" in text  # Java msgs/s and python ÷ java
    assert "kafka-producer-perf-test exite" in text  # the cell whose perf-test failed says why


def test_the_model_table_carries_the_label() -> None:
    spec = GridSpec()
    console = Console(width=250, record=True)
    console.print(model_table(model_grid(spec.cells(), spec.workload)))
    assert MODEL_LABEL in console.export_text()


def test_meets_target_needs_throughput_and_p99_at_once() -> None:
    spec = GridSpec(runs=1)
    cell = CellResult(spec.cells()[0], python_runs=[_figures(9_000, 8.0, 1.0)])
    assert meets_target(cell, min_msgs_per_s=8_000, max_p99_ms=10)[0]
    ok, why = meets_target(cell, min_msgs_per_s=8_000, max_p99_ms=5)
    assert not ok and "p99 8.0 ms (needs ≤ 5)" in why


def test_a_perf_test_above_the_offered_rate_is_flagged_as_catching_up() -> None:
    from scenarios.tuning.grid import Workload
    from scenarios.tuning.measure import catch_up_warning

    assert catch_up_warning(Workload(rate=10_000), {"msgs_per_s": 10_300}) is None
    assert "catching up" in catch_up_warning(Workload(rate=10_000), {"msgs_per_s": 18_000})
    assert catch_up_warning(Workload(rate=None), {"msgs_per_s": 90_000}) is None


def test_the_report_opens_in_a_real_browser_and_draws_every_chart(tmp_path) -> None:
    from tests import console_flow

    result = _result()
    path = write_report(result, tmp_path / "tune.html")
    with console_flow.chromium() as browser:
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(path.as_uri())
        page.wait_for_function("document.querySelectorAll('#charts canvas').length > 0", timeout=10_000)
        drawn = page.evaluate("""() => [...document.querySelectorAll('#charts canvas')].map(c => {
            const chart = Chart.getChart(c);
            return {type: chart.config.type, points: chart.data.datasets.reduce((n, d) => n + d.data.length, 0),
                    width: c.width, height: c.height};
        })""")
        rows = page.locator("table tr").count()
        page.close()
    assert errors == []
    assert [d["type"] for d in drawn][0] == "scatter" and len(drawn) >= 2
    assert all(d["points"] > 0 and d["width"] > 0 and d["height"] > 0 for d in drawn), drawn
    assert rows == 1 + len(result["cells"])  # a header, then a row per cell

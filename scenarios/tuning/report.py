"""The HTML report of ``kafkalab tune --html FILE``: one self-contained page that works offline.

Charts are drawn by Chart.js, vendored in ``scenarios/assets/vendor/`` and inlined into the page, so
the file opens anywhere without a network. The chart configurations are built here, as plain data.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from scenarios.tuning.model import MODEL_LABEL
from scenarios.tuning.summary import medians

PYTHON_COLOUR, MODEL_COLOUR, GREY = "#1f77b4", "#9467bd", "#7f7f7f"
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
           "#393b79", "#637939", "#843c39", "#7b4173", "#3182bd")


def chart_js() -> str:
    source = resources.files("scenarios").joinpath("assets/vendor/chart.umd.min.js").read_text(encoding="utf-8")
    # The source map is not shipped; drop its pointer so a browser's devtools do not go looking.
    return "\n".join(line for line in source.splitlines() if not line.startswith("//# sourceMappingURL="))


def _axis(title: str, *, log: bool = False) -> dict[str, Any]:
    return {"type": "logarithmic" if log else "linear", "title": {"display": True, "text": title}}


def _chart(kind: str, title: str, data: dict[str, Any], scales: dict[str, Any]) -> dict[str, Any]:
    return {"title": title, "config": {"type": kind, "data": data, "options": {
        "maintainAspectRatio": False, "scales": scales,
        "plugins": {"title": {"display": True, "text": title}, "legend": {"position": "bottom"}}}}}


def _bars(title: str, labels: list[str], series: list[tuple[str, list[float | None], str, str]],
          scales: dict[str, Any]) -> dict[str, Any]:
    datasets = [{"label": name, "data": values, "backgroundColor": colour, "yAxisID": axis}
                for name, values, colour, axis in series]
    return _chart("bar", title, {"labels": labels, "datasets": datasets}, scales)


def measurement_charts(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    cells = result["cells"]
    py = {c["name"]: medians(c["python"]["summary"]) for c in cells}
    java = {c["name"]: medians(c["perf_test"]["summary"]) for c in cells}

    # One dataset per cell, so the legend names every point: ● the Python client, ▲ the Java perf-test.
    datasets = []
    for i, name in enumerate(py):
        pts = [({"x": src[name]["msgs_per_s"], "y": src[name]["latency_ms.p99"], "cell": name, "client": who}, style)
               for src, who, style in ((py, "Python", "circle"), (java, "Java", "triangle"))
               if "msgs_per_s" in src.get(name, {}) and "latency_ms.p99" in src.get(name, {})]
        colour = PALETTE[i % len(PALETTE)]
        datasets.append({"label": name, "data": [p for p, _ in pts], "pointStyle": [s for _, s in pts],
                         "backgroundColor": colour, "borderColor": colour, "pointRadius": 6})
    scatter = _chart("scatter", "Throughput vs p99 latency per setting (medians): ● Python client, ▲ Java perf-test",
                     {"datasets": datasets},
                     {"x": _axis("records/s"), "y": _axis("p99 produce→ack latency (ms)", log=True)})
    codec_cells = [c["name"] for c in cells if not c["changed"] or set(c["changed"]) == {"compression.type"}]
    codecs = _bars("Bytes on the wire and compression, per codec (Python client)", codec_cells, [
        ("wire bytes per record", [py[n].get("wire_bytes_per_record") for n in codec_cells], PYTHON_COLOUR, "y"),
        ("compression ratio (key+value ÷ batch bytes)", [py[n].get("compression_ratio") for n in codec_cells],
         GREY, "y1"),
    ], {"y": _axis("bytes per record"), "y1": {**_axis("ratio"), "position": "right", "grid": {"drawOnChartArea": False}}})
    names = [c["name"] for c in cells]
    batching = _bars("Batching per setting (librdkafka statistics)", names, [
        ("records per batch", [py[n].get("mean_batch_records") for n in names], PYTHON_COLOUR, "y"),
        ("ProduceRequests", [py[n].get("produce_requests") for n in names], GREY, "y1"),
    ], {"y": _axis("records per batch", log=True),
        "y1": {**_axis("requests", log=True), "position": "right", "grid": {"drawOnChartArea": False}}})
    cpu = _bars("CPU per 10k records (Python process, during the run)", names, [
        ("CPU ms per 10k records", [_cpu_per_10k(py[n]) for n in names], PYTHON_COLOUR, "y"),
    ], {"y": _axis("CPU ms")})
    return [scatter, codecs, batching, cpu]


def _cpu_per_10k(figures: Mapping[str, float]) -> float | None:
    if not figures.get("records"):
        return None
    return round(figures["cpu_s"] * 1000 * 10_000 / figures["records"], 1)


def model_charts(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    cells = result["cells"]
    names = [c["name"] for c in cells]
    p = {c["name"]: c["prediction"] for c in cells}
    batching = _bars(f"Records per batch and requests — {MODEL_LABEL}", names, [
        ("records per batch", [p[n]["records_per_batch"] for n in names], MODEL_COLOUR, "y"),
        ("requests per 10k records", [p[n]["requests_per_10k_records"] for n in names], GREY, "y1"),
    ], {"y": _axis("records per batch", log=True),
        "y1": {**_axis("requests", log=True), "position": "right", "grid": {"drawOnChartArea": False}}})
    wire = _bars(f"Bytes on the wire per record — {MODEL_LABEL}", names, [
        ("wire bytes per record", [p[n]["wire_bytes_per_record"] for n in names], MODEL_COLOUR, "y"),
    ], {"y": _axis("bytes per record")})
    return [batching, wire]


def _cell_text(summary: Mapping[str, Mapping[str, Any]], name: str) -> str:
    s = summary.get(name)
    if not s:
        return "–"
    text = _short(s["median"])
    if s["n"] > 1:
        text += f'<br><span class="spread">{_short(s["min"])}–{_short(s["max"])}</span>'
    return text


def _short(value: float) -> str:
    """Three significant figures or the whole number, whichever is longer: 0.94, 21.6, 9,996."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


MEASURED_COLUMNS = (("msgs/s", "msgs_per_s"), ("MiB/s", "mb_per_s"), ("p50 ms", "latency_ms.p50"),
                    ("p99 ms", "latency_ms.p99"), ("p99.9 ms", "latency_ms.p99_9"),
                    ("wire B/rec", "wire_bytes_per_record"), ("compr.", "compression_ratio"),
                    ("rec/batch", "mean_batch_records"), ("requests", "produce_requests"), ("CPU %", "cpu_pct"))
JAVA_COLUMNS = (("Java msgs/s", "msgs_per_s"), ("Java p50", "latency_ms.p50"), ("Java p99", "latency_ms.p99"),
                ("Java p99.9", "latency_ms.p99_9"))


def measurement_table_html(result: Mapping[str, Any]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h, _ in (("cell", ""), *MEASURED_COLUMNS, *JAVA_COLUMNS))
    rows = []
    for c in result["cells"]:
        py, java = c["python"]["summary"], c["perf_test"]["summary"]
        cols = [_cell_text(py, key) for _, key in MEASURED_COLUMNS] + [_cell_text(java, key) for _, key in JAVA_COLUMNS]
        rows.append(f"<tr><td>{html.escape(c['name'])}</td>" + "".join(f"<td>{v}</td>" for v in cols) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def model_table_html(result: Mapping[str, Any]) -> str:
    keys = ("records_per_batch", "limited_by", "requests_per_s", "requests_per_10k_records", "batch_bytes_on_wire",
            "wire_bytes_per_record", "compression_ratio")
    head = "".join(f"<th>{html.escape(k.replace('_', ' '))}</th>" for k in ("cell", *keys, "ack p99 ms (est.)"))
    rows = []
    for c in result["cells"]:
        p = c["prediction"]
        ack = p["ack_latency_ms"]["p99"] if p["ack_latency_ms"] else "–"
        cols = [html.escape(str("–" if p[k] is None else p[k])) for k in keys] + [str(ack)]
        rows.append(f"<tr><td>{html.escape(c['name'])}</td>" + "".join(f"<td>{v}</td>" for v in cols) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def render(result: Mapping[str, Any]) -> str:
    is_model = result.get("kind") == "model"
    w = result["workload"]
    rate = "unlimited rate" if w["rate"] is None else f"{w['rate']:g} records/s"
    subtitle = (f"{w['record_size']} B {w['payload']} records, {w['keys']} keys, {w['partitions']} partitions, {rate}")
    if is_model:
        title, kind, specs, table = "Producer batching (model)", MODEL_LABEL, model_charts(result), model_table_html(result)
        notes = [f"{MODEL_LABEL}: see docs/producer-tuning-model.md. Assumptions: {json.dumps(result['assumptions'])}"]
    else:
        title, kind = "Producer tuning, measured", "measured on a real broker"
        specs, table = measurement_charts(result), measurement_table_html(result)
        subtitle += f", {result['runs_per_cell']} run(s) per cell, {result['started_at']}"
        notes = list(result.get("notes", [])) + [f"skipped: {x}" for x in result.get("skipped", [])]
        notes += [f"{c['name']}: {w}" for c in result["cells"] for w in c.get("warnings", [])]
    page = resources.files("scenarios.tuning").joinpath("report.html").read_text(encoding="utf-8")
    replacements = {
        "__TITLE__": html.escape(title),
        "__KIND__": html.escape(kind),
        "__SUBTITLE__": html.escape(subtitle),
        "__TABLE__": table,
        "__NOTES__": "".join(f"<li>{html.escape(n)}</li>" for n in notes),
        "__SPECS__": json.dumps(specs).replace("<", "\\u003c"),
        "__CHART_JS__": chart_js(),
    }
    for marker, value in replacements.items():
        page = page.replace(marker, value)
    return page


def write_report(result: Mapping[str, Any], path: str | Path) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(result), encoding="utf-8")
    return target

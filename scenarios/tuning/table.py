"""Terminal output of ``kafkalab tune``: a progress bar while the grid runs, then one rich table."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from scenarios.tuning.grid import show
from scenarios.tuning.model import MODEL_LABEL
from scenarios.tuning.summary import medians


@contextmanager
def progress_bar(console: Console, title: str) -> Iterator[Any]:
    """Yields ``on_step(done, total, label)`` for ``measure_grid``; the bar goes to ``console`` when it is
    a terminal (piped or captured, a bar would only leave an empty line behind)."""
    if not console.is_terminal:
        yield lambda _done, _total, _label: None
        return
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), TextColumn("{task.fields[step]}"), console=console, transient=True)
    task = progress.add_task(title, total=None, step="")

    def on_step(done: int, total: int, label: str) -> None:
        progress.update(task, completed=done, total=total, step=label)

    with progress:
        yield on_step


def _num(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def _with_spread(summary: Mapping[str, Mapping[str, Any]], name: str, digits: int) -> str:
    s = summary.get(name)
    if not s:
        return "–"
    text = _num(s["median"], digits)
    if s["n"] > 1:
        text += f"\n[dim]{_num(s['min'], digits)}–{_num(s['max'], digits)}[/dim]"
    return text


def _java(java: Mapping[str, float], errors: list[str], name: str, digits: int) -> str:
    if name in java:
        return _num(java[name], digits)
    return f"[red]{errors[0][:40]}[/red]" if errors else "–"


def measurement_table(result: Mapping[str, Any]) -> Table:
    """The grid measured on the broker (``GridResult.to_json()``): medians, spreads below them."""
    w = result["workload"]
    rate = "unlimited" if w["rate"] is None else f"{show(w['rate'])} records/s"
    table = Table(title=f"Producer tuning, measured on {result['bootstrap']} — {w['records']:,} × {w['record_size']} B "
                        f"{w['payload']} records, {w['keys']} keys, {w['partitions']} partitions, {rate}, "
                        f"{result['runs_per_cell']} run(s) per cell (median, min–max below)",
                  show_lines=True)
    for header in ("cell", "msgs/s", "MiB/s", "p50 ms", "p99 ms", "p99.9 ms", "wire B/rec", "compr.",
                   "rec/batch", "requests", "CPU %", "Java msgs/s", "Java p99 ms", "py÷Java msgs/s"):
        table.add_column(header, justify="left" if header == "cell" else "right")
    for cell in result["cells"]:
        py = cell["python"]["summary"]
        java = medians(cell["perf_test"]["summary"])
        ratio = cell["python_over_java"].get("msgs_per_s")
        table.add_row(
            cell["name"],
            _with_spread(py, "msgs_per_s", 0),
            _with_spread(py, "mb_per_s", 2),
            _with_spread(py, "latency_ms.p50", 1),
            _with_spread(py, "latency_ms.p99", 1),
            _with_spread(py, "latency_ms.p99_9", 1),
            _with_spread(py, "wire_bytes_per_record", 1),
            _with_spread(py, "compression_ratio", 2),
            _with_spread(py, "mean_batch_records", 1),
            _with_spread(py, "produce_requests", 0),
            _with_spread(py, "cpu_pct", 0),
            _java(java, cell["errors"], "msgs_per_s", 0) + (" [yellow]*[/yellow]" if cell["warnings"] else ""),
            _java(java, [], "latency_ms.p99", 1),
            _num(ratio, 2) if ratio else "–",
        )
    return table


def model_table(result: Mapping[str, Any]) -> Table:
    """The same grid from the batch-formation model (``model_grid``), labelled as a model."""
    w = result["workload"]
    rate = "unlimited" if w["rate"] is None else f"{show(w['rate'])} records/s"
    a = result["assumptions"]
    table = Table(title=f"Producer batching — {MODEL_LABEL} — {w['record_size']} B records, {w['keys']} keys, "
                        f"{w['partitions']} partitions, {rate}, assumed round trip {show(a['rtt_ms'])} ms",
                  caption=f"{MODEL_LABEL}: steady arrivals, compression ratios are inputs "
                          "(docs/producer-tuning-model.md)")
    for header in ("cell", "rec/batch", "closed by", "requests/s", "requests/10k rec", "batch B on wire",
                   "wire B/rec", "compr. (input)", "wait mean ms", "ack p99 ms (est.)"):
        table.add_column(header, justify="left" if header in ("cell", "closed by") else "right")
    for cell in result["cells"]:
        p = cell["prediction"]
        delay, ack = p["batching_delay_ms"], p["ack_latency_ms"]
        table.add_row(
            cell["name"], _num(p["records_per_batch"], 1), p["limited_by"], _num(p["requests_per_s"], 0),
            _num(p["requests_per_10k_records"], 1), _num(p["batch_bytes_on_wire"], 0),
            _num(p["wire_bytes_per_record"], 1), _num(p["compression_ratio"], 2),
            _num(delay["mean"], 1) if delay else "–", _num(ack["p99"], 1) if ack else "–",
        )
    return table


def print_notes(console: Console, notes: list[str]) -> None:
    for note in notes:
        console.print(f"[dim]• {note}[/dim]")

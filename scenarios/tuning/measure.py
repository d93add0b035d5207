"""The grid runner, as a library: ``measure_grid`` runs every cell on a real broker, Python client and
``kafka-producer-perf-test`` side by side; ``meets_target`` is what a lab's check asks of a cell.

Runs are interleaved (run 1 of every cell, then run 2 of every cell, ...) so a noisy moment on a shared
machine spreads over the cells instead of spoiling one. Every grid gets its own topic, removed at the end.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scenarios.tuning.grid import (
    JAVA_DIFFERENCES_NOTE,
    LIBRDKAFKA_DEFAULTS_NOTE,
    Cell,
    GridSpec,
    Knobs,
    Workload,
)
from scenarios.tuning.payloads import keys, payloads, write_payload_file
from scenarios.tuning.perf_test import PerfTestError, perf_test_args, run_perf_test
from scenarios.tuning.summary import medians, summarise_runs

StepCallback = Callable[[int, int, str], None]  # (steps done, steps in all, what runs next)

MEASUREMENT_NOTES = (
    LIBRDKAFKA_DEFAULTS_NOTE,
    JAVA_DIFFERENCES_NOTE,
    "Latency is produce()→acknowledgement per record (librdkafka's Message.latency(); the perf-test's "
    "send()→callback). Unlimited rate: most of it is time queued in the client, not the broker.",
    "CPU: the Python figure is this process (our loop + librdkafka's threads) during the run; the Java "
    "figure is the whole JVM, start-up and JIT included.",
    "Measured on a shared machine: compare cells of the same run, not runs of different days.",
)


@dataclass
class CellResult:
    cell: Cell
    python_runs: list[dict[str, Any]] = field(default_factory=list)
    perf_runs: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def python(self) -> dict[str, float]:
        """Median of every Python-client figure."""
        return medians(summarise_runs(self.python_runs))

    @property
    def java(self) -> dict[str, float]:
        return medians(summarise_runs(self.perf_runs))

    def to_json(self, workload: Workload) -> dict[str, Any]:
        py, java = self.python, self.java
        ratio = {}
        for name in ("msgs_per_s", "latency_ms.p50", "latency_ms.p99", "latency_ms.p99_9"):
            if py.get(name) and java.get(name):
                ratio[name] = round(py[name] / java[name], 3)
        return {
            "name": self.cell.name,
            "changed": self.cell.changed,
            "librdkafka_settings": self.cell.knobs.librdkafka(),
            "java_settings": self.cell.knobs.java(),
            "python": {"runs": self.python_runs, "summary": summarise_runs(self.python_runs)},
            "perf_test": {"runs": self.perf_runs, "summary": summarise_runs(self.perf_runs)},
            "python_over_java": ratio,
            "errors": self.errors,
            "warnings": [w for w in (catch_up_warning(workload, java),) if w],
        }


@dataclass
class GridResult:
    spec: GridSpec
    bootstrap: str
    topic: str
    cells: list[CellResult]
    librdkafka_version: str
    started_at: float
    finished_at: float = 0.0
    load_before: tuple[float, ...] = ()
    load_after: tuple[float, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "measurement",
            "mode": "kafka",
            "bootstrap": self.bootstrap,
            "topic": self.topic,
            "librdkafka_version": self.librdkafka_version,
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.started_at)),
            "duration_s": round(self.finished_at - self.started_at, 1),
            "machine": {"cpus": os.cpu_count(), "load_before": list(self.load_before),
                        "load_after": list(self.load_after)},
            "workload": self.spec.workload.model_dump(),
            "base": self.spec.base.librdkafka(),
            "runs_per_cell": self.spec.runs,
            "perf_test_runs_per_cell": self.spec.perf_test_runs,
            "skipped": self.spec.skipped(),
            "notes": list(MEASUREMENT_NOTES),
            "cells": [c.to_json(self.spec.workload) for c in self.cells],
        }


def _plan(spec: GridSpec, cells: list[CellResult]) -> list[tuple[str, CellResult]]:
    steps = []
    for r in range(max(spec.runs, spec.perf_test_runs)):
        for c in cells:
            if r < spec.runs:
                steps.append(("python", c))
            if r < spec.perf_test_runs:
                steps.append(("perf-test", c))
    return steps


JAVA_WARMUP_S = 2.0
CATCH_UP_MARGIN = 1.05


def java_warmup(workload: Workload) -> int:
    """Records the perf-test sends before its steady state: at least two seconds' worth when rate-limited.

    Its throttle counts from its first send, so after a slow JVM start it sends faster than the offered
    rate until it has caught up; the warm-up keeps most of that catch-up out of the steady state.
    """
    return max(workload.warmup, int((workload.rate or 0) * JAVA_WARMUP_S))


def catch_up_warning(workload: Workload, java: dict[str, float]) -> str | None:
    """Say so when the perf-test's steady state still ran above the offered rate (it was catching up)."""
    rate = workload.rate
    if rate and java.get("msgs_per_s", 0.0) > CATCH_UP_MARGIN * rate:
        return (f"perf-test ran at {java['msgs_per_s']:,.0f} msgs/s, above the offered {rate:,.0f}: it was "
                "catching up after a slow JVM start, so its latency includes that burst")
    return None


def measure_python(bootstrap: str, topic: str, knobs: Knobs, workload: Workload,
                   values: list[bytes] | None = None) -> dict[str, Any]:
    """One run of the Python client at ``knobs``: the figures of ``ProducerRun``."""
    from adapters.kafka_tuning import ProduceLoad, run_producer

    load = ProduceLoad(topic=topic, payloads=values or payloads(workload.payload, workload.record_size),
                       keys=keys(workload.keys), records=workload.records, rate=workload.rate,
                       warmup=workload.warmup)
    return run_producer(bootstrap, knobs.librdkafka(), load).figures()


def measure_grid(spec: GridSpec, bootstrap: str, *, on_step: StepCallback | None = None,
                 keep_topic: bool = False) -> GridResult:
    """Every cell, ``spec.runs`` Python runs and ``spec.perf_test_runs`` perf-test runs each."""
    from adapters.kafka_tuning import librdkafka_version
    from scenarios import root
    from services.ports import TopicSpec

    workload = spec.workload
    topic = f"kl-tune-{uuid.uuid4().hex[:10]}"
    admin = root.kafka_broker(bootstrap, client_prefix="kafkalab-tune").admin()
    admin.create_topics([TopicSpec(topic, partitions=workload.partitions)])
    result = GridResult(spec, bootstrap, topic, [CellResult(c) for c in spec.cells()], librdkafka_version(),
                        started_at=time.time(), load_before=os.getloadavg())
    values = payloads(workload.payload, workload.record_size)
    steps = _plan(spec, result.cells)
    try:
        # A first, discarded run: the new topic's segments and the broker's code paths warm up here.
        measure_python(bootstrap, topic, spec.base, workload.model_copy(update={"records": 1_000}), values)
        with tempfile.TemporaryDirectory(prefix="kafkalab-tune-") as tmp:
            payload_file = write_payload_file(values, Path(tmp) / "payloads.txt")
            for done, (kind, cell) in enumerate(steps):
                if on_step:
                    on_step(done, len(steps), f"{kind}: {cell.cell.name}")
                if kind == "python":
                    cell.python_runs.append(measure_python(bootstrap, topic, cell.cell.knobs, workload, values))
                    continue
                args = perf_test_args(topic, cell.cell.knobs.java(), records=workload.records,
                                      warmup=java_warmup(workload), rate=workload.rate,
                                      payload_file=payload_file, keys=workload.keys)
                try:
                    cell.perf_runs.append(run_perf_test(bootstrap, args).figures())
                except PerfTestError as exc:
                    cell.errors.append(str(exc))
            if on_step:
                on_step(len(steps), len(steps), "done")
    finally:
        if not keep_topic:
            admin.delete_topics([topic])
    result.finished_at, result.load_after = time.time(), os.getloadavg()
    return result


def meets_target(cell: CellResult, *, min_msgs_per_s: float, max_p99_ms: float) -> tuple[bool, str]:
    """Did the cell's median run reach the throughput and stay under the p99 at the same time?"""
    py = cell.python
    rate, p99 = py.get("msgs_per_s", 0.0), py.get("latency_ms.p99", float("inf"))
    ok = rate >= min_msgs_per_s and p99 <= max_p99_ms
    verdict = "meets" if ok else "misses"
    return ok, (f"{cell.cell.name} {verdict} the target: {rate:,.0f} msgs/s (needs ≥ {min_msgs_per_s:,.0f}) "
                f"with p99 {p99:.1f} ms (needs ≤ {max_p99_ms:g})")

"""Kafka's own ``kafka-producer-perf-test`` (the Java client) at a cell's settings, for a side-by-side.

It runs from the broker's jars (``compose.tools``), reads the same payload file and sends the same keys
as the Python run, warms up the same number of records, and we read its steady-state summary line::

    20000 steady state records sent, 9993.5 records/sec (1.91 MB/sec), 3.10 ms avg latency,
    40.00 ms max latency, 2 ms 50th, 6 ms 95th, 12 ms 99th, 38 ms 99.9th.

Settings go in with ``--command-property``: Kafka 4.4 deprecates ``--producer-props`` for it.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compose.tools import build_command

TOOL = "kafka-producer-perf-test"

_NUMBER = r"([0-9]+(?:\.[0-9]+)?)"
_SUMMARY = re.compile(
    rf"^{_NUMBER} (steady state )?records sent, {_NUMBER} records/sec \({_NUMBER} MB/sec\), "
    rf"{_NUMBER} ms avg latency, {_NUMBER} ms max latency, {_NUMBER} ms 50th, {_NUMBER} ms 95th, "
    rf"{_NUMBER} ms 99th, {_NUMBER} ms 99\.9th\.$"
)


class PerfTestError(RuntimeError):
    """The tool did not run or printed no summary; the message carries its last line."""


@dataclass(frozen=True, slots=True)
class PerfTestSummary:
    records: int
    steady_state: bool
    msgs_per_s: float
    mb_per_s: float
    latency_ms: dict[str, float]

    def figures(self) -> dict[str, Any]:
        return {"records": self.records, "steady_state": self.steady_state, "msgs_per_s": self.msgs_per_s,
                "mb_per_s": self.mb_per_s, "latency_ms": self.latency_ms}


def parse_summary(output: str) -> PerfTestSummary:
    """The steady-state summary when there is one (``--warmup-records``), else the whole-run summary."""
    found: dict[bool, PerfTestSummary] = {}
    for line in output.splitlines():
        match = _SUMMARY.match(line.strip())
        if not match:
            continue
        g = match.groups()
        steady = g[1] is not None
        found[steady] = PerfTestSummary(
            records=int(float(g[0])),
            steady_state=steady,
            msgs_per_s=float(g[2]),
            mb_per_s=float(g[3]),
            latency_ms={"avg": float(g[4]), "max": float(g[5]), "p50": float(g[6]), "p95": float(g[7]),
                        "p99": float(g[8]), "p99_9": float(g[9])},
        )
    if not found:
        last = next((line for line in reversed(output.strip().splitlines()) if line.strip()), "no output")
        raise PerfTestError(f"{TOOL} printed no summary line (last line: {last.strip()[:200]})")
    return found.get(True) or found[False]


def perf_test_args(topic: str, props: Mapping[str, str], *, records: int, warmup: int, rate: float | None,
                   payload_file: Path, keys: int) -> list[str]:
    args = [
        "--topic", topic,
        "--num-records", str(records + warmup),
        "--throughput", str(int(rate)) if rate else "-1",
        "--payload-file", str(payload_file),
        "--reporting-interval", "3600000",  # only the summaries
    ]
    if warmup:
        args += ["--warmup-records", str(warmup)]
    if keys:
        args += ["--key-distribution", "range", "--record-key-range", str(keys)]
    args += ["--command-property", *(f"{k}={v}" for k, v in props.items())]
    return args


@dataclass(frozen=True, slots=True)
class PerfTestRun:
    summary: PerfTestSummary
    wall_s: float
    cpu_s: float  # the whole JVM: start-up and JIT included

    def figures(self) -> dict[str, Any]:
        return {**self.summary.figures(), "jvm_wall_s": round(self.wall_s, 3), "jvm_cpu_s": round(self.cpu_s, 3)}


def run_perf_test(bootstrap: str, args: list[str], *, timeout_s: float = 300.0) -> PerfTestRun:
    command = build_command(TOOL, args, bootstrap)
    cpu0, start = _children_cpu_s(), time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise PerfTestError(f"{TOOL} did not finish within {timeout_s:g}s") from None
    # communicate() reaped the JVM, so its CPU time is now in this process's children's total.
    wall, cpu = time.perf_counter() - start, _children_cpu_s() - cpu0
    if proc.returncode != 0:
        last = next((ln for ln in reversed(output.strip().splitlines()) if ln.strip()), "no output")
        raise PerfTestError(f"{TOOL} exited with {proc.returncode}: {last.strip()[:200]}")
    return PerfTestRun(parse_summary(output), wall, cpu)


def _children_cpu_s() -> float:
    usage = os.times()
    return usage.children_user + usage.children_system

"""A local broker's start, before and after compose/fastboot.py, side by side: prints figures, asserts nothing.

Run as ``python -m tests.bench_broker_start [--rounds 3] [--port-offset 3100]``. Each round starts one
single-node broker per profile on a fresh data dir, in turn (so a loaded machine weighs on each alike):

* ``format+G1``: KAFKALAB_FAST_BOOT=0, what every start did before (a format JVM, C2 and G1, no archive);
* ``fast, long-running``: the storage template and the class archive (the shared broker's profile);
* ``fast, short-lived``: the same plus C1 and the serial GC (the startup-race lab's private brokers).

Per start: seconds until the broker listens, until it is ready (metadata and the group coordinator),
the CPU seconds the format JVM and the broker had used by then, and the seconds ``down`` took. The first
fast start of a machine also builds the template and the archive: run once before measuring.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

from adapters import kafka_readiness as readiness
from compose import launcher, processes
from compose.config import DataDir
from compose.topology import bootstrap_servers, cluster_nodes

PROFILES = {"format+G1": ("0", False), "fast, long-running": ("1", False), "fast, short-lived": ("1", True)}


def one_start(offset: int, fast: str, short_lived: bool) -> dict[str, float]:
    os.environ["KAFKALAB_FAST_BOOT"] = fast
    data = DataDir(Path(tempfile.mkdtemp(prefix="kafkalab-bench-start-")))
    port = cluster_nodes(1, offset)[0].port("EXTERNAL")
    children = _children_cpu()
    started = time.monotonic()
    try:
        launcher.up(1, wait=False, data=data, port_offset=offset, short_lived=short_lived)
        while not processes.port_in_use(port) and time.monotonic() - started < 300:
            time.sleep(0.02)  # polling the port, bounded above
        listen = time.monotonic() - started
        ready = readiness.wait_until_ready(bootstrap_servers(1, offset), 1, timeout=300)
        ready_s = time.monotonic() - started
        pid = processes.read_pid(data.node(1).pid_file)
        cpu = _process_cpu(pid) + _children_cpu() - children
        stopping = time.monotonic()
    finally:
        launcher.down(data=data, wipe=True)
    return {"listen": listen, "ready": ready_s if ready.ready else float("nan"), "cpu": cpu,
            "stop": time.monotonic() - stopping}


def _process_cpu(pid: int | None) -> float:
    if not pid:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port-offset", type=int, default=3100)
    args = parser.parse_args()
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in PROFILES}
    for round_no in range(args.rounds):
        for name, (fast, short_lived) in PROFILES.items():
            figures = one_start(args.port_offset, fast, short_lived)
            runs[name].append(figures)
            print(f"round {round_no + 1} {name:20s} " + "  ".join(f"{k} {v:5.1f}s" for k, v in figures.items()),
                  flush=True)
    print(f"\nmedians of {args.rounds} rounds (load average now {os.getloadavg()[0]:.1f}):")
    base = {k: statistics.median(r[k] for r in runs["format+G1"]) for k in ("listen", "ready", "cpu", "stop")}
    for name, figures in runs.items():
        med = {k: statistics.median(r[k] for r in figures) for k in base}
        print(f"  {name:20s} " + "  ".join(f"{k} {med[k]:5.1f}s (x{base[k] / med[k]:.2f})" for k in base))


if __name__ == "__main__":
    main()

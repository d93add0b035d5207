"""Simulator throughput: records produced and consumed per second, trace on.

Run as ``python -m tests.bench``; prints figures, asserts nothing. On a shared machine compare, not
trust, absolute figures: ``python -m tests.bench --baseline DIR`` runs this checkout and the one in
DIR (e.g. ``git worktree add /tmp/base <commit>``) alternately, each in a fresh process, and prints
the medians and their ratio.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from services.ports import ConsumerConfig, ProducerConfig
from sim import World


def run(records: int, partitions: int, consumers: int, batch: int, keys: int) -> dict:
    world = World(seed=1, trace=True)
    world.create_topic("bench", partitions)
    producer = world.producer(ProducerConfig(client_id="bench-producer", enable_idempotence=True))
    key_pool = [f"customer-{i}".encode() for i in range(keys)]
    payload = b"x" * 100
    sent = consumed = 0

    def produce_step() -> int:
        nonlocal sent
        if sent >= records:
            return 0
        n = min(batch, records - sent)
        for i in range(sent, sent + n):
            producer.produce("bench", payload, key=key_pool[i % keys] if i % 2 else None)
        producer.flush()
        sent += n
        return n

    world.spawn("producer", produce_step, period_ms=1)
    for c in range(consumers):
        consumer = world.consumer(ConsumerConfig(group_id="bench-group", client_id=f"bench-consumer-{c}"))
        consumer.subscribe(["bench"])

        def consume_step(consumer=consumer) -> int:
            nonlocal consumed
            got = consumer.poll(batch)
            if got:
                consumer.commit()
                consumed += len(got)
            return len(got)

        world.spawn(f"consumer-{c}", consume_step, period_ms=1)
    started, cpu_started = time.perf_counter(), time.process_time()
    steps = world.run_until_idle(max_steps=10_000_000)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return {"records": records, "consumed": consumed, "steps": steps, "seconds": elapsed, "cpu_seconds": cpu,
            "trace_lines": len(world.trace.lines()), "sha256": world.trace.sha256()[:16]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--consumers", type=int, default=3)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--keys", type=int, default=1_000)
    parser.add_argument("--baseline", type=Path, default=None, help="another checkout to compare with")
    parser.add_argument("--rounds", type=int, default=5, help="with --baseline: runs of each, alternating")
    args = parser.parse_args()
    if args.baseline is not None:
        compare(args.baseline, args.rounds, args.records)
        return
    r = run(args.records, args.partitions, args.consumers, args.batch, args.keys)
    # CPU time is the honest single-core figure on a shared machine; wall time is shown too.
    print(f"sim throughput: {r['records']:,} records produced and {r['consumed']:,} consumed "
          f"({args.partitions} partitions, {args.consumers} consumers, batches of {args.batch}, trace on)")
    print(f"  {r['records'] / r['cpu_seconds']:,.0f} records/s per CPU second ({r['cpu_seconds']:.2f} s CPU); "
          f"{r['records'] / r['seconds']:,.0f} records/s wall ({r['seconds']:.2f} s)")
    print(f"  {r['steps']:,} scheduler steps, {r['trace_lines']:,} trace lines, trace sha256 {r['sha256']}")


_FIGURE = re.compile(r"([\d,]+) records/s per CPU second")


def _one_run(checkout: Path, records: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    out = subprocess.run([sys.executable, "-m", "tests.bench", "--records", str(records)], cwd=checkout, env=env,
                         capture_output=True, text=True, check=True).stdout
    return float(_FIGURE.search(out).group(1).replace(",", ""))


def compare(baseline: Path, rounds: int, records: int) -> None:
    here = Path(__file__).resolve().parents[1]
    ours, theirs = [], []
    for _ in range(rounds):
        theirs.append(_one_run(baseline.resolve(), records))
        ours.append(_one_run(here, records))
    a, b = statistics.median(ours), statistics.median(theirs)
    print(f"this checkout: median {a:,.0f} records/s per CPU second over {rounds} runs ({min(ours):,.0f}..{max(ours):,.0f})")
    print(f"baseline {baseline}: median {b:,.0f} ({min(theirs):,.0f}..{max(theirs):,.0f})")
    print(f"ratio this/baseline: {a / b:.3f} (per-round ratios: "
          f"{', '.join(f'{x / y:.2f}' for x, y in zip(ours, theirs, strict=True))})")


if __name__ == "__main__":
    main()

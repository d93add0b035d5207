"""The order API's HTTP stack alone: CPU per ``POST /orders`` and requests/s, event loop against event loop.

Run as ``python -m tests.bench_kafka_http`` (or the ``http`` phase of ``tests.bench_kafka``); prints
figures, asserts nothing. Each variant is the real server (``scenarios.web.server.serve_in_thread``:
uvicorn, the guarded h11 protocol, the app's middlewares and validation) in a process of its own over
an in-memory store, so what is measured is the HTTP side of the order process, not PostgreSQL or
Kafka. Every variant runs once per round, the order rotating from round to round, after a warm-up;
figures are medians of the rounds with the spread. ``--clients`` keep-alive connections send POSTs
for ``--seconds``; the server process's CPU (``/proc/<pid>/stat``) divided by the requests answered is
its CPU per order. One client sending one request at a time gives the latency at rest.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

VARIANTS = ("asyncio", "uvloop")


def _tick() -> int:
    import os

    return os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / _tick()


def serve(loop: str) -> None:
    """The child: serve the order API with ``loop`` on a free port, print the port, run until stdin closes."""
    from adapters.memory_store import MemoryStore
    from scenarios import root
    from scenarios.web.endpoints import OrderApiEndpoints
    from scenarios.web.server import serve_in_thread
    from services.order_api import OrderApi

    api = OrderApi(MemoryStore(), root.wall_clock(), root.random_ids())
    server = serve_in_thread(OrderApiEndpoints(api), "127.0.0.1", 0, loop=loop)
    print(server.port, flush=True)
    sys.stdin.read()
    server.close()


def _body(n: int) -> str:
    return json.dumps({"customerId": f"cust_http_{n}", "productId": "prod_123", "quantity": 1, "amount": 10})


def drive(port: int, clients: int, seconds: float) -> int:
    """POSTs answered with 201 by ``clients`` keep-alive connections within ``seconds``."""
    done = [0] * clients
    stop = time.monotonic() + seconds

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        body = _body(n)
        while time.monotonic() < stop:
            conn.request("POST", "/orders", body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            done[n] += response.status == 201
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done)


def latency_ms(port: int, n: int) -> float:
    """p50 of ``n`` POSTs sent one at a time on one connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    times = []
    for _ in range(n):
        began = time.perf_counter()
        conn.request("POST", "/orders", _body(0), {"Content-Type": "application/json"})
        conn.getresponse().read()
        times.append((time.perf_counter() - began) * 1000)
    conn.close()
    return statistics.median(times)


def measure(clients: int = 8, seconds: float = 5.0, rounds: int = 3) -> dict[str, dict[str, float]]:
    children = {}
    try:
        for loop in VARIANTS:
            child = subprocess.Popen([sys.executable, "-m", "tests.bench_kafka_http", "--serve", loop],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            children[loop] = (child, int(child.stdout.readline()))  # type: ignore[union-attr]
        for _child, port in children.values():
            drive(port, clients, 1.0)  # warm-up
        runs: dict[str, list[tuple[float, float, float]]] = {loop: [] for loop in VARIANTS}
        for i in range(rounds):
            order = VARIANTS[i % len(VARIANTS):] + VARIANTS[:i % len(VARIANTS)]
            for loop in order:
                child, port = children[loop]
                cpu, began = cpu_seconds(child.pid), time.monotonic()
                answered = drive(port, clients, seconds)
                wall = time.monotonic() - began
                used = cpu_seconds(child.pid) - cpu
                runs[loop].append((used / max(1, answered) * 1e6, answered / wall, latency_ms(port, 50)))
    finally:
        for child, _port in children.values():
            child.stdin.close()  # type: ignore[union-attr]
            child.wait(timeout=30)
    out = {}
    for loop, side in runs.items():
        cpu_us = [r[0] for r in side]
        out[loop] = {"cpu_us": statistics.median(cpu_us), "cpu_min": min(cpu_us), "cpu_max": max(cpu_us),
                     "rate": statistics.median(r[1] for r in side), "p50_ms": statistics.median(r[2] for r in side)}
    return out


def report(r: dict[str, dict[str, float]]) -> str:
    base = r["asyncio"]["cpu_us"]
    lines = []
    for loop, s in r.items():
        lines.append(f"  {loop:<8} {s['cpu_us']:6.0f} us CPU per POST ({s['cpu_min']:.0f}-{s['cpu_max']:.0f}), "
                     f"{s['rate']:6,.0f} POST/s, one at a time p50 {s['p50_ms']:.1f} ms"
                     + (f"   CPU {s['cpu_us'] / base:.2f}x asyncio's" if loop != "asyncio" else ""))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--serve", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    print(f"order API, HTTP stack only (in-memory store), {args.clients} clients, median of {args.rounds} rounds:")
    print(report(measure(args.clients, args.seconds, args.rounds)))


if __name__ == "__main__":
    main()

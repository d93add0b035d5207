"""The shop at Kafka speed: the HTTP API driven by concurrent clients, sagas timed by the services.

Run as ``python -m tests.bench_kafka`` (or ``tox -e bench-kafka``). It uses the broker at
``--bootstrap``/``KAFKA_BOOTSTRAP`` or starts the local one, and PostgreSQL (``DATABASE_URL`` or the
local server); starts the three services as processes (``kafkalab up`` with its own prefix, port
and state directory), then prints, per phase:

- ``single``: one order at a time at rest (POST, wait until it is final, next);
- ``rate``: a fixed offered rate (open loop: clients send on a schedule, not when answered);
- ``saturate``: ``--clients`` closed-loop clients for ``--seconds``.

accepted/s (201s per second of the phase), completed/s (orders of the phase that reached COMPLETED
within the phase, per second), p50/p90/p99 of the end-to-end time from the order's ``created_ms``
(stamped by the order service when it accepted the order) to its ``updated_ms`` (stamped by the
order service when the outcome arrived), the CPU seconds each service process, the broker and this
load generator used, then the adapter-vs-raw confluent-kafka ratios (``tests.bench_kafka_clients``)
measured in the same run, the HTTP stack's CPU per order on asyncio's loop and on uvloop
(``tests.bench_kafka_http``), then the time until every group consumes again after kill -9 of a broker
(``tests.bench_kafka_recovery``: a private broker and stack of its own, since it kills the broker).
Figures are printed; nothing is asserted.

``--profile`` samples every service process with py-spy (``pip install py-spy``) during the
saturation phase twice over, idle threads included (where the time goes: waits on the broker,
PostgreSQL, a lock) and holding the GIL only (where the CPU goes), and prints per thread where its
samples were: the innermost frame of this project's code and what it called. That is what bounds
a figure that misses its target.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.ports import OrderStatus

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / TICK, sum(values) / TICK


@dataclass
class Phase:
    name: str
    began_ms: int = 0
    ended_ms: int = 0
    ids: list[str] = field(default_factory=list)
    refused: int = 0
    cpu: dict[str, float] = field(default_factory=dict)
    busy: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def seconds(self) -> float:
        return max(1e-9, (self.ended_ms - self.began_ms) / 1000)


class Client:
    """One keep-alive connection placing orders."""

    def __init__(self, port: int, n: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.n = n

    def place(self, i: int) -> str | None:
        body = json.dumps({"customerId": f"cust_bench_{self.n}", "productId": f"prod_load_{i % 10:02d}",
                           "quantity": 1, "amount": 10 + i % 50})
        try:
            self.conn.request("POST", "/orders", body, {"Content-Type": "application/json"})
            response = self.conn.getresponse()
            answer = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            return None
        return json.loads(answer)["orderId"] if response.status == 201 else None

    def status(self, order_id: str) -> str | None:
        try:
            self.conn.request("GET", f"/orders/{order_id}")
            response = self.conn.getresponse()
            answer = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            return None
        return json.loads(answer).get("status") if response.status == 200 else None


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.pids: dict[str, int] = {}

    # ------------------------------------------------------------ phases

    def run_phase(self, phase: Phase, body: Any) -> Phase:
        before = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        load_before = sum(os.times()[:2])
        busy_before, total_before = machine_busy()
        phase.began_ms = now_ms()
        body(phase)
        phase.ended_ms = now_ms()
        phase.cpu = {name: cpu_seconds(pid) - before[name] for name, pid in self.pids.items()}
        phase.cpu["load generator"] = sum(os.times()[:2]) - load_before
        busy_after, total_after = machine_busy()
        phase.busy = (busy_after - busy_before) / max(1e-9, total_after - total_before)
        return phase

    def single(self, phase: Phase) -> None:
        client = Client(self.args.port, 0)
        for i in range(self.args.single):
            order_id = client.place(i)
            if order_id is None:
                phase.refused += 1
                continue
            phase.ids.append(order_id)
            deadline = time.monotonic() + 10
            while client.status(order_id) == "PENDING" and time.monotonic() < deadline:
                time.sleep(0.002)  # poll interval; the latency figure comes from the services' stamps

    def rate(self, phase: Phase) -> None:
        rate, seconds, threads = self.args.rate, self.args.rate_seconds, max(1, self.args.rate // 8)
        start = time.monotonic() + 0.05

        def sender(n: int) -> None:
            client = Client(self.args.port, n)
            i = n
            while True:
                due = start + i / rate  # this thread's slots: n, n + threads, ...
                if due >= start + seconds:
                    return
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                self._placed(phase, client.place(i))
                i += threads

        self._threads(sender, threads)

    def saturate(self, phase: Phase) -> None:
        stop_at = time.monotonic() + self.args.seconds

        def closed_loop(n: int) -> None:
            client, i = Client(self.args.port, n), n
            while time.monotonic() < stop_at:
                self._placed(phase, client.place(i))
                i += self.args.clients

        self._threads(closed_loop, self.args.clients)

    @staticmethod
    def _placed(phase: Phase, order_id: str | None) -> None:
        with phase.lock:
            if order_id is None:
                phase.refused += 1
            else:
                phase.ids.append(order_id)

    @staticmethod
    def _threads(target: Any, n: int) -> None:
        threads = [threading.Thread(target=target, args=(k,), daemon=True) for k in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    # ------------------------------------------------------------ figures

    def outcome(self, store: Any, phase: Phase, drain_s: float = 120.0) -> str:
        wanted = set(phase.ids)
        deadline = time.monotonic() + drain_s
        while True:
            with store.transaction() as tx:
                orders = [o for o in tx.list_orders() if o.order_id in wanted]
            pending = sum(1 for o in orders if o.status is OrderStatus.PENDING)
            if not pending or time.monotonic() > deadline:
                break
            time.sleep(0.5)  # drain poll interval, bounded by the deadline
        final = [o for o in orders if o.status is not OrderStatus.PENDING]
        completed = [o for o in final if o.status is OrderStatus.COMPLETED]
        in_time = sum(1 for o in completed if o.updated_ms <= phase.ended_ms)
        latencies = sorted(o.updated_ms - o.created_ms for o in final)
        cpu = ", ".join(f"{name} {sec:.1f}s ({100 * sec / phase.seconds:.0f}%)" for name, sec in phase.cpu.items())
        return (f"[{phase.name}] {phase.seconds:.1f}s: accepted {len(phase.ids):,} ({len(phase.ids) / phase.seconds:,.0f}/s), "
                f"refused {phase.refused}; completed in the phase {in_time:,} ({in_time / phase.seconds:,.0f}/s), "
                f"final {len(final):,} ({len(completed):,} COMPLETED), still pending {pending}\n"
                f"    end to end (services' created_ms -> updated_ms): {_percentiles(latencies)}\n"
                f"    CPU (seconds, % of one core): {cpu}; machine busy {100 * phase.busy:.0f}% of all cores, "
                f"load average {os.getloadavg()[0]:.1f}")


def _percentiles(values: list[int]) -> str:
    if not values:
        return "no final orders"
    def pick(q: float) -> int:
        return values[min(len(values) - 1, int(q * len(values)))]
    return (f"p50 {pick(0.50)} ms, p90 {pick(0.90)} ms, p99 {pick(0.99)} ms, max {values[-1]} ms "
            f"(mean {statistics.fmean(values):.0f} ms, n={len(values):,})")


def start_profiles(pids: dict[str, int], seconds: float, out: Path) -> list[tuple[str, Path, subprocess.Popen]]:
    spy = shutil.which("py-spy") or str(Path(os.sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        print("--profile: py-spy not found (pip install py-spy); no profile taken")
        return []
    started = []
    for name, pid in pids.items():
        if name == "broker":
            continue
        for kind, extra in (("waits and work", ["--idle"]), ("CPU only", ["--gil"])):
            path = out / f"{name}-{'idle' if extra == ['--idle'] else 'cpu'}.txt"
            argv = [spy, "record", *extra, "--threads", "--nonblocking", "--format", "raw", "-r", "50",
                    "-d", str(int(seconds)), "-o", str(path), "-p", str(pid)]
            popen = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            started.append((f"{name}, {kind}", path, popen))
    return started


def summarise_profile(name: str, path: Path, top: int = 4) -> str:
    """Per thread: share of samples by (innermost project frame -> the frame it called)."""
    by_thread: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return f"  {name}: no profile"
    for line in lines:
        stack, _, count = line.rpartition(" ")
        head, _, rest = stack.partition(": ")  # "thread (tid): name;frame;frame..."
        thread, *frames = rest.split(";")
        if not frames:
            continue
        thread = thread.rstrip("_0123456789 ") or thread  # pool threads share a name: add them up
        ours = [i for i, f in enumerate(frames) if any(d in f for d in ("services/", "adapters/", "scenarios/"))]
        if ours:
            i = ours[-1]
            place = _frame(frames[i]) + (" -> " + _frame(frames[i + 1]) if i + 1 < len(frames) else "")
        else:
            place = _frame(frames[-1])
        by_thread[thread][place] += int(count)
    out = [f"  {name}:"]
    busiest = sorted(by_thread.items(), key=lambda kv: -sum(kv[1].values()))
    for thread, places in busiest[:5]:
        total = sum(places.values())
        shares = "; ".join(f"{100 * n / total:.0f}% {place}" for place, n in places.most_common(top))
        out.append(f"    {thread} ({total} samples): {shares}")
    return "\n".join(out)


def _frame(frame: str) -> str:
    # py-spy raw frames look like "function (path/to/file.py:123)"
    func, _, where = frame.strip().partition(" (")
    file = where.rstrip(")").rsplit("/", 1)[-1]
    return f"{func} [{file}]" if file else func


def _bootstrap(args: argparse.Namespace) -> tuple[str, int | None]:
    from compose import launcher

    if args.bootstrap:
        return args.bootstrap, None
    result = launcher.up(1, wait=True, timeout=180, echo=print)
    if not result.ready:
        raise SystemExit(f"Kafka on {result.bootstrap} is not ready: {result.detail}")
    pids = [p for p in launcher.status().pids.values() if p]
    return result.bootstrap, (pids[0] if pids else None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP"))
    parser.add_argument("--seconds", type=float, default=60.0, help="saturation phase length")
    parser.add_argument("--clients", type=int, default=16, help="closed-loop clients in the saturation phase")
    parser.add_argument("--rate", type=int, default=200, help="offered orders/s in the rate phase")
    parser.add_argument("--rate-seconds", type=float, default=20.0)
    parser.add_argument("--single", type=int, default=40, help="orders placed one at a time at rest")
    parser.add_argument("--payment", type=int, default=1, help="payment instances")
    parser.add_argument("--inventory", type=int, default=1, help="inventory instances")
    parser.add_argument("--phases", default="single,rate,saturate,clients,http,recovery")
    parser.add_argument("--records", type=int, default=100_000, help="records per adapter-vs-raw round")
    parser.add_argument("--client-rounds", type=int, default=5, help="adapter-vs-raw rounds (medians)")
    parser.add_argument("--profile", action="store_true", help="py-spy every service during the saturation phase")
    parser.add_argument("--profile-dir", default=None, help="keep the raw py-spy files here")
    args = parser.parse_args()

    from compose.postgres import ensure_database
    from scenarios import root
    from scenarios.stack import shop_stack
    from scenarios.stack.supervisor import Supervisor
    from tests.bench_kafka_clients import measure, report

    bootstrap, broker_pid = _bootstrap(args)
    dsn = os.environ.get("DATABASE_URL") or ensure_database()
    args.port = shop_stack_port()
    prefix = f"bench{uuid.uuid4().hex[:6]}_"
    phases = args.phases.split(",")
    with tempfile.TemporaryDirectory(prefix="kafkalab-bench-") as state:
        sup = Supervisor(Path(state))
        config = shop_stack.StackConfig(bootstrap, dsn, "127.0.0.1", args.port, prefix)
        scale = {"order": 1, "payment": args.payment, "inventory": args.inventory}
        procs = shop_stack.up(sup, config, scale, fresh=True, timeout=180, echo=print)
        bench = Bench(args)
        bench.pids = {p.name: p.pid for p in procs}
        if broker_pid:
            bench.pids["broker"] = broker_pid
        store = root.postgres_store(dsn, root.service_schema("order", prefix))
        print(f"stack up: Kafka {bootstrap}, {', '.join(bench.pids)}; 2 cores, load average {os.getloadavg()[0]:.1f}")
        try:
            if "single" in phases:
                print(bench.outcome(store, bench.run_phase(Phase("single order at rest"), bench.single)))
            if "rate" in phases:
                print(bench.outcome(store, bench.run_phase(Phase(f"{args.rate}/s offered"), bench.rate)))
            if "saturate" in phases:
                out = Path(args.profile_dir or state)
                out.mkdir(parents=True, exist_ok=True)
                profiles = start_profiles(bench.pids, args.seconds * 0.8, out) if args.profile else []
                phase = bench.run_phase(Phase(f"{args.clients} clients, closed loop"), bench.saturate)
                for _name, _path, spy in profiles:
                    spy.wait(timeout=60)
                print(bench.outcome(store, phase))
                if profiles:
                    print("where each service's threads spent the saturation phase (py-spy, idle included):")
                    for name, path, _spy in profiles:
                        print(summarise_profile(name, path))
        finally:
            store.close()
            shop_stack.down(sup, lambda _line: None)
            shop_stack.drop_service_state(config)
            from services.events import Topics

            root.kafka_broker(bootstrap).admin().delete_topics(list(Topics.with_prefix(prefix).all()))
    if "clients" in phases:
        print("adapter vs raw confluent-kafka (same settings dict):")
        print(report(measure(bootstrap, args.records, args.client_rounds)))
    if "http" in phases:
        from tests import bench_kafka_http

        print("order API, HTTP stack only (in-memory store), 8 clients, median of 3 rounds:")
        print(bench_kafka_http.report(bench_kafka_http.measure()))
    if "recovery" in phases:
        from tests import bench_kafka_recovery

        print("group recovery after kill -9 of the broker (a private broker and stack of its own):")
        print(bench_kafka_recovery.report(bench_kafka_recovery.measure(dsn)))


def shop_stack_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":
    main()

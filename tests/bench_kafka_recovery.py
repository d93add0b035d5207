"""How long the shop takes to consume again after its broker is killed (SIGKILL) and started again.

Run as ``python -m tests.bench_kafka_recovery`` (or the ``recovery`` phase of ``tests.bench_kafka``);
prints figures, asserts nothing. It needs a broker it may kill, so it always starts a private one
(ports and data dir of its own) and a stack of its own on it (prefix, HTTP port, state directory),
with PostgreSQL from ``DATABASE_URL`` or the local server.

The timeline, from the SIGKILL: the broker's port is free again, the broker listens again (same data
dir: topics, offsets and groups come back), then, from that moment, each service's group holds
exactly its live instances' members and is Stable (``shop_stack.missing_members``), and an order
placed the moment the broker listened is COMPLETED (it crossed all three groups: each of them
consumes again). The recovery time is the last of those, counted from the broker listening (the
broker's own start-up is the JVM's, not the clients'). The librdkafka settings that bound it are
printed with it.
"""

from __future__ import annotations

import argparse
import os
import signal
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

DEADLINE_S = 120.0


def _post_order(port: int) -> str | None:
    import http.client
    import json

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", "/orders", json.dumps({"customerId": "cust_recovery", "productId": "prod_load_01",
                                                    "quantity": 1, "amount": 10}),
                     {"Content-Type": "application/json"})
        response = conn.getresponse()
        answer = response.read()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()
    return json.loads(answer)["orderId"] if response.status == 201 else None


def _status(store: Any, order_id: str) -> str | None:
    with store.transaction() as tx:
        order = tx.get_order(order_id)
    return None if order is None else order.status.value


def _wait(what: str, ready: Any, deadline: float, step: float = 0.1) -> None:
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not within {DEADLINE_S:.0f}s")
        time.sleep(step)  # polling, bounded by the deadline


def measure(dsn: str, echo: Any = print, trace: bool = False) -> dict[str, Any]:
    """Start a private broker and a stack, kill -9 the broker, start it, time the way back; ``trace``
    echoes what each group still waits for at every look (who is missing, a stale member id)."""
    from compose import processes
    from scenarios import root
    from scenarios.stack import service_process, shop_stack
    from scenarios.stack.supervisor import Supervisor
    from scenarios.worlds.servers import PrivateBroker
    from tests.bench_kafka import shop_stack_port

    broker = PrivateBroker()
    prefix = f"recov{uuid.uuid4().hex[:6]}_"
    result: dict[str, Any] = {"settings": service_process.RECOVERY_SETTINGS,
                              "session_timeout_ms": service_process.SESSION_TIMEOUT_MS}
    with tempfile.TemporaryDirectory(prefix="kafkalab-recovery-") as state:
        bootstrap = broker.start()
        sup = Supervisor(Path(state))
        config = shop_stack.StackConfig(bootstrap, dsn, "127.0.0.1", shop_stack_port(), prefix)
        procs: list[Any] = []
        store = root.postgres_store(dsn, root.service_schema("order", prefix))
        try:
            procs = shop_stack.up(sup, config, {"order": 1, "payment": 1, "inventory": 1}, fresh=True,
                                  timeout=180, echo=lambda _line: None)
            warm = _post_order(config.port)
            deadline = time.monotonic() + DEADLINE_S
            _wait("a first order to complete", lambda: warm and _status(store, warm) == "COMPLETED", deadline)

            node = broker.data.node(1)
            pid = processes.read_pid(node.pid_file)
            port = int(bootstrap.rsplit(":", 1)[1])
            killed = time.monotonic()
            os.kill(pid, signal.SIGKILL)
            deadline = killed + DEADLINE_S
            _wait("the broker to die", lambda: not processes.is_our_broker(pid, node.properties), deadline)
            _wait("the broker's port to be free", lambda: not processes.port_in_use(port), deadline)
            result["port_free_s"] = time.monotonic() - killed
            broker._start()  # same data dir and ports
            listening = time.monotonic()
            result["listening_s"] = listening - killed
            probe = _post_order(config.port)  # PostgreSQL is up: accepted whatever the broker does
            pending = {p.service for p in procs} | {"order completed"}
            result["after_listening"] = {}
            deadline = listening + DEADLINE_S
            while pending and time.monotonic() < deadline:
                for service in sorted(pending - {"order completed"}):
                    missing = shop_stack.missing_members(config, [p for p in procs if p.service == service], sup)
                    if trace:
                        echo(f"  +{time.monotonic() - listening:.1f}s {service}: {missing}")
                    if not missing:
                        result["after_listening"][f"{service} group"] = time.monotonic() - listening
                        pending.discard(service)
                if "order completed" in pending and probe and _status(store, probe) == "COMPLETED":
                    result["after_listening"]["order completed"] = time.monotonic() - listening
                    pending.discard("order completed")
                time.sleep(0.1)  # polling, bounded by the deadline
            result["pending"] = sorted(pending)
            times = result["after_listening"].values()
            result["recovery_s"] = max(times) if times and not pending else None
        finally:
            store.close()
            if procs:
                shop_stack.down(sup, lambda _line: None)
                shop_stack.drop_service_state(config)
            broker.stop()
    return result


def report(r: dict[str, Any]) -> str:
    steps = ", ".join(f"{name} +{s:.1f}s" for name, s in sorted(r["after_listening"].items(), key=lambda i: i[1]))
    settings = ", ".join(f"{k}={v}" for k, v in r["settings"].items())
    verdict = (f"every group consuming again and a fresh order completed {r['recovery_s']:.1f}s after the broker "
               "listened" if r["recovery_s"] is not None else f"NOT recovered within {DEADLINE_S:.0f}s: {r['pending']}")
    return (f"broker kill -9: port free after {r['port_free_s']:.1f}s, listening again {r['listening_s']:.1f}s after "
            f"the kill; then {steps}\n  {verdict} (clients: {settings}, session.timeout.ms="
            f"{r['session_timeout_ms']})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trace", action="store_true", help="print what each group waits for, every look")
    args = parser.parse_args()
    from compose.postgres import ensure_database

    print(report(measure(os.environ.get("DATABASE_URL") or ensure_database(), trace=args.trace)))


if __name__ == "__main__":
    main()

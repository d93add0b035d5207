"""The saga's invariants on real processes after ``kill -9`` of each service and of the broker, under load.

``kafkalab up`` on a private broker (its own ports and data dir: killing the shared one would break
other tests). Clients keep placing orders over HTTP while, one after the other, order-0, payment-0
and inventory-0 get SIGKILL (the watcher must restart each, and ``kafkalab scale NAME 1`` must then
wait until the group holds exactly the live member), and then the broker gets SIGKILL and is
started again (every group must consume again: an order placed after it completes). When the load
stops, every accepted order must reach a final state, and the stores must agree: money charged
minus refunded is the total of the completed orders, each product's stock went down by exactly the
units of its completed orders, no order was paid twice.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.kafka.test_services_processes import Stack, _cleanup, poll_until

pytestmark = pytest.mark.kafka

MAX_ORDERS = 1_500


def _pid_of(stack: Stack, name: str) -> int | None:
    for line in stack.kafkalab("ps").stdout.splitlines()[1:]:
        fields = line.split()
        if fields and fields[0] == name:
            return int(fields[1])
    return None


def _post(port: int, body: dict[str, Any]) -> str | None:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/orders", data=json.dumps(body).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())["orderId"] if response.status == 201 else None
    except (urllib.error.URLError, OSError, ValueError):
        return None  # the order service is down (killed) or refused: the client does not count it


class Load:
    """Clients placing orders until stopped; ``accepted`` holds the ids answered with 201."""

    def __init__(self, port: int, clients: int = 3) -> None:
        self.port, self.accepted, self.stop = port, [], threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(clients)]

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        for t in self._threads:
            t.join(timeout=30)

    def _run(self, n: int) -> None:
        i = n
        while not self.stop.is_set() and len(self.accepted) < MAX_ORDERS:
            body = {"customerId": f"cust_kill_{n}", "productId": f"prod_load_{i % 10:02d}", "quantity": 1 + i % 3,
                    "amount": 10 + i % 40}
            order_id = _post(self.port, body)
            if order_id is None:
                self.stop.wait(0.1)  # down for a moment: try again shortly
            else:
                with self._lock:
                    self.accepted.append(order_id)
            i += 3
            self.stop.wait(0.01)  # a steady load, not a flood: the point is the kills


def _kill_and_wait_for_restart(stack: Stack, name: str) -> float:
    pid = _pid_of(stack, name)
    assert pid is not None, f"{name} is not running"
    os.kill(pid, signal.SIGKILL)
    began = time.monotonic()
    poll_until(f"the watcher to restart {name}", lambda: (_pid_of(stack, name) or pid) != pid, timeout=60)
    service = name.rsplit("-", 1)[0]
    scaled = stack.kafkalab("scale", service, "1", "--timeout", "90")
    assert scaled.returncode == 0, scaled.stderr
    assert "holds exactly the 1 live member" in scaled.stderr, scaled.stderr
    return time.monotonic() - began


def _restart_broker(broker: Any) -> None:
    from compose import processes

    node = broker.data.node(1)
    pid = processes.read_pid(node.pid_file)
    assert pid, "no broker pid"
    os.kill(pid, signal.SIGKILL)
    poll_until("the broker to die", lambda: not processes.is_our_broker(pid, node.properties), timeout=30)
    port = int(broker.bootstrap.rsplit(":", 1)[1])
    poll_until("the broker's port to be free", lambda: not processes.port_in_use(port), timeout=30)
    broker._start()  # same data dir and ports: the cluster comes back with its topics and offsets


def test_saga_invariants_hold_after_kill_9_of_each_service_and_of_the_broker(database_url: str,
                                                                              tmp_path: Path) -> None:
    from scenarios.worlds.servers import PrivateBroker

    broker = PrivateBroker()
    try:
        stack = Stack(broker.start(), database_url, tmp_path / "state")
        up = stack.kafkalab("up", "--prefix", stack.prefix, "--port", str(stack.port), "--bootstrap", stack.bootstrap)
        assert up.returncode == 0, up.stderr + up.stdout
        assert "restarts a crashed service with backoff" in up.stderr
        try:
            with Load(stack.port) as load:
                for name in ("payment-0", "inventory-0", "order-0"):
                    print(f"{name}: killed, restarted and back in its group in {_kill_and_wait_for_restart(stack, name):.1f}s")
                began = time.monotonic()
                _restart_broker(broker)
                listening = time.monotonic()
                probe = poll_until("an order accepted after the broker restart", lambda: _post(stack.port, {
                    "customerId": "cust_probe", "productId": "prod_456", "quantity": 1, "amount": 5}), timeout=60)
                final = poll_until("the probe order to complete", lambda: _final(stack, probe), timeout=60)
                print(f"broker killed and started again in {listening - began:.1f}s; an order placed then "
                      f"completed {time.monotonic() - listening:.1f}s after the broker listened")
                assert final["status"] == "COMPLETED"
                poll_until("some load after the broker restart", lambda: len(load.accepted) >= 50, timeout=60)
            accepted = load.accepted + [probe]
            watcher_log = (tmp_path / "state" / "services" / "supervisor-0.log").read_text()
            for name in ("payment-0", "inventory-0", "order-0"):
                assert f"restarted {name} as pid" in watcher_log, watcher_log
            _check_invariants(stack, accepted)
        finally:
            down = stack.kafkalab("down")
            assert down.returncode == 0, down.stderr
            _cleanup(stack)
    finally:
        broker.stop()


def _final(stack: Stack, order_id: str) -> dict[str, Any] | None:
    try:
        status, order = stack.http("GET", f"/orders/{order_id}")
    except (urllib.error.URLError, OSError):
        return None
    return order if status == 200 and order["status"] != "PENDING" else None


def _check_invariants(stack: Stack, accepted: list[str]) -> None:
    from adapters.postgres_store import PostgresStore
    from services.catalog import DEFAULT_CATALOG
    from services.ports import OrderStatus, PaymentStatus

    stores = {kind: PostgresStore(stack.database_url, f"{stack.prefix}{kind}_svc", pool_size=1)
              for kind in ("order", "payment", "inventory")}
    try:
        def orders() -> list[Any]:
            with stores["order"].transaction() as tx:
                return tx.list_orders()

        def settled() -> list[Any] | None:
            found = orders()
            return found if all(o.status is not OrderStatus.PENDING for o in found) else None

        final = poll_until("every order to reach a final state", settled, timeout=120)
        by_id = {o.order_id: o for o in final}
        lost = [i for i in accepted if i not in by_id]
        assert not lost, f"{len(lost)} accepted order(s) lost: {lost[:5]}"
        completed = [o for o in final if o.status is OrderStatus.COMPLETED]
        print(f"{len(accepted)} accepted orders checked ({len(final)} in the store, {len(completed)} completed)")
        assert len(accepted) >= 200  # enough load that the kills hit work in flight

        with stores["payment"].transaction() as tx:
            totals = tx.payment_totals()
            payments = {o.order_id: tx.get_payment(o.order_id) for o in final}
        assert totals.charged_cents - totals.refunded_cents == sum(o.amount_cents for o in completed)
        for order in completed:
            payment = payments[order.order_id]
            assert payment is not None and payment.status is PaymentStatus.CHARGED, (order, payment)

        with stores["inventory"].transaction() as tx:
            stock = tx.stock_levels()
        taken = Counter()
        for order in completed:
            taken[order.product_id] += order.quantity
        for product, units in stock.items():
            assert DEFAULT_CATALOG.stock[product] - units == taken[product], (product, units, taken[product])
    finally:
        for store in stores.values():
            store.close()

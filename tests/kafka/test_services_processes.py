"""``kafkalab up`` on a real broker: three services as OS processes, the seed's three orders over HTTP.

The stack runs with a unique ``--prefix`` (topics, consumer groups and database schemas) and its own
state directory, so it never touches a learner's stack or another test's topics.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.kafka

HAPPY = {"customerId": "cust_happy_path", "productId": "prod_123", "quantity": 2, "amount": 250.50}
TOO_MANY = {"customerId": "cust_large_quantity", "productId": "prod_123", "quantity": 10, "amount": 250.00}
POISON = {"customerId": "cust_dlq_test", "productId": "prod_ignore", "quantity": 1, "amount": 99.00}
ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("order", "payment", "inventory")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Stack:
    def __init__(self, bootstrap: str, database_url: str, state: Path) -> None:
        self.bootstrap = bootstrap
        self.database_url = database_url
        self.prefix = f"t{uuid.uuid4().hex[:8]}_"
        self.port = free_port()
        self.env = {**os.environ, "KAFKALAB_STATE": str(state), "KAFKA_BOOTSTRAP": bootstrap,
                    "DATABASE_URL": database_url}

    def kafkalab(self, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "scenarios", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=timeout, check=False)

    def http(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def group(self, service: str) -> str:
        return f"{self.prefix}{service}-service"

    def admin(self) -> Any:
        from adapters.kafka_broker import KafkaBroker

        return KafkaBroker(self.bootstrap).admin()


def poll_until(what: str, probe: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)  # poll interval, bounded by the deadline
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


@pytest.fixture
def stack(kafka_bootstrap: str, database_url: str, tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(kafka_bootstrap, database_url, tmp_path / "state")
    began = time.monotonic()
    up = stack.kafkalab("up", "--prefix", stack.prefix, "--port", str(stack.port))
    print(f"kafkalab up: {time.monotonic() - began:.1f}s")
    assert up.returncode == 0, up.stderr + up.stdout
    try:
        yield stack
    finally:
        down = stack.kafkalab("down")
        assert down.returncode == 0, down.stderr
        _cleanup(stack)


def _cleanup(stack: Stack) -> None:
    from adapters.postgres_store import SERVICE_SCHEMAS, PostgresStore
    from services.events import Topics

    for schema in SERVICE_SCHEMAS.values():
        store = PostgresStore(stack.database_url, f"{stack.prefix}{schema}")
        store.drop_schema()
        store.close()
    stack.admin().delete_topics(list(Topics.with_prefix(stack.prefix).all()))


def test_seed_orders_reach_their_outcomes_across_service_processes(stack: Stack) -> None:
    began = time.monotonic()
    ids = {}
    for name, body in (("happy", HAPPY), ("rollback", TOO_MANY), ("poison", POISON)):
        status, answer = stack.http("POST", "/orders", body)
        assert (status, answer["status"]) == (201, "PENDING")
        ids[name] = answer["orderId"]

    def final(order_id: str) -> dict[str, Any] | None:
        status, order = stack.http("GET", f"/orders/{order_id}")
        return order if status == 200 and order["status"] != "PENDING" else None

    orders = {name: poll_until(f"{name} order to finish", lambda i=order_id: final(i)) for name, order_id in ids.items()}
    print(f"three sagas finished in {time.monotonic() - began:.1f}s")
    assert orders["happy"]["status"] == "COMPLETED"
    assert orders["rollback"]["status"] == "CANCELLED"
    assert "insufficient stock" in orders["rollback"]["reason"]
    assert orders["poison"]["status"] == "CANCELLED"

    dead = poll_until("the poison record in the DLQ", lambda: _dlq_records(stack, ids["poison"]))
    assert len(dead) == 1
    headers = dict(dead[0].headers)
    assert headers["dlq-consumer-group"] == stack.group("inventory").encode()
    assert headers["dlq-source-topic"] == f"{stack.prefix}payments".encode()

    status, answer = stack.http("POST", "/orders", {**HAPPY, "quantity": 0})
    assert (status, answer["field"]) == (400, "quantity")


def _dlq_records(stack: Stack, order_id: str) -> list[Any]:
    from adapters.kafka_broker import KafkaBroker
    from services.ports import ConsumerConfig

    consumer = KafkaBroker(stack.bootstrap).consumer(ConsumerConfig(group_id=f"{stack.prefix}dlq-reader-{uuid.uuid4().hex[:6]}"))
    try:
        consumer.subscribe([f"{stack.prefix}payments.dlq"])
        found: list[Any] = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not found:
            found = [r for r in consumer.poll(100, timeout=1.0) if r.header("correlation-id") == order_id.encode()]
        return found
    finally:
        consumer.close()


def test_groups_are_listed_scale_changes_members_and_down_leaves_groups(stack: Stack) -> None:
    listed = stack.kafkalab("kafka-cli", "kafka-consumer-groups", "--bootstrap-server", stack.bootstrap, "--list")
    assert listed.returncode == 0, listed.stderr
    assert {stack.group(s) for s in SERVICES} <= set(listed.stdout.split())

    began = time.monotonic()
    scaled = stack.kafkalab("scale", "inventory", "3")
    assert scaled.returncode == 0, scaled.stderr
    print(f"scale inventory 3: {time.monotonic() - began:.1f}s")
    members = stack.admin().describe_group(stack.group("inventory")).members
    assert sorted(m.client_id for m in members) == ["inventory-0", "inventory-1", "inventory-2"]
    assert sum(len(m.assignment) for m in members) == 3  # inventory reads payments' 3 partitions
    ps_lines = stack.kafkalab("ps").stdout.splitlines()
    assert [line.split()[0] for line in ps_lines if line.startswith("inventory-")] == [
        "inventory-0", "inventory-1", "inventory-2"]
    assert all(stack.group("inventory") in line for line in ps_lines if line.startswith("inventory-"))

    assert stack.kafkalab("scale", "inventory", "1").returncode == 0
    poll_until("inventory back to one member",
               lambda: len(stack.admin().describe_group(stack.group("inventory")).members) == 1, timeout=30)

    pids = [int(line.split()[1]) for line in stack.kafkalab("ps").stdout.splitlines()[1:]]
    assert len(pids) == 4  # order, payment, inventory and the watcher (supervisor-0)
    assert stack.kafkalab("down").returncode == 0
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split(")")[1][:3]
    # A closed consumer sends LeaveGroup: the groups empty long before session.timeout.ms (45 s).
    for service in SERVICES:
        poll_until(f"{service} group to empty",
                   lambda s=service: not stack.admin().describe_group(stack.group(s)).members, timeout=15)

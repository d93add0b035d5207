"""The order HTTP API over the real order service on the simulator: real sockets, real requests."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message
from typing import Any

import pytest

from scenarios.stack.sim_stack import SimStack
from scenarios.web.server import OrderHttpServer, serve_in_thread

HAPPY = {"customerId": "cust_happy_path", "productId": "prod_123", "quantity": 2, "amount": 250.50}
TOO_MANY = {"customerId": "cust_large_quantity", "productId": "prod_123", "quantity": 10, "amount": 250.00}
POISON = {"customerId": "cust_dlq_test", "productId": "prod_ignore", "quantity": 1, "amount": 99.00}


@pytest.fixture
def stack() -> Iterator[SimStack]:
    stack = SimStack(seed=3)
    yield stack
    stack.close()


@pytest.fixture
def server(stack: SimStack) -> Iterator[OrderHttpServer]:
    server = serve_in_thread(stack.endpoints(), "127.0.0.1", 0)
    yield server
    server.close()


def call(server: OrderHttpServer, method: str, path: str, body: bytes | None = None) -> tuple[int, Any, Message]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}{path}",
        data=body,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read()), response.headers
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), error.headers


def post_order(server: OrderHttpServer, body: dict[str, Any]) -> tuple[int, Any, Message]:
    return call(server, "POST", "/orders", json.dumps(body).encode())


def test_post_accepts_an_order_as_pending_with_its_location(server: OrderHttpServer) -> None:
    status, body, headers = post_order(server, HAPPY)
    assert status == 201
    assert body["status"] == "PENDING"
    assert headers["Location"] == f"/orders/{body['orderId']}"


def test_the_seed_requests_reach_their_outcomes(server: OrderHttpServer, stack: SimStack) -> None:
    ids = {name: post_order(server, body)[1]["orderId"] for name, body in
           (("happy", HAPPY), ("rollback", TOO_MANY), ("poison", POISON))}
    stack.advance(5_000)
    orders = {name: call(server, "GET", f"/orders/{order_id}")[1] for name, order_id in ids.items()}
    assert orders["happy"]["status"] == "COMPLETED"
    assert orders["happy"]["amount"] == 250.5
    assert orders["happy"]["amountCents"] == 25050
    assert orders["happy"]["items"] == [{"productId": "prod_123", "quantity": 2}]
    assert orders["rollback"]["status"] == "CANCELLED"
    assert "insufficient stock" in orders["rollback"]["reason"]
    assert orders["poison"]["status"] == "CANCELLED"
    totals = stack.shop.totals()  # both cancelled orders were charged, then refunded
    assert (totals.charged_cents, totals.refunded_cents) == (25050 + 25000 + 9900, 25000 + 9900)
    dead = [r for r in stack.records("payments.dlq") if r.header("correlation-id") == ids["poison"].encode()]
    assert len(dead) == 1
    assert dead[0].header("dlq-consumer-group") == b"inventory-service"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"quantity": "2"}, "quantity"),
        ({"amount": -1}, "amount"),
        ({"amount": 1.001}, "amount"),
        ({"customerId": ""}, "customerId"),
        ({"productId": "prod_nope"}, "productId"),
    ],
)
def test_an_invalid_field_is_a_400_naming_it_and_nothing_is_written(
    server: OrderHttpServer, stack: SimStack, change: dict[str, Any], field: str
) -> None:
    status, body, _ = post_order(server, {**HAPPY, **change})
    assert status == 400
    assert body["field"] == field
    assert body["error"].startswith(field)
    stack.advance(1_000)
    assert stack.shop.orders() == []
    assert stack.records("orders") == []


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[1, 2]", b"\xff\xfe"])
def test_a_body_that_is_not_a_json_object_is_a_400_with_no_field(
    server: OrderHttpServer, stack: SimStack, raw: bytes
) -> None:
    status, body, _ = call(server, "POST", "/orders", raw)
    assert status == 400
    assert body["field"] is None
    assert body["error"]
    assert stack.shop.orders() == []


def test_a_missing_field_is_named(server: OrderHttpServer) -> None:
    body = dict(HAPPY)
    del body["amount"]
    status, answer, _ = post_order(server, body)
    assert (status, answer["field"]) == (400, "amount")


def test_unknown_order_and_unknown_path_are_404(server: OrderHttpServer) -> None:
    assert call(server, "GET", "/orders/does-not-exist")[0] == 404
    assert call(server, "GET", "/nope")[0] == 404
    assert call(server, "POST", "/orders/x", b"{}")[0] == 404


def test_openapi_describes_every_route(server: OrderHttpServer) -> None:
    status, doc, _ = call(server, "GET", "/openapi.json")
    assert status == 200
    assert doc["openapi"].startswith("3.1")
    assert set(doc["paths"]) == {"/orders", "/orders/{orderId}", "/health", "/openapi.json"}
    required = doc["components"]["schemas"]["OrderRequest"]["required"]
    assert set(required) == set(HAPPY)


def test_health_reports_ready(server: OrderHttpServer) -> None:
    status, body, _ = call(server, "GET", "/health")
    assert (status, body["status"], body["mode"]) == (200, "ok", "sim")


def test_concurrent_posts_are_all_accepted_once(server: OrderHttpServer, stack: SimStack) -> None:
    from concurrent.futures import ThreadPoolExecutor

    bodies = [{**HAPPY, "customerId": f"cust_{i}", "productId": "prod_789", "quantity": 1} for i in range(20)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda b: post_order(server, b), bodies))
    assert [a[0] for a in answers] == [201] * 20
    assert len({a[1]["orderId"] for a in answers}) == 20
    stack.advance(5_000)
    assert sorted(str(o.status) for o in stack.shop.orders()) == ["COMPLETED"] * 20

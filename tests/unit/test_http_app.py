"""The order API as an ASGI app, in process: hostile bodies are a 400 naming the field, every error is
JSON, and nothing is written for a refused request (the order store's rows and outbox are counted)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
import structlog.testing
from starlette.testclient import TestClient

from adapters.memory_store import MemoryStore
from scenarios.web.app import create_app
from scenarios.web.endpoints import OrderApiEndpoints
from services.ids import SeededIds
from services.order_api import OrderApi
from services.ports import StateStore
from tests.conftest import missing_dependency

HAPPY = {"customerId": "cust_happy_path", "productId": "prod_123", "quantity": 2, "amount": 250.50}
JSON = {"Content-Type": "application/json"}


class FixedClock:
    def now_ms(self) -> int:
        return 1_000

    def sleep(self, ms: int) -> None:
        pass


def written(store: StateStore) -> tuple[int, int]:
    """(orders, outbox entries) in the order store."""
    with store.transaction() as tx:
        return len(tx.list_orders()), len(tx.pending_outbox())


def client_over(store: StateStore, **endpoint_options: Any) -> TestClient:
    api = OrderApi(store, FixedClock(), SeededIds(1))
    return TestClient(create_app(OrderApiEndpoints(api, **endpoint_options)), raise_server_exceptions=False)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def client(store: MemoryStore) -> Iterator[TestClient]:
    with client_over(store) as client:  # one event loop thread for the test, not one per request
        yield client


def body_with(field: str, raw_value: str) -> bytes:
    """The happy body with ``field``'s value replaced by raw JSON text (not something json.dumps makes)."""
    others = ",".join(f'"{k}":{json.dumps(v)}' for k, v in HAPPY.items() if k != field)
    return f'{{{others},"{field}":{raw_value}}}'.encode()


HOSTILE = [
    ("amount", "1" * 5_000),  # past int()'s 4,300-digit limit
    ("amount", "1." + "0" * 4_998 + "1"),  # a float would round it to 1.0
    ("amount", "-" + "9" * 5_000),
    ("amount", "1e999999999"),
    ("amount", "0.001"),
    ("amount", "true"),
    ("amount", '"250.50"'),
    ("quantity", "9" * 5_000),
    ("quantity", "2.0"),
    ("quantity", "1e3"),
    ("customerId", "[" * 500 + "]" * 500),
    ("customerId", '{"a":' * 400 + "1" + "}" * 400),
    ("customerId", '"cust\\u0000nul"'),
    ("customerId", '"cust\\u0007bell"'),
    ("customerId", '"cust\\u009bcsi"'),
    ("customerId", '"\\ud800"'),
    ("customerId", '"\\udfff lone low"'),
    ("customerId", json.dumps("x" * 65)),
    ("customerId", '"   "'),
    ("customerId", "null"),
    ("productId", json.dumps("p" * 10_000)),
    ("productId", '"prod_\\u0000"'),
]


@pytest.mark.parametrize(("field", "raw_value"), HOSTILE, ids=lambda v: v[:24])
def test_a_hostile_value_is_a_400_naming_its_field_and_writes_nothing(
    client: TestClient, store: MemoryStore, field: str, raw_value: str
) -> None:
    response = client.post("/orders", content=body_with(field, raw_value), headers=JSON)
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert response.json()["error"].startswith(f"{field}: ")
    assert written(store) == (0, 0)


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 30_000 + b"]" * 30_000,  # deeper than Python's parser recursion: the body as a whole
        b'{"customerId": NaN}',
        b'{"amount": Infinity}',
        b"\xef\xbb\xbf{}",  # a byte-order mark is not JSON
        b'{"customerId": "unterminated',
        b"null",
        b'"a string"',
    ],
    ids=lambda raw: raw[:16].decode("latin-1"),
)
def test_a_body_that_is_not_a_json_object_is_a_400_naming_the_body(
    client: TestClient, store: MemoryStore, raw: bytes
) -> None:
    response = client.post("/orders", content=raw, headers=JSON)
    assert response.status_code == 400
    assert response.json()["field"] is None
    assert response.json()["error"].startswith("body: ")
    assert written(store) == (0, 0)


def test_a_body_not_declared_as_json_is_refused_and_says_how_to_send_it(
    client: TestClient, store: MemoryStore
) -> None:
    for headers in ({}, {"Content-Type": "text/plain"}):
        response = client.post("/orders", content=json.dumps(HAPPY), headers=headers)
        assert response.status_code == 400
        assert "Content-Type: application/json" in response.json()["error"]
    assert written(store) == (0, 0)


def test_unknown_fields_are_ignored_and_an_exact_amount_becomes_cents(client: TestClient, store: MemoryStore) -> None:
    raw = b'{"customerId":"c","productId":"prod_123","quantity":2,"amount":250.500,"note":"x"}'
    response = client.post("/orders", content=raw, headers=JSON)
    assert response.status_code == 201
    assert client.get(f"/orders/{response.json()['orderId']}").json()["amountCents"] == 25050
    assert written(store) == (1, 1)


def test_a_chunked_body_is_understood(client: TestClient, store: MemoryStore) -> None:
    chunks = iter([json.dumps(HAPPY)[:10].encode(), json.dumps(HAPPY)[10:].encode()])
    response = client.post("/orders", content=chunks, headers=JSON)  # a generator body is sent chunked
    assert response.status_code == 201
    assert written(store) == (1, 1)


@pytest.mark.parametrize(("size", "chunked"), [(64 * 1024 + 1, False), (200_000, True)])
def test_a_body_over_the_limit_is_a_json_413_that_closes_the_connection(
    client: TestClient, store: MemoryStore, size: int, chunked: bool
) -> None:
    body = b" " * size
    content = iter([body[:size // 2], body[size // 2:]]) if chunked else body
    response = client.post("/orders", content=content, headers=JSON)
    assert response.status_code == 413
    assert response.headers["connection"] == "close"
    assert response.json()["field"] is None
    assert written(store) == (0, 0)


def test_a_head_over_16_kib_is_a_431_that_closes_the_connection(client: TestClient, store: MemoryStore) -> None:
    response = client.post("/orders", json=HAPPY, headers={"X-Padding": "p" * 17_000})
    assert (response.status_code, response.headers["connection"]) == (431, "close")
    assert written(store) == (0, 0)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [("PUT", "/orders", "POST"), ("GET", "/orders", "POST"), ("DELETE", "/health", "GET"),
     ("POST", "/openapi.json", "GET")],
)
def test_a_method_the_resource_lacks_is_a_json_405_with_allow(
    client: TestClient, method: str, path: str, allow: str
) -> None:
    response = client.request(method, path)
    assert response.status_code == 405
    assert allow in response.headers["allow"]
    assert response.json()["error"].startswith("method not allowed")


def test_an_order_cannot_be_changed_over_http(client: TestClient, store: MemoryStore) -> None:
    order_id = client.post("/orders", json=HAPPY).json()["orderId"]
    for method in ("PUT", "PATCH", "DELETE", "POST"):
        response = client.request(method, f"/orders/{order_id}")
        assert (response.status_code, response.headers["allow"]) == (405, "GET, HEAD")
    assert client.delete("/orders/no-such-order").status_code == 404
    assert written(store) == (1, 1)


@pytest.mark.parametrize("order_id", ["x" * 65, "a%00b", "a%20b", "%ED%A0%80"])
def test_an_order_id_that_cannot_be_one_is_a_400_naming_it(client: TestClient, order_id: str) -> None:
    response = client.get(f"/orders/{order_id}")
    assert (response.status_code, response.json()["field"]) == (400, "orderId")


def test_unknown_paths_are_json_404s(client: TestClient) -> None:
    for method, path in (("GET", "/"), ("POST", "/nope"), ("GET", "/docs")):
        response = client.request(method, path)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/json"
        assert path in response.json()["error"]


def test_a_store_outage_is_a_503_that_shows_no_internals(store: MemoryStore) -> None:
    client = client_over(store)
    store.fail_next(1)
    response = client.post("/orders", json=HAPPY)
    assert response.status_code == 503
    assert "nothing was accepted" in response.json()["error"]
    assert written(store) == (0, 0)


def test_a_bug_is_a_json_500_that_shows_no_internals(store: MemoryStore) -> None:
    def broken() -> dict[str, Any]:
        raise RuntimeError("secret internals")

    with structlog.testing.capture_logs() as logs:  # also keeps the traceback out of the test output
        response = client_over(store, details=broken).get("/health")
    assert response.status_code == 500
    assert response.json() == {"error": "internal error: nothing was accepted", "field": None}
    assert [entry["event"] for entry in logs if entry.get("exc_info")] == ["request failed"]


def test_health_is_503_while_not_ready(store: MemoryStore) -> None:
    response = client_over(store, ready=lambda: False, details=lambda: {"steps": 0}).get("/health")
    assert (response.status_code, response.json()) == (503, {"status": "starting", "steps": 0})


def test_the_openapi_document_is_generated_from_the_models(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    request = doc["components"]["schemas"]["OrderRequest"]["properties"]
    assert request["quantity"]["maximum"] == 1_000_000
    assert request["amount"] == {**request["amount"], "type": "number", "multipleOf": 0.01, "maximum": 10_000_000}
    assert request["customerId"]["maxLength"] == 64
    post = doc["paths"]["/orders"]["post"]
    assert set(post["responses"]) == {"201", "4XX", "503"}  # no 422: validation errors are 400s
    assert "/orders/{orderId}" in doc["paths"] and "delete" not in doc["paths"]["/orders/{orderId}"]


def test_head_answers_like_get_without_a_body(client: TestClient) -> None:
    response = client.head("/health")
    assert (response.status_code, response.content) == (200, b"")


@pytest.fixture
def postgres_store() -> Iterator[StateStore]:
    try:
        from compose.postgres import ensure_database

        dsn = ensure_database(timeout=20)
    except Exception as exc:  # a skip locally, a failure in CI
        missing_dependency(f"PostgreSQL is not available: {exc}")
        raise
    from adapters.postgres_store import PostgresStore

    store = PostgresStore(dsn, f"thttp_{uuid.uuid4().hex[:10]}")
    yield store
    store.drop_schema()
    store.close()


@pytest.mark.postgres
def test_hostile_values_reach_no_postgres_error_and_write_no_row(postgres_store: StateStore) -> None:
    client = client_over(postgres_store)
    for field, raw_value in HOSTILE:
        response = client.post("/orders", content=body_with(field, raw_value), headers=JSON)
        assert (response.status_code, response.json()["field"]) == (400, field), raw_value[:40]
    assert written(postgres_store) == (0, 0)
    assert client.post("/orders", json=HAPPY).status_code == 201
    assert written(postgres_store) == (1, 1)

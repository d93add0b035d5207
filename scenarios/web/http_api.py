"""The order service's HTTP API, on the standard library's ``ThreadingHTTPServer``.

    POST /orders         {"customerId", "productId", "quantity", "amount"} -> 201 {"orderId", "status"}
    GET  /orders/{id}    -> 200 the order (status, item, amount, history) | 404
    GET  /openapi.json   -> the OpenAPI 3.1 description of the above
    GET  /health         -> 200 when ready, 503 while not

The server knows nothing of Kafka or of the simulator: it calls an ``OrderEndpoints`` (place, get,
health), and a ``ValidationError`` from the services becomes a 400 naming the field. Nothing is
written or produced when a request is refused, because the order service validates before it does
anything. Request threads may run concurrently with a consumer loop; the endpoints object is where
that is made safe: ``OrderApiEndpoints`` goes through the order store, whose transactions are
thread-safe (the memory store and the PostgreSQL store both serialise them with a lock).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import threading
from collections.abc import Callable, Mapping
from decimal import Decimal
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol

import structlog

from services.order_api import OrderApi, ValidationError
from services.ports import Order

OPENAPI_PATH = Path(__file__).with_name("openapi.json")
MAX_BODY_BYTES = 64 * 1024

log = structlog.get_logger("kafkalab.http")


class BadRequest(Exception):
    """A request the API refuses with 400; ``field`` names the offending field when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class OrderEndpoints(Protocol):
    """What the HTTP layer needs from the order service."""

    def place(self, request: Mapping[str, Any]) -> Mapping[str, Any]:
        """Accept an order; return at least ``orderId`` and ``status``. Raises BadRequest."""
        ...

    def get(self, order_id: str) -> Mapping[str, Any] | None: ...

    def health(self) -> tuple[bool, Mapping[str, Any]]:
        """(ready, details)."""
        ...


def order_json(order: Order) -> dict[str, Any]:
    """The API's view of an order: camelCase, money in units (and exact cents), one item line."""
    return {
        "orderId": order.order_id,
        "status": str(order.status),
        "customerId": order.customer_id,
        "productId": order.product_id,
        "quantity": order.quantity,
        "amount": float(Decimal(order.amount_cents) / 100),
        "amountCents": order.amount_cents,
        "items": [{"productId": order.product_id, "quantity": order.quantity}],
        "reason": order.reason or None,
        "createdMs": order.created_ms,
        "updatedMs": order.updated_ms,
    }


class OrderApiEndpoints:
    """``OrderEndpoints`` over the order service's command side (``services.order_api.OrderApi``).

    ``ready`` says whether the process around it is serving (e.g. its consumer loop has started);
    ``details`` adds what /health reports about it.
    """

    def __init__(
        self,
        api: OrderApi,
        *,
        ready: Callable[[], bool] = lambda: True,
        details: Callable[[], Mapping[str, Any]] = dict,
    ) -> None:
        self.api = api
        self._ready = ready
        self._details = details

    def place(self, request: Mapping[str, Any]) -> Mapping[str, Any]:
        try:
            order = self.api.place_order(request)
        except ValidationError as exc:
            field = None if exc.field == "body" else exc.field
            raise BadRequest(f"{exc.field} {exc.message}", field) from None
        return {"orderId": order.order_id, "status": str(order.status)}

    def get(self, order_id: str) -> Mapping[str, Any] | None:
        order = self.api.get_order(order_id)
        return None if order is None else order_json(order)

    def health(self) -> tuple[bool, Mapping[str, Any]]:
        return self._ready(), self._details()


def to_jsonable(value: Any) -> Any:
    """Plain JSON types from the domain's dataclasses, enums, decimals and tuples."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def load_openapi() -> dict[str, Any]:
    return json.loads(OPENAPI_PATH.read_text())


class OrderRequestHandler(BaseHTTPRequestHandler):
    server: OrderHttpServer
    protocol_version = "HTTP/1.1"
    server_version = "kafkalab-order/0.1"

    # ------------------------------------------------------------------ routing

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        if self._path() != "/orders":
            self._send_json(HTTPStatus.NOT_FOUND, {"error": f"no such resource: POST {self._path()}"})
            return
        try:
            request = self._read_json_object()
            order = to_jsonable(self.server.endpoints.place(request))
        except BadRequest as exc:
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": str(exc), "field": exc.field})
            return
        except Exception as exc:  # the broker or store failed: say so, keep serving
            log.exception("place_order_failed")
            self._send_json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": f"order not accepted: {exc}"})
            return
        location = f"/orders/{order['orderId']}"
        self._send_json(HTTPStatus.CREATED, order, extra_headers={"Location": location})

    def do_GET(self) -> None:  # noqa: N802
        path = self._path()
        if path == "/health":
            ready, details = self.server.endpoints.health()
            status = HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE
            self._send_json(status, {"status": "ok" if ready else "starting", **to_jsonable(details)})
        elif path == "/openapi.json":
            self._send_json(HTTPStatus.OK, self.server.openapi)
        elif path.startswith("/orders/") and path.count("/") == 2 and len(path) > len("/orders/"):
            order_id = path[len("/orders/") :]
            order = self.server.endpoints.get(order_id)
            if order is None:
                self._send_json(HTTPStatus.NOT_FOUND, {"error": f"no order {order_id}"})
            else:
                self._send_json(HTTPStatus.OK, to_jsonable(order))
        else:
            self._send_json(HTTPStatus.NOT_FOUND, {"error": f"no such resource: GET {path}"})

    # ------------------------------------------------------------------ helpers

    def _path(self) -> str:
        return self.path.split("?", 1)[0].rstrip("/") or "/"

    def _read_json_object(self) -> dict[str, Any]:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise BadRequest("malformed JSON: bad Content-Length") from None
        if length > MAX_BODY_BYTES:
            raise BadRequest(f"body larger than {MAX_BODY_BYTES} bytes")
        body = self.rfile.read(length) if length > 0 else b""
        try:
            parsed = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadRequest(f"malformed JSON: {exc}") from None
        if not isinstance(parsed, dict):
            raise BadRequest("the body must be a JSON object")
        return parsed

    def _send_json(
        self, status: HTTPStatus, payload: Any, extra_headers: Mapping[str, str] | None = None
    ) -> None:
        body = json.dumps(payload, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra_headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        log.debug("http_request", client=self.client_address[0], line=format % args)


class OrderHttpServer(ThreadingHTTPServer):
    """A threading HTTP server bound to one ``OrderEndpoints``."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], endpoints: OrderEndpoints) -> None:
        self.endpoints = endpoints
        self.openapi = load_openapi()
        super().__init__(address, OrderRequestHandler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])


def serve_in_thread(endpoints: OrderEndpoints, host: str = "127.0.0.1", port: int = 3000) -> OrderHttpServer:
    """Bind (port 0 picks a free one) and serve on a daemon thread; stop with ``server.shutdown()``."""
    server = OrderHttpServer((host, port), endpoints)
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), name="order-http", daemon=True)
    thread.start()
    return server

"""The order service's HTTP API as a FastAPI (ASGI) app; the OpenAPI document is generated from it.

    POST /orders         OrderRequest -> 201 {"orderId", "status"} and Location
    GET  /orders/{id}    -> 200 the order (status, item, amount, history) | 404
    GET  /openapi.json   -> the OpenAPI 3.1 description of the above
    GET  /health         -> 200 when ready, 503 while not

Every answer is JSON, errors included: ``{"error": "...", "field": ...}``, where ``field`` names the
offending field of a 400 (null when the body as a whole is wrong). 405 carries ``Allow``; 408 and 413
close the connection, so no unread body is left on it to be taken for a next request. A refused
request never reaches ``OrderApi``'s write, so nothing is written or produced for it.

Routes are thin: each calls one ``OrderEndpoints`` method. They are plain functions, which FastAPI
runs on its thread pool, so one slow store call does not hold up other requests.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any

import structlog
from fastapi import FastAPI, Path, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from scenarios.web.body import JsonBodyRoute
from scenarios.web.endpoints import OrderEndpoints, Refused
from scenarios.web.guards import BodyLimit, CheckRequestHead, HeadAsGet
from scenarios.web.limits import HttpLimits
from scenarios.web.models import (
    MAX_ORDER_ID_LENGTH,
    ORDER_ID_PATTERN,
    ErrorBody,
    Health,
    OrderAccepted,
    OrderRequest,
    OrderView,
)
from services.ports import StoreError

log = structlog.get_logger("kafkalab.http")

REFUSED = {"4XX": {"model": ErrorBody, "description": "refused; nothing was written"}}
UNAVAILABLE = {503: {"model": ErrorBody, "description": "the order store failed; nothing was accepted"}}
CLOSES_CONNECTION = {408, 413, 431}
# What a pydantic error type means for the field it names; other types get pydantic's own words.
MESSAGES = {
    "missing": "is required",
    "string_type": "must be a string",
    "string_too_short": "must be a non-empty string",
    "string_pattern_mismatch": "must not contain control characters",
    "string_unicode": "must be valid Unicode (no lone surrogates)",
    "int_type": "must be an integer",
    "is_instance_of": "must be a number",
    "decimal_max_places": "must have at most two decimals",
    "finite_number": "must be a finite number",
}
OrderId = Annotated[str, Path(alias="orderId", max_length=MAX_ORDER_ID_LENGTH, pattern=ORDER_ID_PATTERN)]


def create_app(endpoints: OrderEndpoints, limits: HttpLimits | None = None) -> FastAPI:
    """The ASGI app over ``endpoints``; serve it with ``server.serve_in_thread`` or any ASGI server."""
    app = guarded_app("kafkalab order API",
                      "Place an order; follow it through the saga (payment, inventory) to its outcome.", limits)

    @app.post("/orders", status_code=201, responses={**REFUSED, **UNAVAILABLE})
    def place_order(order: OrderRequest, response: Response) -> OrderAccepted:
        accepted = endpoints.place(order)
        response.headers["Location"] = f"/orders/{accepted.orderId}"
        return accepted

    @app.get("/orders/{orderId}", responses={**REFUSED, **UNAVAILABLE})
    def get_order(order_id: OrderId) -> OrderView:
        order = endpoints.get(order_id)
        if order is None:
            raise HTTPException(404, f"no order {order_id}")
        return order

    @app.api_route("/orders/{orderId}", methods=["POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    def change_order(order_id: OrderId) -> None:
        """Orders change only through the saga: 405, or 404 when there is no such order to refuse."""
        if endpoints.get(order_id) is None:
            raise HTTPException(404, f"no order {order_id}")
        raise HTTPException(405, headers={"Allow": "GET, HEAD"})

    @app.get("/health", responses={503: {"model": Health, "description": "not ready yet"}})
    def health() -> Health:
        ready, details = endpoints.health()
        body = {"status": "ok" if ready else "starting", **jsonable_encoder(details)}
        return JSONResponse(body, 200 if ready else 503)  # type: ignore[return-value]

    @app.get("/openapi.json", summary="This document")
    def openapi() -> dict[str, Any]:
        return app.openapi()

    _list_products_in_openapi(app, endpoints.products())
    return app


def guarded_app(title: str, description: str, limits: HttpLimits | None = None) -> FastAPI:
    """A FastAPI app with the order API's guards and JSON errors and no routes yet (the console adds its own)."""
    limits = limits or HttpLimits()
    app = FastAPI(
        title=title,
        version="1.0",
        description=description,
        openapi_url=None,  # served by a route of the app, so the document lists it too
        docs_url=None,
        redoc_url=None,
    )
    app.router.route_class = JsonBodyRoute
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes)
    app.add_middleware(HeadAsGet)
    app.add_middleware(CheckRequestHead, max_head_bytes=limits.max_header_bytes)  # added last: runs first
    _add_error_handlers(app, limits)
    return app


def _list_products_in_openapi(app: FastAPI, products: Sequence[str]) -> None:
    """The document names the catalog's products as productId's values. The model keeps a plain string
    (the catalog is the order service's, which refuses an unknown product itself), so the list is added
    to the generated document, the way FastAPI's docs extend OpenAPI."""
    generate = app.openapi

    def openapi_with_products() -> dict[str, Any]:
        document = generate()  # FastAPI's cached document (made anew only if the routes change)
        document["components"]["schemas"]["OrderRequest"]["properties"]["productId"]["enum"] = list(products)
        return document

    app.openapi = openapi_with_products  # type: ignore[method-assign]


def _add_error_handlers(app: FastAPI, limits: HttpLimits) -> None:
    def error(status: int, message: str, field: str | None = None, headers: dict[str, str] | None = None) -> Response:
        return JSONResponse(ErrorBody(error=message, field=field).model_dump(), status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        return error(400, *describe(exc.errors()))

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> Response:
        return error(400, str(exc), exc.field)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        headers = dict(exc.headers or {})
        if exc.status_code in CLOSES_CONNECTION:
            headers["Connection"] = "close"
        return error(exc.status_code, _http_message(request, exc, limits), headers=headers)

    @app.exception_handler(StoreError)
    async def store_failed(request: Request, exc: StoreError) -> Response:
        log.warning("order store failed", path=request.url.path, error=repr(exc))
        return error(503, "the order store is unavailable: nothing was accepted; try again")

    @app.exception_handler(Exception)
    async def failed(request: Request, exc: Exception) -> Response:
        log.exception("request failed", path=request.url.path)
        return error(500, "internal error: nothing was accepted")


def _http_message(request: Request, exc: HTTPException, limits: HttpLimits) -> str:
    where = f"{request.method} {request.url.path}"
    if exc.status_code == 404 and exc.detail == "Not Found":
        return f"no such resource: {where}"
    if exc.status_code == 405:
        return f"method not allowed: {where}; allowed: {(exc.headers or {}).get('Allow', '')}"
    if exc.status_code == 413:
        return f"body: larger than {limits.max_body_bytes} bytes"
    return str(exc.detail)


def describe(errors: Sequence[Any]) -> tuple[str, str | None]:
    """(message, field) for the first of pydantic's errors; field None when the whole body is wrong."""
    first = errors[0]
    loc = tuple(first.get("loc", ()))
    kind = first.get("type", "")
    if kind == "json_invalid":
        return f"body: not valid JSON ({first.get('ctx', {}).get('error', 'decode error')})", None
    if len(loc) < 2 or not isinstance(loc[1], str):
        if isinstance(first.get("input"), bytes):  # FastAPI parses JSON only when the request says it is
            return "body: must be JSON, sent with Content-Type: application/json", None
        return "body: must be a JSON object", None
    field = loc[1]
    if loc[0] == "path":
        return f"{field}: not an order id", field
    message = MESSAGES.get(kind) or re.sub(r"^\w+( input)? should", "must", str(first.get("msg", "is invalid")))
    return f"{field}: {message}", field

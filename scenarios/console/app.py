"""The console's routes, on the same FastAPI app (and uvicorn server) as the order API.

    GET  /console                     the page (polls the snapshot; no reload)
    GET  /console/api/snapshot        topics, groups with lag over time, sagas, dead letters, the lab
    GET  /console/api/messages        ?topic=&header=&value=   the message browser
    GET  /console/api/saga/{id}       one correlation id's timeline across every topic
    POST /console/api/redrive         {"topic", "partition", "offset"} one dead letter, or {} every one
    POST /console/api/lab/check       check the learner's settings now
    POST /console/api/load            {"orders", "rate"} a steady load (when the order API is here)
    POST /console/api/scale           {"service", "instances"} members of a service's group (same)

Bad input gets a JSON 4xx with one line (an unknown topic or correlation id, a letter that is gone:
404; the loop guard: 409) and nothing is written.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Path, Query
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from scenarios.console.live import LiveConsole, Refused
from scenarios.console.page import render_page
from scenarios.console.views import ViewError
from scenarios.web.endpoints import OrderEndpoints
from scenarios.web.models import OrderRequest

MAX_TEXT = 200
LOAD_BODY = {"customerId": "cust_load", "quantity": 1, "amount": Decimal("5.00")}  # products prod_load_00..09


class RedriveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    topic: str | None = Field(None, max_length=MAX_TEXT)
    partition: int | None = Field(None, ge=0)
    offset: int | None = Field(None, ge=0)


class ScaleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service: Literal["order", "payment", "inventory"]
    instances: int = Field(ge=1, le=12)


class LoadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    orders: int = Field(60, ge=1, le=5_000)
    rate: int = Field(20, ge=1, le=500)


def add_console(app: FastAPI, console: LiveConsole, orders: OrderEndpoints | None = None,
                scale: Callable[[str, int], None] | None = None) -> None:
    page = render_page(live=True, title=console.title)
    loads: list[threading.Thread] = []

    @app.exception_handler(ViewError)
    async def not_found(_request: Any, exc: ViewError) -> JSONResponse:
        return JSONResponse({"error": str(exc), "field": None}, 404)

    @app.exception_handler(Refused)
    async def refused(_request: Any, exc: Refused) -> JSONResponse:
        return JSONResponse({"error": str(exc), "field": None}, 409)

    @app.get("/console", response_class=HTMLResponse, include_in_schema=False)
    def console_page() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/console/api/snapshot")
    def snapshot() -> dict[str, Any]:
        return console.snapshot() | {"canLoad": orders is not None}

    @app.get("/console/api/messages")
    def messages(topic: Annotated[str | None, Query(max_length=MAX_TEXT)] = None,
                 header: Annotated[str | None, Query(max_length=MAX_TEXT)] = None,
                 value: Annotated[str | None, Query(max_length=MAX_TEXT)] = None) -> dict[str, Any]:
        return console.messages(topic or None, header or None, value)

    @app.get("/console/api/saga/{correlationId}")
    def saga(correlation_id: Annotated[str, Path(alias="correlationId", min_length=1, max_length=MAX_TEXT)],
             ) -> dict[str, Any]:
        return console.saga(correlation_id)

    @app.post("/console/api/redrive")
    def redrive(request: RedriveRequest) -> dict[str, Any]:
        where = (request.topic, request.partition, request.offset)
        if any(v is None for v in where) and any(v is not None for v in where):
            raise HTTPException(400, "redrive: give topic, partition and offset of one dead letter, or none for all")
        if request.topic is not None and not request.topic.endswith(".dlq"):
            raise HTTPException(400, f"topic: {request.topic!r} is not a dead-letter topic (*.dlq)")
        return console.redrive(*where)

    @app.post("/console/api/lab/check", status_code=202)
    def lab_check() -> dict[str, Any]:
        if console.lab is None:
            raise HTTPException(409, "no lab: start one with `kafkalab lab start NAME`, or pass --lab")
        console.lab.check()
        return {"checking": True}

    @app.post("/console/api/load", status_code=202)
    def load(request: LoadRequest) -> dict[str, Any]:
        if orders is None:
            raise HTTPException(409, "load: the order API is not served here; run `kafkalab load --mode kafka`")
        if any(t.is_alive() for t in loads):
            raise HTTPException(409, "load: one is running already")
        thread = threading.Thread(target=_place, args=(orders, request.orders, request.rate), daemon=True,
                                  name="console-load")
        loads[:] = [thread]
        thread.start()
        return {"orders": request.orders, "rate": request.rate}


    @app.post("/console/api/scale")
    def scale_service(request: ScaleRequest) -> dict[str, Any]:
        if scale is None:
            raise HTTPException(409, "scale: the services do not run here; use `kafkalab scale SERVICE N`")
        scale(request.service, request.instances)
        return {"service": request.service, "instances": request.instances}


def _place(orders: OrderEndpoints, count: int, rate: int) -> None:
    began = time.monotonic()
    for i in range(count):
        time.sleep(max(0.0, began + i / rate - time.monotonic()))
        body = {**LOAD_BODY, "productId": f"prod_load_{i % 10:02d}"}
        orders.place(OrderRequest.model_validate(body))

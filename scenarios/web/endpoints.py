"""What the HTTP layer calls: a thin port over the order service, so the app knows no store or broker.

``OrderApiEndpoints`` is that port over ``services.order_api.OrderApi``, the one place that writes an
order. Request handlers run on a thread pool, concurrently with each other and with a consumer loop;
the store's transactions are what make that safe, so nothing here holds a lock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from scenarios.web.models import OrderAccepted, OrderRequest, OrderView
from services.order_api import OrderApi, ValidationError


class Refused(Exception):
    """The order service refused the request (a 400); ``field`` names the offending field, if one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class OrderEndpoints(Protocol):
    """What the HTTP layer needs from the order service."""

    def place(self, request: OrderRequest) -> OrderAccepted:
        """Accept an order (nothing written if it raises). Raises Refused."""
        ...

    def get(self, order_id: str) -> OrderView | None: ...

    def health(self) -> tuple[bool, Mapping[str, Any]]:
        """(ready, details)."""
        ...

    def products(self) -> Sequence[str]:
        """The product ids an order may name (the OpenAPI document lists them)."""
        ...


class OrderApiEndpoints:
    """``OrderEndpoints`` over the order service's command side.

    ``ready`` says whether the process around it is serving (e.g. its consumer loop has started);
    ``details`` adds what /health reports about it.
    """

    def __init__(
        self,
        api: OrderApi,
        *,
        ready: Callable[[], bool] = lambda: True,
        details: Callable[[], Mapping[str, Any]] = dict,
        placed: Callable[[], None] = lambda: None,
    ) -> None:
        self.api = api
        self._ready = ready
        self._details = details
        self._placed = placed  # told after an order's transaction committed (e.g. wakes an outbox relay)

    def place(self, request: OrderRequest) -> OrderAccepted:
        try:
            order = self.api.place_order(request.as_body())
        except ValidationError as exc:  # e.g. a product the catalog does not have
            raise Refused(str(exc), None if exc.field == "body" else exc.field) from None
        self._placed()
        return OrderAccepted(orderId=order.order_id, status=str(order.status))

    def get(self, order_id: str) -> OrderView | None:
        order = self.api.get_order(order_id)
        return None if order is None else OrderView.of(order)

    def health(self) -> tuple[bool, Mapping[str, Any]]:
        return self._ready(), self._details()

    def products(self) -> Sequence[str]:
        return sorted(self.api.catalog.stock)

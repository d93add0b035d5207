"""Step builders the labs' stories share (the steps themselves are scenarios.engine.model.Step)."""

from __future__ import annotations

from scenarios.engine.model import Step


def order(customer: str, product: str, quantity: int, amount: float) -> Step:
    return Step("place_order", {"customer_id": customer, "product_id": product, "quantity": quantity, "amount": amount})


def orders(count: int, *, product: str = "prod_789", gap_ms: int = 100, prefix: str = "cust_lab") -> list[Step]:
    """``count`` one-unit orders, ``gap_ms`` apart (amounts 10.00, 11.00, ...)."""
    steps: list[Step] = []
    for i in range(count):
        steps += [order(f"{prefix}_{i}", product, 1, 10.0 + i), Step("advance", {"ms": gap_ms})]
    return steps


def stock(product: str, quantity: int) -> Step:
    return Step("set_stock", {"product_id": product, "quantity": quantity})


def quiet(ms: int | None = None) -> Step:
    return Step("quiet", {} if ms is None else {"ms": ms})


def watch(service: str, topic: str, every_ms: int = 500) -> Step:
    return Step("watch", {"service": service, "topic": topic, "every_ms": every_ms})

"""happy-path: the seed's first curl. One order flows through payment and inventory to COMPLETED."""

from __future__ import annotations

from scenarios.checks import invariant_checks, money, saga_checks, status_of
from scenarios.model import Check, Scenario, Step, check
from scenarios.runner import Observation

PRODUCT = "prod_123"
START_STOCK = 5

LESSON = """
[bold]Setup[/] stock of prod_123 is 5; one instance of each service.
[bold]Break[/] nothing: this is the baseline every other lab is compared with.
[bold]Observe[/] OrderCreated -> PaymentCompleted -> InventoryReserved, each on its own topic, all
carrying the same correlation id (the saga) and each naming its cause.
[bold]Verify[/] the order is COMPLETED, 250.50 charged, stock down by 2.
"""


def build_steps(seed: int) -> list[Step]:
    return [
        Step("set_stock", {"product_id": PRODUCT, "quantity": START_STOCK}),
        Step("snapshot", {"label": "before"}),
        Step("place_order", {"customer_id": "cust_happy_path", "product_id": PRODUCT, "quantity": 2, "amount": 250.50}),
        Step("quiet"),
        Step("snapshot", {"label": "after"}),
    ]


def checks(obs: Observation) -> list[Check]:
    before, after = obs.snapshots["before"], obs.snapshots["after"]
    charged = money(after["money"]["charged"]) - money(before["money"]["charged"])
    moved = before["stock"].get(PRODUCT, 0) - after["stock"].get(PRODUCT, 0)
    status = status_of(obs, 0)
    return [
        check("order COMPLETED", status == "COMPLETED", f"status {status}"),
        check("payment charged 250.50", charged == money("250.50"), f"charged {charged}"),
        check("stock decreased by 2", moved == 2, f"{before['stock'].get(PRODUCT)} -> {after['stock'].get(PRODUCT)}"),
        *saga_checks(obs, 0, ["OrderCreated", "PaymentCompleted", "InventoryReserved"]),
        *invariant_checks(obs),
    ]


SCENARIO = Scenario("happy-path", "one order flows to COMPLETED; one correlation id end to end", LESSON, build_steps, checks)

"""stock-rollback: payment succeeds, inventory cannot reserve, the saga compensates with a refund."""

from __future__ import annotations

from scenarios.checks import invariant_checks, money, saga_checks, status_of
from scenarios.model import Check, Scenario, Step, check
from scenarios.runner import Observation

PRODUCT = "prod_123"
START_STOCK = 5

LESSON = """
[bold]Setup[/] stock of prod_123 is 5.
[bold]Break[/] order 10 of them for 250.00: payment charges before inventory knows there is not enough.
[bold]Observe[/] PaymentCompleted, then InventoryFailed, then the compensation PaymentRefunded.
[bold]Fix/Verify[/] a choreography saga undoes what it did: refunded == charged, stock untouched,
order CANCELLED.
"""


def build_steps(seed: int) -> list[Step]:
    return [
        Step("set_stock", {"product_id": PRODUCT, "quantity": START_STOCK}),
        Step("snapshot", {"label": "before"}),
        Step("place_order", {"customer_id": "cust_large_quantity", "product_id": PRODUCT, "quantity": 10, "amount": 250.00}),
        Step("quiet"),
        Step("snapshot", {"label": "after"}),
    ]


def checks(obs: Observation) -> list[Check]:
    before, after = obs.snapshots["before"], obs.snapshots["after"]
    charged = money(after["money"]["charged"]) - money(before["money"]["charged"])
    refunded = money(after["money"]["refunded"]) - money(before["money"]["refunded"])
    status = status_of(obs, 0)
    return [
        check("order CANCELLED", status == "CANCELLED", f"status {status}"),
        check("payment was charged", charged == money("250.00"), f"charged {charged}"),
        check("refunded == charged", refunded == charged, f"charged {charged}, refunded {refunded}"),
        check("stock unchanged", before["stock"].get(PRODUCT) == after["stock"].get(PRODUCT),
              f"{before['stock'].get(PRODUCT)} -> {after['stock'].get(PRODUCT)}"),
        *saga_checks(obs, 0, ["OrderCreated", "PaymentCompleted", "InventoryFailed", "PaymentRefunded"]),
        *invariant_checks(obs),
    ]


SCENARIO = Scenario("stock-rollback", "not enough stock: InventoryFailed triggers a PaymentRefunded compensation", LESSON, build_steps, checks)

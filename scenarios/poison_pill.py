"""poison-pill: a record the consumer cannot handle must go to a DLQ, and the consumer must move on."""

from __future__ import annotations

from scenarios.checks import dlq_checks, invariant_checks, status_of
from scenarios.model import Check, Scenario, Step, check
from scenarios.runner import Observation

LESSON = """
[bold]Setup[/] stock of prod_123 is 5; one instance of each service.
[bold]Break[/] two poison pills: an order for prod_ignore (a logic error in the inventory service)
and raw bytes that are not JSON written straight onto the orders topic.
[bold]Observe[/] each poison record lands on its topic's DLQ with headers naming where it came from
(topic, partition, offset), the error and how many attempts were made.
[bold]Fix/Verify[/] the consumers commit past the poison and keep going: a normal order placed
afterwards still completes. Without a DLQ the partition would be stuck on that offset forever.
"""

RAW_POISON = b"{this is not json"


def build_steps(seed: int) -> list[Step]:
    return [
        Step("set_stock", {"product_id": "prod_123", "quantity": 5}),
        Step("place_order", {"customer_id": "cust_dlq_test", "product_id": "prod_ignore", "quantity": 1, "amount": 99.00}),
        Step("inject", {"topic": "orders", "value_hex": RAW_POISON.hex(), "note": "undecodable JSON"}),
        Step("quiet"),
        Step("place_order", {"customer_id": "cust_after_poison", "product_id": "prod_123", "quantity": 1, "amount": 10.00}),
        Step("quiet"),
    ]


def checks(obs: Observation) -> list[Check]:
    after = status_of(obs, 1)
    return [
        *dlq_checks(obs),
        check("a normal order after the poison still completes", after == "COMPLETED", f"status {after}"),
        *invariant_checks(obs),
    ]


SCENARIO = Scenario("poison-pill", "poison records go to <topic>.dlq with error headers; consumers keep going", LESSON, build_steps, checks)

"""stock-rollback: 10 x prod_123 with 5 in stock. Payment charges before inventory knows; inventory
fails; the payment service must refund (the compensation) and the order ends CANCELLED.

The broken start: the payment service consumes only ``orders``, so it never sees InventoryFailed on
``inventory``; the money stays charged and the order PENDING. A choreography has no coordinator:
each service that did something must listen for the failure that undoes it.
"""

from __future__ import annotations

from typing import Literal

from scenarios.engine import checks as c
from scenarios.engine.knobs import Knobs, knob
from scenarios.engine.lab import Lab, LabContext, Observed
from scenarios.engine.model import Check, Phase, Step, check
from scenarios.engine.spec import ServiceSpec, WorldSpec
from scenarios.engine.steps import order, quiet, stock

PRODUCT, START_STOCK, AMOUNT = "prod_123", 5, 250.00
EXPECTED = ["OrderCreated", "PaymentCompleted", "InventoryFailed", "PaymentRefunded"]


class RollbackKnobs(Knobs):
    payment_topics: list[Literal["orders", "payments", "inventory"]] = knob(
        ["orders"], lesson=True, help="the topics the payment service consumes")


def story(knobs: RollbackKnobs, ctx: LabContext) -> list[Phase]:
    world = WorldSpec(per_kind={"payment": ServiceSpec(subscribe=tuple(knobs.payment_topics))})
    steps = [stock(PRODUCT, START_STOCK), Step("snapshot", {"label": "before"}),
             order("cust_large_quantity", PRODUCT, 10, AMOUNT), quiet(30_000), Step("snapshot", {"label": "after"})]
    return [Phase("too many for the stock", world, tuple(steps))]


def _moved(obs: c.Observation) -> tuple[object, object, object]:
    before, after = obs.snapshots["before"], obs.snapshots["after"]
    charged = c.money(after["money"]["charged"]) - c.money(before["money"]["charged"])
    refunded = c.money(after["money"]["refunded"]) - c.money(before["money"]["refunded"])
    return charged, refunded, (before["stock"].get(PRODUCT), after["stock"].get(PRODUCT))


def checks(observed: Observed, knobs: RollbackKnobs, ctx: LabContext) -> list[Check]:
    (obs,) = observed
    charged, refunded, (before, after) = _moved(obs)
    status = c.status_of(obs, 0)
    failed = c.event_reason(obs, obs.placed[0].order_id, "InventoryFailed")
    hint = ("" if "inventory" in knobs.payment_topics else
            f"InventoryFailed was published on `inventory` (\"{failed}\"), but the payment service consumes only "
            f"{knobs.payment_topics}: the refund never runs. `kafka-consumer-groups --describe --group payment-service` "
            "shows what a group reads. Add \"inventory\" to payment_topics.")
    return [
        check("order CANCELLED", status == "CANCELLED", f"status {status}", hint),
        check("payment was charged", charged == c.money(AMOUNT), f"charged {c.money_text(charged)}"),
        check("refunded == charged", refunded == charged,
              f"charged {c.money_text(charged)}, refunded {c.money_text(refunded)}", hint),
        check("stock unchanged", before == after, f"{before} -> {after}"),
        *c.saga_checks(obs, 0, EXPECTED, hint=hint),
        *c.invariant_checks(obs),
    ]


def symptoms(observed: Observed, knobs: RollbackKnobs, ctx: LabContext) -> list[Check]:
    (obs,) = observed
    charged, refunded, _ = _moved(obs)
    status = c.status_of(obs, 0)
    failed = c.event_reason(obs, obs.placed[0].order_id, "InventoryFailed")
    return [
        check("inventory failed: not enough stock", "insufficient stock" in failed, failed or "no InventoryFailed"),
        check("the money stays charged", charged == c.money(AMOUNT) and refunded == 0,
              f"charged {c.money_text(charged)}, refunded {c.money_text(refunded)}"),
        check("the order never ends", status == "PENDING", f"status {status}"),
    ]


LAB = Lab.define(__file__, RollbackKnobs, story, checks, symptoms,
                 demo=lambda ctx: [("payment ignores inventory", {})],
                 fix=lambda ctx: {"payment_topics": ["orders", "inventory"]})

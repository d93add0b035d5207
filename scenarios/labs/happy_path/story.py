"""happy-path: one order, 2 x prod_123 for 250.50, end to end under one correlation id.

The broken start sends the amount in cents (25050), the classic integration mistake: the API takes
currency units with two decimals, the payment service declines anything over 10,000.00, and the saga
ends CANCELLED. The learner reads the PaymentFailed event's reason and fixes the request.
"""

from __future__ import annotations

from scenarios.engine import checks as c
from scenarios.engine.knobs import Knobs, knob
from scenarios.engine.lab import Lab, LabContext, Observed
from scenarios.engine.model import Check, Phase, Step, check
from scenarios.engine.spec import WorldSpec
from scenarios.engine.steps import order, quiet, stock

PRODUCT, START_STOCK, QUANTITY, AMOUNT = "prod_123", 5, 2, 250.50


class HappyKnobs(Knobs):
    amount: float = knob(25050, lesson=True, help="the order's amount as the API request sends it")


def story(knobs: HappyKnobs, ctx: LabContext) -> list[Phase]:
    steps = [stock(PRODUCT, START_STOCK), Step("snapshot", {"label": "before"}),
             order("cust_happy_path", PRODUCT, QUANTITY, knobs.amount), quiet(30_000), Step("snapshot", {"label": "after"})]
    return [Phase("one order", WorldSpec(), tuple(steps))]


def _hint(obs: c.Observation) -> str:
    placed = obs.placed[0]
    if not placed.accepted:
        return f"The API refused the request: {placed.error}. Fix the amount in [happy-path] of .kafkalab/lab.toml."
    failed = c.event_reason(obs, placed.order_id, "PaymentFailed")
    if failed:
        return (f"Read the saga's events: PaymentFailed says \"{failed}\". The API takes the amount in currency "
                f"units with two decimals (250.50), not in cents: set amount = {AMOUNT:.2f}.")
    return "Follow the order's events by its correlation id in the timeline (kafkalab scenario run happy-path --verbose)."


def checks(observed: Observed, knobs: HappyKnobs, ctx: LabContext) -> list[Check]:
    (obs,) = observed
    before, after = obs.snapshots["before"], obs.snapshots["after"]
    charged = c.money(after["money"]["charged"]) - c.money(before["money"]["charged"])
    moved = before["stock"].get(PRODUCT, 0) - after["stock"].get(PRODUCT, 0)
    status = c.status_of(obs, 0)
    hint = _hint(obs)
    return [
        check("order COMPLETED", status == "COMPLETED", f"status {status or 'refused by the API'}", hint),
        check(f"payment charged {AMOUNT:.2f}", charged == c.money(AMOUNT), f"charged {c.money_text(charged)}", hint),
        check(f"stock decreased by {QUANTITY}", moved == QUANTITY,
              f"{before['stock'].get(PRODUCT)} -> {after['stock'].get(PRODUCT)}", hint),
        *c.saga_checks(obs, 0, ["OrderCreated", "PaymentCompleted", "InventoryReserved"], hint=hint),
        *c.invariant_checks(obs),
    ]


def symptoms(observed: Observed, knobs: HappyKnobs, ctx: LabContext) -> list[Check]:
    (obs,) = observed
    status = c.status_of(obs, 0)
    reason = c.event_reason(obs, obs.placed[0].order_id, "PaymentFailed") if obs.placed[0].accepted else ""
    return [
        check("the order is CANCELLED", status == "CANCELLED", f"status {status}"),
        check("PaymentFailed says why: over the limit", "exceeds the limit" in reason, reason or "no PaymentFailed"),
        check("nothing was charged", c.money(obs.final["money"]["charged"]) == 0,
              f"charged {c.money_text(obs.final['money']['charged'])}"),
    ]


LAB = Lab.define(__file__, HappyKnobs, story, checks, symptoms,
                 demo=lambda ctx: [("amount sent in cents", {})],
                 fix=lambda ctx: {"amount": AMOUNT})

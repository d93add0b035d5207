"""chaos: a seeded storm of faults over a seeded stream of valid, invalid and poison orders.

Everything comes from ``random.Random(seed)``; the generated steps are the scenario script, so a
failing seed is replayed (and edited, or shrunk) from its script without the generator.
"""

from __future__ import annotations

import random

from scenarios.checks import dlq_checks, invariant_checks
from scenarios.model import Check, Scenario, Step

PRODUCTS = ("prod_123", "prod_456", "prod_789")  # catalog products; stock set per seed
SERVICES = ("order", "payment", "inventory")
ROUNDS = 24

LESSON = """
[bold]Setup[/] three products with seeded stock; services with one to three instances each.
[bold]Break[/] crash and restart instances, slow members down, take the broker away, lose acks so
producers retry, scale groups up and down, and write raw garbage onto topics, all while valid,
invalid and poison orders keep arriving.
[bold]Observe[/] rebalances, redeliveries and retries in the timeline.
[bold]Fix/Verify[/] heal everything, let the system go quiet, then check every invariant: all
accepted orders terminal, stock never negative, money balances, no effect applied twice, and the
DLQ holds exactly the poison records.
"""


def _order(rnd: random.Random) -> Step:
    kind = rnd.choices(("valid", "invalid", "poison"), weights=(8, 1, 1))[0]
    product = "prod_ignore" if kind == "poison" else rnd.choice(PRODUCTS)
    quantity = rnd.randint(1, 4)
    amount = round(rnd.randint(100, 50_000) / 100, 2)
    if kind == "invalid":
        field_ = rnd.choice(("quantity", "amount", "product_id"))
        quantity = -quantity if field_ == "quantity" else quantity
        amount = -amount if field_ == "amount" else amount
        product = rnd.choice(("", "prod_unknown")) if field_ == "product_id" else product
    return Step("place_order", {"customer_id": f"cust_{rnd.randint(1, 9)}", "product_id": product,
                                "quantity": quantity, "amount": amount})


def _fault(rnd: random.Random) -> Step:
    kind = rnd.choices(
        ("crash", "restart", "slow", "broker_down", "lose_ack", "scale", "inject", "advance"),
        weights=(3, 2, 2, 1, 2, 2, 1, 3),
    )[0]
    service = rnd.choice(SERVICES)
    if kind in ("crash", "restart"):
        return Step(kind, {"service": service, "index": rnd.randint(0, 2)})
    if kind == "slow":
        return Step("slow", {"service": service, "index": rnd.randint(0, 2), "ms": rnd.choice((5, 50, 500))})
    if kind == "broker_down":
        return Step("broker_down", {"ms": rnd.choice((100, 1_000, 5_000))})
    if kind == "lose_ack":
        return Step("lose_ack", {"topic": rnd.choice(("orders", "payments", "inventory"))})
    if kind == "scale":
        return Step("scale", {"service": service, "instances": rnd.randint(1, 3)})
    if kind == "inject":
        garbage = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 12)))
        return Step("inject", {"topic": "orders", "value_hex": garbage.hex(), "note": "random bytes"})
    return Step("advance", {"ms": rnd.choice((10, 100, 1_000, 10_000))})


def build_steps(seed: int) -> list[Step]:
    rnd = random.Random(seed)
    steps = [Step("set_stock", {"product_id": p, "quantity": rnd.randint(0, 12)}) for p in PRODUCTS]
    steps += [Step("scale", {"service": s, "instances": rnd.randint(1, 3)}) for s in SERVICES]
    for _ in range(ROUNDS):
        steps.append(_order(rnd) if rnd.random() < 0.55 else _fault(rnd))
    steps += [Step("heal"), Step("quiet")]
    return steps


def checks(obs) -> list[Check]:
    return [*invariant_checks(obs), *dlq_checks(obs)]


SCENARIO = Scenario("chaos", "seeded faults over seeded orders; every saga invariant must still hold", LESSON, build_steps, checks)

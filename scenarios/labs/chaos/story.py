"""chaos: a seeded storm of faults over a seeded stream of valid, invalid and poison orders.

Everything comes from ``random.Random(seed)``; the generated steps are the script, so a failing seed
is replayed (and edited, or shrunk) from its script without the generator. Every storm has at least
one poison order and one raw-bytes record. The broken start runs the services without a dead-letter
queue and without their processed-event check: poison stops partitions, and a record delivered
again is applied again.
"""

from __future__ import annotations

import random

from scenarios.engine import checks as c
from scenarios.engine.knobs import Knobs, knob
from scenarios.engine.lab import Lab, LabContext, Observed
from scenarios.engine.model import Check, Phase, Step, check
from scenarios.engine.spec import ServiceSpec, WorldSpec
from scenarios.engine.steps import order, quiet, stock

PRODUCTS = ("prod_123", "prod_456", "prod_789")  # catalog products; stock set per seed
SERVICES = ("order", "payment", "inventory")
ROUNDS = 24


class ChaosKnobs(Knobs):
    dlq_enabled: bool = knob(False, lesson=True, help="park records that still fail in <topic>.dlq")
    idempotent_consumers: bool = knob(False, lesson=True,
                                      help="skip an event whose id this consumer group processed already")


def _order(rnd: random.Random, kind: str | None = None) -> Step:
    kind = kind or rnd.choices(("valid", "invalid", "poison"), weights=(8, 1, 1))[0]
    product = c.POISON_PRODUCT if kind == "poison" else rnd.choice(PRODUCTS)
    quantity = rnd.randint(1, 4)
    amount = round(rnd.randint(100, 50_000) / 100, 2)
    if kind == "invalid":
        field_ = rnd.choice(("quantity", "amount", "product_id"))
        quantity = -quantity if field_ == "quantity" else quantity
        amount = -amount if field_ == "amount" else amount
        product = rnd.choice(("", "prod_unknown")) if field_ == "product_id" else product
    return order(f"cust_{rnd.randint(1, 9)}", product, quantity, amount)


def _garbage(rnd: random.Random) -> Step:
    garbage = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 12)))
    return Step("inject", {"topic": "orders", "value_hex": garbage.hex(), "note": "random bytes"})


def _fault(rnd: random.Random) -> Step:
    kind = rnd.choices(("crash", "restart", "slow", "broker_down", "lose_ack", "scale", "inject", "advance"),
                       weights=(3, 2, 2, 1, 2, 2, 1, 3))[0]
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
        return _garbage(rnd)
    return Step("advance", {"ms": rnd.choice((10, 100, 1_000, 10_000))})


def storm(seed: int) -> list[Step]:
    rnd = random.Random(seed)
    steps = [stock(p, rnd.randint(0, 12)) for p in PRODUCTS]
    steps += [Step("scale", {"service": s, "instances": rnd.randint(1, 3)}) for s in SERVICES]
    rounds = [_order(rnd) if rnd.random() < 0.55 else _fault(rnd) for _ in range(ROUNDS)]
    rounds.insert(rnd.randint(0, len(rounds)), _order(rnd, "poison"))  # at least one of each poison
    rounds.insert(rnd.randint(0, len(rounds)), _garbage(rnd))
    return [*steps, *rounds, Step("heal"), quiet()]


def story(knobs: ChaosKnobs, ctx: LabContext) -> list[Phase]:
    services = ServiceSpec(dead_letter=knobs.dlq_enabled, dedupe=knobs.idempotent_consumers)
    return [Phase(f"storm of seed {ctx.seed}", WorldSpec(services=services, network_faults=True), tuple(storm(ctx.seed)))]


def checks(observed: Observed, knobs: ChaosKnobs, ctx: LabContext) -> list[Check]:
    (obs,) = observed
    stuck = "; ".join(f"{who} stopped at {t}-{p}@{off}" for who, (t, p, off, _e) in sorted(obs.blocked.items()))
    dlq_hint = ("" if knobs.dlq_enabled else
                f"Poison records stop their partitions ({stuck or 'look at lag per partition'}): the sagas behind "
                "them never end. Set dlq_enabled = true.")
    dedupe_hint = ("" if knobs.idempotent_consumers else
                   f"Records were delivered again ({sum(obs.redeliveries.values())} redeliveries: rebalances, failed "
                   "commits, crashes) and applied again. At-least-once delivery needs idempotent consumers: set "
                   "idempotent_consumers = true.")
    found = [*c.invariant_checks(obs), *c.dlq_checks(obs)]
    effects = ("no effect applied twice", "stock never below zero", "charged - refunded == total of completed orders")
    return [check(x.name, x.passed, x.detail, (dedupe_hint if x.name in effects else "") or dlq_hint or dedupe_hint)
            for x in found]


def symptoms(observed: Observed, knobs: ChaosKnobs, ctx: LabContext) -> list[Check]:
    (obs,) = observed
    terminal = c.terminal_check(obs)
    return [
        check("a poison record stops a partition", bool(obs.blocked),
              "; ".join(f"{who} at {t}-{p}@{off}" for who, (t, p, off, _e) in sorted(obs.blocked.items()))),
        check("some sagas never end", not terminal.passed, terminal.detail),
    ]


LAB = Lab.define(__file__, ChaosKnobs, story, checks, symptoms,
                 demo=lambda ctx: [("no DLQ, no dedupe", {})],
                 fix=lambda ctx: {"dlq_enabled": True, "idempotent_consumers": True})

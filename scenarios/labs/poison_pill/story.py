"""poison-pill: an order for prod_ignore (inventory fails on it with a logic error) and raw bytes on
``orders``. Without a dead-letter queue each stops its partition: lag grows there while the other
partitions flow. With retry + DLQ both are parked with headers saying why, and the consumers go on.
"""

from __future__ import annotations

from scenarios.engine import checks as c
from scenarios.engine.knobs import Knobs, knob
from scenarios.engine.lab import Lab, LabContext, Observed
from scenarios.engine.model import Check, Phase, Step, check
from scenarios.engine.spec import ServiceSpec, WorldSpec
from scenarios.engine.steps import order, orders, quiet, stock, watch

NORMAL_ORDERS = 12
RAW_POISON = b"{this is not json"


class PoisonKnobs(Knobs):
    dlq_enabled: bool = knob(False, lesson=True, help="park records that still fail after max attempts in <topic>.dlq")


def story(knobs: PoisonKnobs, ctx: LabContext) -> list[Phase]:
    steps = [
        stock("prod_123", 5),
        watch("inventory", "payments"),
        order("cust_dlq_test", c.POISON_PRODUCT, 1, 99.00),
        *orders(NORMAL_ORDERS, gap_ms=500),
        Step("inject", {"topic": "orders", "value_hex": RAW_POISON.hex(), "note": "undecodable JSON"}),
        quiet(20_000),
        order("cust_after_poison", "prod_123", 1, 10.00),
        quiet(20_000),
    ]
    return [Phase("poison among orders", WorldSpec(services=ServiceSpec(dead_letter=knobs.dlq_enabled)), tuple(steps))]


def _stuck(obs: c.Observation) -> dict[int, list[int]]:
    return c.stuck_partitions(obs.lag_of("inventory", "payments"))


def _where(obs: c.Observation) -> str:
    return "; ".join(f"{who} stopped at {t}-{p}@{off}: {err}" for who, (t, p, off, err) in sorted(obs.blocked.items()))


def checks(observed: Observed, knobs: PoisonKnobs, ctx: LabContext) -> list[Check]:
    (obs,) = observed
    stuck = _stuck(obs)
    hint = ("" if knobs.dlq_enabled else
            f"One partition's lag only grows while the others are at 0: the consumer is not slow, it is stuck "
            f"({_where(obs) or 'see kafka-consumer-groups --describe, CURRENT-OFFSET does not move'}). Retrying "
            "cannot fix a record that is wrong: park it in <topic>.dlq and move on. Set dlq_enabled = true in "
            "[poison-pill] of .kafkalab/lab.toml.")
    after = c.status_of(obs, len(obs.placed) - 1)
    return [
        check("no stuck partition", not stuck and not obs.blocked,
              "; ".join(f"payments-{p} lag {lags[0]} -> {lags[-1]}" for p, lags in stuck.items())
              or "every partition back to lag 0", hint),
        *[check(x.name, x.passed, x.detail, hint) for x in c.dlq_checks(obs)],
        check("a normal order after the poison still completes", after == "COMPLETED", f"status {after}", hint),
        *[check(x.name, x.passed, x.detail, hint) for x in c.invariant_checks(obs)],
    ]


def symptoms(observed: Observed, knobs: PoisonKnobs, ctx: LabContext) -> list[Check]:
    (obs,) = observed
    stuck = _stuck(obs)
    growing = {p: lags for p, lags in stuck.items() if lags[-1] > lags[0]}
    samples = obs.lag_of("inventory", "payments")
    others = sorted(set(samples[-1][1]) - set(stuck)) if samples else []
    flowing = bool(others) and all(samples[-1][1][p] == 0 for p in others)
    inventory = {who: at for who, at in obs.blocked.items() if who.startswith("inventory")}
    return [
        check("exactly one partition is stuck and its lag grows", len(stuck) == 1 and len(growing) == 1,
              "; ".join(f"payments-{p}: {lags[0]} -> {lags[-1]}" for p, lags in stuck.items()) or "none stuck"),
        check("the other partitions flow (lag 0)", flowing, f"partitions {others}"),
        check("the consumer retries the same record", bool(inventory), _where(obs) or "nothing blocked"),
    ]


LAB = Lab.define(__file__, PoisonKnobs, story, checks, symptoms,
                 demo=lambda ctx: [("no DLQ", {})],
                 fix=lambda ctx: {"dlq_enabled": True})

"""poison-pill (learner mode): first without a DLQ, one poison record stops its partition while the
others flow; then retry + DLQ lets the consumer move on, and ``kafkalab dlq`` inspects and redrives."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scenarios.checks import POISON_PRODUCT
from scenarios.labs.base import LabDefinition, Verdict, combine, note, order_steps, run_phase, terminal_check
from scenarios.labs.labshop import ServiceKnobs
from scenarios.model import Check, Step, check
from scenarios.runner import Outcome

NAME = "poison-pill"
GROUP, TOPIC = "inventory-service", "payments"
NORMAL_ORDERS = 12
POISON = 1

TASK = """\
An order for prod_ignore makes the inventory service fail with a logic error. There is no dead-letter
queue: the service retries that record forever, so nothing behind it on its partition is processed,
while the other partitions keep flowing. Find the stuck partition, then let the service park poison
records in a DLQ and move on. The setting is `dlq_enabled` in .kafkalab/lab.toml, table [poison-pill]."""

LOOK = (
    "kafkalab lab check poison-pill    # lag per partition of inventory-service on payments",
    "kafkalab kafka-cli kafka-consumer-groups --describe --group inventory-service",
    "kafkalab dlq list --topic payments.dlq    # once the DLQ is on",
    "kafkalab dlq show payments.dlq 0 0    # one dead letter with its error headers",
)

HINTS = (
    "Look at the lag per partition: one partition's lag only grows while the others are at 0. The consumer "
    "is not slow, it is stuck: it keeps failing on the same offset (see the CURRENT-OFFSET column).",
    "Retrying cannot fix a record that is wrong. Retry a few times (max_attempts) for passing errors, then "
    "park the record in <topic>.dlq with headers saying why, commit past it and carry on.",
    "Set dlq_enabled = true in [poison-pill] of .kafkalab/lab.toml and check again; then try "
    "`kafkalab dlq list --topic payments.dlq`.",
)

SOLUTION_TEXT = """\
A poison pill is a record no amount of retrying will process (bad bytes, a logic error). Without a
dead-letter queue an at-least-once consumer cannot commit past it, so its partition stops: lag grows
on that one partition only. With retry + DLQ the service retries transient errors with backoff, and
sends a record that still fails to <topic>.dlq with headers naming the source topic, partition,
offset, consumer group, error and attempts, then commits past it. `kafkalab dlq redrive` sends
parked records back once the bug is fixed, adding a dlq-redrive-count header so a record that still
fails is not redriven forever."""


def steps() -> list[Step]:
    return [
        Step("place_order", {"customer_id": "cust_dlq_test", "product_id": POISON_PRODUCT, "quantity": 1, "amount": 99.0}),
        *order_steps(NORMAL_ORDERS, gap_ms=500),
        Step("advance", {"ms": 5_000}),
    ]


def run(knobs: ServiceKnobs, seed: int, mode: str = "sim") -> tuple[Outcome, Any]:
    from scenarios.labs.simworld import LabSim

    lab = LabSim(seed, knobs=knobs)
    lab.watch(GROUP, TOPIC)
    outcome = run_phase(lab, NAME, seed, mode, steps(), lambda obs: [terminal_check(obs.statuses, 1 + NORMAL_ORDERS)])
    return outcome, lab


def stuck_partitions(samples: list[tuple[int, dict[int, int]]]) -> dict[int, list[int]]:
    """Partitions whose lag never went back to 0 after the first sample: partition -> lag over time."""
    if len(samples) < 2:
        return {}
    parts = sorted(samples[-1][1])
    series = {p: [s.get(p, 0) for _, s in samples] for p in parts}
    return {p: lags for p, lags in series.items() if lags[-1] > 0 and min(lags[len(lags) // 2:]) > 0}


def live_checks(outcome: Outcome, samples: list[tuple[int, dict[int, int]]]) -> list[Check]:
    stuck = stuck_partitions(samples)
    dlq = sum(outcome.dlq.values())
    return [
        check("no stuck partition", not stuck,
              "; ".join(f"payments-{p} lag {lags[0]} -> {lags[-1]}" for p, lags in stuck.items()) or "all partitions at lag 0"),
        terminal_check(outcome.observation.statuses, 1 + NORMAL_ORDERS),
        check("DLQ count equals injected poison", dlq == POISON, f"{dlq} dead letters for {POISON} poison record"),
    ]


def verify(mode: str, seed: int, knobs: Mapping[str, Any], options: Any = None) -> Verdict:
    settings = ServiceKnobs(dlq=bool(knobs.get("dlq_enabled", False)))
    if mode == "kafka":
        from scenarios.labs import kafka_side

        return kafka_side.verify_poison(settings, options)
    outcome, lab = run(settings, seed)
    notes = [f"t={t}ms lag " + " ".join(f"p{p}={lag}" for p, lag in sorted(s.items())) for t, s in lab.samples[::4]]
    return Verdict(NAME, mode, live_checks(outcome, lab.samples), notes)


def scenario(mode: str, seed: int, options: Any = None) -> Outcome:
    if mode == "kafka":
        from scenarios.labs import kafka_side

        return kafka_side.poison_scenario(seed, options)
    broken, lab = run(ServiceKnobs(dlq=False), seed, mode)
    stuck = stuck_partitions(lab.samples)
    growing = {p: lags for p, lags in stuck.items() if lags[-1] > lags[0]}
    others = sorted(set(lab.samples[-1][1]) - set(stuck))
    flowing = all(lab.samples[-1][1][p] == 0 for p in others)
    stuck_at = next((p.service.stuck_at for p in lab.processes.values() if getattr(p.service, "stuck_at", None)), None)
    stages = [
        check("without DLQ: exactly one partition is stuck and its lag grows", len(stuck) == 1 and len(growing) == 1,
              "; ".join(f"payments-{p}: {lags[0]} -> {lags[-1]}" for p, lags in stuck.items())),
        check("without DLQ: the other partitions flow (lag 0)", bool(others) and flowing, f"partitions {others}"),
        check("without DLQ: the consumer retries the same offset", stuck_at is not None, f"stuck at {stuck_at}"),
    ]
    fixed, lab = run(ServiceKnobs(dlq=True), seed, mode)
    fixed.checks = [*live_checks(fixed, lab.samples)]
    return combine(fixed, stages, [note(0, "no DLQ", f"stuck at {stuck_at}")])


LAB = LabDefinition(
    name=NAME,
    title="Poison pill: a stuck partition, then retry + DLQ",
    summary="one bad record stops a partition; retry + dead-letter queue + redrive",
    task=TASK,
    look=LOOK,
    knobs={"dlq_enabled": False},
    knob_help={"dlq_enabled": "dead-letter records that still fail after max attempts"},
    solution={"dlq_enabled": True},
    solution_text=SOLUTION_TEXT,
    hints=HINTS,
    verify=verify,
    scenario=scenario,
)


def dlq_world(seed: int, knobs: Mapping[str, Any], redrive_rounds: int = 0, max_redrives: int = 3) -> tuple[Any, list[str]]:
    """The lab's world (DLQ as configured) after its run and ``redrive_rounds`` redrives; still open."""
    from scenarios.labs import dlq
    from scenarios.labs.simworld import LabSim

    lab = LabSim(seed, knobs=ServiceKnobs(dlq=bool(knobs.get("dlq_enabled", False))))
    for step in steps():
        if step.op == "place_order":
            lab.place_order({"customerId": step.get("customer_id"), "productId": step.get("product_id"),
                             "quantity": step.get("quantity"), "amount": step.get("amount")})
        else:
            lab.advance(int(step.get("ms")))
    refused: list[str] = []
    done: set[tuple[str, int, int]] = set()
    for _ in range(redrive_rounds):
        letters = [r for t, rs in lab.read_all_topics().items() if t.endswith(".dlq") for r in rs
                   if (r.topic, r.partition, r.offset) not in done]
        done |= {(r.topic, r.partition, r.offset) for r in letters}
        _, refused = dlq.redrive(lab.broker.producer(), letters, max_redrives)
        lab.advance(3_000)
    return lab, refused

"""poison-pill on a real broker: the shop's services over KafkaBroker, one poison order among normal ones.

Without a DLQ the inventory service retries the poison record in place: its partition's committed
offset stays on it and the lag there grows with every order behind it, while the other partitions
flow (lag read with Admin.lag, the numbers `kafka-consumer-groups --describe` shows). With retry +
DLQ the record lands in ``<prefix>payments.dlq`` with its error headers and every saga ends.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from scenarios.checks import POISON_PRODUCT
from scenarios.labs.base import Verdict, note
from scenarios.labs.kafka_world import KafkaWorld
from scenarios.labs.labshop import ServiceKnobs
from scenarios.model import Check, Script, check
from scenarios.runner import Observation, Outcome

NAME = "poison-pill"
ORDER_GAP_S = 0.25
SAMPLE_EVERY_S = 0.5
SETTLE_S = 25.0  # deadline for the run to settle (or, without DLQ, for the other partitions to drain)
CALM_SAMPLES = 3  # without DLQ: the others stay at lag 0 for this many samples before we conclude


class PoisonRun:
    """One run: the world (still open for reading), lag samples of inventory-service on payments."""

    def __init__(self, knobs: ServiceKnobs, options: Any = None, prefix: str | None = None) -> None:
        from scenarios.labs.poison import NORMAL_ORDERS

        self.dlq = knobs.dlq  # without a DLQ the run never goes quiet: it ends once the others drained
        self.world = KafkaWorld(knobs, options, prefix=prefix).start()
        self.group, self.topic = self.world.group("inventory"), self.world.topics.payments
        self.samples: list[tuple[int, dict[int, int]]] = []
        self.started = time.monotonic()
        self.placed = [self.world.place_order({"customerId": "cust_dlq_test", "productId": POISON_PRODUCT,
                                               "quantity": 1, "amount": 99.0})[0]]
        for i in range(NORMAL_ORDERS):
            time.sleep(ORDER_GAP_S)
            self.sample()
            self.placed.append(self.world.place_order({"customerId": f"cust_lab_{i}", "productId": "prod_789",
                                                       "quantity": 1, "amount": 10.0 + i})[0])
        self._settle()

    def sample(self) -> None:
        lags = self.world.lag(self.group, self.topic)
        if lags:
            now = int((time.monotonic() - self.started) * 1000)
            self.samples.append((now, {p.partition: p.lag for p in lags}))

    def stuck_service(self) -> Any:
        return next((s for s in self.world.instances("inventory") if getattr(s, "stuck_at", None)), None)

    def _settle(self) -> None:
        deadline = time.monotonic() + SETTLE_S
        calm = 0
        while time.monotonic() < deadline:
            time.sleep(SAMPLE_EVERY_S)
            self.sample()
            if self.dlq and self.world.settled():
                return
            stuck = self.stuck_service()
            if stuck is not None and self.samples:
                others = [lag for p, lag in self.samples[-1][1].items() if p != stuck.stuck_at[1]]
                calm = calm + 1 if not any(others) else 0
                if calm >= CALM_SAMPLES:
                    return

    def outcome(self, seed: int, checks: list[Check]) -> Outcome:
        statuses = self.world.order_statuses()
        dlq = dead_letter_counts(self.world)
        script = Script(NAME, seed, "kafka", ())
        observation = Observation(script, statuses=statuses)
        return Outcome(NAME, "kafka", seed, checks, dict(sorted(Counter(statuses.values()).items())), dlq, None,
                       [], script, observation=observation)

    def close(self, *, delete_topics: bool) -> None:
        self.world.close(delete_topics=delete_topics)


def dead_letter_counts(world: KafkaWorld) -> dict[str, int]:
    """Records per DLQ topic (logical names): the topics are this run's own, so end offset = count."""
    names = [world.topics.dlq(t) for t in world.topics.main()]
    ends = world.broker.admin().end_offsets(names)
    counts: Counter[str] = Counter()
    for tp, end in ends.items():
        counts[world.logical(tp.topic)] += end
    return {t: n for t, n in sorted(counts.items()) if n}


def _run(dlq: bool, options: Any, prefix: str | None = None) -> PoisonRun:
    return PoisonRun(ServiceKnobs(dlq=dlq), options, prefix)


def stuck_stage_checks(run: PoisonRun) -> tuple[list[Check], str]:
    from scenarios.labs.poison import stuck_partitions

    stuck = stuck_partitions(run.samples)
    growing = {p: lags for p, lags in stuck.items() if lags[-1] > lags[0]}
    others = sorted(set(run.samples[-1][1]) - set(stuck)) if run.samples else []
    flowing = bool(others) and all(run.samples[-1][1][p] == 0 for p in others)
    service = run.stuck_service()
    where = f"{run.world.logical(service.stuck_at[0])}-{service.stuck_at[1]}@{service.stuck_at[2]}" if service else "-"
    committed = run.world.broker.admin().committed_offsets(run.group) if service else {}
    held = [off for tp, off in committed.items() if service and (tp.topic, tp.partition) == service.stuck_at[:2]]
    return [
        check("without DLQ: exactly one partition is stuck and its lag grows", len(stuck) == 1 and len(growing) == 1,
              "; ".join(f"payments-{p}: {lags[0]} -> {lags[-1]}" for p, lags in stuck.items()) or "none stuck"),
        check("without DLQ: the other partitions flow (lag 0)", flowing, f"partitions {others}"),
        check("without DLQ: the group's committed offset stays on the poison record",
              service is not None and held == ([service.stuck_at[2]] if held or service.stuck_at[2] else []),
              f"stuck at {where}, committed {held[0] if held else 'nothing yet (CURRENT-OFFSET -)'}"),
    ], where


def verify_poison(knobs: ServiceKnobs, options: Any = None, prefix: str | None = None) -> Verdict:
    from scenarios.labs.poison import live_checks

    run = _run(knobs.dlq, options, prefix)
    try:
        checks = live_checks(run.outcome(0, []), run.samples)
        notes = [f"t={t}ms lag " + " ".join(f"p{p}={lag}" for p, lag in sorted(s.items())) for t, s in run.samples[::3]]
        service = run.stuck_service()
        if service is not None:
            notes.append(f"inventory keeps failing at {run.world.logical(service.stuck_at[0])}-{service.stuck_at[1]}"
                         f"@{service.stuck_at[2]}: {service.stuck_error}")
        notes.append(f"kafkalab kafka-cli kafka-consumer-groups --describe --group {run.group}")
        notes.append(f"topics and groups of this run: prefix {run.world.prefix} "
                     f"(kafkalab dlq list --mode kafka --prefix {run.world.prefix})")
        return Verdict(NAME, "kafka", checks, notes, {"prefix": run.world.prefix})
    finally:
        run.close(delete_topics=False)  # kept for `kafkalab dlq`; the next check deletes them


def poison_scenario(seed: int, options: Any = None) -> Outcome:
    from scenarios.labs.poison import POISON, live_checks

    broken = _run(False, options)
    try:
        stages, where = stuck_stage_checks(broken)
    finally:
        broken.close(delete_topics=True)
    fixed = _run(True, options)
    try:
        outcome = fixed.outcome(seed, [])
        outcome.checks = [*stages, *live_checks(outcome, fixed.samples)]
        outcome.timeline = [note(0, "no DLQ", f"stuck at {where}"),
                            note(0, "DLQ", f"{sum(outcome.dlq.values())} dead letter(s) for {POISON} poison record")]
        return outcome
    finally:
        fixed.close(delete_topics=True)

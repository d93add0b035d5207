"""consumer-lag: a steady load against a deliberately slow inventory service. One instance falls behind;
three (one per partition) drain the lag; more than the partition count leaves members idle."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scenarios.labs.base import LabDefinition, Verdict, combine, note, run_phase
from scenarios.labs.labshop import ServiceKnobs
from scenarios.labs.state import lab_dir
from scenarios.model import Check, Step, check
from scenarios.present.lag_chart import sparklines, write_html
from scenarios.runner import Outcome

NAME = "consumer-lag"
GROUP, TOPIC = "inventory-service", "payments"
PARTITIONS = 3
DELAY_MS = 40  # per event: one instance handles 25 events/s
LAG_THRESHOLD = 10
BATCH = 10  # max records per poll
CHART = "consumer-lag.html"

TASK = f"""\
A load of 40 orders/s hits the shop. The inventory service is deliberately slow ({DELAY_MS} ms per
event, 25 events/s per instance), so one instance falls behind and lag on `payments` grows.
Halfway through the load the system scales inventory to the number of instances you configure. Make
the lag drain (below {LAG_THRESHOLD} and falling) without making the service faster.
The setting is `inventory_instances` in .kafkalab/lab.toml, table [consumer-lag] (with the process
stack on real Kafka: `kafkalab scale inventory 3`)."""

LOOK = (
    "kafkalab lab check consumer-lag    # lag per partition over time, sparkline + chart file",
    "kafkalab load --rate 40 --duration 20    # the load, with a live lag table",
    "kafkalab kafka-cli kafka-consumer-groups --describe --group inventory-service",
    "kafkalab kafka-cli kafka-consumer-groups --describe --group inventory-service --members",
)

HINTS = (
    "Lag = log end offset - committed offset, per partition. It grows when records arrive faster than the "
    "group processes them: 40/s in, 25/s out with one member.",
    f"A consumer group spreads partitions over its members. payments has {PARTITIONS} partitions: up to "
    f"{PARTITIONS} members can work in parallel. How many members do you need for 40/s at 25/s each, "
    "given that each partition gets a third of the load?",
    f"Set inventory_instances = {PARTITIONS} in [consumer-lag] (or `kafkalab scale inventory {PARTITIONS}`). "
    f"Try {PARTITIONS + 2} too and look at --members: extra members get no partition and sit idle.",
)

SOLUTION_TEXT = f"""\
Throughput of a consumer group is bounded by min(members, partitions) x per-member rate. One slow
member handles 25 events/s of a 40/s load, so lag grows by ~15/s. Scaling to {PARTITIONS} members
(one per partition) gives each member ~13/s of load against 25/s of capacity, so the backlog drains.
Members beyond the partition count get no assignment: they are hot standbys, not extra throughput;
to scale further, add partitions (which changes key -> partition mapping for new records)."""


@dataclass
class LagRun:
    outcome: Outcome
    times: list[int]
    series: dict[str, list[int]]
    members: dict[str, int]
    scale_at_ms: int
    load_end_ms: int

    @property
    def totals(self) -> list[int]:
        return [sum(v[i] for v in self.series.values()) for i in range(len(self.times))]


def load_steps(rate: int, duration_s: int, scale_to: int, tail_s: int = 6) -> tuple[list[Step], int, int]:
    gap = max(1, 1000 // rate)
    count = rate * duration_s
    steps: list[Step] = []
    scale_at = end = 0
    for i in range(count):
        if i == count // 2:
            steps.append(Step("scale", {"service": "inventory", "instances": scale_to}))
            scale_at = i * gap
        steps.append(Step("place_order", {"customer_id": f"cust_load_{i % 50}", "product_id": f"prod_load_{i % 10:02d}",
                                          "quantity": 1, "amount": 5.0}))
        steps.append(Step("advance", {"ms": gap}))
    end = count * gap
    steps += [Step("advance", {"ms": 500}) for _ in range(tail_s * 2)]
    return steps, scale_at, end


def run(knobs: Mapping[str, Any], seed: int, mode: str = "sim") -> LagRun:
    from scenarios.labs.simworld import LabSim

    delay = int(knobs.get("inventory_delay_ms", DELAY_MS))
    # Small batches: a commit every BATCH records, so lag reads smoothly (and "within one poll batch").
    lab = LabSim(seed, knobs=ServiceKnobs(inventory_delay_ms=delay), partitions=PARTITIONS, max_records=BATCH)
    lab.watch(GROUP, TOPIC, every_ms=500)
    steps, scale_at, end = load_steps(int(knobs.get("rate", 40)), int(knobs.get("duration_s", 20)),
                                      int(knobs.get("inventory_instances", 1)))
    members: dict[str, int] = {}

    def checks(_obs: Any) -> list[Check]:
        members.update(lab.members(GROUP))
        return []

    outcome = run_phase(lab, NAME, seed, mode, steps, checks)
    times = [t for t, _ in lab.samples]
    series = {f"{TOPIC}-{p}": [s.get(p, 0) for _, s in lab.samples] for p in range(PARTITIONS)}
    return LagRun(outcome, times, series, members, scale_at, end)


def lag_checks(run_: LagRun, knobs: Mapping[str, Any], threshold: int = LAG_THRESHOLD) -> list[Check]:
    totals = run_.totals
    at_end_of_load = next((tot for t, tot in zip(run_.times, totals, strict=False) if t >= run_.load_end_ms), totals[-1])
    peak = max(totals, default=0)
    final = totals[-1] if totals else 0
    idle = sorted(c for c, n in run_.members.items() if n == 0)
    delay = int(knobs.get("inventory_delay_ms", DELAY_MS))
    return [
        check(f"lag below {threshold} before the load ends", at_end_of_load < threshold and final < threshold,
              f"total lag {at_end_of_load} at the end of the load, {final} at the end (peak {peak})"),
        check("lag falling once scaled", final <= at_end_of_load and (peak == 0 or final < peak),
              f"end of load {at_end_of_load} -> end {final}"),
        check(f"inventory still deliberately slow ({DELAY_MS} ms/event)", delay >= DELAY_MS, f"inventory_delay_ms={delay}"),
        check("every partition has a member", sum(run_.members.values()) >= PARTITIONS,
              f"members {run_.members}" + (f"; idle (no partition): {idle}" if idle else "")),
    ]


def report(run_: LagRun, chart_path: str | Path) -> list[str]:
    marks = {run_.scale_at_ms: "scaled", run_.load_end_ms: "load ends"}
    path = write_html(chart_path, run_.times, run_.series, title=f"{GROUP} lag on {TOPIC}", marks=marks)
    idle = [c for c, n in sorted(run_.members.items()) if n == 0]
    lines = sparklines(run_.series)
    lines.append(f"members: {run_.members}" + (f" (idle: {', '.join(idle)})" if idle else ""))
    lines.append(f"chart: {path}")
    return lines


def verify(mode: str, seed: int, knobs: Mapping[str, Any], options: Any = None) -> Verdict:
    if mode == "kafka":
        from scenarios.labs import kafka_side

        return kafka_side.verify_lag(knobs, options)
    run_ = run(knobs, seed)
    chart = Path(getattr(options, "chart", None) or lab_dir() / CHART)
    notes = report(run_, chart)
    return Verdict(NAME, mode, lag_checks(run_, knobs), notes, {"chart": str(chart), "members": run_.members})


def scenario(mode: str, seed: int, options: Any = None) -> Outcome:
    if mode == "kafka":
        from scenarios.labs import kafka_side

        return kafka_side.lag_scenario(seed, options)
    one = run({"inventory_instances": 1}, seed, mode)
    grew = one.totals[-1] >= LAG_THRESHOLD and one.totals[-1] > one.totals[len(one.totals) // 4]
    stages: list[Check] = [check("one slow instance: lag keeps growing", grew, f"total lag over time {one.totals[::6]}")]
    five = run({"inventory_instances": PARTITIONS + 2}, seed, mode)
    idle = [c for c, n in five.members.items() if n == 0]
    stages.append(check(f"{PARTITIONS + 2} instances: extra members sit idle", len(idle) == 2, f"members {five.members}"))
    three = run({"inventory_instances": PARTITIONS}, seed, mode)
    report(three, Path(getattr(options, "chart", None) or lab_dir() / CHART))
    three.outcome.checks = lag_checks(three, {})
    return combine(three.outcome, stages, [note(three.scale_at_ms, "inventory", f"scaled to {PARTITIONS}")])


LAB = LabDefinition(
    name=NAME,
    title="Consumer lag: a slow consumer, scaling, idle members",
    summary="a slow inventory service falls behind; scale to the partition count and watch lag drain",
    task=TASK,
    look=LOOK,
    knobs={"inventory_instances": 1, "inventory_delay_ms": DELAY_MS, "rate": 40, "duration_s": 20},
    knob_help={"inventory_instances": "instances of the inventory service after the first half of the load",
               "inventory_delay_ms": "the deliberate slowness (leave it)", "rate": "orders per second",
               "duration_s": "seconds of load"},
    solution={"inventory_instances": PARTITIONS},
    solution_text=SOLUTION_TEXT,
    hints=HINTS,
    verify=verify,
    scenario=scenario,
    kafka_knobs={"duration_s": 12},  # real seconds on a real broker: a shorter load still shows it
)

"""consumer-lag: RATE orders/s for DURATION seconds; the inventory service spends WORK_MS on each event
(12.5 events/s per instance), in small batches (a commit every BATCH records, so lag reads smoothly).
A quarter into the load inventory is scaled to the learner's count; the rebalance (a member learns of
it at its next heartbeat) and the drain take the rest of the load and a short tail.

The numbers are the same in both worlds and chosen for the real one: the whole shop runs in one
Python process there, on PostgreSQL, so the load stays modest; what matters is the ratio (20/s in,
12.5/s out per member, 3 partitions).
"""

from __future__ import annotations

from scenarios.engine import checks as c
from scenarios.engine.knobs import Knobs, knob
from scenarios.engine.lab import Lab, LabContext, Observed
from scenarios.engine.model import Check, Phase, Step, check
from scenarios.engine.spec import ServiceSpec, WorldSpec
from scenarios.engine.steps import watch

PARTITIONS = 3
WORK_MS, RATE, DURATION_S = 80, 20, 12
BATCH = 10
THRESHOLD = PARTITIONS * BATCH  # a sample may catch each member mid-batch
TAIL_MS = 3_000


class LagKnobs(Knobs):
    inventory_instances: int = knob(1, lesson=True, ge=1, le=12, help="instances of the inventory service after "
                                                                      "the first quarter of the load")
    inventory_work_ms: int = knob(WORK_MS, ge=WORK_MS, help="the inventory's time per event",
                                  guard="the slow service is the lab's premise; scale the group, not the work")
    rate: int = knob(RATE, ge=RATE, help="orders per second", guard="the load is what the lab is about")
    duration_s: int = knob(DURATION_S, ge=DURATION_S, help="seconds of load",
                           guard="a shorter load ends before the lag shows")


def story(knobs: LagKnobs, ctx: LabContext) -> list[Phase]:
    inventory = ServiceSpec(work_ms=knobs.inventory_work_ms, max_records=BATCH)
    world = WorldSpec(partitions=PARTITIONS, per_kind={"inventory": inventory})
    total = knobs.rate * knobs.duration_s
    first = total // 4
    load = {"rate": knobs.rate, "customer_id": "cust_load", "product_id": "prod_load", "quantity": 1, "amount": 5.0}
    steps = [watch("inventory", "payments"), Step("ready"), Step("load", {**load, "count": first}),
             Step("compare_cli_lag", {"service": "inventory", "topic": "payments"})]
    if knobs.inventory_instances != 1:
        steps.append(Step("scale", {"service": "inventory", "instances": knobs.inventory_instances}))
    steps += [Step("load", {**load, "count": total - first}), Step("advance", {"ms": TAIL_MS})]
    return [Phase(f"{knobs.rate}/s, inventory x{knobs.inventory_instances}", world, tuple(steps))]


def _at_end_of_load(obs: c.Observation) -> tuple[int, int, int]:
    samples = obs.lag_of("inventory", "payments")
    totals = c.lag_totals(samples) or [0]
    end = obs.load_end_ms or 0
    at_end = next((sum(lags.values()) for t, lags in samples if t >= end), totals[-1])
    return at_end, totals[-1], max(totals)


def checks(observed: Observed, knobs: LagKnobs, ctx: LabContext) -> list[Check]:
    (obs,) = observed
    at_end, final, peak = _at_end_of_load(obs)
    members = obs.members.get("inventory", {})
    idle = sorted(m for m, n in members.items() if n == 0)
    hint = (f"Lag = log end offset - committed offset, per partition. It grows when records arrive faster than "
            f"the group handles them: {knobs.rate}/s in, {1000 / knobs.inventory_work_ms:.1f}/s out per member. A group "
            f"spreads partitions over its members; payments has {PARTITIONS}, so up to {PARTITIONS} members work in "
            f"parallel: set inventory_instances = {PARTITIONS}." if len(members) < PARTITIONS else
            f"{len(members)} members for {PARTITIONS} partitions: the extra ones sit idle ({', '.join(idle)}).")
    found = [
        check(f"lag below {THRESHOLD} once the load is over", final < THRESHOLD,
              f"total lag {at_end} at the end of the load, {final} {TAIL_MS // 1000}s later (peak {peak})", hint),
        check("lag falling once scaled", final <= at_end and (peak == 0 or final < peak),
              f"end of load {at_end} -> end {final}", hint),
        check("every partition has a member", sum(members.values()) >= PARTITIONS,
              f"members {members}" + (f"; idle (no partition): {idle}" if idle else ""), hint),
    ]
    if obs.cli_lag is not None:
        found.append(cli_check(obs.cli_lag))
    return found


def cli_check(cli: dict) -> Check:
    """Kafka's LAG per partition lies between our readings just before and after it, give or take a batch."""
    name = "lag matches kafka-consumer-groups --describe (within one poll batch)"
    theirs = cli.get("cli")
    if not isinstance(theirs, dict) or not theirs or "before" not in cli:
        return check(name, False, str(theirs or "no CLI reading"))
    off = []
    for p, lag in sorted(theirs.items()):
        ours = (cli["before"].get(p, 0), cli["after"].get(p, 0))
        if lag is None or not min(ours) - BATCH <= lag <= max(ours) + BATCH:
            off.append(f"p{p}: CLI {lag}, ours {ours[0]}..{ours[1]}")
    total = (sum(cli["before"].values()), sum(v or 0 for v in theirs.values()), sum(cli["after"].values()))
    return check(name, not off and len(theirs) == PARTITIONS,
                 "; ".join(off) or f"total lag: ours {total[0]} -> CLI {total[1]} -> ours {total[2]}")


def symptoms(observed: Observed, knobs: LagKnobs, ctx: LabContext) -> list[Check]:
    (obs,) = observed
    totals = c.lag_totals(obs.lag_of("inventory", "payments")) or [0]
    at_end, _, _ = _at_end_of_load(obs)
    members = obs.members.get("inventory", {})
    if knobs.inventory_instances > PARTITIONS:
        idle = sorted(m for m, n in members.items() if n == 0)
        return [check("extra members sit idle", len(idle) == knobs.inventory_instances - PARTITIONS,
                      f"members {members}")]
    return [check("lag keeps growing", at_end >= THRESHOLD and at_end > totals[len(totals) // 4],
                  f"total lag over time {totals[::4]}")]


LAB = Lab.define(__file__, LagKnobs, story, checks, symptoms,
                 demo=lambda ctx: [("one instance", {}), (f"{PARTITIONS + 2} instances", {"inventory_instances": PARTITIONS + 2})],
                 fix=lambda ctx: {"inventory_instances": PARTITIONS})

"""rebalance-storm: three inventory instances (a group over three partitions) spend WORK_MS on each
event; a burst of BURST orders builds a backlog, so one poll of up to max_records hands an instance
a batch that takes longer than max.poll.interval.ms. Meanwhile the instances are restarted one after
the other (a deploy): each is down RESTART_MS and comes back under its own name.

The numbers are the same in both worlds and chosen for the real one (the whole shop in one Python
process on PostgreSQL): about 6 s of work per instance, a 6 s poll interval (the least a 6 s
session allows: librdkafka wants max.poll.interval.ms >= session.timeout.ms), 2 s restarts.
"""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator

from scenarios.engine import checks as c
from scenarios.engine.knobs import Knobs, knob
from scenarios.engine.lab import Lab, LabContext, Observed
from scenarios.engine.model import Check, Phase, Step, check
from scenarios.engine.spec import ServiceSpec, WorldSpec
from scenarios.engine.steps import quiet
from scenarios.labs.rebalance_storm.figures import Figures, figures

PARTITIONS, INSTANCES = 6, 2
WORK_MS = 150
BURST, BURST_RATE = 120, 1_000
RESTART_MS, RESTART_GAP_MS = 2_000, 250
HOLD_MS = 2_000
SETTLE_MS = 3_000  # the scale-out's rebalance is over before the deploy begins (with bounded batches)  # the burst queues up this long (less than the poll interval: nobody is late yet)

POLL_INTERVAL_MS = 6_000
QUIET_MS = 10_000  # a storm may never settle: the check says so rather than wait for ever
GROUP = "inventory-service"
STOP_OK_MS = 100  # a running member never sits without partitions when only what must move moves
REBALANCES_OK = 2  # the scale-out is a rebalance nothing avoids (cooperative: two rounds)
REDELIVERED_OK = 40  # a rebalance may cost the small batches in flight (their commits come too late): no more
READY_NOTE = "every group stable"


class StormKnobs(Knobs):
    static_membership: bool = knob(False, lesson=True, help="group.instance.id = the instance's name: a restart "
                                                            "within the session keeps its partitions, no rebalance")
    assignor: Literal["range", "roundrobin", "cooperative-sticky"] = knob(
        "range", lesson=True, help="partition.assignment.strategy (classic protocol): range and roundrobin are eager "
                                   "(everyone gives everything up); cooperative-sticky moves only what must move")
    max_records: int = knob(500, lesson=True, ge=1, le=500, help="records one poll hands the service: a batch takes "
                                                                 "max_records x work_ms")
    group_protocol: Literal["classic", "consumer"] = knob(
        "classic", lesson=True, help="group.protocol: classic, or consumer (KIP-848: the broker assigns, incrementally, "
                                     "and times sessions itself)")
    max_poll_interval_ms: int = knob(POLL_INTERVAL_MS, ge=POLL_INTERVAL_MS, le=300_000,
                                     help="max.poll.interval.ms: a member that does not poll this long leaves its group")
    session_timeout_ms: int = knob(6_000, ge=6_000, help="session.timeout.ms (classic protocol): how long the group "
                                                         "waits for a member that went quiet, e.g. while it restarts")
    work_ms: int = knob(WORK_MS, ge=WORK_MS, help="the inventory's time per event",
                        guard="the slow processing is the lab's premise; bound the batch, not the work")
    restart_ms: int = knob(RESTART_MS, ge=RESTART_MS, help="how long each instance is down during the rolling restart",
                           guard="a restart takes this long")

    @field_validator("session_timeout_ms")
    @classmethod
    def _within_poll_interval(cls, value: int, info) -> int:
        limit = info.data.get("max_poll_interval_ms", POLL_INTERVAL_MS)
        if value > limit:
            raise ValueError(f"librdkafka wants session.timeout.ms <= max.poll.interval.ms ({limit}); "
                             "raise max_poll_interval_ms with it")
        return value


def story(knobs: StormKnobs, ctx: LabContext) -> list[Phase]:
    inventory = ServiceSpec(work_ms=knobs.work_ms, max_records=knobs.max_records,
                            static_membership=knobs.static_membership, session_timeout_ms=knobs.session_timeout_ms,
                            assignor=knobs.assignor, group_protocol=knobs.group_protocol,
                            max_poll_interval_ms=knobs.max_poll_interval_ms)
    world = WorldSpec(partitions=PARTITIONS, instances={"inventory": INSTANCES}, per_kind={"inventory": inventory})
    load = {"rate": BURST_RATE, "count": BURST, "customer_id": "cust_storm", "product_id": "prod_load", "quantity": 1,
            "amount": 5.0}
    # The inventory is held up while the burst arrives (a slow dependency), so each instance's next poll
    # finds its whole backlog: up to max_records of it in one batch.
    held = [Step("slow", {"service": "inventory", "index": i, "ms": HOLD_MS}) for i in range(INSTANCES)]
    steps = [Step("ready"), *held, Step("load", load), Step("advance", {"ms": HOLD_MS}), Step("heal"),
             Step("scale", {"service": "inventory", "instances": INSTANCES + 1}), Step("advance", {"ms": SETTLE_MS})]
    for _ in range(INSTANCES):  # a rolling restart: the oldest instance is always first in line
        steps += [Step("bounce", {"service": "inventory", "index": 0, "ms": knobs.restart_ms}),
                  Step("advance", {"ms": RESTART_GAP_MS})]
    steps.append(quiet(QUIET_MS))
    label = (f"{knobs.group_protocol}, {knobs.assignor if knobs.group_protocol == 'classic' else 'broker-assigned'}, "
             f"{'static' if knobs.static_membership else 'dynamic'}, batch {knobs.max_records}")
    return [Phase(label, world, tuple(steps))]


def measured(obs: c.Observation) -> Figures:
    ready = next((e.at_ms for e in obs.timeline if e.text.startswith(READY_NOTE)), 0)
    end = max([e.at_ms for e in obs.timeline] + [r.at_ms for r in obs.rebalances] + [ready])
    return figures(obs, GROUP, ready, end)


def _hints(knobs: StormKnobs, fig: Figures) -> dict[str, str]:
    batch_ms = knobs.max_records * knobs.work_ms
    slow = batch_ms >= knobs.max_poll_interval_ms
    eager = knobs.group_protocol == "classic" and knobs.assignor != "cooperative-sticky"
    covered = knobs.group_protocol == "consumer" or knobs.session_timeout_ms > knobs.restart_ms
    batch = (f"A full poll is {knobs.max_records} records x {knobs.work_ms} ms = {batch_ms / 1000:.0f} s of work, longer "
             f"than max.poll.interval.ms ({knobs.max_poll_interval_ms / 1000:.0f} s): the member leaves the group mid-batch, "
             "its commit fails and the next owner gets the batch again. Bound the batch: max_records so that "
             "max_records x work_ms stays well under the interval." if slow else "")
    static = ("" if knobs.static_membership and covered else
              "Each restart of a dynamic member is two rebalances (it leaves, it joins). Give members an identity: "
              "static_membership = true, with session_timeout_ms longer than a restart "
              f"({knobs.restart_ms / 1000:.0f} s), and the group waits for it instead." if not knobs.static_membership else
              f"session_timeout_ms ({knobs.session_timeout_ms} ms) is shorter than a restart ({knobs.restart_ms} ms): "
              "the member is given up before it is back.")
    stop = ("range and roundrobin are eager: at every rebalance every member gives up every partition until the new "
            "assignment is out. assignor = \"cooperative-sticky\" moves only what must move "
            "(or group_protocol = \"consumer\": the broker assigns, incrementally)." if eager else "")
    return {"batch": batch, "static": static, "stop": stop}


def checks(observed: Observed, knobs: StormKnobs, ctx: LabContext) -> list[Check]:
    (obs,) = observed
    fig = measured(obs)
    hints = _hints(knobs, fig)
    first = hints["batch"] or hints["static"] or hints["stop"]
    return [
        check("no stop-the-world pause", fig.stop_the_world_ms <= STOP_OK_MS, fig.text(),
              hints["stop"] or hints["batch"] or first),
        check(f"no rebalance but the scale-out's (at most {REBALANCES_OK})", fig.rebalances <= REBALANCES_OK, fig.text(),
              hints["static"] or hints["batch"] or first),
        check(f"at most {REDELIVERED_OK} records delivered twice", fig.redelivered <= REDELIVERED_OK, fig.text(), hints["batch"] or first),
        c.terminal_check(obs, BURST),
    ]


def symptoms(observed: Observed, knobs: StormKnobs, ctx: LabContext) -> list[Check]:
    (obs,) = observed
    fig = measured(obs)
    return [
        check("the whole group stops", fig.stop_the_world_ms > STOP_OK_MS, fig.text()),
        check("the restarts and slow batches rebalance the group", fig.rebalances >= INSTANCES, fig.text()),
        check("records are delivered again", fig.redelivered > 0, fig.text()),
    ]


FIXED = {"static_membership": True, "assignor": "cooperative-sticky", "max_records": 10}

LAB = Lab.define(__file__, StormKnobs, story, checks, symptoms,
                 demo=lambda ctx: [("classic, eager, dynamic, unbounded batch", {})],
                 fix=lambda ctx: dict(FIXED))

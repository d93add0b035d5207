"""broker-failure: three brokers, orders under load, and the leader of orders-0 dies.

The same steps in both worlds: a first load; both followers of orders-0 stop for a few seconds (a
long GC pause: SIGSTOP on a real node), more orders arrive meanwhile, and the leader is killed
(kill -9) before the followers wake. Its machine is gone: it never comes back in this story. The
followers wake, one of them leads; then that one is killed too, one broker is left, and a probe
write shows what the broker answers; the second broker comes back, catches up and rejoins the ISR.
Every topic is described along the way (leader, replicas, ISR).

What the broker acknowledged is known (the services' delivery reports); what survived is read back
at the end. The lesson is the difference: acknowledged but missing records.
"""

from __future__ import annotations

from typing import Literal

from scenarios.engine import checks as c
from scenarios.engine.knobs import Knobs, knob
from scenarios.engine.lab import Lab, LabContext, Observed
from scenarios.engine.model import Check, Phase, Step, check
from scenarios.engine.observation import Observation
from scenarios.engine.spec import ServiceSpec, WorldSpec
from scenarios.engine.steps import quiet

TOPIC = "orders"
# Shorter than the broker session timeout (5 s on the lab's real cluster, 9 s on the simulated one): the
# paused followers are a GC pause, not dead, and stay in the ISR.
PAUSE_MS = 3_000
# How long to let the cluster act before each describe, which then looks again until the controller is
# done (no dead leader, every live replica back in the ISR; scenarios/worlds/brokers.py). A real cluster
# fences a killed broker after broker.session.timeout.ms and a restarted node needs a JVM start; the
# simulated controller acts at once. Same steps in both worlds, the simulator just waits less (its virtual
# seconds cost CPU). "resume": the paused followers wake. "quiet": the most the sagas get to finish.
WAITS_MS = {True: {"resume": PAUSE_MS, "fence": 1_000, "restart": 1_000, "quiet": 30_000},
            False: {"resume": PAUSE_MS, "fence": 3_000, "restart": 3_000, "quiet": 8_000}}
REFUSED = "NOT_ENOUGH_REPLICAS"
ORDERS = 31  # the three loads


class BrokerFailureKnobs(Knobs):
    replication_factor: int = knob(1, lesson=True, ge=1, le=3, help="copies of every saga topic's partitions")
    min_insync_replicas: int = knob(1, lesson=True, ge=1, le=3,
                                    help="replicas that must be in sync for an acks=all write to be accepted")
    acks: Literal["0", "1", "all"] = knob("1", lesson=True, help="what the services' producers wait for")
    unclean_leader_election: bool = knob(False, help="let an out-of-sync replica lead (and lose what it lacks)")


def describe(label: str) -> list[Step]:
    return [Step("describe", {"topic": TOPIC}), Step("snapshot", {"label": label})]


def story(knobs: BrokerFailureKnobs, ctx: LabContext) -> list[Phase]:
    config = {"min.insync.replicas": str(knobs.min_insync_replicas),
              "unclean.leader.election.enable": str(knobs.unclean_leader_election).lower()}
    world = WorldSpec(brokers=3, replication_factor=knobs.replication_factor, topic_config=config,
                      services=ServiceSpec(acks=knobs.acks), client_timeout_s=10.0)
    load = {"customer_id": "cust_bf", "quantity": 1, "amount": 5.0}  # the catalog's load products
    wait = WAITS_MS[ctx.real_time]
    steps = [
        Step("ready"),
        Step("load", {**load, "rate": 20, "count": 20}),
        Step("advance", {"ms": 1_000}),
        *describe("before"),
        Step("broker_pause", {"topic": TOPIC, "partition": 0, "role": "followers", "ms": PAUSE_MS}),
        Step("load", {**load, "rate": 10, "count": 6}),  # well inside the pause, also on a busy machine
        Step("broker_kill", {"topic": TOPIC, "partition": 0, "role": "leader"}),
        Step("advance", {"ms": wait["resume"]}),
        *describe("leader killed"),
        Step("broker_kill", {"topic": TOPIC, "partition": 0, "role": "leader"}),
        Step("advance", {"ms": wait["fence"]}),
        *describe("two brokers down"),
        Step("probe"),
        Step("load", {**load, "rate": 5, "count": 5}),
        Step("broker_start", {"which": 2}),  # the second one; the first one's machine is gone
        Step("advance", {"ms": wait["restart"]}),
        *describe("one back"),
        quiet(wait["quiet"]),
    ]
    return [Phase("leader of orders-0 killed under load", world, tuple(steps))]


# ------------------------------------------------------------------ what a run shows
def lost(obs: Observation) -> dict[str, int]:
    """Per topic: event ids the broker acknowledged that are not in the topic when read back."""
    out = {}
    for topic, acked in sorted(obs.acked.items()):
        held = {c.header_text(r, "event-id") for r in obs.records.get(topic, [])}
        missing = len(acked - held)
        if missing:
            out[topic] = missing
    return out


def lost_check(obs: Observation, hint: str) -> Check:
    gone = lost(obs)
    acked = sum(len(ids) for ids in obs.acked.values())
    where = ", ".join(f"{t} {n}" for t, n in gone.items())
    return check("no acknowledged record is lost when the leader dies", acked > 0 and not gone,
                 f"{acked} acknowledged, {sum(gone.values())} missing" + (f" ({where})" if where else ""), hint)


def leader_moves(obs: Observation) -> tuple[int | None, int | None]:
    """orders-0's leader before the kill and after it."""
    by_time = [rows for _, rows in obs.describes]
    first = [r.leader for r in by_time[0] if r.partition == 0] if by_time else []
    second = [r.leader for r in by_time[1] if r.partition == 0] if len(by_time) > 1 else []
    return (first[0] if first else None, second[0] if second else None)


def isr_sizes(obs: Observation) -> list[int]:
    return [len(next((r.isr for r in rows if r.partition == 0), ())) for _, rows in obs.describes]


def _hint(knobs: BrokerFailureKnobs) -> str:
    if knobs.replication_factor < 3:
        return ("With replication_factor = 1 a partition lives on one broker: when that machine is gone, so is "
                "everything it acknowledged. Keep three copies: replication_factor = 3.")
    if knobs.acks != "all":
        return (f"acks = \"{knobs.acks}\" is answered by the leader before any follower has the record: a leader "
                "that dies before its followers fetch takes those records with it. Wait for the ISR: acks = \"all\".")
    if knobs.min_insync_replicas < 2:
        return ("acks = \"all\" waits for the ISR, but min_insync_replicas = 1 lets the ISR shrink to the leader "
                "alone and still accept writes: one more failure loses them. Require two copies: "
                "min_insync_replicas = 2.")
    return "Keep unclean_leader_election = false: an out-of-sync replica that leads drops what it never fetched."


def checks(observed: Observed, knobs: BrokerFailureKnobs, ctx: LabContext) -> list[Check]:
    obs = observed[0]
    hint = _hint(knobs)
    answers = [answer for _, answer in obs.probes]
    # The same in both worlds: the real cluster's quorum runs on a controller node of its own, so with two
    # brokers down it still shrinks the ISR and the broker refuses the write (no timeout for lack of quorum).
    refused = [a for a in answers if REFUSED in a]
    found = [lost_check(obs, hint),
             check("with one broker left, acks=all writes are refused (NOT_ENOUGH_REPLICAS), not kept on one copy",
                   bool(refused), (refused or [a or "acknowledged" for a in answers] or ["no probe"])[0][:200], hint)]
    before, after = leader_moves(obs)
    found.append(check("the leader of orders-0 moved to a replica in sync when its broker died",
                       before is not None and after is not None and after != before,
                       f"leader {before} -> {after}; ISR sizes {isr_sizes(obs)}", hint))
    terminal = c.terminal_check(obs, ORDERS)
    found.append(check("every saga completes once a broker is back", terminal.passed, terminal.detail, hint))
    return found


def symptoms(observed: Observed, knobs: BrokerFailureKnobs, ctx: LabContext) -> list[Check]:
    obs = observed[0]
    gone = lost(obs)
    acked = sum(len(ids) for ids in obs.acked.values())
    return [check("records the broker acknowledged are missing after the leader died", bool(gone),
                  f"{acked} acknowledged, {sum(gone.values())} missing: {gone}")]


def demo(ctx: LabContext) -> list[tuple[str, dict]]:
    """The subtler broken start (the learner's own start, replication factor 1, loses a whole partition)."""
    return [("replication factor 3, but acks=1 and min.insync.replicas=1", {"replication_factor": 3})]


LAB = Lab.define(__file__, BrokerFailureKnobs, story, checks, symptoms, demo=demo,
                 fix=lambda ctx: {"replication_factor": 3, "min_insync_replicas": 2, "acks": "all"})

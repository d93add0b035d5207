"""exactly-once: duplicates made by a lost ack and by a crash between produce and commit, then removed.

One phase per set of knobs, the same steps in both worlds: the payer writes payment events while the
network loses the ack of its first Produce request; the ledger (consume-process-produce) is armed to
crash between its produce and its commit; a replacement ledger instance takes over (the same
transactional id, so it fences the crashed one's open transaction); the auditor reads the ledger
downstream. The checker (tally.py) counts per event id: lost, duplicated, read-while-aborted.
"""

from __future__ import annotations

from typing import Literal

from scenarios.engine.knobs import KnobError, Knobs, knob
from scenarios.engine.lab import Lab, LabContext, Observed
from scenarios.engine.model import Check, Phase, Step, check
from scenarios.engine.spec import ComponentSpec, WorldSpec
from scenarios.engine.steps import quiet
from scenarios.labs.exactly_once import parts
from scenarios.labs.exactly_once.tally import downstream, fencing, payments_log

NO_SHOP = {"order": 0, "payment": 0, "inventory": 0}
PAYER_PART, LEDGER_PART, AUDITOR_PART = "exactly-once/payer", "exactly-once/ledger", "exactly-once/auditor"
CRASH_LANDS_MS = 4_000  # from the payer's start until the ledger's first batch has met its fault point


class ExactlyOnceKnobs(Knobs):
    enable_idempotence: bool = knob(False, lesson=True,
                                    help="the payer's producer: the broker drops a resent batch it already wrote")
    acks: Literal["0", "1", "all"] = knob("all", help="the payer's acks (idempotence needs all)")
    transactional: bool = knob(False, lesson=True, help="the ledger consumes, produces and commits its offsets in "
                                                        "one Kafka transaction (send_offsets_to_transaction)")
    isolation_level: Literal["read_uncommitted", "read_committed"] = knob(
        "read_uncommitted", lesson=True, help="how the ledger's downstream reader reads it")
    transactional_id: str = knob("ledger-{instance}", help="each ledger instance's transactional.id; {instance} "
                                                           "is its index (a replacement reuses it)")
    ledger_instances: int = knob(1, ge=1, le=3, help="ledger instances (one consumer group)")
    payments: int = knob(12, ge=6, le=200, guard="the crash must land while payments are still coming",
                         help="payment events the payer writes")


def refuse(knobs: ExactlyOnceKnobs) -> None:
    """Settings that cannot work, refused with the reason before anything runs."""
    try:
        knobs.transactional_id.format(instance=0)
    except (KeyError, IndexError, ValueError):
        raise KnobError(f"[exactly-once] transactional_id = \"{knobs.transactional_id}\": the only placeholder "
                        "it may hold is {instance}") from None
    if knobs.enable_idempotence and knobs.acks != "all":
        raise KnobError(f"[exactly-once] acks = \"{knobs.acks}\" with enable_idempotence = true is refused: an "
                        "idempotent producer needs every in-sync replica's ack (acks = \"all\"); librdkafka refuses "
                        "the pair too")
    if knobs.transactional and knobs.ledger_instances > 1 and "{instance}" not in knobs.transactional_id:
        raise KnobError(f"[exactly-once] transactional_id = \"{knobs.transactional_id}\" is shared by "
                        f"{knobs.ledger_instances} ledger instances: each new one fences the others (same id, "
                        "higher epoch), so only one could ever commit. Put {instance} in it, e.g. "
                        "\"ledger-{instance}\"")


def world(knobs: ExactlyOnceKnobs) -> WorldSpec:
    return WorldSpec(partitions=2, instances=NO_SHOP, network_faults=True, topics=(parts.PAYMENTS, parts.LEDGER),
                     components={
                         PAYER_PART: ComponentSpec(deferred=True, config={
                             "count": knobs.payments, "idempotence": knobs.enable_idempotence, "acks": knobs.acks}),
                         LEDGER_PART: ComponentSpec(instances=knobs.ledger_instances, config={
                             "transactional": knobs.transactional, "transactional_id": knobs.transactional_id}),
                         AUDITOR_PART: ComponentSpec(config={"isolation_level": knobs.isolation_level}),
                     })


def story(knobs: ExactlyOnceKnobs, ctx: LabContext) -> list[Phase]:
    refuse(knobs)
    steps = (
        Step("ready"),  # the ledger and the auditor have their partitions
        Step("lose_ack", {"topic": parts.PAYMENTS}),  # the payer's first Produce: written, its ack lost
        Step("crash", {"service": "ledger"}),  # dies between produce and commit of its next batch
        Step("start", {"component": "payer"}),
        Step("advance", {"ms": CRASH_LANDS_MS}),
        Step("scale", {"service": "ledger", "instances": knobs.ledger_instances}),  # a replacement, same index
        quiet(),
    )
    return [Phase("payments, a lost ack, a ledger crash", world(knobs), steps)]


def _hint_payments(knobs: ExactlyOnceKnobs) -> str:
    return ("The payer's first ack was lost, so it sent the batch again and the broker wrote it twice (same event "
            "id and producer-seq, two offsets). Set enable_idempotence = true: the broker then knows the batch by "
            "producer id and sequence and drops the resend.")


def _hint_downstream(knobs: ExactlyOnceKnobs, dup: int, aborted: int) -> str:
    if not knobs.transactional:
        return ("The ledger produced its entries, then crashed before committing its input offsets, so its "
                "replacement booked the same payments again. Set transactional = true: the entries and the offsets "
                "commit together or not at all.")
    if aborted or knobs.isolation_level != "read_committed":
        return ("The downstream reader sees the crashed instance's aborted transaction (read_uncommitted reads "
                "every record, committed or not). Set isolation_level = \"read_committed\".")
    return _hint_payments(knobs) if dup else "Look at the duplicates' attempts: which instance wrote each copy?"


def checks(observed: Observed, knobs: ExactlyOnceKnobs, ctx: LabContext) -> list[Check]:
    (obs,) = observed
    log, down = payments_log(obs), downstream(obs)
    zombies = fencing(obs)
    # Fenced either way: a crashed instance's producer that tries to commit after its replacement did, or
    # an instance still running when its replacement (same transactional id) started.
    fenced = [z for z in zombies if (z["kind"] == "zombie_fenced" and z.get("fenced")) or z["kind"] == "fenced"]
    quiet_ok = bool(obs.quiet_reached) and all(obs.quiet_reached)
    return [
        check("every payment once in the payments log", log.clean, log.detail(),
              "" if log.clean else _hint_payments(knobs), counts=log.counts()),
        check("every payment booked once downstream", down.clean, down.detail(),
              "" if down.clean else _hint_downstream(knobs, len(down.duplicated), len(down.aborted_reads)),
              counts=down.counts()),
        check("the crashed ledger's zombie is fenced by epoch", bool(fenced) and not any(
            z["kind"] == "zombie_committed" for z in zombies),
              "; ".join(f"{z['transactional_id']}: {z.get('error', 'committed!')}" for z in zombies)
              or "no zombie: the crashed instance had no transaction to finish",
              "A crashed instance with no transaction leaves nothing to fence: its work is simply redone. Set "
              "transactional = true and watch the replacement (same transactional.id) fence it."),
        check("the pipeline went quiet", quiet_ok, "every payment sent, booked and read" if quiet_ok
              else "not quiet before the deadline", "Something kept failing: look at the timeline."),
    ]


def symptoms(observed: Observed, knobs: ExactlyOnceKnobs, ctx: LabContext) -> list[Check]:
    (obs,) = observed
    log, down = payments_log(obs), downstream(obs)
    return [
        check("a lost ack writes a payment twice", bool(log.duplicated), log.detail(), counts=log.counts()),
        check("a crash between produce and commit books a payment twice downstream", bool(down.duplicated),
              down.detail(), counts=down.counts()),
    ]


LAB = Lab.define(__file__, ExactlyOnceKnobs, story, checks, symptoms,
                 demo=lambda ctx: [("idempotence off, no transactions", {})],
                 fix=lambda ctx: {"enable_idempotence": True, "transactional": True,
                                  "isolation_level": "read_committed"},
                 components={"payer": parts.Payer, "ledger": parts.Ledger, "auditor": parts.Auditor})

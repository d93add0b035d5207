"""outbox: the order service is killed (kill -9) between its two writes while it takes an order, and
restarted; two orders go before and two after. Written one after the other (a dual write), the crash
leaves an order stored that no event announces (database first: stuck PENDING) or an OrderCreated
for an order never stored (Kafka first: money charged for nothing). With the outbox the order and
its event are one transaction and the relay's produce comes after it, so the story kills it at both
of its moments in between: after the commit and after the relay's produce. Neither loses or invents
an order: the restarted relay finishes what the crash interrupted.

In the simulator the crash is the simulator's own (the instance's actor dies there); on a real
broker the order service is an OS process (``kafkalab service run order``) and gets a real kill -9
at that point, with its state in PostgreSQL.
"""

from __future__ import annotations

from typing import Literal

from scenarios.engine import checks as c
from scenarios.engine.announced import Announcements, announcements, where
from scenarios.engine.knobs import Knobs, knob
from scenarios.engine.lab import Lab, LabContext, Observed
from scenarios.engine.model import Check, Phase, Step, check
from scenarios.engine.spec import ServiceSpec, WorldSpec
from scenarios.engine.steps import order, orders, quiet
from services.fault_points import AFTER_DB_COMMIT, AFTER_PRODUCE

QUIET_MS = 60_000
CUSTOMERS = {AFTER_DB_COMMIT: ("cust_crash_after_commit", 25.0), AFTER_PRODUCE: ("cust_crash_after_produce", 30.0)}
# Where each way of writing has its moment between two writes (a crash anywhere else is harmless).
CRASH_POINTS = {"write-then-produce": (AFTER_DB_COMMIT,), "produce-then-write": (AFTER_PRODUCE,),
                "relay": (AFTER_DB_COMMIT, AFTER_PRODUCE)}


class OutboxKnobs(Knobs):
    order_events: Literal["relay", "write-then-produce", "produce-then-write"] = knob(
        "write-then-produce", lesson=True,
        help="how an accepted order's OrderCreated reaches Kafka: relay (one transaction with an outbox, "
             "published after), write-then-produce or produce-then-write (a dual write)")


def story(knobs: OutboxKnobs, ctx: LabContext) -> list[Phase]:
    steps: list[Step] = [Step("ready"), *orders(2, gap_ms=200, prefix="cust_before")]
    for point in CRASH_POINTS[knobs.order_events]:
        customer, amount = CUSTOMERS[point]
        steps += [
            Step("crash", {"service": "order", "at": point}),  # armed: it dies when it gets there
            order(customer, "prod_123", 1, amount),
            Step("heal"),  # an operator (or the supervisor) restarts the order service
        ]
    steps += [*orders(2, gap_ms=200, prefix="cust_after"), quiet(QUIET_MS)]
    world = WorldSpec(per_kind={"order": ServiceSpec(order_events=knobs.order_events)}, processes=("order",))
    between = " and ".join(p.replace("-", " ") for p in CRASH_POINTS[knobs.order_events])
    return [Phase(f"order service killed {between}", world, tuple(steps))]


def _stuck(obs: c.Observation, found: Announcements) -> str:
    if not found.stored_not_announced:
        return "none"
    first = found.stored_not_announced[0]
    return (f"{len(found.stored_not_announced)}, e.g. order {first[:8]} is {obs.statuses.get(first)} in the order "
            "store and no OrderCreated for it is on orders")


def _ghosts(found: Announcements) -> str:
    if not found.announced_not_stored:
        return "none"
    r = found.announced_not_stored[0]
    order_id = c.header_text(r, c.CORRELATION_ID) or "?"
    return (f"{len(found.announced_not_stored)}, e.g. OrderCreated for order {order_id[:8]} at {where(r)}, "
            "which the order store does not have")


def _money(obs: c.Observation, found: Announcements) -> tuple[bool, str]:
    """Charged minus refunded equals what the order store completed (amounts from their OrderCreated)."""
    final = obs.final["money"]
    net = c.money(final["charged"]) - c.money(final["refunded"])
    completed = sum(found.amounts.get(o, 0) for o, s in obs.statuses.items() if s == "COMPLETED")
    done = c.money(completed) / 100
    return net == done, (f"{c.money_text(final['charged'])} - {c.money_text(final['refunded'])} = {c.money_text(net)}; "
                         f"completed orders in the store {c.money_text(done)}")


def _hint(knobs: OutboxKnobs, found: Announcements) -> str:
    if knobs.order_events == "write-then-produce" or found.stored_not_announced:
        return ("The order was committed, then the process died before it produced OrderCreated: no service will "
                "ever hear of it, so it stays PENDING. Writing Kafka first only moves the hole (try it). Write the "
                "event in the same database transaction as the order (an outbox table) and let a relay publish it: "
                'set order_events = "relay" in [outbox] of .kafkalab/lab.toml.')
    if knobs.order_events == "produce-then-write" or found.announced_not_stored:
        return ("OrderCreated went out, then the process died before the order was stored: payment charged and "
                "inventory reserved for an order the shop does not have. No order of two separate writes is safe. "
                'Put the event in the outbox in the order\'s own transaction: order_events = "relay" in [outbox].')
    return ("With the outbox every order and its OrderCreated commit together; the relay publishes after a restart "
            "what a crash interrupted. Look at which check failed and at the timeline (--verbose).")


def checks(observed: Observed, knobs: OutboxKnobs, ctx: LabContext) -> list[Check]:
    (obs,) = observed
    found = announcements(obs)
    hint = _hint(knobs, found)
    balanced, money_detail = _money(obs, found)
    pending = sorted(o for o, s in obs.statuses.items() if s not in c.TERMINAL)
    landed = sorted({point for _, point in obs.killed_at})
    copies = sum(n - 1 for n in found.copies.values())
    # Copies of an OrderCreated (the relay publishing again after a crash) must be applied once: the
    # money says so (a second charge would show), so their count is told with it.
    copies_told = (f"; announced_more_than_once={len(found.copies)} ({copies} extra "
                   f"cop{'y' if copies == 1 else 'ies'}, skipped by event id)")
    return [
        check("the order service was killed between its writes", landed == sorted(CRASH_POINTS[knobs.order_events]),
              f"killed at: {', '.join(f'{who} {point}' for who, point in obs.killed_at) or 'nowhere'}", hint),
        check("no order stored but never announced", not found.stored_not_announced,
              f"stored_not_announced={len(found.stored_not_announced)}: {_stuck(obs, found)}", hint),
        check("no order announced but never stored", not found.announced_not_stored,
              f"announced_not_stored={len(found.announced_not_stored)}: {_ghosts(found)}", hint),
        check("every stored order reached a terminal state", not pending and len(obs.statuses) >= len(CUSTOMERS) + 2,
              f"{len(obs.statuses)} orders stored, {len(pending)} PENDING"
              + (f" (e.g. {pending[0][:8]})" if pending else ""), hint),
        check("money charged - refunded == completed orders in the store (copies applied once)", balanced,
              money_detail + copies_told, hint),
    ]


def symptoms(observed: Observed, knobs: OutboxKnobs, ctx: LabContext) -> list[Check]:
    (obs,) = observed
    found = announcements(obs)
    if knobs.order_events == "produce-then-write":
        balanced, money_detail = _money(obs, found)
        return [
            check("an order announced but never stored", bool(found.announced_not_stored),
                  f"announced_not_stored={len(found.announced_not_stored)}: {_ghosts(found)}"),
            check("money charged for an order the shop does not have", not balanced, money_detail),
        ]
    stuck = [o for o in found.stored_not_announced if obs.statuses.get(o) == "PENDING"]
    return [
        check("an order stored but never announced", bool(found.stored_not_announced),
              f"stored_not_announced={len(found.stored_not_announced)}: {_stuck(obs, found)}"),
        check("it stays PENDING for ever (nothing left to deliver, every group caught up)",
              bool(stuck) and obs.quiet_reached == [False], f"{len(stuck)} stuck PENDING"),
    ]


LAB = Lab.define(__file__, OutboxKnobs, story, checks, symptoms,
                 demo=lambda ctx: [("database, then Kafka", {"order_events": "write-then-produce"}),
                                   ("Kafka, then database", {"order_events": "produce-then-write"})],
                 fix=lambda ctx: {"order_events": "relay"})

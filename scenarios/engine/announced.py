"""Orders against their announcements: the order store on one side, the OrderCreated records on
``orders`` on the other. A dual write that crashed half-way leaves one without the other:

- stored but never announced: the order is in the store, no OrderCreated names it; no service will
  ever hear of it, so it stays PENDING;
- announced but never stored: an OrderCreated names an order the store does not have; payment and
  inventory act on it (money charged, stock reserved) for an order nobody can look up.

Copies of one OrderCreated (same event id, the relay publishing again after a crash) are counted
apart: consumers skip them by event id, so they are harmless.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from scenarios.engine.observation import Observation
from services.events import ORDER_CREATED, PoisonRecord, decode
from services.ports import Record


@dataclass
class Announcements:
    stored_not_announced: list[str] = field(default_factory=list)  # order ids, in the store's order
    announced_not_stored: list[Record] = field(default_factory=list)  # the OrderCreated records
    copies: dict[str, int] = field(default_factory=dict)  # order id -> OrderCreated records (more than 1)
    amounts: dict[str, int] = field(default_factory=dict)  # order id -> cents, from its OrderCreated

    def counts(self) -> dict[str, int]:
        return {"stored_not_announced": len(self.stored_not_announced),
                "announced_not_stored": len(self.announced_not_stored),
                "announced_more_than_once": len(self.copies)}


def announcements(obs: Observation) -> Announcements:
    created: dict[str, list[Record]] = {}
    amounts: dict[str, int] = {}
    for r in obs.records.get("orders", []):
        if r.header("event-type") != ORDER_CREATED.encode():
            continue
        try:
            event = decode(r)
        except PoisonRecord:
            continue
        created.setdefault(event.order_id, []).append(r)
        amounts[event.order_id] = int(event.data.get("amountCents", 0))
    copies = Counter({order_id: len(rs) for order_id, rs in created.items() if len(rs) > 1})
    return Announcements(
        stored_not_announced=[o for o in obs.statuses if o not in created],
        announced_not_stored=[rs[0] for o, rs in created.items() if o not in obs.statuses],
        copies=dict(sorted(copies.items())),
        amounts=amounts,
    )


def where(r: Record) -> str:
    return f"{r.topic}-{r.partition}@{r.offset}"

"""The time-ordered story of a phase: the runner's steps, every record read back, group changes.

Built from facts both worlds give (records read through the broker port, the steps as taken), so
it reads the same in sim and kafka mode: who sent what to which partition, what was dead-lettered,
what was compensated, when the group rebalanced.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

from scenarios.engine.observation import Observation, TimelineEntry
from services.ports import Record

# Who sends each event type, and what it means in the story.
SENDER = {
    "OrderCreated": ("order-service", "order accepted, saga starts"),
    "PaymentCompleted": ("payment-service", "money charged"),
    "PaymentFailed": ("payment-service", "payment declined"),
    "InventoryReserved": ("inventory-service", "stock reserved"),
    "InventoryFailed": ("inventory-service", "stock could not be reserved"),
    "PaymentRefunded": ("payment-service", "COMPENSATION: money refunded"),
}
_KIND_RANK = {"step": 0.0, "fault": 0.0, "group": 0.5}


def header(r: Record, name: str) -> str:
    v = r.header(name)
    return "" if v is None else v.decode("utf-8", "replace")


def identity(r: Record) -> str:
    """Copies of one event (retries, outbox republishing) share the event id; raw bytes are each
    unique, except a dead letter, which stands for its source record."""
    if header(r, "event-id"):
        return header(r, "event-id")
    if header(r, "dlq-source-offset"):
        return "/".join(header(r, f"dlq-source-{k}") for k in ("topic", "partition", "offset"))
    return f"{r.topic}/{r.partition}/{r.offset}"


def record_timeline(obs: Observation) -> list[TimelineEntry]:
    depth = causal_depths(obs.records)
    entries = list(obs.timeline)
    for rb in obs.rebalances:
        moved = (f"assigned {', '.join(rb.assigned)}" if rb.assigned else "") + (
            f"{'; ' if rb.assigned else ''}revoked {', '.join(rb.revoked)}" if rb.revoked else "")
        entries.append(TimelineEntry(rb.at_ms, "group", rb.group, f"rebalance: {rb.member} {moved or 'no partitions'}"))
    for topic, records in obs.records.items():
        dlq = topic.endswith(".dlq")
        copies = Counter(identity(r) for r in records)
        shown: set[str] = set()
        for r in records:
            key = identity(r)
            if key in shown:
                continue  # a re-sent copy: told once, with its count
            shown.add(key)
            entry = _record_entry(r, dlq, obs)
            if copies[key] > 1 and entry.event_type is None and not dlq:  # a lab's own: every copy counts
                entry = dataclasses.replace(entry, text=f"{entry.text} [{copies[key]} copies in the log]")
            elif copies[key] > 1:
                entry = dataclasses.replace(entry, text=f"{entry.text} [sent {copies[key]} times; consumers skip "
                                                        "the copies by event id]")
            rank = 1 + depth.get(header(r, "event-id"), 0) + (0.5 if dlq else 0)
            entries.append(dataclasses.replace(entry, at_ms=max(0, entry.at_ms - obs.started_ms), rank=rank))
    # Stable: steps keep their order; at one millisecond the step first (it caused what follows).
    return sorted(entries, key=lambda e: (e.at_ms, _KIND_RANK.get(e.kind, e.rank)))


def causal_depths(records: dict[str, list[Record]]) -> dict[str, int]:
    """Event id -> how many causes precede it (OrderCreated 0, PaymentCompleted 1, ...)."""
    cause = {header(r, "event-id"): header(r, "causation-id") for rs in records.values() for r in rs}
    depths: dict[str, int] = {}
    for event_id in cause:
        chain, current = [], event_id
        while current in cause and current not in depths and len(chain) < 64:
            chain.append(current)
            current = cause[current]
        base = depths.get(current, -1)
        for offset, eid in enumerate(reversed(chain), start=1):
            depths[eid] = base + offset
    return depths


def _record_entry(r: Record, dlq: bool, obs: Observation) -> TimelineEntry:
    where = f"{r.topic}[{r.partition}]@{r.offset}"
    saga = header(r, "correlation-id")[:8] or "-"
    if dlq:
        source = (f"{obs.logical_topic(header(r, 'dlq-source-topic'))}[{header(r, 'dlq-source-partition')}]"
                  f"@{header(r, 'dlq-source-offset')}")
        text = (f"DEAD LETTER from {source} by {header(r, 'dlq-consumer-group')} after "
                f"{header(r, 'dlq-attempts')} attempt(s): {header(r, 'dlq-error')} (saga {saga})")
        return TimelineEntry(r.timestamp, "dlq", where, text)
    event_type = header(r, "event-type")
    if not event_type and header(r, "event-id"):  # a lab component's record: its event id, and who wrote it
        extra = [f"{name} {header(r, name)}" for name in ("producer-seq", "attempt") if header(r, name)]
        return TimelineEntry(r.timestamp, "record", where, f"event {header(r, 'event-id')}"
                             + (f" ({', '.join(extra)})" if extra else ""))
    if not event_type:
        size = 0 if r.value is None else len(r.value)
        return TimelineEntry(r.timestamp, "record", where, f"raw bytes ({size} B, no event headers): a poison pill")
    sender, meaning = SENDER.get(event_type, ("an unknown sender", "not a saga event"))
    return TimelineEntry(r.timestamp, "record", where, f"{sender} sent {event_type} (saga {saga}): {meaning}", event_type)

"""Running a scenario script against a lab (sim or kafka) and observing what happened.

The runner knows steps, not modes: every step calls one method of the Lab built by
``scenarios.wiring``. After the last step it reads every topic back through the broker port, so
checks and the narrated timeline see the same facts in both modes.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scenarios.model import Check, Scenario, Script, Step
from services.ports import Record


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at_ms: int
    kind: str  # step | fault | record | dlq
    where: str
    text: str
    event_type: str | None = None
    rank: float = 0.0  # orders records of the same millisecond by causal depth


@dataclass
class PlacedOrder:
    order_id: str | None  # None: rejected at the API (validation)
    body: dict[str, Any]
    error: str = ""

    @property
    def accepted(self) -> bool:
        return self.order_id is not None


@dataclass
class Observation:
    """Everything the checks may look at."""

    script: Script
    placed: list[PlacedOrder] = field(default_factory=list)
    injected: list[dict[str, Any]] = field(default_factory=list)
    snapshots: dict[str, dict[str, Any]] = field(default_factory=dict)
    initial_stock: dict[str, int] = field(default_factory=dict)
    min_stock: dict[str, int] = field(default_factory=dict)
    quiet_reached: list[bool] = field(default_factory=list)
    statuses: dict[str, str] = field(default_factory=dict)
    records: dict[str, list[Record]] = field(default_factory=dict)
    final: dict[str, Any] = field(default_factory=dict)
    timeline: list[TimelineEntry] = field(default_factory=list)
    logical_topic: Callable[[str], str] = str  # physical topic name (kafka mode prefixes) -> logical
    started_ms: int = 0

    @property
    def accepted(self) -> list[PlacedOrder]:
        return [p for p in self.placed if p.accepted]

    def dlq_records(self) -> dict[str, list[Record]]:
        return {t: rs for t, rs in self.records.items() if t.endswith(".dlq")}


@dataclass
class Outcome:
    scenario: str
    mode: str
    seed: int
    checks: list[Check]
    orders: dict[str, int]
    dlq: dict[str, int]
    trace_sha256: str | None
    timeline: list[TimelineEntry]
    script: Script
    trace_lines: list[str] = field(default_factory=list)
    observation: Observation | None = None

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)


def run_script(script: Script, scenario: Scenario, lab: Any) -> Outcome:
    """Execute every step on ``lab``, then observe and check. ``lab`` is a scenarios.wiring Lab."""
    obs = Observation(script, logical_topic=lab.logical, started_ms=lab.now_ms())
    obs.initial_stock = dict(lab.stock())
    obs.min_stock = dict(obs.initial_stock)
    lab.set_monitor(lambda: _sample_stock(lab, obs))
    for step in script.steps:
        _apply(step, lab, obs)
    _observe_end(lab, obs)
    checks = list(scenario.checks(obs))
    return Outcome(
        scenario=script.scenario,
        mode=script.mode,
        seed=script.seed,
        checks=checks,
        orders=dict(sorted(Counter(obs.statuses.values()).items())),
        dlq={t: len(rs) for t, rs in sorted(obs.dlq_records().items())},
        trace_sha256=lab.trace_sha256(),
        timeline=obs.timeline,
        script=script,
        trace_lines=lab.trace_lines(),
        observation=obs,
    )


def _sample_stock(lab: Any, obs: Observation) -> None:
    for product, qty in lab.stock().items():
        if qty < obs.min_stock.get(product, qty + 1):
            obs.min_stock[product] = qty


def _note(lab: Any, obs: Observation, kind: str, where: str, text: str) -> None:
    obs.timeline.append(TimelineEntry(lab.now_ms() - obs.started_ms, kind, where, text))


def _apply(step: Step, lab: Any, obs: Observation) -> None:
    op = step.op
    if op == "set_stock":
        lab.set_stock(step.get("product_id"), int(step.get("quantity")))
        obs.initial_stock[step.get("product_id")] = int(step.get("quantity"))
        obs.min_stock[step.get("product_id")] = int(step.get("quantity"))
        _note(lab, obs, "step", "inventory", f"stock of {step.get('product_id')} set to {step.get('quantity')}")
    elif op == "place_order":
        body = {
            "customerId": step.get("customer_id"),
            "productId": step.get("product_id"),
            "quantity": step.get("quantity"),
            "amount": step.get("amount"),
        }
        order_id, error = lab.place_order(body)
        obs.placed.append(PlacedOrder(order_id, body, error))
        verdict = f"accepted, saga {order_id[:8]}" if order_id else f"rejected (400): {error}"
        what = f"{body['customerId']} orders {body['quantity']} x {body['productId']} for {body['amount']}"
        _note(lab, obs, "step", "POST /orders", f"{what}: {verdict}")
    elif op == "inject":
        where = lab.inject(
            step.get("topic"),
            bytes.fromhex(step.get("value_hex", "")),
            key=step.get("key"),
            partition=step.get("partition"),
        )
        obs.injected.append({"topic": step.get("topic"), "where": where, "note": step.get("note", "")})
        _note(lab, obs, "fault", f"{step.get('topic')}", f"raw bytes injected ({step.get('note') or 'poison'})")
    elif op == "quiet":
        quiet = lab.run_until_quiet()
        obs.quiet_reached.append(quiet)
        _note(lab, obs, "step", "runner", "system quiet" if quiet else "NOT quiet before the deadline")
    elif op == "advance":
        lab.advance(int(step.get("ms")))
    elif op == "snapshot":
        obs.snapshots[step.get("label")] = {"stock": dict(lab.stock()), "money": lab.money()}
    else:
        # Faults: crash, restart, scale, slow, broker_down, lose_ack, heal.
        done = lab.fault(step)
        _note(lab, obs, "fault", "chaos", f"{step.describe()}" + ("" if done else " (not available in this mode)"))


def _observe_end(lab: Any, obs: Observation) -> None:
    _sample_stock(lab, obs)
    obs.statuses = dict(lab.order_statuses())
    obs.final = {"stock": dict(lab.stock()), "money": lab.money()}
    obs.records = lab.read_all_topics()
    depth = _causal_depths(obs.records)
    steps, obs.timeline = obs.timeline, []
    for topic, records in obs.records.items():
        dlq = topic.endswith(".dlq")
        copies = Counter(_identity(r) for r in records)
        shown: set[str] = set()
        for r in records:
            identity = _identity(r)
            if identity in shown:
                continue  # a re-sent copy: told once, with its count, below
            shown.add(identity)
            entry = _record_entry(r, dlq, obs.logical_topic)
            if copies[identity] > 1:
                entry = dataclasses.replace(entry, text=f"{entry.text} [sent {copies[identity]} times; "
                                                        "consumers skip the copies by event id]")
            rank = 1 + depth.get(_hdr(r, "event-id"), 0) + (0.5 if dlq else 0)
            obs.timeline.append(dataclasses.replace(entry, at_ms=max(0, entry.at_ms - obs.started_ms), rank=rank))
    obs.timeline = _merge(steps, sorted(obs.timeline, key=lambda e: (e.at_ms, e.rank)))


def _merge(steps: list[TimelineEntry], records: list[TimelineEntry]) -> list[TimelineEntry]:
    """Steps keep their order; a record goes before the first step later than it. At the same
    millisecond the step goes first: the runner notices quiet only after a whole idle round, so a
    record stamped with that very millisecond was caused by what came next."""
    out: list[TimelineEntry] = []
    i = 0
    for step in steps:
        while i < len(records) and records[i].at_ms < step.at_ms:
            out.append(records[i])
            i += 1
        out.append(step)
    return out + records[i:]


def _identity(r: Record) -> str:
    """Copies of one event (retries, outbox republishing) share the event id; raw bytes are each unique,
    except a dead letter, which stands for its source record."""
    source = _hdr(r, "dlq-source-offset") and f"{_hdr(r, 'dlq-source-topic')}/{_hdr(r, 'dlq-source-partition')}/{_hdr(r, 'dlq-source-offset')}"
    return _hdr(r, "event-id") or source or f"{r.topic}/{r.partition}/{r.offset}"


def _causal_depths(records: dict[str, list[Record]]) -> dict[str, int]:
    """Event id -> how many causes precede it (OrderCreated 0, PaymentCompleted 1, ...)."""
    cause = {_hdr(r, "event-id"): _hdr(r, "causation-id") for rs in records.values() for r in rs}
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


def _hdr(r: Record, name: str) -> str:
    v = r.header(name)
    return "" if v is None else v.decode("utf-8", "replace")


# Who sends each event type, and what it means in the story.
_SENDER = {
    "OrderCreated": ("order-service", "order accepted, saga starts"),
    "PaymentCompleted": ("payment-service", "money charged"),
    "PaymentFailed": ("payment-service", "payment declined"),
    "InventoryReserved": ("inventory-service", "stock reserved"),
    "InventoryFailed": ("inventory-service", "stock could not be reserved"),
    "PaymentRefunded": ("payment-service", "COMPENSATION: money refunded"),
}


def _record_entry(r: Record, dlq: bool, logical: Callable[[str], str]) -> TimelineEntry:
    where = f"{r.topic}[{r.partition}]@{r.offset}"
    saga = _hdr(r, "correlation-id")[:8] or "-"
    if dlq:
        source = f"{logical(_hdr(r, 'dlq-source-topic'))}[{_hdr(r, 'dlq-source-partition')}]@{_hdr(r, 'dlq-source-offset')}"
        text = (f"DEAD LETTER from {source} by {_hdr(r, 'dlq-consumer-group')} after {_hdr(r, 'dlq-attempts')} "
                f"attempt(s): {_hdr(r, 'dlq-error')} (saga {saga})")
        return TimelineEntry(r.timestamp, "dlq", where, text)
    event_type = _hdr(r, "event-type")
    if not event_type:
        size = 0 if r.value is None else len(r.value)
        return TimelineEntry(r.timestamp, "record", where, f"raw bytes ({size} B, no event headers): a poison pill")
    sender, meaning = _SENDER.get(event_type, ("?", "not a saga event"))
    text = f"{sender} sent {event_type or 'raw bytes'} (saga {saga}): {meaning}"
    return TimelineEntry(r.timestamp, "record", where, text, event_type or None)

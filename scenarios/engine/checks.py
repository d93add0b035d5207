"""The checks library the labs build their verdicts from: the saga invariants, DLQ exactness,
correlation across a saga, terminal states, stuck partitions, lag over time."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from scenarios.engine.model import Check, check
from scenarios.engine.observation import LagSamples, Observation
from scenarios.engine.runner import money_text

__all__ = ["Observation", "money_text"]  # re-exported for the labs
from services.events import PoisonRecord, decode
from services.ports import Record

TERMINAL = ("COMPLETED", "CANCELLED")
POISON_PRODUCT = "prod_ignore"
# Tracing header names (services/events.py).
CORRELATION_ID, EVENT_TYPE, EVENT_ID, CAUSATION_ID = "correlation-id", "event-type", "event-id", "causation-id"


def money(value: Any) -> Decimal:
    return Decimal(str(value))


def terminal_check(obs: Observation, placed: int | None = None) -> Check:
    """Every accepted order reached COMPLETED or CANCELLED (and at least ``placed`` were accepted)."""
    accepted = [p.order_id for p in obs.accepted]
    pending = sorted(o for o in accepted if obs.statuses.get(o) not in TERMINAL)
    enough = len(accepted) >= (placed if placed is not None else 1)
    example = f", e.g. saga {pending[0][:8]} is {obs.statuses.get(pending[0], 'unknown')}" if pending else ""
    return check("every saga reached a terminal state", enough and not pending,
                 f"{len(accepted)} accepted, {len(pending)} not terminal{example}")


def stuck_partitions(samples: LagSamples) -> dict[int, list[int]]:
    """Partitions whose lag never went back to 0 in the second half of the samples: partition -> lag
    over time."""
    if len(samples) < 2:
        return {}
    parts = sorted(samples[-1][1])
    series = {p: [s.get(p, 0) for _, s in samples] for p in parts}
    return {p: lags for p, lags in series.items() if lags[-1] > 0 and min(lags[len(lags) // 2:]) > 0}


def lag_totals(samples: LagSamples) -> list[int]:
    return [sum(lags.values()) for _, lags in samples]


def header_text(r: Record, name: str) -> str | None:
    v = r.header(name)
    return None if v is None else v.decode("utf-8", "replace")


def status_of(obs: Observation, index: int) -> str | None:
    """Status of the index-th placed order (None when rejected or unknown)."""
    placed = obs.placed[index]
    return obs.statuses.get(placed.order_id) if placed.order_id else None


def saga_records(obs: Observation, order_id: str) -> list[Record]:
    """The distinct events of one saga (a retried produce repeats an event id: counted once)."""
    seen: dict[str, Record] = {}
    for topic, records in sorted(obs.records.items()):
        if topic.endswith(".dlq"):
            continue
        for r in records:
            if header_text(r, CORRELATION_ID) == order_id:
                seen.setdefault(header_text(r, EVENT_ID) or f"{r.topic}/{r.partition}/{r.offset}", r)
    return list(seen.values())


def causal_order(records: list[Record]) -> list[Record]:
    """Follow causation ids from the root (the event whose cause is not an event of this saga)."""
    by_cause: dict[str | None, list[Record]] = {}
    ids = {header_text(r, EVENT_ID) for r in records}
    for r in records:
        cause = header_text(r, CAUSATION_ID)
        by_cause.setdefault(cause if cause in ids else None, []).append(r)
    chain: list[Record] = []
    frontier = by_cause.get(None, [])
    while len(frontier) == 1 and len(chain) < len(records):
        chain.append(frontier[0])
        frontier = by_cause.get(header_text(frontier[0], EVENT_ID), [])
    return chain if len(chain) == len(records) else records


def event_reason(obs: Observation, order_id: str | None, event_type: str) -> str:
    """The ``reason`` an event of one saga gives (e.g. why a PaymentFailed), "" when there is none."""
    for r in saga_records(obs, order_id) if order_id else []:
        if header_text(r, EVENT_TYPE) == event_type:
            try:
                return str(decode(r).data.get("reason") or "")
            except PoisonRecord:
                return ""
    return ""


def saga_checks(obs: Observation, index: int, expected: list[str], hint: str = "") -> list[Check]:
    """The index-th order's saga emitted ``expected`` event types, each caused by the one before,
    all under one correlation id."""
    order_id = obs.placed[index].order_id
    records = saga_records(obs, order_id) if order_id else []
    chain = causal_order(records)
    types = [header_text(r, EVENT_TYPE) for r in chain]
    all_for_order = [
        r for t, rs in obs.records.items() if not t.endswith(".dlq") for r in rs if r.key == (order_id or "").encode()
    ]
    correlations = sorted({str(header_text(r, CORRELATION_ID)) for r in all_for_order})
    return [
        check("saga events caused one by one, in order", types == expected, f"chain {types}", hint),
        check(
            "one correlation id across all events",
            bool(all_for_order) and correlations == [order_id],
            f"{len(all_for_order)} records keyed by the order carry {correlations}",
            hint,
        ),
    ]


EFFECTS = ("PaymentCompleted", "PaymentRefunded", "InventoryReserved", "InventoryFailed", "PaymentFailed")


def _repeated_effects(obs: Observation) -> list[str]:
    """Orders for which a service emitted one kind of effect under two different event ids
    (a redelivered copy repeats the same id, which consumers skip; a new id would be a second effect)."""
    ids: dict[tuple[str, str], set[str]] = {}
    for topic, records in obs.records.items():
        if topic.endswith(".dlq"):
            continue
        for r in records:
            kind = header_text(r, EVENT_TYPE)
            if kind in EFFECTS:
                ids.setdefault((str(header_text(r, CORRELATION_ID)), kind), set()).add(str(header_text(r, EVENT_ID)))
    return sorted({f"{o[:8]}:{k}" for (o, k), found in ids.items() if len(found) > 1})


def _touched(levels: dict[str, int], initial: dict[str, int]) -> dict[str, int]:
    """Only the products whose level moved (the catalog has many untouched load-test products)."""
    return {p: q for p, q in sorted(levels.items()) if q != initial.get(p)}


def invariant_checks(obs: Observation) -> list[Check]:
    """The saga's invariants, true under any fault schedule once the system is quiet."""
    accepted = {p.order_id: p for p in obs.accepted}
    not_terminal = sorted(o for o in accepted if obs.statuses.get(o) not in TERMINAL)
    below = {p: q for p, q in obs.min_stock.items() if q < 0}
    final_money = obs.final["money"]
    completed = [p for o, p in accepted.items() if obs.statuses.get(o) == "COMPLETED"]
    completed_total = sum((money(p.body["amount"]) for p in completed), Decimal("0"))
    net = money(final_money["charged"]) - money(final_money["refunded"])
    sold: Counter[str] = Counter()
    for p in completed:
        sold[p.body["productId"]] += int(p.body["quantity"])
    moved = {
        prod: obs.initial_stock.get(prod, 0) - obs.final["stock"].get(prod, 0)
        for prod in sorted(set(obs.initial_stock) | set(sold))
    }
    stock_exact = all(moved[p] == sold.get(p, 0) for p in moved)
    repeated = _repeated_effects(obs)
    quiet = bool(obs.quiet_reached) and all(obs.quiet_reached)
    return [
        check("system reached quiet", quiet, f"{obs.quiet_reached.count(True)}/{len(obs.quiet_reached)} quiet points"),
        check(
            "every accepted order is terminal",
            not not_terminal,
            f"{len(accepted)} accepted; not terminal: {not_terminal[:5]}"
            if not_terminal
            else f"{len(accepted)} accepted, all terminal",
        ),
        check("stock never below zero", not below, f"lowest seen {_touched(obs.min_stock, obs.initial_stock)}"),
        check(
            "charged - refunded == total of completed orders",
            net == completed_total,
            f"{money_text(final_money['charged'])} - {money_text(final_money['refunded'])} = {money_text(net)}; "
            f"completed total {money_text(completed_total)}",
        ),
        check(
            "no effect applied twice",
            stock_exact and not repeated,
            f"stock moved {({p: n for p, n in moved.items() if n})} for sold {dict(sorted(sold.items()))}; "
            f"orders with a repeated effect event: {repeated[:3]}",
        ),
    ]


# ---------------------------------------------------------------- dead-letter queues

# The headers services.runner puts on a dead letter, by what they name.
DLQ_HEADERS = {
    "topic": "dlq-source-topic",
    "partition": "dlq-source-partition",
    "offset": "dlq-source-offset",
    "error": "dlq-error",
    "attempt": "dlq-attempts",
}
DLQ_FACTS = tuple(DLQ_HEADERS)


def dlq_fact(r: Record, fact: str) -> str | None:
    return header_text(r, DLQ_HEADERS[fact])


def dlq_identity(r: Record, logical: Callable[[str], str] = str) -> str:
    """What a dead letter stands for: the poisoned event (its id survives a retried produce), else the
    source coordinates (raw bytes have no event id)."""
    event_id = header_text(r, EVENT_ID)
    if event_id:
        return f"event:{event_id}"
    return f"at:{logical(dlq_fact(r, 'topic') or '')}/{dlq_fact(r, 'partition')}/{dlq_fact(r, 'offset')}"


def dlq_checks(obs: Observation) -> list[Check]:
    """The DLQs hold exactly the poison records: each raw injection once, each poison order once,
    nothing else; every dead letter names its source, error and attempts."""
    letters = [r for rs in obs.dlq_records().values() for r in rs]
    raw_expected = sorted(f"at:{i['where'][0]}/{i['where'][1]}/{i['where'][2]}" for i in obs.injected)
    poison_orders = sorted(p.order_id for p in obs.accepted if p.body["productId"] == POISON_PRODUCT)
    raw_seen = sorted({dlq_identity(r, obs.logical_topic) for r in letters if not header_text(r, EVENT_ID)})
    by_order: dict[str, set[str]] = {}
    for r in letters:
        if header_text(r, EVENT_ID):
            by_order.setdefault(str(header_text(r, CORRELATION_ID)), set()).add(dlq_identity(r))
    orders_ok = sorted(by_order) == poison_orders and all(len(ids) == 1 for ids in by_order.values())
    missing = {
        f"{r.topic}@{r.offset}": [w for w in DLQ_FACTS if dlq_fact(r, w) is None]
        for r in letters
        if any(dlq_fact(r, w) is None for w in DLQ_FACTS)
    }
    distinct = len(set(map(dlq_identity, letters)))
    return [
        check("raw poison dead-lettered exactly once each", raw_seen == raw_expected,
              f"expected {len(raw_expected)} {raw_expected[:3]}, dead-lettered {len(raw_seen)} {raw_seen[:3]}"),
        check("poison orders dead-lettered exactly once each", orders_ok,
              f"poison orders {len(poison_orders)}; dead letters per order "
              f"{ {o[:8]: len(ids) for o, ids in sorted(by_order.items())} }"),
        check("dead letters name source topic, partition, offset, error, attempts", not missing,
              f"{len(letters)} dead letters ({distinct} distinct)" + (f"; missing {missing}" if missing else "")),
    ]

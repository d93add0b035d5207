"""Sagas as a learner reads them: each order's events in causal order and where it ended, grouped."""

from __future__ import annotations

from collections import Counter

from scenarios.engine.checks import causal_order
from scenarios.engine.observation import Observation
from scenarios.engine.runner import money_text
from scenarios.engine.timeline import header
from services.ports import Record

ARROW = " -> "


def saga_paths(obs: Observation, limit: int = 6) -> list[tuple[str, int]]:
    """(path, how many sagas took it), most common first. One saga alone is told with its order."""
    by_saga: dict[str, dict[str, Record]] = {}
    dead: set[str] = set()
    for topic, records in obs.records.items():
        for r in records:
            saga = header(r, "correlation-id")
            if not saga:
                continue
            if topic.endswith(".dlq"):
                dead.add(saga)
            else:
                by_saga.setdefault(saga, {}).setdefault(header(r, "event-id") or f"{r.topic}/{r.offset}", r)
    paths: Counter[str] = Counter()
    for placed in obs.accepted:
        assert placed.order_id is not None
        chain = [header(r, "event-type") for r in causal_order(list(by_saga.get(placed.order_id, {}).values()))]
        if placed.order_id in dead:
            chain.append("(a step dead-lettered)")
        chain.append(obs.statuses.get(placed.order_id, "unknown"))
        paths[ARROW.join(chain)] += 1
    if len(obs.accepted) == 1 and paths:
        (path,) = paths
        body = obs.accepted[0].body
        told = (f"{body['customerId']} orders {body['quantity']} x {body['productId']} for "
                f"{money_text(body['amount'])}: {path}")
        return [(told, 1)]
    ranked = paths.most_common()
    shown = ranked[:limit]
    if len(ranked) > limit:
        shown.append((f"other paths ({len(ranked) - limit} more)", sum(n for _, n in ranked[limit:])))
    return shown

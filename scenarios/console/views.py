"""The console's views as JSON, from facts any world gives: records, partition offsets, groups.

The live console (``live.py``) and the report of a finished run (``report.py``) both build their
pages from these functions, so the two show the same thing the same way. Topic names here are the
logical ones (``orders``, ``payments.dlq``): a run's prefix is taken off before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from scenarios.ops import dlq
from scenarios.ops.browse import decode_value, header_text
from services.ports import Record

CORRELATION = "correlation-id"
# Who writes each topic; a dead letter names its writer in dlq-consumer-group.
PRODUCERS = {"orders": "order-service", "payments": "payment-service", "inventory": "inventory-service"}
COMPENSATIONS = {"PaymentRefunded"}
OUTCOMES = {"InventoryReserved": "COMPLETED", "PaymentFailed": "CANCELLED", "PaymentRefunded": "CANCELLED"}
MAX_MESSAGES = 500


class ViewError(Exception):
    """Bad input to a view (an unknown topic or correlation id): one line for the page, a 404."""


def message(r: Record, reader: Any = None) -> dict[str, Any]:
    """One record for the page; ``reader`` (a registry's ``WireReader``) shows Avro values as records."""
    fmt, value = decode_value(r.value, reader)
    return {"topic": r.topic, "partition": r.partition, "offset": r.offset, "timestamp": r.timestamp,
            "key": None if r.key is None else r.key.decode("utf-8", "replace"), "format": fmt, "value": value,
            "headers": {k: (None if v is None else v.decode("utf-8", "replace")) for k, v in r.headers}}


def topics_view(offsets: Iterable[Any], counts: Mapping[str, int]) -> list[dict[str, Any]]:
    """[{name, partitions: [{partition, begin, end}], records}] by name; ``offsets``: PartitionOffsets."""
    found: dict[str, list[dict[str, int]]] = {}
    for o in offsets:
        found.setdefault(o.topic, []).append({"partition": o.partition, "begin": o.begin, "end": o.end})
    return [{"name": name, "partitions": sorted(ps, key=lambda p: p["partition"]), "records": counts.get(name, 0)}
            for name, ps in sorted(found.items())]


def messages_view(records: Sequence[Record], topics: Sequence[str], *, topic: str | None = None,
                  header: str | None = None, value: str | None = None, limit: int = MAX_MESSAGES,
                  reader: Any = None) -> dict[str, Any]:
    """The newest ``limit`` records matching: of ``topic`` (all when None) whose header ``header`` equals
    ``value`` (any header, when ``header`` is None; every record when ``value`` is None)."""
    if topic and topic not in topics:
        raise ViewError(f"no topic {topic!r}: the topics are {', '.join(topics) or 'none yet'}")
    found = [r for r in records if (not topic or r.topic == topic) and _matches(r, header, value)]
    found.sort(key=lambda r: (r.timestamp, r.topic, r.partition, r.offset))
    return {"total": len(found), "messages": [message(r, reader) for r in found[-limit:]]}


def _matches(r: Record, header: str | None, value: str | None) -> bool:
    if value is None or value == "":
        return True
    if header:
        return header_text(r, header) == value
    return any(v is not None and v.decode("utf-8", "replace") == value for _k, v in r.headers)


def correlation_ids(records: Sequence[Record]) -> list[dict[str, Any]]:
    """Every saga seen, the newest first: its id, its outcome so far, how many records carry it."""
    sagas: dict[str, dict[str, Any]] = {}
    for r in sorted(records, key=lambda r: r.timestamp):
        cid = header_text(r, CORRELATION)
        if cid is None:
            continue
        s = sagas.setdefault(cid, {"correlationId": cid, "status": "PENDING", "records": 0, "dlq": 0,
                                   "first": r.timestamp})
        s["records"] += 1
        s["dlq"] += r.topic.endswith(".dlq")
        s["status"] = OUTCOMES.get(header_text(r, "event-type") or "", s["status"])
    return sorted(sagas.values(), key=lambda s: -s["first"])


def _plain(text: str | None, prefix: str) -> str | None:
    """A dead letter's headers name physical topics and groups: without the run's prefix, as shown."""
    return text.replace(prefix, "") if text and prefix else text


def saga_view(records: Sequence[Record], correlation_id: str,
              consumers: Mapping[str, Sequence[tuple[str, Mapping[int, int]]]] | None = None,
              prefix: str = "") -> dict[str, Any]:
    """One saga's steps in time order. ``consumers``: topic -> (group, partition -> committed offset);
    a step is consumed by a group once the group committed past it."""
    mine = [r for r in records if header_text(r, CORRELATION) == correlation_id]
    if not mine:
        raise ViewError(f"no record carries correlation-id {correlation_id!r}: pick one from the list, "
                        "or place an order first")
    order = {t: i for i, t in enumerate(("orders", "payments", "inventory"))}
    depth = _causal_depths(mine)
    mine.sort(key=lambda r: (r.timestamp, depth[id(r)], order.get(r.topic.removesuffix(".dlq"), 9), r.offset))
    t0 = mine[0].timestamp
    steps, status = [], "PENDING"
    for r in mine:
        event = header_text(r, "event-type") or "?"
        step = {**message(r), "event": event, "at_ms": r.timestamp - t0, "lane": r.topic,
                "producer": PRODUCERS.get(r.topic, "?"), "kind": "event", "consumedBy": [], "pendingFor": []}
        redrives = dlq.redrive_count(r)
        if r.topic.endswith(".dlq"):
            info = dlq.summary(r)
            step.update(kind="dlq", producer=_plain(info["group"], prefix) or "?", error=info["error"],
                        attempts=info["attempts"], source=_plain(info["source"], prefix), redrives=redrives)
        elif redrives:
            step.update(kind="redrive", producer="kafkalab (redrive)", redrives=redrives)
        elif event in COMPENSATIONS:
            step["kind"] = "compensation"
        for group, committed in (consumers or {}).get(r.topic, ()):
            done = committed.get(r.partition, 0) > r.offset
            step["consumedBy" if done else "pendingFor"].append(group)
        status = OUTCOMES.get(event, status)
        steps.append(step)
    lanes = sorted({s["lane"] for s in steps}, key=lambda t: (order.get(t.removesuffix(".dlq"), 9), t))
    return {"correlationId": correlation_id, "status": status, "lanes": lanes, "steps": steps}


def _causal_depths(records: Sequence[Record]) -> dict[int, float]:
    """How many causes back each record's event goes (records of one millisecond are put in causal
    order by it); a dead letter sits just after the record it parked."""
    by_event: dict[str, Record] = {}
    for r in records:
        eid = header_text(r, "event-id")
        if eid and not r.topic.endswith(".dlq"):
            by_event.setdefault(eid, r)
    memo: dict[str, float] = {}

    def of(eid: str | None, seen: int = 0) -> float:
        if not eid or eid not in by_event or seen > len(records):
            return 0.0
        if eid not in memo:
            memo[eid] = of(header_text(by_event[eid], "causation-id"), seen + 1) + 1
        return memo[eid]

    return {id(r): of(header_text(r, "event-id")) + (0.5 if r.topic.endswith(".dlq") else 0.0) for r in records}


def dlq_view(records: Sequence[Record], redriven: Iterable[str] = (),
             max_redrives: int = dlq.DEFAULT_MAX_REDRIVES, prefix: str = "") -> list[dict[str, Any]]:
    """Every dead letter with why it was parked, where it came from, and whether it may be redriven."""
    done = set(redriven)
    rows = []
    for r in records:
        if not r.topic.endswith(".dlq"):
            continue
        row = dlq.summary(r) | {"topic": r.topic, "partition": r.partition, "offset": r.offset,
                                "timestamp": r.timestamp}
        try:
            dlq.redrive_of(r, max_redrives)
            row["refusal"] = None
        except dlq.RedriveRefused as exc:
            row["refusal"] = str(exc)
        row["redriven"] = row["dlq"] in done
        row.update(source=_plain(row["source"], prefix), group=_plain(row["group"], prefix),
                   refusal=_plain(row["refusal"], prefix))
        rows.append(row)
    return sorted(rows, key=lambda row: (row["timestamp"], row["topic"], row["partition"], row["offset"]))



def lag_series(times_ms: Sequence[int], lags: Sequence[Mapping[str, int]]) -> dict[str, list[int]]:
    """Per partition label, its lag at every sample time (0 before the partition was seen)."""
    labels = sorted({k for sample in lags for k in sample})
    return {label: [sample.get(label, 0) for sample in lags] for label in labels}

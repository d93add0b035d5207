"""``kafkalab report RUN``: the console's views of a finished run, as one self-contained HTML file.

A run is played again from its recording (a simulated run reproduces exactly), and each stage's last
phase becomes what the console would have shown at its end: the topics and every message, each
saga's timeline, the groups with their lag over time (the lag chart, rebalances marked), the dead
letters, and the lab's checks with the next hint. The page is the console's own, reading the data
inlined into it instead of the API.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from scenarios.console import views
from scenarios.console.page import render_page
from scenarios.engine.lab import Lab
from scenarios.engine.observation import Observation, Outcome
from scenarios.ops.browse import PartitionOffsets
from services.ports import Record

MAX_MESSAGES = 5_000


def _records(obs: Observation) -> list[Record]:
    return [replace(r, topic=obs.logical_topic(r.topic)) for rs in obs.records.values() for r in rs]


def _offsets(records: list[Record]) -> list[PartitionOffsets]:
    spans: dict[tuple[str, int], tuple[int, int]] = {}
    for r in records:
        lo, hi = spans.get((r.topic, r.partition), (r.offset, r.offset))
        spans[(r.topic, r.partition)] = (min(lo, r.offset), max(hi, r.offset))
    return [PartitionOffsets(t, p, lo, hi + 1) for (t, p), (lo, hi) in sorted(spans.items())]


def _groups(obs: Observation) -> list[dict[str, Any]]:
    kinds = sorted({k.split("/")[0] for k in obs.lag} | set(obs.members))
    found = []
    for kind in kinds:
        group = f"{kind}-service"
        watched = sorted(k for k in obs.lag if k.startswith(kind + "/"))
        times = sorted({t for k in watched for t, _ in obs.lag[k]})
        lags: list[dict[str, int]] = [{} for _ in times]
        index = {t: i for i, t in enumerate(times)}
        for k in watched:
            topic = k.split("/", 1)[1]
            for t, sample in obs.lag[k]:
                lags[index[t]].update({f"{topic}[{p}]": v for p, v in sample.items()})
        marks = {r.at_ms - obs.started_ms: "rebalance" for r in obs.rebalances if r.group == group}
        marks |= dict(obs.marks) | ({obs.load_end_ms: "load ends"} if obs.load_end_ms else {})
        last = lags[-1] if lags else {}
        found.append({
            "group": group, "state": "(run finished)", "protocol": "",
            "members": [{"member": client, "client": client, "instance": None,
                         "assignment": [f"{n} partition(s)"] if n else []}
                        for client, n in sorted(obs.members.get(kind, {}).items())],
            "partitions": [{"topic": label.split("[")[0], "partition": int(label.split("[")[1].rstrip("]")),
                            "committed": None, "end": None, "lag": v, "behindMs": None}
                           for label, v in sorted(last.items())],
            "timesMs": times, "series": views.lag_series(times, lags),
            "rebalances": [{"atMs": t, "text": text} for t, text in sorted(marks.items())],
        })
    return found


def stage_view(label: str, passed: bool, obs: Observation, checks: list[Any], lab: Lab) -> dict[str, Any]:
    records = _records(obs)
    prefix = obs.run_prefix
    counts: dict[str, int] = {}
    for r in records:
        counts[r.topic] = counts.get(r.topic, 0) + 1
    sagas = views.correlation_ids(records)
    failed = [c for c in checks if not c.passed]
    snapshot = {
        "ready": True, "mode": obs.mode, "title": f"kafkalab report: {lab.name}",
        "nowMs": max((t for samples in obs.lag.values() for t, _ in samples), default=0), "elapsedMs": None,
        "maxRedrives": 0, "canLoad": False, "error": None,
        "topics": views.topics_view(_offsets(records), counts), "groups": _groups(obs), "sagas": sagas,
        "dlq": views.dlq_view(records, prefix=prefix),
        "lab": {"name": lab.name, "title": lab.title, "task": lab.task, "knobs": None, "checked": f"stage {label}",
                "checks": [c.to_json() for c in checks],
                "hint": next((c.hint for c in failed if c.hint), None)},
    }
    messages = views.messages_view(records, [], limit=MAX_MESSAGES)["messages"]
    return {"label": label, "passed": passed, "snapshot": snapshot, "messages": messages,
            "sagas": {s["correlationId"]: views.saga_view(records, s["correlationId"], prefix=prefix) for s in sagas}}


def report_data(outcome: Outcome, lab: Lab) -> dict[str, Any]:
    stages = [stage_view(s.label, s.passed, s.observations[-1], s.checks, lab)
              for s in outcome.stages if s.observations]
    return {"lab": lab.name, "mode": outcome.mode, "seed": outcome.seed, "passed": outcome.passed, "stages": stages}


def write_report(path: str | Path, outcome: Outcome, lab: Lab) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_page(live=False, title=f"kafkalab report: {lab.name} ({outcome.mode}, seed {outcome.seed})",
                                data=report_data(outcome, lab)))
    return path

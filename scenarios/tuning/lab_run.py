"""One producer setting judged for a lab: measured on a real broker, or predicted by the cost model.

Both return the same figures (``msgs_per_s``, ``latency_ms.p50``/``p99``, records per batch, requests/s)
and say what they are: ``kind`` is ``"measurement"`` or ``"model"``, and a model's figures carry its
label. The model alone cannot see a producer that asks for more requests than the machine sends, so
it is given a *request budget* (an assumption, measured once on the lab machine: see
docs/labs/producer-tuning.md): a setting that needs more ProduceRequests per second than that is
saturated, records queue behind the requests, and the model makes no latency promise for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from scenarios.tuning.grid import Knobs, TuningError, Workload, build
from scenarios.tuning.model import MODEL_LABEL, ModelInputs, predict
from scenarios.tuning.summary import medians, summarise_runs

# ProduceRequests/s one Python producer sends on the lab machine, an assumption of the model: measured
# 3,157 requests/s with one record per request (batch.num.messages=1, linger.ms=0) on two loaded cores.
REQUEST_BUDGET_PER_S = 3_000.0
WARMUP_RECORDS = 1_000


def cell_of(settings: Mapping[str, Any], workload: Mapping[str, Any]) -> tuple[Knobs, Workload]:
    """The lab's settings as the tuning tool's knobs and workload; one TuningError line if they conflict."""
    return build(Knobs, **dict(settings)), build(Workload, **dict(workload))


def modelled(knobs: Knobs, workload: Workload, budget_per_s: float = REQUEST_BUDGET_PER_S) -> dict[str, Any]:
    """The cost model's figures for this cell: never a measurement, and labelled so."""
    if workload.rate is None:
        raise TuningError("workload.rate: the model needs an offered rate (it cannot predict an unlimited one)")
    p = predict(knobs, workload, ModelInputs())
    demanded = p.requests_per_s or 0.0
    saturated = demanded > budget_per_s
    cap = max(p.records_per_batch, 1.0) if p.limited_by != "linger.ms" else None
    # Saturated: the client sends budget requests/s; queued records fill batches up to the cap, if any.
    sustained = workload.rate if not saturated else min(workload.rate, budget_per_s * (cap or workload.rate))
    latency = None if saturated or p.ack_latency_ms is None else {"p50": p.ack_latency_ms["mean"],
                                                                   "p99": p.ack_latency_ms["p99"]}
    return {
        "kind": "model", "label": MODEL_LABEL, "msgs_per_s": round(sustained, 1), "latency_ms": latency,
        "records_per_batch": p.records_per_batch, "limited_by": p.limited_by,
        "requests_per_s": demanded, "request_budget_per_s": budget_per_s, "saturated": saturated,
        "prediction": asdict(p),
    }


def measured(bootstrap: str, topic: str, knobs: Knobs, workload: Workload, runs: int) -> dict[str, Any]:
    """``runs`` runs of the Python client after a discarded warm-up run; medians and their spread."""
    from scenarios import root
    from scenarios.tuning.measure import measure_python
    from scenarios.tuning.payloads import payloads
    from services.ports import TopicSpec

    admin = root.kafka_broker(bootstrap, client_prefix="kafkalab-tune").admin()
    admin.create_topics([TopicSpec(topic, partitions=workload.partitions)])
    values = payloads(workload.payload, workload.record_size)
    try:
        measure_python(bootstrap, topic, knobs, workload.model_copy(update={"records": WARMUP_RECORDS}), values)
        done = [measure_python(bootstrap, topic, knobs, workload, values) for _ in range(max(1, runs))]
    finally:
        admin.delete_topics([topic])
    summary = summarise_runs(done)
    mid = medians(summary)
    return {
        "kind": "measurement", "msgs_per_s": mid.get("msgs_per_s", 0.0),
        "latency_ms": {"p50": mid.get("latency_ms.p50"), "p99": mid.get("latency_ms.p99")},
        "records_per_batch": mid.get("mean_batch_records"),
        "requests_per_s": round(mid.get("produce_requests", 0.0) / mid["elapsed_s"], 1) if mid.get("elapsed_s") else None,
        "runs": len(done), "spread": {k: summary[k] for k in ("msgs_per_s", "latency_ms.p99") if k in summary},
        "errors": sorted({r["first_error"] for r in done if r.get("first_error")}),
    }

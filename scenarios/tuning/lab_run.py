"""One producer setting judged for a lab: measured on a real broker, or predicted by the cost model.

Both return the same figures (``msgs_per_s``, ``latency_ms.p50``/``p99``, records per batch, requests/s)
and say what they are: ``kind`` is ``"measurement"`` or ``"model"``, and a model's figures carry its
label. The model alone cannot see a producer that asks for more requests than the machine sends, so
it is given a *request budget* (an assumption, measured once on the lab machine: see
docs/labs/producer-tuning.md): a setting that needs more ProduceRequests per second than that is
saturated, records queue behind the requests, and the model makes no latency promise for it.

A lab's target is *calibrated* (``measured_for_lab``, ``modelled_for_lab``): the offered rate is a
multiple of what one record per request carries here (measured in the same check on a broker; the
request budget in the model), capped at a share of what a batching producer carries (never below
LEAST_MULTIPLE × the ceiling), so the broken start misses and a batching setting fits on a quiet and on
a loaded machine alike. Each also carries ``reference_p99_ms``, the p99 librdkafka's defaults get at
the offer (measured just before; modelled), from which a lab bounds what a busy machine adds to a p99.
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

# The calibrated target. One record per request is the broken start; batching is what the lab teaches.
ONE_PER_REQUEST = {"linger_ms": 0, "batch_num_messages": 1}
BATCHING = {"linger_ms": 5, "batch_num_messages": 10_000}  # librdkafka's defaults
CEILING_RUNS, CEILING_RECORDS = 2, 8_000  # one per request: the better of two, a noisy moment must not lower the bar
BATCHING_RECORDS = 20_000
BATCHING_SHARE = 1 / 4  # offer at most a quarter of what batching carries, so a batching setting fits ...
LEAST_MULTIPLE = 2.0  # ... but never less than twice the ceiling, so one record per request cannot fit
MIN_SHARE = 0.9  # the setting must carry this share of the offered rate
RUN_SECONDS = 0.5  # a measured run lasts about this long at the offered rate (at least workload.records)


def cell_of(settings: Mapping[str, Any], workload: Mapping[str, Any]) -> tuple[Knobs, Workload]:
    """The lab's settings as the tuning tool's knobs and workload; one TuningError line if they conflict."""
    return build(Knobs, **dict(settings)), build(Workload, **dict(workload))


def _lab_cell(settings: Mapping[str, Any], workload: Mapping[str, Any]) -> tuple[Knobs, Workload, float]:
    """A lab's workload names ``offer_multiple`` instead of a rate: the rate is calibrated."""
    rest = dict(workload)
    multiple = float(rest.pop("offer_multiple", 0) or 0)
    if multiple <= 0:
        raise TuningError("workload.offer_multiple: a calibrated target needs a multiple above 0")
    knobs, load = cell_of(settings, {**rest, "rate": None})
    return knobs, load, multiple


def offer_of(multiple: float, ceiling: float, batching: float | None, kind: str) -> dict[str, Any]:
    """The offered rate: ``multiple`` × the one-per-request ceiling, capped by what batching carries."""
    wanted = multiple * ceiling
    cap = max(batching * BATCHING_SHARE, min(multiple, LEAST_MULTIPLE) * ceiling) if batching else None
    offered = max(1.0, round(min(wanted, cap) if cap else wanted))
    return {
        "kind": kind, "multiple": multiple, "one_per_request_msgs_per_s": round(ceiling, 1),
        "batching_msgs_per_s": round(batching, 1) if batching else None,
        "capped": bool(cap and cap < wanted), "offered_msgs_per_s": offered,
        "effective_multiple": round(offered / ceiling, 2) if ceiling else None,
        "target_msgs_per_s": round(MIN_SHARE * offered, 1), "min_share": MIN_SHARE, "least_multiple": LEAST_MULTIPLE,
    }


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


def modelled_for_lab(settings: Mapping[str, Any], workload: Mapping[str, Any]) -> dict[str, Any]:
    """The model's verdict inputs at a calibrated offer: its one-per-request ceiling is the request budget
    (a model figure, deterministic); the model has no enqueue cost, so nothing caps the multiple."""
    knobs, load, multiple = _lab_cell(settings, workload)
    probe = load.model_copy(update={"rate": 1e6})  # far above any budget: what one per request sustains
    ceiling = modelled(build(Knobs, **ONE_PER_REQUEST), probe)["msgs_per_s"]
    offer = offer_of(multiple, ceiling, None, "model")
    at_offer = load.model_copy(update={"rate": offer["offered_msgs_per_s"]})
    offer["reference_p99_ms"] = (modelled(build(Knobs, **BATCHING), at_offer)["latency_ms"] or {}).get("p99")
    return {**modelled(knobs, at_offer), "offer": offer}


def measured_for_lab(bootstrap: str, topic: str, settings: Mapping[str, Any], workload: Mapping[str, Any],
                     runs: int) -> dict[str, Any]:
    """Calibrate on this broker, then measure the learner's setting at the calibrated offered rate."""
    from scenarios.tuning.measure import measure_python
    from scenarios.tuning.payloads import payloads

    knobs, load, multiple = _lab_cell(settings, workload)
    values = payloads(load.payload, load.record_size)

    def carried(ref: Mapping[str, Any], records: int, rate: float | None) -> float:
        run = measure_python(bootstrap, topic, build(Knobs, **ref),
                             load.model_copy(update={"records": records, "rate": rate}), values)
        return float(run["msgs_per_s"])

    with _topic(bootstrap, topic, load.partitions):
        carried(BATCHING, WARMUP_RECORDS, None)  # discarded: the topic's segments and the broker's code paths warm up
        # A burst of batching is quick and flatters a loaded machine: the slower of two runs counts.
        batching = min(carried(BATCHING, BATCHING_RECORDS, None) for _ in range(CEILING_RUNS))
        # One record per request carries more the more is queued, so it is probed at the highest rate
        # the check may offer: no offer below that lets it carry more than it does here.
        probe = batching * BATCHING_SHARE
        ceiling = max(carried(ONE_PER_REQUEST, CEILING_RECORDS, probe) for _ in range(CEILING_RUNS))
        offer = offer_of(multiple, ceiling, batching, "measurement")
        rate = offer["offered_msgs_per_s"]
        run_load = load.model_copy(update={"rate": rate, "records": max(load.records, int(rate * RUN_SECONDS))})
        # What the machine adds to any p99 right now (scheduling on busy cores), measured at the offer.
        reference = measure_python(bootstrap, topic, build(Knobs, **BATCHING), run_load, values)
        offer["reference_p99_ms"] = reference["latency_ms"]["p99"]
        figures = _measure_runs(bootstrap, topic, knobs, run_load, runs, warm=False)
    return {**figures, "offer": offer}


class _topic:
    """The measurement's own topic, removed afterwards."""

    def __init__(self, bootstrap: str, topic: str, partitions: int) -> None:
        from scenarios import root

        self.admin = root.kafka_broker(bootstrap, client_prefix="kafkalab-tune").admin()
        self.topic, self.partitions = topic, partitions

    def __enter__(self) -> None:
        from services.ports import TopicSpec

        self.admin.create_topics([TopicSpec(self.topic, partitions=self.partitions)])

    def __exit__(self, *exc: object) -> None:
        self.admin.delete_topics([self.topic])


def _measure_runs(bootstrap: str, topic: str, knobs: Knobs, workload: Workload, runs: int,
                  warm: bool) -> dict[str, Any]:
    from scenarios.tuning.measure import measure_python
    from scenarios.tuning.payloads import payloads

    values = payloads(workload.payload, workload.record_size)
    if warm:
        measure_python(bootstrap, topic, knobs, workload.model_copy(update={"records": WARMUP_RECORDS}), values)
    done = [measure_python(bootstrap, topic, knobs, workload, values) for _ in range(max(1, runs))]
    summary = summarise_runs(done)
    mid = medians(summary)
    return {
        "kind": "measurement", "msgs_per_s": mid.get("msgs_per_s", 0.0),
        "latency_ms": {"p50": mid.get("latency_ms.p50"), "p99": mid.get("latency_ms.p99")},
        "records_per_batch": mid.get("mean_batch_records"),
        "requests_per_s": round(mid.get("produce_requests", 0.0) / mid["elapsed_s"], 1) if mid.get("elapsed_s") else None,
        "runs": len(done), "records": workload.records, "offered_msgs_per_s": workload.rate,
        "spread": {k: summary[k] for k in ("msgs_per_s", "latency_ms.p99") if k in summary},
        "errors": sorted({r["first_error"] for r in done if r.get("first_error")}),
    }

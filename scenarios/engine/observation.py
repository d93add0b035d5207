"""What a run saw: one Observation per phase (the facts checks and narration read), and the Outcome."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scenarios.engine.model import Check, Expect, Phase, Script
from services.ports import PartitionInfo, Record

LagSamples = list[tuple[int, dict[int, int]]]  # (ms since the phase began, partition -> lag)


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at_ms: int
    kind: str  # step | fault | record | dlq | moment
    where: str
    text: str
    event_type: str | None = None
    rank: float = 0.0  # orders entries of the same millisecond (steps first, then by causal depth)


@dataclass
class PlacedOrder:
    order_id: str | None  # None: refused by the API (validation)
    body: dict[str, Any]
    error: str = ""

    @property
    def accepted(self) -> bool:
        return self.order_id is not None


@dataclass(frozen=True, slots=True)
class Rebalance:
    at_ms: int
    group: str  # the service kind's group, without a run prefix
    member: str
    assigned: tuple[str, ...]
    revoked: tuple[str, ...]
    first: bool = False  # the consumer's first assignment since it started (no rebalance for the others)
    closing: bool = False  # given up by a consumer that is closing


@dataclass
class Observation:
    """Everything the checks of one phase may look at; the same facts in both worlds."""

    phase: Phase
    mode: str
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
    lag: dict[str, LagSamples] = field(default_factory=dict)  # "inventory/payments" -> samples
    marks: dict[int, str] = field(default_factory=dict)  # moments for charts: ms -> "scaled to 3"
    load_end_ms: int | None = None  # when the last load step placed its last order
    members: dict[str, dict[str, int]] = field(default_factory=dict)  # kind -> client id -> partitions
    exits: dict[str, str] = field(default_factory=dict)  # instance -> why its startup gave up
    client_errors: list[str] = field(default_factory=list)  # connection errors, the client's wording
    blocked: dict[str, tuple[str, int, int, str]] = field(default_factory=dict)  # instance -> topic, p, offset, error
    rebalances: list[Rebalance] = field(default_factory=list)
    redeliveries: dict[str, int] = field(default_factory=dict)  # group -> records delivered again
    joined: list[tuple[int, str, str]] = field(default_factory=list)  # (at_ms, group, member): a consumer subscribed
    not_available: list[str] = field(default_factory=list)  # steps this world could not take
    step_errors: list[str] = field(default_factory=list)  # steps the broker refused (e.g. an inject)
    cli_lag: dict[str, Any] | None = None  # kafka-consumer-groups' LAG next to our own readings
    redrives: list[dict[str, Any]] = field(default_factory=list)
    schema_steps: list[dict[str, Any]] = field(default_factory=list)  # set_compatibility / deploy_schema, as answered
    readings: dict[str, dict[str, Any]] = field(default_factory=dict)  # read_as: reader label -> what it could read
    sizes: dict[str, int] = field(default_factory=dict)  # avro worlds: events encoded, their Avro and JSON bytes
    registry_json: str | None = None  # sim avro worlds: the phase's registry, saved for `kafkalab schema`
    calls: list[dict[str, Any]] = field(default_factory=list)  # call steps: component, action, args, result
    measurements: list[dict[str, Any]] = field(default_factory=list)  # measure_producer: figures, or the model's
    killed_at: list[tuple[str, str]] = field(default_factory=list)  # (instance, fault point) of each crash there
    describes: list[tuple[int, list[PartitionInfo]]] = field(default_factory=list)  # (ms, partitions) per describe
    acked: dict[str, set[str]] = field(default_factory=dict)  # topic -> event ids the services' producers had acked
    produce_errors: list[str] = field(default_factory=list)  # what the broker answered a producer, first of each kind
    probes: list[tuple[int, str]] = field(default_factory=list)  # (ms, "" or the broker's refusal) per probe step
    run_prefix: str = ""  # kafka: the kl-<run>- prefix of this phase's topics, groups and schemas
    notes: list[dict[str, Any]] = field(default_factory=list)  # what a lab's own components wrote down
    network_faults: dict[str, Any] = field(default_factory=dict)  # kafka: what the fault proxy applied, by action
    logical_topic: Callable[[str], str] = str
    started_ms: int = 0

    @property
    def accepted(self) -> list[PlacedOrder]:
        return [p for p in self.placed if p.accepted]

    def dlq_records(self) -> dict[str, list[Record]]:
        return {t: rs for t, rs in self.records.items() if t.endswith(".dlq")}

    def order_counts(self) -> dict[str, int]:
        return dict(sorted(Counter(self.statuses.values()).items()))

    def dlq_counts(self) -> dict[str, int]:
        return {t: len(rs) for t, rs in sorted(self.dlq_records().items())}

    def lag_of(self, kind: str, topic: str) -> LagSamples:
        return self.lag.get(f"{kind}/{topic}", [])


@dataclass
class StageResult:
    label: str
    expect: Expect
    knobs: dict[str, Any]
    observations: list[Observation]
    checks: list[Check]

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)


@dataclass
class Outcome:
    lab: str
    mode: str
    seed: int
    script: Script
    stages: list[StageResult]
    trace_lines: list[str] = field(default_factory=list)  # sim: every phase's trace, in order
    stopped: bool = False  # played only in part (a replay stops at its first difference)

    @property
    def checks(self) -> list[Check]:
        return [c for s in self.stages for c in s.checks]

    @property
    def passed(self) -> bool:
        return bool(self.stages) and not self.stopped and all(s.passed for s in self.stages)

    @property
    def last(self) -> Observation | None:
        return self.stages[-1].observations[-1] if self.stages and self.stages[-1].observations else None

    @property
    def orders(self) -> dict[str, int]:
        return self.last.order_counts() if self.last else {}

    @property
    def dlq(self) -> dict[str, int]:
        return self.last.dlq_counts() if self.last else {}

    @property
    def trace_sha256(self) -> str | None:
        return trace_sha256(self.trace_lines) if self.trace_lines else None

    @property
    def not_available(self) -> list[str]:
        return sorted({s for st in self.stages for o in st.observations for s in o.not_available})


def trace_sha256(lines: list[str]) -> str:
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode())
        digest.update(b"\n")
    return digest.hexdigest()

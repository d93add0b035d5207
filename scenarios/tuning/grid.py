"""The tuning grid, declared: producer knobs, a workload, and which knobs to vary.

``Knobs`` holds the six settings the grid varies, named as librdkafka names them; its defaults are
librdkafka's own (the client kafkalab uses), not the Java client's. ``GridSpec.cells()`` expands a grid
either one knob at a time from the base (``combine="each"``: the default, one cell per changed value)
or as the full product (``combine="product"``; combinations librdkafka refuses are skipped and listed).
Bad values fail when the spec is built, with one line naming the field.
"""

from __future__ import annotations

import itertools
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Compression = Literal["none", "gzip", "snappy", "lz4", "zstd"]
CODECS: tuple[str, ...] = ("none", "gzip", "snappy", "lz4", "zstd")

# librdkafka's setting name for each knob (the Java client uses the same names, minus batch.num.messages).
SETTING_NAMES = {
    "linger_ms": "linger.ms",
    "batch_size": "batch.size",
    "batch_num_messages": "batch.num.messages",
    "compression": "compression.type",
    "acks": "acks",
    "idempotence": "enable.idempotence",
}

# Why the starting point is what it is (printed with every run).
LIBRDKAFKA_DEFAULTS_NOTE = (
    "Starting point: librdkafka's defaults (linger.ms=5, batch.size=1000000 bytes, batch.num.messages=10000, "
    "compression none, acks=all, enable.idempotence=false), because kafkalab's services use librdkafka "
    "through confluent-kafka. Java-client tutorials quote other defaults."
)
JAVA_DIFFERENCES_NOTE = (
    "kafka-producer-perf-test runs the Java client with the same linger.ms, batch.size, compression.type, "
    "acks and enable.idempotence. It differs: batch.size is a per-partition buffer (Java default 16384, "
    "librdkafka 1000000), there is no batch.num.messages, enable.idempotence defaults to true, "
    "max.in.flight is 5 (librdkafka 1000000), keyless records use Java's sticky partitioner, and the JVM "
    "starts, warms up and JIT-compiles inside the run."
)


class TuningError(ValueError):
    """A grid, knob or workload the user gave is not valid; the message is one line naming the field."""


def one_line(exc: ValidationError) -> str:
    """pydantic's error as one line: the field, then what is wrong with it."""
    parts = []
    for err in exc.errors():
        where = ".".join(SETTING_NAMES.get(str(p), str(p)) for p in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


class Knobs(BaseModel):
    """The producer settings one cell uses (librdkafka defaults)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    linger_ms: float = Field(5, ge=0, le=900_000, description="linger.ms")
    batch_size: int = Field(1_000_000, ge=1, le=2_147_483_647, description="batch.size (bytes)")
    batch_num_messages: int = Field(10_000, ge=1, le=1_000_000, description="batch.num.messages")
    compression: Compression = Field("none", description="compression.type")
    acks: Literal["1", "all"] = Field("all", description="acks")
    idempotence: bool = Field(False, description="enable.idempotence")

    @model_validator(mode="after")
    def _idempotence_needs_acks_all(self) -> Knobs:
        if self.idempotence and self.acks != "all":
            raise ValueError(f"acks={self.acks} conflicts with enable.idempotence=true, which needs acks=all")
        return self

    def librdkafka(self) -> dict[str, Any]:
        return {SETTING_NAMES[name]: getattr(self, name) for name in SETTING_NAMES}

    def java(self) -> dict[str, str]:
        """The same cell for the Java client (kafka-producer-perf-test --command-property)."""
        props = self.librdkafka()
        props.pop("batch.num.messages")
        props["linger.ms"] = int(self.linger_ms)
        return {k: show(v) for k, v in props.items()}

    def changed_from(self, base: Knobs) -> dict[str, Any]:
        return {SETTING_NAMES[n]: getattr(self, n) for n in SETTING_NAMES if getattr(self, n) != getattr(base, n)}


class Workload(BaseModel):
    """What every cell sends. ``rate`` None: unlimited (as fast as the client accepts records)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    record_size: int = Field(200, ge=16, le=1_000_000, description="value bytes per record")
    keys: int = Field(100, ge=0, le=1_000_000, description="distinct keys, 0 = keyless")
    rate: float | None = Field(10_000, gt=0, le=10_000_000, description="records/s, None = unlimited")
    records: int = Field(20_000, ge=100, le=10_000_000, description="measured records per run")
    warmup: int = Field(500, ge=0, le=1_000_000, description="records sent before measuring")
    partitions: int = Field(3, ge=1, le=64)
    payload: Literal["json", "random"] = "json"


class Cell(BaseModel):
    """One point of the grid: a name like ``linger.ms=20`` and the knobs it runs with."""

    model_config = ConfigDict(frozen=True)

    name: str
    knobs: Knobs
    changed: dict[str, Any]


class GridSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    base: Knobs = Knobs()
    vary: dict[str, list[Any]] = Field(default_factory=dict)
    combine: Literal["each", "product"] = "each"
    workload: Workload = Workload()
    runs: int = Field(3, ge=1, le=20, description="measured runs per cell (Python client)")
    perf_test_runs: int = Field(1, ge=0, le=20, description="kafka-producer-perf-test runs per cell")

    @model_validator(mode="after")
    def _axes_are_knobs(self) -> GridSpec:
        for axis, values in self.vary.items():
            if axis not in SETTING_NAMES:
                known = ", ".join(sorted(SETTING_NAMES))
                raise ValueError(f"vary: {axis!r} is not a knob (knobs: {known})")
            if not values:
                raise ValueError(f"vary.{axis}: give at least one value")
        self.cells()  # each cell's knobs must be valid (product mode skips what conflicts)
        return self

    def cells(self) -> list[Cell]:
        return self._expand()[0]

    def skipped(self) -> list[str]:
        """Product combinations left out because the knobs conflict (e.g. acks=1 with idempotence)."""
        return self._expand()[1]

    def _expand(self) -> tuple[list[Cell], list[str]]:
        base = self.base.model_dump()
        if self.combine == "each":
            variants = [{}] + [{axis: v} for axis, values in self.vary.items() for v in values if v != base[axis]]
        else:
            axes = list(self.vary)
            variants = [dict(zip(axes, combo, strict=True)) for combo in itertools.product(*self.vary.values())]
        cells: list[Cell] = []
        skipped: list[str] = []
        seen: set[Knobs] = set()
        for variant in variants:
            try:
                knobs = Knobs(**{**base, **variant})
            except ValidationError as exc:
                if self.combine == "product":
                    skipped.append(f"{_label(variant)}: {one_line(exc)}")
                    continue
                raise ValueError(f"vary {_label(variant)}: {one_line(exc)}") from None
            if knobs in seen:
                continue
            seen.add(knobs)
            changed = knobs.changed_from(self.base)
            cells.append(Cell(name=_label_settings(changed) or "baseline", knobs=knobs, changed=changed))
        return cells, skipped


def _label(variant: dict[str, Any]) -> str:
    return _label_settings({SETTING_NAMES.get(k, k): v for k, v in variant.items()}) or "baseline"


def show(value: Any) -> str:
    """A setting as a user writes it: true/false, 5 rather than 5.0."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _label_settings(settings: dict[str, Any]) -> str:
    return " ".join(f"{k}={show(v)}" for k, v in settings.items())


def default_grid(workload: Workload | None = None, *, runs: int = 3) -> GridSpec:
    """One knob at a time from librdkafka's defaults: 12 cells, a few minutes on two cores."""
    return GridSpec(
        vary={
            "linger_ms": [0, 20, 100],
            "batch_size": [2_048],  # small caps, so that at this rate a cap (not linger) closes batches
            "batch_num_messages": [10],
            "compression": ["gzip", "snappy", "lz4", "zstd"],
            "acks": ["1"],
            "idempotence": [True],
        },
        workload=workload or Workload(),
        runs=runs,
    )


def quick_grid(workload: Workload | None = None) -> GridSpec:
    """Four cells, one run each, fewer records: a look in well under a minute."""
    workload = workload or Workload(records=5_000, warmup=200)
    return GridSpec(vary={"linger_ms": [50], "compression": ["lz4"], "acks": ["1"]},
                    workload=workload, runs=1)


def build(factory: Any, *args: Any, **kwargs: Any) -> Any:
    """Build a pydantic model from user input; a bad value becomes one TuningError line."""
    try:
        return factory(*args, **kwargs)
    except ValidationError as exc:
        raise TuningError(one_line(exc)) from None

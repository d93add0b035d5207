"""A lab run as data: steps, phases, stages and the script that holds them all, plus checks.

A *step* is one mode-free action (``place_order``, ``crash``, ``advance``...). A *phase* is a fresh
world built from a ``WorldSpec`` and the steps played on it. A *stage* is what one set of knobs
shows: one or more phases (e.g. one per start order) and whether the lab's checks must pass
(``expect: "fixed"``) or its symptoms must show (``"symptom"``). A *script* is every stage of a run::

    {"lab": "poison-pill", "seed": 0, "mode": "sim", "stages": [{"label": "no DLQ", "expect": "symptom",
     "knobs": {"dlq_enabled": false}, "phases": [{"name": "...", "world": {...}, "steps": [...]}]}, ...]}

so a run is recorded, edited by hand, and replayed: replay plays the recorded steps (it does not
regenerate them from the seed), so the script is the whole truth of a run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from scenarios.engine.spec import WorldSpec

# Step operations, with the fields each takes. Fault names are the simulator's own.
STEP_OPS: dict[str, tuple[str, ...]] = {
    "set_stock": ("product_id", "quantity"),
    "place_order": ("customer_id", "product_id", "quantity", "amount"),
    "load": ("rate", "count", "customer_id", "product_id", "quantity", "amount", "spread"),
    "inject": ("topic", "value_hex", "key", "partition", "note"),
    "start": ("component",),
    "crash": ("service", "index", "at"),  # at: a fault point (services.fault_points); none: before a commit
    "restart": ("service", "index"),
    "scale": ("service", "instances"),
    "slow": ("service", "index", "ms"),
    "broker_down": ("ms",),
    "lose_ack": ("topic",),
    "slow_network": ("ms", "direction"),
    "heal": (),
    "watch": ("service", "topic", "every_ms"),
    "ready": (),
    "advance": ("ms",),
    "quiet": ("ms",),
    "snapshot": ("label",),
    "compare_cli_lag": ("service", "topic"),
    "redrive": ("topic", "partition", "offset", "max_redrives"),
    "set_compatibility": ("event_type", "level"),
    "deploy_schema": ("event_type", "schema", "renames", "note"),
    "read_as": ("topic", "event_type", "readers"),
    "call": ("component", "action", "args"),  # one action of a lab's own component (engine/components.py)
    "measure_producer": ("settings", "workload", "runs"),  # producer-tuning: measured (kafka) or modelled (sim)
    "bounce": ("service", "index", "ms"),  # a restart as in a deploy: close, ``ms`` down, back under its name
    "broker_kill": ("topic", "partition", "role"),  # kill -9 the broker(s) in that role for the partition
    "broker_pause": ("topic", "partition", "role", "ms"),  # SIGSTOP them for ms (a long GC pause)
    "broker_start": ("which",),  # the n-th broker killed (1: the first) or "last" comes back
    "describe": ("topic",),  # leader, replicas and ISR of every partition (kafka-topics --describe)
    "probe": (),  # one record with the services' acks and no retries, to a topic like theirs: the broker's answer
}
Expect = Literal["fixed", "symptom"]


class ScriptError(ValueError):
    """A script is malformed: unknown op, missing field, bad world, or not JSON."""


@dataclass(frozen=True, slots=True)
class Step:
    """One action, e.g. ``Step("place_order", {"product_id": "prod_123", ...})``."""

    op: str
    args: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.op not in STEP_OPS:
            raise ScriptError(f"unknown step op {self.op!r}; known: {', '.join(STEP_OPS)}")
        unknown = set(self.args) - set(STEP_OPS[self.op])
        if unknown:
            raise ScriptError(f"step {self.op!r} got unknown fields {sorted(unknown)}")

    def get(self, name: str, default: Any = None) -> Any:
        return self.args.get(name, default)

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, **self.args}

    @classmethod
    def from_json(cls, data: Any) -> Step:
        if not isinstance(data, Mapping) or "op" not in data:
            raise ScriptError(f"a step must be an object with an 'op': {data!r}")
        return cls(str(data["op"]), {k: v for k, v in data.items() if k != "op"})

    def describe(self) -> str:
        args = " ".join(f"{k}={v}" for k, v in self.args.items() if k != "value_hex")
        return f"{self.op} {args}".strip()


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    world: WorldSpec
    steps: tuple[Step, ...]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "world": self.world.to_json(), "steps": [s.to_json() for s in self.steps]}

    @classmethod
    def from_json(cls, data: Any) -> Phase:
        try:
            return cls(str(data["name"]), WorldSpec.model_validate(data["world"]),
                       tuple(Step.from_json(s) for s in data["steps"]))
        except ValidationError as exc:
            raise ScriptError(f"phase {data.get('name')!r}: bad world: {exc.errors()[0]['msg']}") from None
        except (KeyError, TypeError, AttributeError) as exc:
            raise ScriptError(f"not a phase: {exc!r}") from None


@dataclass(frozen=True, slots=True)
class Stage:
    label: str
    expect: Expect
    knobs: Mapping[str, Any]
    phases: tuple[Phase, ...]

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "expect": self.expect, "knobs": dict(self.knobs),
                "phases": [p.to_json() for p in self.phases]}

    @classmethod
    def from_json(cls, data: Any) -> Stage:
        try:
            expect = data["expect"]
            if expect not in ("fixed", "symptom"):
                raise ScriptError(f"stage {data.get('label')!r}: expect is 'fixed' or 'symptom', not {expect!r}")
            return cls(str(data["label"]), expect, dict(data["knobs"]),
                       tuple(Phase.from_json(p) for p in data["phases"]))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ScriptError(f"not a stage: {exc!r}") from None


@dataclass(frozen=True, slots=True)
class Script:
    """A recorded run: which lab's checks apply, the seed, the mode, and every stage as played."""

    lab: str
    seed: int
    mode: str
    stages: tuple[Stage, ...]

    @property
    def phases(self) -> list[Phase]:
        return [p for s in self.stages for p in s.phases]

    def in_mode(self, mode: str) -> Script:
        return Script(self.lab, self.seed, mode, self.stages)

    def to_json(self) -> dict[str, Any]:
        return {"lab": self.lab, "seed": self.seed, "mode": self.mode, "stages": [s.to_json() for s in self.stages]}

    def dumps(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, data: Any) -> Script:
        try:
            stages = data["stages"]
            if not isinstance(stages, Sequence) or isinstance(stages, str):
                raise ScriptError("'stages' must be a list")
            return cls(str(data["lab"]), int(data["seed"]), str(data.get("mode", "sim")),
                       tuple(Stage.from_json(s) for s in stages))
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ScriptError):
                raise
            raise ScriptError(f"not a lab script: {exc!r}") from None

    @classmethod
    def loads(cls, text: str) -> Script:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ScriptError(f"not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ScriptError("a lab script is a JSON object")
        return cls.from_json(data)


@dataclass(frozen=True, slots=True)
class Check:
    """One verified claim about a run; ``hint`` is what to try when it fails (from what it saw)."""

    name: str
    passed: bool
    detail: str = ""
    hint: str = ""
    counts: Mapping[str, Any] | None = None  # a checker's figures (e.g. lost / duplicated per topic), in the JSON

    def to_json(self) -> dict[str, Any]:
        found = {"name": self.name, "passed": self.passed, "detail": self.detail}
        return found if self.counts is None else {**found, "counts": dict(self.counts)}


def check(name: str, passed: bool, detail: str = "", hint: str = "", counts: Mapping[str, Any] | None = None) -> Check:
    return Check(name, bool(passed), detail, hint, counts)

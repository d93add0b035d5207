"""What a scenario is: a named list of steps (setup, break, observe, fix) plus the checks that verify it.

A scenario's steps serialise to a JSON *scenario script*::

    {"scenario": "chaos", "seed": 7, "mode": "sim", "steps": [{"op": "place_order", ...}, ...]}

so a run can be recorded, edited by hand, shrunk by Hypothesis and replayed. Replay executes the
recorded steps, it does not regenerate them from the seed, so a script is the whole truth of a run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# Step operations the runner understands, with the argument names each one takes.
STEP_OPS: dict[str, tuple[str, ...]] = {
    "set_stock": ("product_id", "quantity"),
    "place_order": ("customer_id", "product_id", "quantity", "amount"),
    "inject": ("topic", "value_hex", "key", "partition", "note"),
    "crash": ("service", "index"),
    "restart": ("service", "index"),
    "scale": ("service", "instances"),
    "slow": ("service", "index", "ms"),
    "broker_down": ("ms",),
    "lose_ack": ("topic",),
    "heal": (),
    "advance": ("ms",),
    "quiet": (),
    "snapshot": ("label",),
}


class ScriptError(ValueError):
    """A scenario script is malformed: unknown op, missing field, or not JSON."""


@dataclass(frozen=True, slots=True)
class Step:
    """One action of a scenario, e.g. ``Step("place_order", {"product_id": "prod_123", ...})``."""

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
    def from_json(cls, data: Mapping[str, Any]) -> Step:
        if not isinstance(data, Mapping) or "op" not in data:
            raise ScriptError(f"a step must be an object with an 'op': {data!r}")
        return cls(str(data["op"]), {k: v for k, v in data.items() if k != "op"})

    def describe(self) -> str:
        args = " ".join(f"{k}={v}" for k, v in self.args.items() if k != "value_hex")
        return f"{self.op} {args}".strip()


@dataclass(frozen=True, slots=True)
class Script:
    """A recorded run: which scenario's checks apply, the seed, the mode, and the exact steps."""

    scenario: str
    seed: int
    mode: str
    steps: tuple[Step, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "seed": self.seed,
            "mode": self.mode,
            "steps": [s.to_json() for s in self.steps],
        }

    def dumps(self) -> str:
        # One line, sorted keys: a script is also the first line of a trace file.
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Script:
        try:
            return cls(
                scenario=str(data["scenario"]),
                seed=int(data["seed"]),
                mode=str(data.get("mode", "sim")),
                steps=tuple(Step.from_json(s) for s in data["steps"]),
            )
        except (KeyError, TypeError) as exc:
            raise ScriptError(f"not a scenario script: {exc}") from exc

    @classmethod
    def loads(cls, text: str) -> Script:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ScriptError(f"not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ScriptError("a scenario script is a JSON object")
        return cls.from_json(data)


@dataclass(frozen=True, slots=True)
class Check:
    """One verified claim about a run."""

    name: str
    passed: bool
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "detail": self.detail}


def check(name: str, passed: bool, detail: str = "") -> Check:
    return Check(name, bool(passed), detail)


@dataclass(frozen=True)
class Scenario:
    """A lab: how to build its steps from a seed, and which checks verify a run of them.

    ``checks`` receives the runner's Observation (see scenarios.runner) and returns Check objects.
    ``lesson`` is the setup / break / observe / fix story told to people before the timeline.
    """

    name: str
    summary: str
    lesson: str
    build_steps: Callable[[int], Sequence[Step]]
    checks: Callable[[Any], Sequence[Check]]
    instances: Mapping[str, int] = field(default_factory=dict)

    def script(self, seed: int, mode: str) -> Script:
        return Script(self.name, seed, mode, tuple(self.build_steps(seed)))

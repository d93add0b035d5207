"""Run a scenario by name or script, record it, and replay a recording to see if it reproduces."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scenarios import catalog
from scenarios.model import Script, ScriptError
from scenarios.runner import Outcome, run_script
from scenarios.settings import Settings
from scenarios.wiring import build_lab

TRACE_MARKER = "kafkalab-trace"


def play(script: Script, options: Settings | None = None) -> Outcome:
    """Run ``script`` on a fresh lab of its mode and check it with its scenario's checks."""
    scenario = catalog.get(script.scenario)
    custom = getattr(scenario, "run_lab", None)
    if custom is not None:  # the troubleshooting labs build their own worlds (scenarios.labs)
        return custom(script.mode, script.seed, options)
    lab = build_lab(script.mode, script.seed, options, instances=scenario.instances)
    try:
        return run_script(script, scenario, lab)
    finally:
        lab.close()


def run(name: str, mode: str = "sim", seed: int = 0, options: Settings | None = None) -> Outcome:
    return play(catalog.get(name).script(seed, mode), options)


def _expectation(outcome: Outcome) -> dict[str, Any]:
    return {"trace_sha256": outcome.trace_sha256, "passed": outcome.passed}


def write_script(outcome: Outcome, path: str | Path) -> None:
    """The scenario script plus what it produced, so ``replay`` can tell whether it reproduces."""
    data = outcome.script.to_json() | {"expect": _expectation(outcome)}
    Path(path).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def write_trace(outcome: Outcome, path: str | Path) -> None:
    """First line: the script and expectation (one JSON object); then the simulator's trace lines."""
    head = {TRACE_MARKER: 1, "script": outcome.script.to_json(), "expect": _expectation(outcome)}
    lines = [json.dumps(head, sort_keys=True, separators=(",", ":")), *outcome.trace_lines]
    Path(path).write_text("\n".join(lines) + "\n")


@dataclass
class Recording:
    script: Script
    expect: dict[str, Any] | None
    trace_lines: list[str] | None


def load_recording(path: str | Path) -> Recording:
    """A scenario script (JSON object) or a trace file whose first line embeds the script."""
    text = Path(path).read_text()
    first, _, rest = text.partition("\n")
    try:
        head = json.loads(first)
    except json.JSONDecodeError:
        head = None
    if isinstance(head, dict) and TRACE_MARKER in head:
        return Recording(Script.from_json(head["script"]), head.get("expect"), rest.splitlines())
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScriptError(f"{path}: neither a scenario script nor a kafkalab trace ({exc})") from exc
    if not isinstance(data, dict):
        raise ScriptError(f"{path}: a scenario script is a JSON object")
    return Recording(Script.from_json(data), data.get("expect"), None)


@dataclass
class ReplayReport:
    outcome: Outcome
    expect: dict[str, Any] | None
    first_difference: int | None  # first differing trace line (0-based), when a trace was recorded

    @property
    def reproduced(self) -> bool | None:
        """True: same trace hash (sim) or same verdict (kafka). None: nothing recorded to compare with."""
        if not self.expect:
            return None
        if self.expect.get("trace_sha256") and self.outcome.trace_sha256:
            return self.expect["trace_sha256"] == self.outcome.trace_sha256
        return self.expect.get("passed") == self.outcome.passed

    def to_json(self) -> dict[str, Any]:
        return {
            "reproduced": self.reproduced,
            "expected": self.expect,
            "actual": _expectation(self.outcome),
            "first_difference": self.first_difference,
        }


def replay(path: str | Path, options: Settings | None = None, mode: str | None = None) -> ReplayReport:
    recording = load_recording(path)
    script = recording.script
    if mode and mode != script.mode:
        script = Script(script.scenario, script.seed, mode, script.steps)
    outcome = play(script, options)
    first_difference = None
    if recording.trace_lines is not None:
        first_difference = _first_difference(recording.trace_lines, outcome.trace_lines)
    return ReplayReport(outcome, recording.expect, first_difference)


def _first_difference(a: list[str], b: list[str]) -> int | None:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))

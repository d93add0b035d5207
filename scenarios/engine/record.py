"""Recordings of runs, and replays that prove something.

A trace file is one JSON head line (the script, the hash and line count of the body, the verdict),
then the body: every phase's simulator trace, which covers record content (see worlds.sim). Replay
first checks the body against the recorded hash, then plays the recorded script again and compares
the new trace with the recorded body line by line. Any difference, a tampered or truncated body, or
an edited script step, gives "did not reproduce", with the first differing line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scenarios.engine.model import Script, ScriptError
from scenarios.engine.observation import Outcome, trace_sha256

TRACE_MARKER = "kafkalab-trace"
TRACE_VERSION = 2


def expectation(outcome: Outcome) -> dict[str, Any]:
    return {"trace_sha256": outcome.trace_sha256, "lines": len(outcome.trace_lines), "passed": outcome.passed}


def write_script(outcome: Outcome, path: str | Path) -> None:
    """The script plus what it produced (its trace's hash), so ``replay`` can tell whether it reproduces."""
    data = outcome.script.to_json() | {"expect": expectation(outcome)}
    Path(path).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def write_trace(outcome: Outcome, path: str | Path) -> None:
    head = {TRACE_MARKER: TRACE_VERSION, "script": outcome.script.to_json(), "expect": expectation(outcome)}
    lines = [json.dumps(head, sort_keys=True, separators=(",", ":")), *outcome.trace_lines]
    Path(path).write_text("\n".join(lines) + "\n")


@dataclass
class Recording:
    script: Script
    expect: dict[str, Any] | None
    body: list[str] | None  # the trace lines after the head; None for a script file


def load_recording(path: str | Path) -> Recording:
    """A script (a JSON object) or a trace file whose first line is the head."""
    text = Path(path).read_text()
    first, _, rest = text.partition("\n")
    try:
        head = json.loads(first)
    except json.JSONDecodeError:
        head = None
    if isinstance(head, dict) and TRACE_MARKER in head:
        return Recording(Script.from_json(head.get("script")), head.get("expect"), rest.splitlines())
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScriptError(f"{path}: neither a lab script nor a kafkalab trace ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise ScriptError(f"{path}: a lab script is a JSON object")
    return Recording(Script.from_json(data), data.get("expect"), None)


@dataclass(frozen=True, slots=True)
class Difference:
    line: int  # 1-based line number in the trace file (the head is line 1)
    expected: str
    got: str


@dataclass
class ReplayReport:
    outcome: Outcome | None  # None: not played (the recording itself was edited or truncated)
    expect: dict[str, Any] | None
    body_intact: bool | None  # the recorded body matches its recorded hash (None: nothing to check)
    difference: Difference | None

    @property
    def reproduced(self) -> bool | None:
        """True: the same trace, line for line (sim), or the same verdict (kafka). None: nothing recorded."""
        if not self.expect:
            return None
        if self.outcome is None or self.body_intact is False or self.difference is not None:
            return False
        if self.expect.get("trace_sha256") and self.outcome.trace_sha256:
            return self.expect["trace_sha256"] == self.outcome.trace_sha256
        return self.expect.get("passed") == self.outcome.passed

    def to_json(self) -> dict[str, Any]:
        diff = self.difference
        return {
            "reproduced": self.reproduced,
            "expected": self.expect,
            "actual": None if self.outcome is None else expectation(self.outcome),
            "recorded_body_intact": self.body_intact,
            "first_difference": None if diff is None else {"line": diff.line, "expected": diff.expected,
                                                            "got": diff.got},
        }


def body_intact(recording: Recording) -> bool | None:
    """Does the recorded body still hash to what was recorded with it (not edited, not truncated)?"""
    if recording.body is None or not recording.expect or not recording.expect.get("trace_sha256"):
        return None
    return (trace_sha256(recording.body) == recording.expect["trace_sha256"]
            and recording.expect.get("lines", len(recording.body)) == len(recording.body))


def first_difference(recorded: list[str], replayed: list[str]) -> Difference | None:
    for i, (a, b) in enumerate(zip(recorded, replayed, strict=False)):
        if a != b:
            return Difference(i + 2, a, b)
    if len(recorded) == len(replayed):
        return None
    i = min(len(recorded), len(replayed))
    return Difference(i + 2, recorded[i] if i < len(recorded) else "(end of the recorded trace)",
                      replayed[i] if i < len(replayed) else "(end of the replayed trace)")

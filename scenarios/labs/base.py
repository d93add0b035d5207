"""What a lab is, and the pieces every lab uses to run a phase and report it.

A lab names its knobs (the broken values ``lab start`` writes, the reference fix ``lab solve``
writes), tells the task, the commands to look with and staged hints, and can *verify* live state
with the learner's knobs (``verify``) and *demonstrate* the whole story, broken then fixed
(``scenario``, which is what ``kafkalab scenario run NAME`` prints).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scenarios.model import Check, Scenario, Script, Step, check
from scenarios.runner import Outcome, TimelineEntry, run_script

KNOWN_MODES = ("sim", "kafka")


@dataclass
class Verdict:
    """The answer of ``lab check``: the checks against live state, plus what the learner should see."""

    lab: str
    mode: str
    checks: list[Check]
    notes: list[str] = field(default_factory=list)  # what was seen: errors, lag tables, chart files
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)


@dataclass(frozen=True)
class LabDefinition:
    name: str
    title: str
    summary: str
    task: str
    look: Sequence[str]  # commands to look with
    knobs: Mapping[str, Any]  # the broken settings ``lab start`` writes
    knob_help: Mapping[str, str]
    solution: Mapping[str, Any]  # what ``lab solve`` writes
    solution_text: str
    hints: Sequence[str]  # staged: the first failing check shows the next one
    verify: Callable[[str, int, Mapping[str, Any], Any], Verdict]  # (mode, seed, knobs, options)
    scenario: Callable[[str, int, Any], Outcome]  # (mode, seed, options) -> the broken-then-fixed story
    kafka_modes: tuple[str, ...] = KNOWN_MODES
    lesson: str = ""
    kafka_knobs: Mapping[str, Any] = field(default_factory=dict)  # kafka mode's start values (real seconds)

    def start_knobs(self, mode: str) -> dict[str, Any]:
        return {**self.knobs, **(self.kafka_knobs if mode == "kafka" else {})}


def run_phase(lab: Any, name: str, seed: int, mode: str, steps: Sequence[Step],
              checks: Callable[[Any], Sequence[Check]]) -> Outcome:
    """Run ``steps`` on ``lab`` with the scenario runner, check with ``checks``, close the lab."""
    script = Script(name, seed, mode, tuple(steps))
    scenario = Scenario(name, "", "", lambda _seed: list(steps), checks)
    try:
        return run_script(script, scenario, lab)
    finally:
        lab.close()


def combine(final: Outcome, earlier: Sequence[Check], notes: Sequence[TimelineEntry] = ()) -> Outcome:
    """The story's outcome: the fixed run, with the broken stages' checks first."""
    final.checks = [*earlier, *final.checks]
    final.timeline = [*notes, *final.timeline]
    return final


def terminal_check(statuses: Mapping[str, str], placed: int) -> Check:
    pending = sorted(o for o, s in statuses.items() if s not in ("COMPLETED", "CANCELLED"))
    return check("every saga reached a terminal state", placed > 0 and not pending and len(statuses) >= placed,
                 f"{len(statuses)} orders, not terminal: {len(pending)}")


def order_steps(count: int, *, product: str = "prod_789", gap_ms: int = 100, prefix: str = "cust_lab") -> list[Step]:
    steps: list[Step] = []
    for i in range(count):
        steps.append(Step("place_order", {"customer_id": f"{prefix}_{i}", "product_id": product,
                                          "quantity": 1, "amount": 10.0 + i}))
        steps.append(Step("advance", {"ms": gap_ms}))
    return steps


def note(at_ms: int, where: str, text: str) -> TimelineEntry:
    return TimelineEntry(at_ms, "step", where, text)

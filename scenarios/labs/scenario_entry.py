"""The labs as entries of ``scenarios.catalog``, so ``kafkalab scenario run NAME --mode sim|kafka --json``
prints the same JSON shape as every other scenario.

A lab builds its own worlds (a simulated network, a broker that starts late, a slowed consumer), so
its story is not a single step script. ``LabScenario.run_lab(mode, seed, options)`` runs it; the
scenario player calls it when present. Until then, the generic player runs an empty script and the
lab's ``checks`` run the story themselves, so the verdict is right either way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scenarios.labs.base import LabDefinition
from scenarios.model import Check, Scenario
from scenarios.runner import Outcome


@dataclass(frozen=True)
class LabScenario(Scenario):
    run_lab: Callable[[str, int, Any], Outcome] | None = None


def lab_scenario(lab: LabDefinition) -> LabScenario:
    def checks(obs: Any) -> list[Check]:
        return list(lab.scenario(obs.script.mode, obs.script.seed, None).checks)

    lesson = f"[bold]{lab.title}[/]\n{lab.task}\n\n[bold]Fix[/] {lab.solution_text}"
    return LabScenario(lab.name, lab.summary, lesson, lambda _seed: [], checks, run_lab=lab.scenario)

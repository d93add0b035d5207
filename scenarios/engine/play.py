"""Playing a whole script: every stage, every phase on a fresh world, then the lab's verdict per stage.

The world factory is passed in (``scenarios.session`` gives the real one), so the engine knows the
World interface and nothing of how either world is built.
"""

from __future__ import annotations

from collections.abc import Callable

from scenarios.engine.lab import Lab, LabContext
from scenarios.engine.model import Script
from scenarios.engine.observation import Observation, Outcome, StageResult
from scenarios.engine.runner import play_phase
from scenarios.engine.world import OpenWorld

# (stage label, what the phase saw, every trace line so far) -> False to stop here (e.g. a replay that
# already differs from its recording); anything else goes on.
OnPhase = Callable[[str, Observation, list[str]], bool | None]


def play(script: Script, lab: Lab, open_world: OpenWorld, ctx: LabContext, on_phase: OnPhase | None = None) -> Outcome:
    results: list[StageResult] = []
    lines: list[str] = []
    for stage in script.stages:
        observations = []
        for phase in stage.phases:
            world = open_world(script.mode, script.seed, phase.world)
            try:
                obs = play_phase(phase, world)
                lines += world.trace_lines()
            finally:
                world.close()  # stops every instance and every server the world started, also on failure
            observations.append(obs)
            if on_phase is not None and on_phase(stage.label, obs, lines) is False:
                return Outcome(script.lab, script.mode, script.seed, script, results, lines, stopped=True)
        results.append(StageResult(stage.label, stage.expect, dict(stage.knobs), observations,
                                   lab.verify(stage, observations, ctx)))
    return Outcome(script.lab, script.mode, script.seed, script, results, lines)

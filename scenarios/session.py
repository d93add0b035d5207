"""Labs, worlds and the engine wired together: what the command line (and later a console) calls.

    outcome = session.demo("poison-pill", "sim", seed=0)        # broken, then fixed: what `scenario run` shows
    outcome = session.check("poison-pill", {"dlq_enabled": True}) # one set of knobs: what `lab check` plays
    report = session.replay("run.jsonl")                         # did a recording reproduce?
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scenarios import labs, worlds
from scenarios.engine import record
from scenarios.engine.lab import Lab, LabContext
from scenarios.engine.model import Script
from scenarios.engine.observation import Outcome
from scenarios.engine.play import OnPhase, play
from scenarios.settings import Settings


def context(mode: str, seed: int = 0, settings: Settings | None = None) -> LabContext:
    return worlds.context(mode, seed, settings or Settings.resolve())


def demo(name: str, mode: str = "sim", seed: int = 0, settings: Settings | None = None,
         on_phase: OnPhase | None = None) -> Outcome:
    """The lab's demonstration: each broken stage shows its symptom, then the reference fix passes."""
    settings = settings or Settings.resolve()
    lab = labs.get(name)
    return play(lab.demo_script(context(mode, seed, settings)), lab, worlds.opener(settings),
                context(mode, seed, settings), on_phase)


def check(name: str, knobs: Mapping[str, Any], mode: str = "sim", seed: int = 0, settings: Settings | None = None,
          *, keep: bool | None = None, on_phase: OnPhase | None = None) -> Outcome:
    """Play the lab with these knobs (validated against its schema) and judge them by its checks."""
    settings = settings or Settings.resolve()
    lab = labs.get(name)
    ctx = context(mode, seed, settings)
    script = lab.check_script(lab.knobs_of(knobs), ctx)
    return play(script, lab, worlds.opener(settings, keep=keep), ctx, on_phase)


def play_script(script: Script, settings: Settings | None = None, *, keep: bool | None = None,
                on_phase: OnPhase | None = None) -> Outcome:
    settings = settings or Settings.resolve()
    lab = labs.get(script.lab)
    return play(script, lab, worlds.opener(settings, keep=keep), context(script.mode, script.seed, settings), on_phase)


def replay(path: str | Path, settings: Settings | None = None, mode: str | None = None) -> record.ReplayReport:
    """Check the recorded body against its hash; if intact, play the script again and compare the new
    trace with it line by line, stopping at the first phase that differs."""
    recording = record.load_recording(path)
    script = recording.script if not mode or mode == recording.script.mode else recording.script.in_mode(mode)
    intact = record.body_intact(recording)
    if intact is False:  # edited or truncated: there is nothing trustworthy to compare a new run with
        return record.ReplayReport(None, recording.expect, intact, None)
    body = recording.body if script.mode == "sim" else None

    def same_so_far(_stage: str, _obs: object, lines: list[str]) -> bool:
        return body is None or record.first_difference(body[:len(lines)], lines) is None

    outcome = play_script(script, settings, on_phase=same_so_far)
    difference = record.first_difference(body, outcome.trace_lines) if body is not None else None
    return record.ReplayReport(outcome, recording.expect, intact, difference)


def lab_of(outcome: Outcome) -> Lab:
    return labs.get(outcome.lab)

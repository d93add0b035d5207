"""``kafkalab lab list|start|check|solve``: you do the fixing (state in ./.kafkalab, see scenarios.learner).

``lab start`` writes the broken settings to .kafkalab/lab.toml and shows the symptom; the learner
edits the file; ``lab check`` validates it against the lab's typed knobs, plays the lab with it and
answers pass, or fail with the hint for what it saw; ``lab solve [--apply]`` shows (writes) the fix.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from scenarios import labs, learner
from scenarios.cli.common import add_settings_options, settings_of
from scenarios.engine.knobs import render_table
from scenarios.present.lag_chart import write_lag_chart
from scenarios.present.narrate import console, print_json, summary_lines
from scenarios.root import quiet_logs_to_stderr


def register(subparsers: Any) -> None:
    lab = subparsers.add_parser("lab", help="learner mode: start a broken lab, fix its settings, check")
    sub = lab.add_subparsers(dest="lab_command", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="the labs")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)
    for action, helptext, func in (
            ("start", "put the lab into its broken state; print the task and the symptom", cmd_start),
            ("check", "play the lab with your settings: pass, or a hint for what it saw", cmd_check),
            ("solve", "show the reference fix and why (--apply writes it and checks)", cmd_solve)):
        p = sub.add_parser(action, help=helptext)
        p.add_argument("name", choices=list(labs.LABS))
        p.add_argument("--json", action="store_true", help="one JSON object on stdout")
        if action == "start":
            p.add_argument("--mode", choices=("sim", "kafka"), default="sim")
            p.add_argument("--seed", type=int, default=0)
        if action == "solve":
            p.add_argument("--apply", action="store_true", help="write the fix to .kafkalab/lab.toml, then check")
        add_settings_options(p)
        p.set_defaults(func=func)


def cmd_list(args: argparse.Namespace) -> int:
    items = [{"name": lab.name, "title": lab.title, "docs": lab.docs, "modes": ["sim", "kafka"]}
             for lab in labs.LABS.values()]
    if args.json:
        print_json({"labs": items}, sys.stdout)
    else:
        for lab in labs.LABS.values():
            print(f"{lab.name:<15} {lab.summary}  ({lab.docs})")
    return 0


def cmd_start(args: argparse.Namespace) -> int:
    quiet_logs_to_stderr()
    settings = settings_of(args)
    verdict = learner.start(args.name, args.mode, args.seed, settings)
    path = learner.files(settings).knobs_path
    lab = verdict.lab
    notes = _notes(verdict, settings)
    if args.json:
        print_json({"lab": lab.name, "mode": args.mode, "knobs_file": str(path), "task": lab.task,
                    "look": list(lab.look), "symptom": notes, "docs": lab.docs, "passed": verdict.passed,
                    "checks": [c.to_json() for c in verdict.outcome.checks], "hint": verdict.hint}, sys.stdout)
        return 0
    out = console()
    out.print(f"== {lab.title} ({args.mode}) ==\n", markup=False)
    out.print(lab.task + "\n", markup=False)
    out.print("What it looks like now:", markup=False)
    for line in notes:
        out.print(f"  {line}", markup=False)
    out.print("\nLook with:", markup=False)
    for command in lab.look:
        out.print(f"  $ {command}", markup=False)
    out.print(f"\nSettings: {path}\nConcept, symptom, root cause, fix: {lab.docs}\n"
              f"When you think it is fixed: kafkalab lab check {lab.name}", markup=False)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    quiet_logs_to_stderr()
    settings = settings_of(args)
    verdict = learner.check(args.name, settings)
    _print_verdict(verdict, settings, args.json)
    return 0 if verdict.passed else 1


def cmd_solve(args: argparse.Namespace) -> int:
    quiet_logs_to_stderr()
    settings = settings_of(args)
    lab, fixed, verdict = learner.solve(args.name, settings, apply=args.apply)
    snippet = "\n".join(render_table(lab.name, fixed))
    if args.json and verdict is None:
        print_json({"lab": lab.name, "fix": fixed.values(), "toml": snippet, "why": lab.solution}, sys.stdout)
        return 0
    if not args.json:
        where = learner.files(settings).knobs_path
        head = f"Written to {where}:" if args.apply else f"The reference fix, for {where} (`--apply` writes it):"
        print(f"{head}\n\n{snippet}\n\n{lab.solution}\n")
    if verdict is None:
        return 0
    _print_verdict(verdict, settings, args.json)
    return 0 if verdict.passed else 1


def _notes(verdict: learner.Verdict, settings: Any) -> list[str]:
    """What the run showed, then the commands to look closer with (as they are, they work)."""
    notes: list[str] = []
    for stage in verdict.outcome.stages:
        for obs in stage.observations[:4]:
            prefix = f"{obs.phase.name}: " if len(stage.observations) > 1 else ""
            notes += [prefix + line for line in summary_lines(obs)]
        if len(stage.observations) > 4:
            notes.append(f"... and {len(stage.observations) - 4} more phases")
    last = verdict.outcome.last
    if last is not None and any(samples for samples in last.lag.values()):
        path = write_lag_chart(learner.files(settings).chart_path(verdict.lab.name), last, verdict.lab.name)
        notes.append(f"chart: {path}")
    if last is not None:
        notes += [f"$ {command}" for command in _dlq_commands(last)]
    return notes


def _dlq_commands(obs: Any) -> list[str]:
    """One show per DLQ topic with letters, at a letter's real partition and offset."""
    topics = [(t, rs[0]) for t, rs in sorted(obs.dlq_records().items()) if rs]
    if not topics:
        return []
    shows = [f"kafkalab dlq show {t} {first.partition} {first.offset}" for t, first in topics]
    return ["kafkalab dlq list", *shows, f"kafkalab dlq redrive {topics[-1][0]} --max-redrives 3"]


def _print_verdict(verdict: learner.Verdict, settings: Any, as_json: bool) -> None:
    checks = verdict.outcome.checks
    notes = _notes(verdict, settings)
    if as_json:
        print_json({"lab": verdict.lab.name, "passed": verdict.passed, "checks": [c.to_json() for c in checks],
                    "hint": verdict.hint, "notes": notes}, sys.stdout)
        return
    for c in checks:
        print(f"  {'PASS' if c.passed else 'FAIL'} {c.name}" + (f" ({c.detail})" if c.detail else ""))
    for line in notes:
        print(f"    {line}")
    print(f"{verdict.lab.name}: {'PASSED' if verdict.passed else 'FAILED'}")
    if verdict.hint:
        print(f"hint: {verdict.hint}")


"""``kafkalab lab start|check|solve|list`` and ``kafkalab load`` (``kafkalab dlq``: scenarios.cli.dlq).

Learner mode keeps its state in ./.kafkalab (see scenarios.labs.state): ``lab start`` writes the
broken settings to .kafkalab/lab.toml, the learner edits them, ``lab check`` re-runs the system with
them and answers pass, or fail with the next staged hint.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from scenarios.labs import LABS, get
from scenarios.labs.state import LabFiles, LabState


def register(subparsers: Any) -> None:
    lab = subparsers.add_parser("lab", help="troubleshooting labs: break it, see it, fix it, prove it")
    sub = lab.add_subparsers(dest="lab_command", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="the labs")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)
    for action, helptext, func in (("start", "put the system into the lab's broken state; print the task", cmd_start),
                                   ("check", "verify live state with your settings: pass, or a hint", cmd_check),
                                   ("solve", "apply the reference fix, explain it, check", cmd_solve)):
        p = sub.add_parser(action, help=helptext)
        p.add_argument("name", choices=list(LABS))
        p.add_argument("--json", action="store_true", help="one JSON object on stdout")
        if action == "start":
            p.add_argument("--mode", choices=("sim", "kafka"), default="sim")
            p.add_argument("--seed", type=int, default=0)
        p.set_defaults(func=func)

    from scenarios.cli.dlq import register as register_dlq

    register_dlq(subparsers)

    load = subparsers.add_parser("load", help="steady order load with a live lag table and a chart (sim or kafka)")
    load.add_argument("--rate", type=int, default=40, help="orders per second")
    load.add_argument("--duration", type=int, default=20, help="seconds of load")
    load.add_argument("--instances", type=int, default=None, help="inventory instances after half the load")
    load.add_argument("--chart", default=".kafkalab/consumer-lag.html", help="HTML chart file")
    load.add_argument("--seed", type=int, default=0)
    load.add_argument("--mode", choices=("sim", "kafka"), default="sim", help="kafka: real broker, real seconds")
    load.add_argument("--bootstrap", default=None, help="kafka: bootstrap servers")
    load.set_defaults(func=cmd_load)


# ------------------------------------------------------------------ lab


def cmd_list(args: argparse.Namespace) -> int:
    items = [{"name": d.name, "title": d.title, "modes": list(d.kafka_modes)} for d in LABS.values()]
    if args.json:
        print(json.dumps({"labs": items}, sort_keys=True))
    else:
        for d in LABS.values():
            print(f"{d.name:<14} {d.summary}  [{'/'.join(d.kafka_modes)}]")
    return 0


def _quiet_logs() -> None:
    from scenarios.root import quiet_logs_to_stderr

    quiet_logs_to_stderr()


def cmd_start(args: argparse.Namespace) -> int:
    _quiet_logs()
    lab = get(args.name)
    if args.mode not in lab.kafka_modes:
        print(f"lab {lab.name} runs in: {', '.join(lab.kafka_modes)}", file=sys.stderr)
        return 2
    files = LabFiles()
    previous = files.state(lab.name)  # its kafka topics are deleted once the new run has its own
    files.save_state(LabState(lab.name, args.mode, args.seed, prefix=previous.prefix if previous else ""))
    files.write_knobs(lab.name, lab.start_knobs(args.mode), lab.knob_help)
    verdict = lab.verify(args.mode, args.seed, files.knobs(lab.name, lab.knobs), None)
    _remember_run(files, files.state(lab.name) or LabState(lab.name, args.mode, args.seed), verdict)
    if args.json:
        print(json.dumps({"lab": lab.name, "mode": args.mode, "knobs_file": str(files.knobs_path),
                          "task": lab.task, "look": list(lab.look), "symptom": verdict.notes}, sort_keys=True))
        return 0
    print(f"== {lab.title} ({args.mode}) ==\n\n{lab.task}\n")
    print("What it looks like now:")
    for line in verdict.notes:
        print(f"  {line}")
    print("\nLook with:")
    for command in lab.look:
        print(f"  $ {command}")
    print(f"\nSettings: {files.knobs_path}\nWhen you think it is fixed: kafkalab lab check {lab.name}")
    return 0


def _check(name: str, files: LabFiles) -> tuple[Any, str | None]:
    lab = get(name)
    state = files.state(name) or LabState(name)
    verdict = lab.verify(state.mode, state.seed, files.knobs(name, lab.knobs), None)
    _remember_run(files, state, verdict)
    hint = None
    if not verdict.passed:
        hint = lab.hints[min(state.hints_shown, len(lab.hints) - 1)]
        state.hints_shown += 1
        files.save_state(state)
    return verdict, hint


def _remember_run(files: LabFiles, state: LabState, verdict: Any) -> None:
    """Kafka mode: keep this run's topics (for ``kafkalab dlq``) and delete the previous run's."""
    prefix = verdict.data.get("prefix")
    if not prefix:
        return
    if state.prefix and state.prefix != prefix:
        from adapters.kafka_broker import KafkaBroker
        from scenarios.labs.kafka_world import bootstrap_of, delete_run_topics

        delete_run_topics(KafkaBroker(bootstrap_of(None)), state.prefix)
    state.prefix = prefix
    state.extra.pop("redriven", None)
    files.save_state(state)


def _print_verdict(verdict: Any, hint: str | None, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"lab": verdict.lab, "passed": verdict.passed,
                          "checks": [c.to_json() for c in verdict.checks], "hint": hint}, sort_keys=True))
        return
    for c in verdict.checks:
        print(f"  {'PASS' if c.passed else 'FAIL'} {c.name}" + (f" ({c.detail})" if c.detail else ""))
    for line in verdict.notes:
        print(f"    {line}")
    print(f"{verdict.lab}: {'PASSED' if verdict.passed else 'FAILED'}")
    if hint:
        print(f"hint: {hint}")


def cmd_check(args: argparse.Namespace) -> int:
    _quiet_logs()
    verdict, hint = _check(args.name, LabFiles())
    _print_verdict(verdict, hint, args.json)
    return 0 if verdict.passed else 1


def cmd_solve(args: argparse.Namespace) -> int:
    _quiet_logs()
    lab, files = get(args.name), LabFiles()
    for key, value in lab.solution.items():
        files.set_knob(lab.name, key, value)
    if not args.json:
        print(f"Reference fix written to {files.knobs_path}: "
              + ", ".join(f"{k} = {v!r}" for k, v in lab.solution.items()) + f"\n\n{lab.solution_text}\n")
    verdict, hint = _check(args.name, files)
    _print_verdict(verdict, hint, args.json)
    return 0 if verdict.passed else 1


# ------------------------------------------------------------------ load


def cmd_load(args: argparse.Namespace) -> int:
    from scenarios.cli.load import run_load

    _quiet_logs()
    if args.mode == "kafka":
        from scenarios.cli.load import run_load_kafka
        from scenarios.settings import Settings

        return run_load_kafka(args.rate, args.duration, args.instances, args.chart,
                              Settings.resolve({"bootstrap": args.bootstrap}))
    return run_load(args.rate, args.duration, args.instances, args.chart, args.seed)

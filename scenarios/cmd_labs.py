"""``kafkalab lab start|check|solve|list``, ``kafkalab dlq list|show|redrive`` and ``kafkalab load``.

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

    dlq = subparsers.add_parser("dlq", help="dead letters of the poison-pill lab: list, show, redrive")
    dsub = dlq.add_subparsers(dest="dlq_command", metavar="ACTION", required=True)
    dl = dsub.add_parser("list", help="dead letters with their error headers")
    dl.add_argument("--topic", default=None, help="one DLQ topic, e.g. payments.dlq (default: all)")
    dl.add_argument("--json", action="store_true")
    dl.set_defaults(func=cmd_dlq_list)
    ds = dsub.add_parser("show", help="one dead letter: key, value, every header")
    ds.add_argument("topic")
    ds.add_argument("partition", type=int)
    ds.add_argument("offset", type=int)
    ds.set_defaults(func=cmd_dlq_show)
    dr = dsub.add_parser("redrive", help="send dead letters back to their source topic (after a fix)")
    dr.add_argument("--topic", default=None)
    dr.add_argument("--max-redrives", type=int, default=3, help="refuse letters redriven this often (default 3)")
    dr.set_defaults(func=cmd_dlq_redrive)

    load = subparsers.add_parser("load", help="steady order load with a live lag table and a chart (sim)")
    load.add_argument("--rate", type=int, default=40, help="orders per second")
    load.add_argument("--duration", type=int, default=20, help="seconds of load")
    load.add_argument("--instances", type=int, default=None, help="inventory instances after half the load")
    load.add_argument("--chart", default=".kafkalab/consumer-lag.html", help="HTML chart file")
    load.add_argument("--seed", type=int, default=0)
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
    from scenarios.cmd_scenario import _quiet_logs_to_stderr

    _quiet_logs_to_stderr()


def cmd_start(args: argparse.Namespace) -> int:
    _quiet_logs()
    lab = get(args.name)
    if args.mode not in lab.kafka_modes:
        print(f"lab {lab.name} runs in: {', '.join(lab.kafka_modes)}", file=sys.stderr)
        return 2
    files = LabFiles()
    files.save_state(LabState(lab.name, args.mode, args.seed))
    files.write_knobs(lab.name, lab.knobs, lab.knob_help)
    verdict = lab.verify(args.mode, args.seed, files.knobs(lab.name, lab.knobs), None)
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
    hint = None
    if not verdict.passed:
        hint = lab.hints[min(state.hints_shown, len(lab.hints) - 1)]
        state.hints_shown += 1
        files.save_state(state)
    return verdict, hint


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


# ------------------------------------------------------------------ dlq


def _dlq_world(rounds: int = 0, max_redrives: int = 3) -> tuple[Any, list[str], LabState]:
    from scenarios.labs import poison

    files = LabFiles()
    state = files.state(poison.NAME) or LabState(poison.NAME)
    if state.mode != "sim":
        raise SystemExit("kafkalab dlq: kafka mode is not wired yet; use the poison-pill lab in sim mode")
    knobs = files.knobs(poison.NAME, poison.LAB.knobs)
    lab, refused = poison.dlq_world(state.seed, knobs, state.extra.get("redrives", 0) + rounds, max_redrives)
    return lab, refused, state


def _letters(lab: Any, topic: str | None) -> list[Any]:
    return [r for t, rs in sorted(lab.read_all_topics().items()) if t.endswith(".dlq") and topic in (None, t)
            for r in rs]


def cmd_dlq_list(args: argparse.Namespace) -> int:
    from scenarios.labs import dlq

    _quiet_logs()
    lab, _, _ = _dlq_world()
    rows = [dlq.summary(r) for r in _letters(lab, args.topic)]
    if args.json:
        print(json.dumps({"dead_letters": rows}, sort_keys=True))
    else:
        for row in rows:
            print(f"{row['dlq']:<22} from {row['source']:<18} group={row['group']} attempts={row['attempts']} "
                  f"redrives={row['redrives']}\n    error: {row['error']}")
        print(f"{len(rows)} dead letter(s)" + ("" if rows else " (is dlq_enabled true in .kafkalab/lab.toml?)"))
    return 0


def cmd_dlq_show(args: argparse.Namespace) -> int:
    from scenarios.labs import dlq

    _quiet_logs()
    lab, _, _ = _dlq_world()
    for r in _letters(lab, args.topic):
        if (r.partition, r.offset) == (args.partition, args.offset):
            print(json.dumps(dlq.detail(r), indent=2, sort_keys=True))
            return 0
    print(f"no dead letter at {args.topic}[{args.partition}]@{args.offset}", file=sys.stderr)
    return 1


def cmd_dlq_redrive(args: argparse.Namespace) -> int:
    _quiet_logs()
    lab, refused, state = _dlq_world(rounds=1, max_redrives=args.max_redrives)
    state.extra["redrives"] = state.extra.get("redrives", 0) + 1
    LabFiles().save_state(state)
    for reason in refused:
        print(f"refused: {reason}")
    print(f"redrive round {state.extra['redrives']} done; dead letters now: {len(_letters(lab, args.topic))}")
    return 0


# ------------------------------------------------------------------ load


def cmd_load(args: argparse.Namespace) -> int:
    from scenarios.labs.load import run_load

    _quiet_logs()
    return run_load(args.rate, args.duration, args.instances, args.chart, args.seed)

"""``kafkalab scenario list|run|run-all`` and ``kafkalab replay FILE``.

``scenario run NAME`` plays the lab's demonstration: each broken stage shows its symptom, then the
reference fix passes. In ``--json`` mode stdout carries exactly one JSON object and every log line
goes to stderr. Exit status is 0 iff every run passed (and, for replay, the run reproduced).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from scenarios import labs
from scenarios.cli.common import add_settings_options, settings_of
from scenarios.engine.model import ScriptError
from scenarios.present.narrate import outcome_json, print_json, print_run, print_summary_line
from scenarios.root import quiet_logs_to_stderr


def register(subparsers: Any) -> None:
    names = ", ".join(labs.LABS)
    scenario = subparsers.add_parser("scenario", help=f"watch a lab break and be fixed: {names}")
    sub = scenario.add_subparsers(dest="scenario_command", metavar="SUBCOMMAND")
    scenario.set_defaults(func=lambda args: (scenario.print_help(), 2)[1])

    ls = sub.add_parser("list", help="the labs and what each one teaches")
    ls.add_argument("--json", action="store_true", help="one JSON object on stdout")
    ls.set_defaults(func=cmd_list)

    run = sub.add_parser("run", help="play one lab, broken then fixed, and tell what happened")
    run.add_argument("name", choices=list(labs.LABS))
    run.add_argument("--seed", type=int, default=0, help="seed of the simulated world and of chaos (default 0)")
    run.add_argument("--trace", metavar="FILE", help="write the script and the simulator's trace here (replayable)")
    run.add_argument("--script-out", metavar="FILE", help="write the script here (replayable, editable)")
    _add_common(run)
    run.set_defaults(func=cmd_run)

    run_all = sub.add_parser("run-all", help="play every lab; non-zero exit if any failed")
    run_all.add_argument("--seed", type=int, default=0)
    _add_common(run_all)
    run_all.set_defaults(func=cmd_run_all)

    replay = subparsers.add_parser("replay", help="play a recorded script or trace again: did it reproduce?")
    replay.add_argument("file", help="a --script-out JSON file or a --trace file")
    _add_common(replay, mode_default=None)
    replay.set_defaults(func=cmd_replay)


def _add_common(parser: argparse.ArgumentParser, mode_default: str | None = "sim") -> None:
    parser.add_argument("--mode", choices=("sim", "kafka"), default=mode_default,
                        help="sim: deterministic simulator (default); kafka: real broker + PostgreSQL")
    parser.add_argument("--json", action="store_true", help="exactly one JSON object on stdout; logs on stderr")
    parser.add_argument("--verbose", action="store_true", help="the whole time-ordered timeline of every phase")
    add_settings_options(parser)


def cmd_list(args: argparse.Namespace) -> int:
    items = [{"name": lab.name, "summary": lab.summary} for lab in labs.LABS.values()]
    if args.json:
        print_json({"scenarios": items}, sys.stdout)
    else:
        for item in items:
            print(f"{item['name']:<16} {item['summary']}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from scenarios import session
    from scenarios.engine import record

    quiet_logs_to_stderr()
    outcome = session.demo(args.name, args.mode, args.seed, settings_of(args))
    if args.trace:
        record.write_trace(outcome, args.trace)
    if args.script_out:
        record.write_script(outcome, args.script_out)
    if args.json:
        print_json(outcome_json(outcome), sys.stdout)
    else:
        print_run(outcome, labs.get(args.name), sys.stdout, verbose=args.verbose)
    return 0 if outcome.passed else 1


def cmd_run_all(args: argparse.Namespace) -> int:
    from scenarios import session

    quiet_logs_to_stderr()
    settings = settings_of(args)
    outcomes = []
    for name in labs.LABS:
        outcome = session.demo(name, args.mode, args.seed, settings)
        outcomes.append(outcome)
        if not args.json:
            print_summary_line(outcome, sys.stdout)
    passed = all(o.passed for o in outcomes)
    if args.json:
        print_json({"mode": args.mode, "passed": passed, "results": [outcome_json(o) for o in outcomes]}, sys.stdout)
    else:
        print(f"{sum(o.passed for o in outcomes)}/{len(outcomes)} labs passed ({args.mode})")
        print("Next: `kafkalab scenario run NAME` tells one lab; `kafkalab lab start NAME` lets you fix it yourself.")
    return 0 if passed else 1


def cmd_replay(args: argparse.Namespace) -> int:
    from scenarios import session

    quiet_logs_to_stderr()
    try:
        report = session.replay(args.file, settings_of(args), mode=args.mode)
    except (ScriptError, KeyError, OSError) as exc:
        print(f"replay: {exc}", file=sys.stderr)
        return 2
    played = report.outcome
    if args.json:
        print_json((outcome_json(played) if played else {}) | {"replay": report.to_json()}, sys.stdout)
    else:
        if played is not None and not played.stopped:
            print_run(played, labs.get(played.lab), sys.stdout, verbose=args.verbose)
        print(f"replay of {args.file}: {_verdict(report)}")
        for line in _why_not(report):
            print(f"  {line}")
    return 0 if played is not None and played.passed and report.reproduced is not False else 1


def _verdict(report: Any) -> str:
    return {True: "reproduced exactly", False: "DID NOT reproduce", None: "nothing recorded to compare with"}[
        report.reproduced]


def _why_not(report: Any) -> list[str]:
    lines = []
    if report.body_intact is False:
        lines.append("the recorded trace does not match the hash recorded with it: it was edited or truncated, "
                     "so there is nothing trustworthy to replay against")
    if report.difference is not None:
        d = report.difference
        lines += [f"first differing line: {d.line}", f"  expected: {d.expected}", f"  got:      {d.got}"]
    elif report.reproduced is False and report.outcome is not None:
        lines.append(f"expected {report.expect}, got trace_sha256={report.outcome.trace_sha256} "
                     f"passed={report.outcome.passed}")
    return lines

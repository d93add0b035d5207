"""``kafkalab scenario list|run|run-all`` and ``kafkalab replay FILE``.

In ``--json`` mode stdout carries exactly one JSON object and every log line goes to stderr.
Exit status is 0 iff every scenario run passed (and, for replay, the run reproduced).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from scenarios import catalog
from scenarios.cli.common import add_settings_options, settings_of
from scenarios.model import ScriptError
from scenarios.present.narrate import outcome_json, print_json, print_summary_line, print_timeline
from scenarios.root import quiet_logs_to_stderr


def register(subparsers: Any) -> None:
    scenario = subparsers.add_parser("scenario", help="run the labs: happy-path, stock-rollback, poison-pill, chaos")
    sub = scenario.add_subparsers(dest="scenario_command", metavar="SUBCOMMAND")
    scenario.set_defaults(func=lambda args: (scenario.print_help(), 2)[1])

    ls = sub.add_parser("list", help="the scenarios and what each one teaches")
    ls.add_argument("--json", action="store_true", help="one JSON object on stdout")
    ls.set_defaults(func=cmd_list)

    run = sub.add_parser("run", help="run one scenario and narrate it")
    run.add_argument("name", choices=sorted(catalog.SCENARIOS))
    run.add_argument("--seed", type=int, default=0, help="seed of the simulated world and of chaos (default 0)")
    run.add_argument("--trace", metavar="FILE", help="write the script + simulator trace here (replayable)")
    run.add_argument("--script-out", metavar="FILE", help="write the scenario script here (replayable)")
    _add_common(run)
    run.set_defaults(func=cmd_run)

    run_all = sub.add_parser("run-all", help="run every lab; non-zero exit if any failed")
    run_all.add_argument("--seed", type=int, default=0)
    _add_common(run_all)
    run_all.set_defaults(func=cmd_run_all)

    replay = subparsers.add_parser("replay", help="re-run a recorded scenario script or trace; did it reproduce?")
    replay.add_argument("file", help="a --script-out JSON file or a --trace file")
    _add_common(replay, mode_default=None)
    replay.set_defaults(func=cmd_replay)


def _add_common(parser: argparse.ArgumentParser, mode_default: str | None = "sim") -> None:
    parser.add_argument("--mode", choices=("sim", "kafka"), default=mode_default,
                        help="sim: deterministic simulator (default); kafka: real broker + PostgreSQL")
    parser.add_argument("--json", action="store_true", help="exactly one JSON object on stdout; logs on stderr")
    add_settings_options(parser)


def _options(args: argparse.Namespace) -> Any:
    return settings_of(args)


def _quiet_logs_to_stderr() -> None:
    quiet_logs_to_stderr()


def cmd_list(args: argparse.Namespace) -> int:
    items = [{"name": s.name, "summary": s.summary} for s in catalog.SCENARIOS.values()]
    if args.json:
        print_json({"scenarios": items}, sys.stdout)
    else:
        for item in items:
            print(f"{item['name']:<16} {item['summary']}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from scenarios import play

    _quiet_logs_to_stderr()
    outcome = play.run(args.name, args.mode, args.seed, _options(args))
    if args.trace:
        play.write_trace(outcome, args.trace)
    if args.script_out:
        play.write_script(outcome, args.script_out)
    if args.json:
        print_json(outcome_json(outcome), sys.stdout)
    else:
        print_timeline(outcome, sys.stdout, lesson=catalog.get(args.name).lesson)
    return 0 if outcome.passed else 1


def cmd_run_all(args: argparse.Namespace) -> int:
    from scenarios import play

    _quiet_logs_to_stderr()
    outcomes = []
    for name in catalog.RUN_ALL:
        outcome = play.run(name, args.mode, args.seed, _options(args))
        outcomes.append(outcome)
        if not args.json:
            print_summary_line(outcome, sys.stdout)
    passed = all(o.passed for o in outcomes)
    if args.json:
        print_json({"mode": args.mode, "passed": passed, "results": [outcome_json(o) for o in outcomes]}, sys.stdout)
    else:
        print(f"{sum(o.passed for o in outcomes)}/{len(outcomes)} scenarios passed ({args.mode})")
        print("Next: `kafkalab scenario run NAME` narrates one lab; `kafkalab lab start NAME` lets you fix it yourself.")
    return 0 if passed else 1


def cmd_replay(args: argparse.Namespace) -> int:
    from scenarios import play

    _quiet_logs_to_stderr()
    try:
        report = play.replay(args.file, _options(args), mode=args.mode)
    except (ScriptError, KeyError, OSError) as exc:
        print(f"replay: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print_json(outcome_json(report.outcome) | {"replay": report.to_json()}, sys.stdout)
    else:
        print_timeline(report.outcome, sys.stdout, lesson=catalog.get(report.outcome.scenario).lesson)
        verdict = {True: "reproduced exactly", False: "DID NOT reproduce", None: "nothing recorded to compare with"}
        print(f"replay of {args.file}: {verdict[report.reproduced]}")
        if report.reproduced is False:
            print(f"  expected {report.expect}, got trace_sha256={report.outcome.trace_sha256} "
                  f"passed={report.outcome.passed}; first differing trace line: {report.first_difference}")
    return 0 if report.outcome.passed and report.reproduced is not False else 1

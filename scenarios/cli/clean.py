"""``kafkalab kafka clean [--dry-run] [--grace S]``: remove what dead kafka-world runs left on a broker.

A run names its topics and groups ``kl-<run>-...`` and removes them when it closes; one that was
killed leaves them. The rules for "dead" are in ``scenarios.ops.runs``; the runs the last lab check
kept (for ``kafkalab dlq``) are left alone, and so is every name not of the kafka world's form.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from scenarios import labs, learner, root
from scenarios.cli.common import add_settings_options, settings_of
from scenarios.ops import runs
from scenarios.validation import ConfigError
from services.ports import BrokerError


def register(subparsers: Any) -> None:
    kafka = subparsers.choices.get("kafka")
    if kafka is None:  # no `kafka` command group to join
        return
    actions = next(a for a in kafka._actions if isinstance(a, argparse._SubParsersAction))
    clean = actions.add_parser("clean", help="delete topics and groups of dead kl-<run>- runs (never other names)")
    clean.add_argument("--dry-run", action="store_true", help="list the runs and what would go; delete nothing")
    clean.add_argument("--grace", type=float, default=runs.DEFAULT_GRACE_S, metavar="SECONDS",
                       help=f"a run whose topics took a record this recently is alive (default {runs.DEFAULT_GRACE_S:g})")
    clean.add_argument("--run", action="append", default=[], metavar="PREFIX",
                       help="only this run, e.g. kl-0123456789- (repeatable; default: every run)")
    clean.add_argument("--json", action="store_true", help="one JSON object on stdout")
    add_settings_options(clean, logs=False, keep=False)
    clean.set_defaults(func=cmd_clean)


def _kept(settings: Any) -> set[str]:
    """The prefixes the learner's last kafka checks kept for a look (``lab.json``)."""
    files = learner.files(settings)
    return {p for name in labs.LABS for state in [files.state(name)] if state for p in state.prefixes}


def cmd_clean(args: argparse.Namespace) -> int:
    if args.grace < 0:
        raise ConfigError(f"kafka clean --grace {args.grace:g}: give seconds >= 0 (default {runs.DEFAULT_GRACE_S:g})")
    bad = [p for p in args.run if not runs.RUN_NAME.fullmatch(p)]
    if bad:
        raise ConfigError(f"kafka clean --run {bad[0]!r}: a run prefix looks like kl-0123456789- "
                          "(`kafkalab kafka clean --dry-run` lists them)")
    settings = settings_of(args)
    admin = root.kafka_broker(settings.bootstrap, client_prefix="kafkalab-clean", timeout_s=10.0).admin()
    try:
        found = runs.leftovers(admin, now_ms=time.time_ns() // 1_000_000, grace_s=args.grace, keep=_kept(settings),
                                only=args.run)
        done = [] if args.dry_run else runs.clean(admin, found)
    except BrokerError as exc:
        print(f"kafkalab kafka clean: {exc}", file=sys.stderr)
        return 1
    dead = [r for r in found if not r.alive]
    if args.json:
        print(json.dumps({"runs": [vars(r) for r in found], "deleted": done, "dry_run": args.dry_run}, sort_keys=True))
        return 0
    for run in found:
        what = f"{len(run.topics)} topic(s), {len(run.groups)} group(s)"
        print(f"{run.prefix:<16} {what:<26} {'alive: ' + run.alive if run.alive else 'dead'}")
    for line in done:
        print(f"  deleted {line}" if " not deleted" not in line else f"  {line}")
    verb = "would delete" if args.dry_run else "deleted"
    print(f"{len(found)} run(s) on {settings.bootstrap}; {verb} the names of {len(dead)} dead one(s)")
    return 0

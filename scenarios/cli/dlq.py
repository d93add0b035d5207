"""``kafkalab dlq list|show|redrive``: the dead letters of the poison-pill lab, in sim or on a real broker.

sim: the lab's simulated world is rebuilt from its seed and settings (and the redrive rounds done so
far), so the answer is the same every time. kafka: the topics of the last ``lab check`` run (its
prefix is in .kafkalab/lab.json), or any run's with ``--prefix``; redrive really produces to the
source topic and lets that run's inventory service process what came back.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from scenarios.labs.state import LabFiles, LabState

NAME = "poison-pill"


def register(subparsers: Any) -> None:
    dlq = subparsers.add_parser("dlq", help="dead letters of the poison-pill lab: list, show, redrive")
    dsub = dlq.add_subparsers(dest="dlq_command", metavar="ACTION", required=True)
    dl = dsub.add_parser("list", help="dead letters with their error headers")
    dl.add_argument("--topic", default=None, help="one DLQ topic, e.g. payments.dlq (default: all)")
    dl.add_argument("--json", action="store_true")
    dl.set_defaults(func=cmd_list)
    ds = dsub.add_parser("show", help="one dead letter: key, value, every header")
    ds.add_argument("topic")
    ds.add_argument("partition", type=int)
    ds.add_argument("offset", type=int)
    ds.set_defaults(func=cmd_show)
    dr = dsub.add_parser("redrive", help="send dead letters back to their source topic (after a fix)")
    dr.add_argument("--topic", default=None)
    dr.add_argument("--max-redrives", type=int, default=3, help="refuse letters redriven this often (default 3)")
    dr.add_argument("--json", action="store_true")
    dr.set_defaults(func=cmd_redrive)
    for p in (dl, ds, dr):
        p.add_argument("--mode", choices=("sim", "kafka"), default=None, help="default: the lab's mode")
        p.add_argument("--prefix", default=None, help="kafka: topic prefix of a lab run (default: the last check)")
        p.add_argument("--bootstrap", default=None, help="kafka: bootstrap servers (default: config, env, localhost)")


def _quiet() -> None:
    from scenarios.root import quiet_logs_to_stderr

    quiet_logs_to_stderr()


class _Where:
    """Which dead letters the command is about: the lab state plus the command line."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.files = LabFiles()
        self.state = self.files.state(NAME) or LabState(NAME)
        self.mode = args.mode or ("kafka" if args.prefix else self.state.mode)
        self.prefix = args.prefix or self.state.prefix
        self.bootstrap = args.bootstrap
        if self.mode == "kafka" and not self.prefix:
            raise SystemExit("kafkalab dlq --mode kafka: no lab run yet; run `kafkalab lab start poison-pill "
                             "--mode kafka` (or pass --prefix kl-lab-...-)")

    def options(self) -> Any:
        from scenarios.settings import Settings

        return Settings.resolve({"bootstrap": self.bootstrap})

    def broker(self) -> Any:
        from adapters.kafka_broker import KafkaBroker
        from scenarios.labs.kafka_world import bootstrap_of

        return KafkaBroker(bootstrap_of(self.options()), client_prefix="kafkalab-dlq")

    def letters(self, topic: str | None) -> list[Any]:
        if self.mode == "kafka":
            from scenarios.labs.kafka_dlq import read_letters

            return read_letters(self.broker(), self.prefix, topic)
        lab, _ = self.sim_world()
        return [r for t, rs in sorted(lab.read_all_topics().items()) if t.endswith(".dlq") and topic in (None, t)
                for r in rs]

    def sim_world(self, rounds: int = 0, max_redrives: int = 3) -> tuple[Any, list[str]]:
        from scenarios.labs import poison

        knobs = self.files.knobs(NAME, poison.LAB.knobs)
        return poison.dlq_world(self.state.seed, knobs, self.state.extra.get("redrives", 0) + rounds, max_redrives)


def cmd_list(args: argparse.Namespace) -> int:
    from scenarios.labs import dlq

    _quiet()
    where = _Where(args)
    rows = [dlq.summary(r) for r in where.letters(args.topic)]
    if args.json:
        print(json.dumps({"dead_letters": rows, "mode": where.mode, "prefix": where.prefix}, sort_keys=True))
        return 0
    for row in rows:
        print(f"{row['dlq']:<22} from {row['source']:<18} group={row['group']} attempts={row['attempts']} "
              f"redrives={row['redrives']}\n    error: {row['error']}")
    print(f"{len(rows)} dead letter(s)" + ("" if rows else " (is dlq_enabled true in .kafkalab/lab.toml?)"))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from scenarios.labs import dlq

    _quiet()
    where = _Where(args)
    for r in where.letters(args.topic):
        if (r.partition, r.offset) == (args.partition, args.offset):
            print(json.dumps(dlq.detail(r), indent=2, sort_keys=True))
            return 0
    print(f"no dead letter at {args.topic}[{args.partition}]@{args.offset}", file=sys.stderr)
    return 1


def cmd_redrive(args: argparse.Namespace) -> int:
    _quiet()
    where = _Where(args)
    state = where.state
    if where.mode == "kafka":
        from scenarios.labs.kafka_dlq import redrive
        from scenarios.labs.kafka_world import bootstrap_of

        done = set(state.extra.get("redriven", [])) if where.prefix == state.prefix else set()
        sent, refused, handled = redrive(bootstrap_of(where.options()), where.prefix, args.topic,
                                         args.max_redrives, done, where.options())
        if where.prefix == state.prefix:
            state.extra["redriven"] = sorted(done | set(handled))
            where.files.save_state(state)
        now = len(where.letters(args.topic))
    else:
        lab, refused = where.sim_world(rounds=1, max_redrives=args.max_redrives)
        sent = []
        state.extra["redrives"] = state.extra.get("redrives", 0) + 1
        where.files.save_state(state)
        now = len([r for t, rs in lab.read_all_topics().items() if t.endswith(".dlq") and args.topic in (None, t)
                   for r in rs])
    if args.json:
        print(json.dumps({"redriven": len(sent) if where.mode == "kafka" else None, "refused": refused, "dead_letters": now, "mode": where.mode},
                         sort_keys=True))
        return 0
    for reason in refused:
        print(f"refused: {reason}")
    print(f"redrive done ({where.mode}); dead letters now: {now}")
    return 0

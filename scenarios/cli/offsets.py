"""``kafkalab offsets reset|show`` and ``kafkalab topics configs``: a group's offsets and a topic's
configs on a real broker, the way ``kafka-consumer-groups --reset-offsets`` and ``kafka-configs``
handle them. A reset is a dry run (the plan, printed) unless ``--execute``; the plan itself is
``services.offset_reset.plan_reset``, a pure function over what the broker reports.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import datetime
from typing import Any

_DURATION = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?|(\d+)([smhd])")


def register(subparsers: Any) -> None:
    offsets = subparsers.add_parser("offsets", help="a consumer group's offsets: show, reset (dry run first)")
    osub = offsets.add_subparsers(dest="offsets_command", metavar="ACTION", required=True)
    show = osub.add_parser("show", help="committed offset, end offset and lag per partition")
    show.add_argument("group")
    show.set_defaults(func=cmd_show)
    reset = osub.add_parser("reset", help="move a group's committed offsets (like kafka-consumer-groups --reset-offsets)")
    reset.add_argument("group")
    reset.add_argument("--topic", action="append", required=True, metavar="TOPIC[:P,P]",
                       help="a topic, or some of its partitions (orders:0,2); repeat for more")
    to = reset.add_mutually_exclusive_group(required=True)
    to.add_argument("--to-earliest", action="store_true", help="the log start offset")
    to.add_argument("--to-latest", action="store_true", help="the end offset")
    to.add_argument("--to-offset", type=int, metavar="N", help="this offset (clamped to the log)")
    to.add_argument("--shift-by", type=int, metavar="N", help="the committed offset plus N (negative: back)")
    to.add_argument("--to-datetime", metavar="ISO", help="the first record at or after this time, e.g. 2024-06-01T12:00:00")
    to.add_argument("--by-duration", metavar="DUR", help="the first record at or after now minus DUR (PT10M, 10m, 2h, 1d)")
    to.add_argument("--to-current", action="store_true", help="the committed offset (a no-op that shows the plan)")
    reset.add_argument("--execute", action="store_true", help="apply the plan (the group must have no members)")
    reset.set_defaults(func=cmd_reset)
    topics = subparsers.add_parser("topics", help="a topic's configs: describe, set, delete (like kafka-configs)")
    tsub = topics.add_subparsers(dest="topics_command", metavar="ACTION", required=True)
    configs = tsub.add_parser("configs", help="the topic's configs; --set/--delete change them")
    configs.add_argument("topic")
    configs.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="set a config (repeat)")
    configs.add_argument("--delete", action="append", default=[], metavar="NAME", help="back to the default (repeat)")
    configs.add_argument("--all", action="store_true", help="show the broker's defaults too")
    configs.set_defaults(func=cmd_configs)
    for p in (show, reset, configs):
        p.add_argument("--bootstrap", default=None, help="Kafka bootstrap servers (default: config, env, localhost)")
        p.add_argument("--json", action="store_true", help="one JSON object")


class Refused(Exception):
    """Bad input: one line, exit 2."""


def _admin(args: argparse.Namespace) -> Any:
    from scenarios import root
    from scenarios.cli.common import settings_of

    broker = root.kafka_broker(settings_of(args).bootstrap, client_prefix="kafkalab-offsets", timeout_s=10.0)
    return broker.admin(isolation_level="read_uncommitted")  # "latest" is the high watermark, as Kafka's tool


def _run(args: argparse.Namespace, action) -> int:
    from scenarios.cli.common import settings_of
    from services.ports import BrokerError, UnknownTopic

    try:
        return action(args)
    except Refused as exc:
        print(f"kafkalab {args.command}: {exc}", file=sys.stderr)
        return 2
    except UnknownTopic as exc:  # the broker's words alone do not say which name, nor where to look
        named = f"no topic {args.topic!r}" if getattr(args, "topic", None) else "no such topic"
        print(f"kafkalab {args.command}: {named} on {settings_of(args).bootstrap} ({exc}); "
              f"`kafkalab kafka-cli kafka-topics --list` lists them", file=sys.stderr)
        return 1
    except BrokerError as exc:
        print(f"kafkalab {args.command}: {exc}", file=sys.stderr)
        return 1


def cmd_show(args: argparse.Namespace) -> int:
    return _run(args, _show)


def cmd_reset(args: argparse.Namespace) -> int:
    return _run(args, _reset)


def cmd_configs(args: argparse.Namespace) -> int:
    return _run(args, _configs)


def _show(args: argparse.Namespace) -> int:
    admin = _admin(args)
    rows = [{"topic": e.topic, "partition": e.partition, "committed": e.committed, "end": e.end, "lag": e.lag}
            for e in admin.lag(args.group)]
    if args.json:
        print(json.dumps({"group": args.group, "partitions": rows}, sort_keys=True))
        return 0
    print(f"{'TOPIC':<30} {'PARTITION':>9} {'COMMITTED':>10} {'END':>10} {'LAG':>8}")
    for r in rows:
        committed = "-" if r["committed"] is None else r["committed"]
        print(f"{r['topic']:<30} {r['partition']:>9} {committed:>10} {r['end']:>10} {r['lag']:>8}")
    if not rows:
        print(f"group {args.group} has no committed offsets")
    return 0


def _target(args: argparse.Namespace, now_ms: int) -> Any:
    from services.offset_reset import ResetTarget

    if args.to_earliest:
        return ResetTarget("earliest")
    if args.to_latest:
        return ResetTarget("latest")
    if args.to_current:
        return ResetTarget("current")
    if args.to_offset is not None:
        if args.to_offset < 0:
            raise Refused(f"--to-offset must be >= 0, not {args.to_offset}")
        return ResetTarget("offset", args.to_offset)
    if args.shift_by is not None:
        return ResetTarget("shift", args.shift_by)
    if args.to_datetime is not None:
        try:
            when = datetime.fromisoformat(args.to_datetime)
        except ValueError:
            raise Refused(f"--to-datetime {args.to_datetime!r} is not a date and time like 2024-06-01T12:00:00") from None
        return ResetTarget("timestamp", int(when.astimezone().timestamp() * 1000))
    return ResetTarget("timestamp", now_ms - _duration_ms(args.by_duration))


def _duration_ms(text: str) -> int:
    m = _DURATION.fullmatch(text.strip())
    if not m or not any(m.groups()):
        raise Refused(f"--by-duration {text!r} is not a duration like PT10M, 10m, 2h or 1d")
    days, hours, minutes, seconds, n, unit = m.groups()
    if n is not None:
        return int(n) * {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}[unit]
    return int(((int(days or 0) * 24 + int(hours or 0)) * 60 + int(minutes or 0)) * 60_000 + float(seconds or 0) * 1_000)


def _partitions(admin: Any, specs: list[str]) -> list[Any]:
    from services.offset_reset import partitions_of

    topics, only = [], {}
    for spec in specs:
        topic, _, parts = spec.partition(":")
        try:
            numbers = [int(p) for p in parts.split(",")] if parts else []
        except ValueError:
            raise Refused(f"--topic {spec!r}: partitions are numbers, e.g. {topic}:0,2") from None
        topics.append(topic)
        if numbers:
            only[topic] = numbers
    return partitions_of(admin, topics, only)


def _reset(args: argparse.Namespace) -> int:
    import time

    from services.offset_reset import apply_reset, gather, plan_reset

    target = _target(args, int(time.time() * 1000))
    admin = _admin(args)
    partitions = _partitions(admin, args.topic)
    rows = plan_reset(target, partitions, gather(admin, args.group, partitions, target))
    if args.execute:
        apply_reset(admin, args.group, rows)
    if args.json:
        print(json.dumps({"group": args.group, "executed": args.execute, "rows": [
            {"topic": r.tp.topic, "partition": r.tp.partition, "current": r.current, "new": r.target, "note": r.note}
            for r in rows]}, sort_keys=True))
        return 0
    print(f"{'GROUP':<24} {'TOPIC':<30} {'PARTITION':>9} {'CURRENT':>8} {'NEW':>8}  NOTE")
    for r in rows:
        current = "-" if r.current is None else r.current
        print(f"{args.group:<24} {r.tp.topic:<30} {r.tp.partition:>9} {current:>8} {r.target:>8}  {r.note}")
    print("offsets written." if args.execute else "dry run: nothing changed (add --execute to apply).")
    return 0


def _configs(args: argparse.Namespace) -> int:
    admin = _admin(args)
    changes = {}
    for item in args.set:
        name, eq, value = item.partition("=")
        if not eq or not name:
            raise Refused(f"--set {item!r}: write NAME=VALUE, e.g. retention.ms=60000")
        changes[name.strip()] = value
    if changes or args.delete:
        admin.alter_topic_config(args.topic, changes, args.delete)
    entries = admin.describe_topic_config(args.topic)
    shown = [e for e in entries.values() if args.all or not e.is_default]
    if args.json:
        print(json.dumps({"topic": args.topic, "configs": {e.name: {"value": e.value, "default": e.is_default}
                                                           for e in shown}}, sort_keys=True))
        return 0
    for e in shown:
        print(f"{e.name:<40} {e.value if e.value is not None else '':<24} {'(default)' if e.is_default else '(set)'}")
    if not args.all:
        print(f"{len(shown)} set on {args.topic}; {len(entries) - len(shown)} at the broker's default (--all shows them)")
    return 0

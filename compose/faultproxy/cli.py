"""``kafkalab kafka faults OP ...``: drive the background fault proxy that ``kafka up --faults`` started.

One sub-command per fault command (compose/faultproxy/commands.py), named as there (and as the
simulator's story steps): ``lose_ack``, ``delay_ack``, ``drop_responses``, ``delay_responses``,
``broker_down``, ``slow_network``, ``isolate``, ``heal``, ``report``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from compose.faultproxy.commands import COMMANDS, FaultProxyError

# argument -> (type, help); every command's arguments come from COMMANDS, so the CLI cannot drift from it.
_ARGUMENTS = {
    "count": (int, "how many matching requests (default 1)"),
    "ms": (int, "milliseconds"),
    "client_id": (str, "only this client.id"),
    "topic": (str, "only Produce requests to this topic (the exact name, prefix included)"),
    "api": (str, "the Kafka API by name or key, e.g. OffsetCommit or 8"),
    "node": (int, "only this broker node (default: every node)"),
    "direction": (str, "both (default), to_broker or to_client"),
    "mode": (str, "blackhole (default: swallow its traffic) or cut (close its connections)"),
}
_HELP = {
    "lose_ack": "forward the next Produce request(s) but drop the response: the client times out and resends",
    "delay_ack": "hold the response to the next Produce request(s)",
    "drop_responses": "drop the response to the next request(s) of any API",
    "delay_responses": "hold the response to the next request(s) of any API",
    "broker_down": "cut every connection and refuse new ones for --ms",
    "slow_network": "add --ms of latency to every frame (0 removes it)",
    "isolate": "partition one client by its client.id",
    "heal": "clear every fault at once",
    "report": "active faults, counts and the latest events (JSON)",
}


def register(actions: argparse._SubParsersAction, data_dir_option) -> None:
    faults = actions.add_parser("faults", help="drive the fault proxy started by `kafka up --faults`",
                                description="Arm or heal faults in the background fault proxy of a local cluster "
                                            "(names as in the simulator's story steps).")
    ops = faults.add_subparsers(dest="fault", metavar="FAULT", required=True)
    for op, spec in COMMANDS.items():
        sub = ops.add_parser(op, help=_HELP[op])
        for name, default in spec.items():
            kind, text = _ARGUMENTS[name]
            sub.add_argument(f"--{name.replace('_', '-')}", dest=name, type=kind, required=default is ...,
                             default=None, help=text)
        data_dir_option(sub)
        sub.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from compose.config import DataDir
    from compose.faultproxy import background

    data = DataDir(Path(args.data_dir).resolve()) if args.data_dir else DataDir()
    proxy = background.find(data)
    if proxy is None:
        where = f" --data-dir {args.data_dir}" if args.data_dir else ""
        print(f"kafkalab: no fault proxy runs for {data.root}; start one with `kafkalab kafka up --faults{where}`",
              file=sys.stderr)
        return 1
    values = {name: getattr(args, name) for name in COMMANDS[args.fault] if getattr(args, name) is not None}
    try:
        result = proxy.client().command(args.fault, **values)
    except FaultProxyError as exc:
        print(f"kafkalab: {exc}", file=sys.stderr)
        return 1
    if args.fault == "report":
        print(json.dumps(result, indent=2))
    else:
        detail = " ".join(f"{k}={v}" for k, v in result.items() if k != "fault")
        print(f"{result['fault']}{': ' + detail if detail else ''}")
    return 0

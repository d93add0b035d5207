"""``kafkalab kafka up|down|status|faults``, ``kafkalab kafka-cli TOOL ...`` and ``kafkalab db up``."""

from __future__ import annotations

import argparse
import json
import sys

from compose.runtime import LauncherError
from compose.tools import tool_names
from compose.topology import KAFKA_VERSION


def register(subparsers: argparse._SubParsersAction) -> None:
    kafka = subparsers.add_parser("kafka", help=f"a local Apache Kafka {KAFKA_VERSION} (no Docker needed)")
    actions = kafka.add_subparsers(dest="kafka_command", metavar="ACTION", required=True)

    up = actions.add_parser("up", help="start (or reuse) the local broker(s) and wait until ready")
    up.add_argument("--brokers", type=int, choices=(1, 3), default=1)
    up.add_argument("--wait", action=argparse.BooleanOptionalAction, default=True,
                    help="wait for metadata and the group coordinator (default: yes)")
    up.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for readiness")
    up.add_argument("--port-offset", type=int, default=0,
                    help="a private cluster: every listener port shifted by this (1000: localhost:10092); "
                         "use it with its own --data-dir")
    up.add_argument("--faults", action="store_true",
                    help="also run the fault proxy (clients bootstrap through 127.0.0.1:9094; `kafka faults` "
                         "drives it; `kafka down` stops it)")
    up.add_argument("--controller", action="store_true",
                    help="with --brokers 3: a fourth node runs the KRaft quorum alone, so two brokers may die and "
                         "the cluster still fences them (NOT_ENOUGH_REPLICAS instead of timeouts)")
    _data_dir_option(up)
    up.set_defaults(func=_guarded(_kafka_up))

    down = actions.add_parser("down", help="stop the brokers this directory started")
    down.add_argument("--wipe", action="store_true", help="also delete their data (topics, offsets)")
    _data_dir_option(down)
    _port_offset_check(down)
    down.set_defaults(func=_guarded(_kafka_down))

    status = actions.add_parser("status", help="running or not, pids, bootstrap, readiness")
    status.add_argument("--json", action="store_true")
    _data_dir_option(status)
    _port_offset_check(status)
    status.set_defaults(func=_guarded(_kafka_status))

    from compose.faultproxy.cli import register as register_faults

    register_faults(actions, _data_dir_option)

    cli = subparsers.add_parser(
        "kafka-cli",
        help="run one of Kafka's own CLI tools from the same jars",
        description="Known tools: " + ", ".join(tool_names())
        + ". --bootstrap-server defaults to $KAFKA_BOOTSTRAP or localhost:9092.",
    )
    cli.add_argument("tool", choices=tool_names(), metavar="TOOL")
    cli.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the tool as they are")
    cli.set_defaults(func=_guarded(_kafka_cli))

    db = subparsers.add_parser("db", help="PostgreSQL for kafka mode")
    db_actions = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_up = db_actions.add_parser("up", help="use DATABASE_URL or start the local server; print the DSN")
    db_up.set_defaults(func=_guarded(_db_up))

    # `kafkalab registry ...` (the schema registry) lives in its own module.
    from compose import registry_cli

    registry_cli.register(subparsers)


def _data_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", default=None,
                        help="the cluster's data dir (default: $KAFKALAB_DATA, else ./.kafkalab/kafka)")


def _port_offset_check(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port-offset", type=int, default=None,
                        help="the offset `kafka up --port-offset` was given: checked against the data dir's cluster")


def _cluster(args: argparse.Namespace):
    """The data dir to act on, as ``kafka up`` resolves it; with --port-offset, it must hold that cluster."""
    from compose.config import DataDir

    data = _data(args)
    offset = args.port_offset
    if offset is None:
        return data
    where = data or DataDir()
    state = where.load_state()
    hint = f"pass the --data-dir it was started with (`kafkalab kafka up --port-offset {offset} --data-dir DIR`)"
    if state is None:
        raise LauncherError(f"no cluster on port offset {offset} was started from {where.root}; {hint}")
    if state.port_offset != offset:
        raise LauncherError(f"{where.root} holds the cluster on port offset {state.port_offset}, not {offset}; {hint}")
    return where


def _data(args: argparse.Namespace):
    from pathlib import Path

    from compose.config import DataDir

    return DataDir(Path(args.data_dir).resolve()) if args.data_dir else None


def _guarded(command):
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except LauncherError as exc:
            print(f"kafkalab: {exc}", file=sys.stderr)
            return 1

    return run


def _say(line: str) -> None:
    print(line, file=sys.stderr)


def _kafka_up(args: argparse.Namespace) -> int:
    from compose import launcher

    result = launcher.up(args.brokers, wait=args.wait, timeout=args.timeout, echo=_say, data=_data(args),
                         port_offset=args.port_offset, faults=args.faults, controller=args.controller)
    # format is shown even at 0.0 s (a copy of the storage template): a start always has that step
    times = ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items() if v or k == "format")
    proxied = f"; through the fault proxy: {result.fault_proxy}" if result.fault_proxy else ""
    if not args.wait:
        print(f"Kafka {result.outcome} on {result.bootstrap} (readiness not checked){proxied}")
        return 0
    if not result.ready:
        print(f"Kafka on {result.bootstrap} is not ready: {result.detail}", file=sys.stderr)
        return 1
    print(f"Kafka ready on {result.bootstrap} ({result.outcome}{'; ' + times if times else ''}){proxied}")
    return 0


def _kafka_down(args: argparse.Namespace) -> int:
    from compose import launcher

    stopped = launcher.down(wipe=args.wipe, echo=_say, data=_cluster(args))
    print(f"stopped {len(stopped)} Kafka process(es)" if stopped else "no Kafka started from here was running")
    return 0


def _kafka_status(args: argparse.Namespace) -> int:
    from compose import launcher

    status = launcher.status(data=_cluster(args))
    if args.json:
        print(json.dumps(status.to_dict(), indent=2))
    else:
        pids = ", ".join(f"node {n}: {p}" for n, p in status.pids.items() if p) or "-"
        print(f"Kafka {status.version}: {'running' if status.running else 'not running'}")
        print(f"  pids       {pids}")
        print(f"  bootstrap  {status.bootstrap}")
        print(f"  ready      {'yes' if status.ready else 'no'} ({status.detail})")
        print(f"  data       {status.data_dir}")
        print(f"  faults     {_describe_proxy(status.fault_proxy)}")
    return 0 if status.ready else 3


def _describe_proxy(proxy: dict | None) -> str:
    if proxy is None:
        return "no fault proxy (`kafkalab kafka up --faults` starts one)"
    head = f"fault proxy pid {proxy['pid']} on {proxy['bootstrap']}, control 127.0.0.1:{proxy['control_port']}"
    if "error" in proxy:
        return f"{head}; not answering: {proxy['error']}"
    active = proxy["active"]
    armed = [f"{r['fault']}×{r['remaining']}" for r in active["responses"]]
    armed += [f"broker_down node {d['node'] or 'all'} {d['remaining_ms']} ms left" for d in active["broker_down"]]
    armed += [f"slow_network {side} {ms} ms" for side, ms in active["latency_ms"].items() if ms]
    armed += [f"isolate {client} ({mode})" for client, mode in active["isolated"].items()]
    counts = ", ".join(f"{k} {v}" for k, v in sorted(proxy["counts"].items())) or "nothing done yet"
    return f"{head}; active: {', '.join(armed) or 'none'}; {counts}"


def _kafka_cli(args: argparse.Namespace) -> int:
    from compose.tools import run_tool

    return run_tool(args.tool, list(args.args)).returncode


def _db_up(args: argparse.Namespace) -> int:
    from compose.postgres import ensure_database

    print(ensure_database())
    return 0


def port_number(text: str, *, any_free: bool = False) -> int:
    """An argparse type: a TCP port, 1-65535 (0 too with ``any_free``: the system picks a free one), else
    argparse's one-line usage error rather than a bind() traceback."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    low = 0 if any_free else 1
    if not low <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number ({low}-65535{'; 0: any free port' * any_free})")
    return port

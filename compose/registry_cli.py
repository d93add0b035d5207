"""``kafkalab registry up|down|status``: the local Apicurio Registry of kafka mode (compose.registry)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from compose.cli import _guarded, _say, port_number  # the same error handling as `kafkalab kafka`


def register(subparsers: argparse._SubParsersAction) -> None:
    from compose.registry import APICURIO_VERSION, DEFAULT_PORT

    registry = subparsers.add_parser("registry", help=f"a local Apicurio Registry {APICURIO_VERSION} "
                                     "(schema registry, Confluent-compatible API; no Docker needed)")
    actions = registry.add_subparsers(dest="registry_command", metavar="ACTION", required=True)

    up = actions.add_parser("up", help="fetch it from Maven Central once, start it on 127.0.0.1, wait until ready")
    up.add_argument("--port", type=port_number, default=DEFAULT_PORT, help=f"HTTP port (default {DEFAULT_PORT})")
    up.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for readiness")
    up.add_argument("--wait", action=argparse.BooleanOptionalAction, default=True)
    _data_dir_option(up)
    up.set_defaults(func=_guarded(_up))

    down = actions.add_parser("down", help="stop the registry this data dir started")
    _data_dir_option(down)
    down.set_defaults(func=_guarded(_down))

    status = actions.add_parser("status", help="running or not, pid, URL, readiness, memory")
    status.add_argument("--json", action="store_true")
    _data_dir_option(status)
    status.set_defaults(func=_guarded(_status))



def _data_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", default=None, help="pid, port and log of this registry (default ./.kafkalab/registry)")


def _data(args: argparse.Namespace):
    from compose.registry import RegistryData

    return RegistryData(Path(args.data_dir).resolve()) if args.data_dir else None


def _up(args: argparse.Namespace) -> int:
    from compose import registry

    result = registry.up(args.port, data=_data(args), wait=args.wait, timeout=args.timeout, echo=_say)
    if not args.wait:
        print(f"Apicurio Registry {result.outcome} on {result.url} (readiness not checked)")
        return 0
    if not result.ready:
        print(f"the schema registry at {result.url} is not ready: {result.detail}", file=sys.stderr)
        return 1
    extras = [f"{k} {v:.1f}s" for k, v in result.timings.items() if v]
    if result.rss_mb:
        extras.append(f"RSS {result.rss_mb:.0f} MB")
    print(f"schema registry ready on {result.url} ({'; '.join([result.outcome, *extras])})")
    return 0


def _down(args: argparse.Namespace) -> int:
    from compose import registry

    pid = registry.down(data=_data(args), echo=_say)
    print(f"stopped Apicurio Registry (pid {pid})" if pid else "no schema registry started from here was running")
    return 0


def _status(args: argparse.Namespace) -> int:
    from compose import registry

    status = registry.status(data=_data(args))
    if args.json:
        print(json.dumps(status.to_dict(), indent=2))
    else:
        print(f"Apicurio Registry {registry.APICURIO_VERSION}: {'running' if status.running else 'not running'}")
        print(f"  pid    {status.pid or '-'}")
        print(f"  url    {status.url}")
        print(f"  ready  {'yes' if status.ready else 'no'} ({status.detail})")
        if status.rss_mb:
            print(f"  rss    {status.rss_mb:.0f} MB")
    return 0 if status.ready else 3

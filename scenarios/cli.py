"""The ``kafkalab`` command line. Each command group lives in its own module and registers itself."""

from __future__ import annotations

import argparse
import importlib
import sys

# Modules that each expose ``register(subparsers)``; a module that is not there yet is skipped.
COMMAND_MODULES = (
    "scenarios.cmd_scenario",
    "scenarios.cmd_services",
    "scenarios.cmd_labs",
    "scenarios.offsets_cli",
    "compose.cli",
    "scenarios.tuning.cli",
    "scenarios.schema_cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kafkalab",
        description="A hands-on Apache Kafka laboratory: break an event-driven shop, then fix it.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())

"""The ``kafkalab`` command line. Each command group lives in its own module and registers itself."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from scenarios.validation import ConfigError

# Modules that each expose ``register(subparsers)``; a module that is not there yet is skipped.
COMMAND_MODULES = (
    "scenarios.cli.scenario",
    "scenarios.cli.services",
    "scenarios.cli.lab",
    "compose.cli",
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
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:  # bad settings or lab.toml: one line, no traceback
        print(f"kafkalab: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `kafkalab ... | head`: the reader left; end quietly
        _silence_stdout()
        return 1


def _silence_stdout() -> None:
    # Python flushes stdout again at exit, into the closed pipe: point it at /dev/null first.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())

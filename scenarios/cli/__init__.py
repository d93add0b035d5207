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
    "scenarios.cli.dlq",
    "scenarios.cli.load",
    "scenarios.cli.offsets",
    "scenarios.cli.schema",
    "scenarios.cli.tune",
    "scenarios.cli.console",
    "compose.cli",
    "scenarios.cli.clean",  # after compose.cli: it adds `kafka clean` to that group
)


def _epilog() -> str:
    from scenarios import labs

    rows = "\n".join(f"  {lab.name:<15} {lab.summary}" for lab in labs.LABS.values())
    return (f"labs (each in sim and kafka mode; docs/labs/<name>.md):\n{rows}\n\n"
            "start here:\n"
            "  kafkalab scenario run happy-path        watch a lab break and be fixed (--verbose: every event)\n"
            "  kafkalab lab start poison-pill          fix one yourself: edit .kafkalab/lab.toml, then lab check\n"
            "  kafkalab up --mode sim                  the shop on the simulator with its HTTP API on :3000\n"
            "  kafkalab console                        the same, with the lab console at :3000/console\n"
            "  kafkalab kafka up && kafkalab up        a real broker, PostgreSQL and the services as processes")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kafkalab",
        description="A hands-on Apache Kafka laboratory: break an event-driven shop, then fix it.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
    args, extra = parser.parse_known_args(argv)
    if extra:  # argparse would blame the top-level parser: name the command that was given them
        words = " ".join(_command_words(args))
        print(f"kafkalab {words}: unrecognized arguments: {' '.join(extra)} (`kafkalab {words} --help` lists "
              "what it takes)", file=sys.stderr)
        return 2
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


def _command_words(args: argparse.Namespace) -> list[str]:
    """``["offsets", "show"]``: the command and its action(s), from each group's ``<name>_command`` dest."""
    words, key = [], "command"
    while isinstance(getattr(args, key, None), str):
        words.append(getattr(args, key))
        key = words[-1].replace("-", "_") + "_command"
    return words


def _silence_stdout() -> None:
    # Python flushes stdout again at exit, into the closed pipe: point it at /dev/null first.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())

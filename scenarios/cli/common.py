"""What every command shares: the settings options, and turning them into ``Settings`` once."""

from __future__ import annotations

import argparse
from typing import Any

from compose.cli import port_number as compose_port_number
from scenarios.settings import Settings

# Command-line option -> Settings field, for the options a command registered.
_SETTING_OPTIONS = ("bootstrap", "database_url", "log_level", "keep", "config")


def add_settings_options(parser: argparse.ArgumentParser, *, logs: bool = True, keep: bool = True) -> None:
    parser.add_argument("--bootstrap", help="Kafka bootstrap servers (else kafkalab.toml, else $KAFKA_BOOTSTRAP)")
    parser.add_argument("--database-url", help="PostgreSQL DSN (else kafkalab.toml, else $DATABASE_URL)")
    parser.add_argument("--config", metavar="FILE", help="a kafkalab.toml (default: ./kafkalab.toml if present)")
    if logs:
        parser.add_argument("--log-level", choices=("debug", "info", "warning", "error"),
                            help="services' log lines on stderr at this level and above (default error)")
    if keep:
        parser.add_argument("--keep", action="store_true", default=None,
                            help="kafka mode: keep the run's kl-<run>- topics and schemas to inspect")


def settings_of(args: argparse.Namespace) -> Settings:
    """The one Settings of this command (raises SettingsError with a one-line reason)."""
    cached = getattr(args, "_settings", None)
    if cached is not None:
        return cached
    given: dict[str, Any] = {}
    for option in _SETTING_OPTIONS:
        value = getattr(args, option, None)
        if value is not None:
            given["config_file" if option == "config" else option] = value
    settings = Settings.resolve(given)
    args._settings = settings
    return settings


def port_number(text: str) -> int:
    """An argparse type: a TCP port; 0 asks the system for a free one (the kafka world's service processes)."""
    return compose_port_number(text, any_free=True)

"""Where kafka mode finds its servers. Precedence: explicit argument, then config file, then environment.

The config file is ``--config FILE``, else ``./kafkalab.toml`` when present::

    [kafka]
    bootstrap = "localhost:9092"
    [postgres]
    database_url = "postgresql://kafkalab@localhost/kafkalab"
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_BOOTSTRAP = "localhost:9092"
DEFAULT_CONFIG = "kafkalab.toml"


@dataclass(frozen=True, slots=True)
class LabOptions:
    """What the caller chose explicitly; None means "look further down the precedence list"."""

    bootstrap: str | None = None
    database_url: str | None = None
    config_path: str | None = None
    partitions: int = 3
    quiet_timeout_s: float = 120.0  # kafka mode: deadline for the system to go quiet
    log_level: str = "error"  # services' structlog lines (to stderr) at this level and above
    keep: bool = False  # kafka mode: keep the run's topics and schemas for a look with Kafka's CLI


def load_config(options: LabOptions, cwd: Path | None = None) -> dict[str, Any]:
    if options.config_path:
        path = Path(options.config_path)
        if not path.is_file():
            raise FileNotFoundError(f"config file {path} does not exist")
    else:
        path = (cwd or Path.cwd()) / DEFAULT_CONFIG
        if not path.is_file():
            return {}
    with path.open("rb") as f:
        return tomllib.load(f)


def _pick(explicit: str | None, config: Mapping[str, Any], section: str, key: str,
          env: Mapping[str, str], env_name: str) -> str | None:
    if explicit:
        return explicit
    from_file = config.get(section, {}).get(key)
    if from_file:
        return str(from_file)
    return env.get(env_name) or None


def resolve_bootstrap(options: LabOptions, config: Mapping[str, Any], env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return _pick(options.bootstrap, config, "kafka", "bootstrap", env, "KAFKA_BOOTSTRAP") or DEFAULT_BOOTSTRAP


def resolve_database_url(options: LabOptions, config: Mapping[str, Any],
                         env: Mapping[str, str] | None = None) -> str | None:
    """The DSN, or None: then the caller asks compose.postgres for the local server's."""
    env = os.environ if env is None else env
    return _pick(options.database_url, config, "postgres", "database_url", env, "DATABASE_URL")

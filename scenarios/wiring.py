"""Build a lab by mode. Nothing is built at import time; the kafka-mode modules load only when asked.

- sim: World(seed) + SimBroker + memory stores + virtual clock + seeded ids.
- kafka: KafkaBroker(bootstrap) + PostgreSQL stores (one schema per service *per run*) + wall clock +
  uuid ids, with topic and group names prefixed per run so runs on one broker never collide.
  Bootstrap and DSN: explicit argument, then config file, then environment (scenarios.settings).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import structlog

from scenarios.lab import Lab
from scenarios.logs import STDERR
from scenarios.settings import LabOptions

MODES = ("sim", "kafka")


def build_lab(mode: str, seed: int, options: LabOptions | None = None, *,
              instances: Mapping[str, int] | None = None) -> Lab:
    options = options or LabOptions()
    if mode == "sim":
        from scenarios.sim_lab import SimLab

        return SimLab(seed, instances, partitions=options.partitions, logger=service_logger(options.log_level))
    if mode == "kafka":
        from scenarios.kafka_lab import KafkaLab

        return KafkaLab(seed, options, instances, logger=service_logger(options.log_level))
    raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")


def service_logger(level: str) -> Any:
    """The services' logger: structlog lines on stderr (never stdout, which --json owns), filtered by level."""
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.ERROR)
    return structlog.wrap_logger(
        structlog.PrintLogger(STDERR),
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        processors=[structlog.processors.add_log_level, structlog.dev.ConsoleRenderer(colors=False)],
    )

"""Build a lab by mode. Nothing is built at import time; the kafka-mode modules load only when asked.

- sim: World(seed) + SimBroker + memory stores + virtual clock + seeded ids.
- kafka: KafkaBroker(bootstrap) + PostgreSQL stores (one schema per service *per run*) + wall clock +
  uuid ids, with topic and group names prefixed per run so runs on one broker never collide.
  Bootstrap and DSN: explicit argument, then config file, then environment (scenarios.settings).
"""

from __future__ import annotations

from collections.abc import Mapping

from scenarios.lab import Lab
from scenarios.root import service_logger
from scenarios.settings import Settings

MODES = ("sim", "kafka")


def build_lab(mode: str, seed: int, options: Settings | None = None, *,
              instances: Mapping[str, int] | None = None) -> Lab:
    options = options or Settings.resolve()
    if mode == "sim":
        from scenarios.sim_lab import SimLab

        return SimLab(seed, instances, logger=service_logger(options.log_level))
    if mode == "kafka":
        from scenarios.kafka_lab import KafkaLab

        return KafkaLab(seed, options, instances, logger=service_logger(options.log_level))
    raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")

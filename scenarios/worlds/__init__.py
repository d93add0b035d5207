"""The two worlds behind one interface (scenarios.engine.world.World): ``SimWorld`` and ``KafkaWorld``.

Everything that differs by mode lives in this room: how instances run and time passes, how faults
land, how the services' clients reach the broker (a simulated host network, or a private broker on
shifted ports), how lag is read. ``opener(settings)`` is the world factory the engine is given.
"""

from __future__ import annotations

from typing import Any

from compose.topology import BASE_PORTS, EXTERNAL, EXTERNAL_BOOTSTRAP, INTERNAL
from scenarios import root
from scenarios.engine.lab import LabContext
from scenarios.engine.spec import WorldSpec
from scenarios.engine.world import OpenWorld, World
from scenarios.settings import Settings

MODES = ("sim", "kafka")


def opener(settings: Settings, *, keep: bool | None = None) -> OpenWorld:
    """A factory of fresh worlds; ``keep``: kafka worlds leave their topics and schemas behind."""

    def open_world(mode: str, seed: int, spec: WorldSpec) -> World:
        return open_world_now(mode, seed, spec, settings, keep=settings.keep if keep is None else keep)

    return open_world


def open_world_now(mode: str, seed: int, spec: WorldSpec, settings: Settings, *, keep: bool = False,
                   **kafka: Any) -> Any:
    explicit = "log_level" in settings.model_fields_set
    logger = root.service_logger(settings.log_level if explicit else "critical")
    if mode == "sim":
        from scenarios.worlds.sim import SimWorld

        return SimWorld(seed, spec, logger=logger)
    if mode == "kafka":
        from scenarios.worlds.kafka import KafkaWorld

        return KafkaWorld(spec, settings, logger=logger, keep=keep, **kafka)
    raise ValueError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")


def context(mode: str, seed: int, settings: Settings) -> LabContext:
    """What a lab may know of its world: the host's addresses of the broker, and whether time is real."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
    bootstrap = EXTERNAL_BOOTSTRAP if mode == "sim" else settings.bootstrap
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    shift = int(port) - BASE_PORTS[EXTERNAL] if port.isdigit() else 0
    internal = f"{host or 'localhost'}:{BASE_PORTS[INTERNAL] + shift}"
    return LabContext(mode, seed, bootstrap=bootstrap, internal_bootstrap=internal, real_time=mode == "kafka")

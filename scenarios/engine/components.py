"""A lab's own components: parts built from ports (``Broker``, ``Clock``) that a lab's steps talk to.

A lab names its components in ``Lab.define(..., components={"profiles": ProfileService})``; they are
registered here under ``"<lab>/<name>"`` (e.g. ``"compacted-store/profiles"``). A ``call`` step asks the
world to build the component once per phase from the world's ports and to run one action on it::

    Step("call", {"component": "compacted-store/profiles", "action": "put", "args": {"key": "cust_1", ...}})

The world gives the same ports in both worlds (its broker port, its clock, its topic names, a way to
let time pass), so a component never knows which world it runs in. An action returns plain JSON data,
which the observation keeps in order (``obs.calls``) for the lab's checks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from services.ports import Broker, Clock


@dataclass(frozen=True, slots=True)
class ComponentPorts:
    """What a world lends a component: its broker port, its clock, its names and its time."""

    broker: Broker
    clock: Clock
    topic: Callable[[str], str]  # a lab's topic name -> this run's physical name (kafka: kl-<run>-name)
    wait: Callable[[int], None]  # let ``ms`` of world time pass (sim: virtual; kafka: the wall clock)
    mode: str  # for the component's own words only ("the simulated broker"); never for branching


class Component(Protocol):
    def call(self, action: str, args: Mapping[str, Any]) -> dict[str, Any]:
        """Run one action; a refusal is data (``{"refused": "why"}``), never an exception."""
        ...

    def close(self) -> None: ...


Factory = Callable[[ComponentPorts], Component]
_REGISTRY: dict[str, Factory] = {}


class UnknownComponent(LookupError):
    pass


def register(name: str, factory: Factory) -> None:
    _REGISTRY[name] = factory


def build(name: str, ports: ComponentPorts) -> Component:
    try:
        factory = _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise UnknownComponent(f"no component {name!r}; the components are {known}") from None
    return factory(ports)

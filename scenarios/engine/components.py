"""A lab's own components: parts built from the ports a world lends, called by a step and/or run like a service.

A lab declares its parts in ``Lab.define(..., components={"profiles": ProfileService, "ledger": Ledger})``;
each is registered here as ``"<lab>/<name>"`` (``"compacted-store/profiles"``). A world uses a part in
either or both of two ways, building it from ``Ports`` each time, so a part never knows its world:

- *called*: a ``call`` step (component ``"<lab>/<name>"``, action, args) builds one instance per phase
  on first use and runs one action on it (``Called``); the plain JSON it returns goes to ``obs.calls``.
- *run*: ``WorldSpec(components={"<lab>/<name>": ComponentSpec(instances=2, config={...})})`` asks for
  instances ``<name>-0``, ``<name>-1``... that the world drives like a service instance (``Running``: an
  actor in the simulator, a thread on Kafka); ``crash``, ``restart``, ``scale`` and ``start`` name them
  by ``<name>``, as they name a service kind.

Whatever a part wants the checks to see beyond a call's result it writes into ``Ports.notes``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.ports import Broker, Clock


@dataclass
class Ports:
    """What a world lends one instance of a part: the same in both worlds."""

    name: str  # "ledger-0" for a running instance, "profiles" for a called one
    index: int  # a replacement takes the lowest index no live instance has
    broker: Broker  # the services' broker port
    clock: Clock
    config: Mapping[str, Any]  # its ComponentSpec's config (JSON values)
    topic: Callable[[str], str]  # a lab's topic name -> this run's physical name (kafka: kl-<run>-name)
    group: Callable[[str], str]  # a group name -> this run's physical one
    wait: Callable[[int], None]  # let ``ms`` of world time pass (sim: virtual; kafka: the wall clock)
    mode: str  # for the part's own words only ("the simulated broker"); never for branching
    notes: list[dict[str, Any]] = field(default_factory=list)  # shared by every instance of the phase
    shared: dict[str, Any] = field(default_factory=dict)  # also shared: what one instance leaves another
    poll_timeout_s: float = 0.0  # the world's: 0 on virtual time


class Called(Protocol):
    def call(self, action: str, args: Mapping[str, Any]) -> dict[str, Any]:
        """Run one action; a refusal is data (``{"refused": "why"}``), never an exception."""
        ...

    def close(self) -> None: ...


class Running(Protocol):
    """What a world needs of a running instance: the same surface as a shop service's ``EventService``."""

    name: str
    group_id: str | None  # its consumer group (lag is read for it), None when it only produces
    subscriptions: list[str]
    consumer: Any  # None until it has one
    producer: Any  # None when it has none (the simulator's crash fault takes both clients down)
    exited: str | None  # why it stopped for good (a fenced zombie...): it does nothing more
    blocked: dict[tuple[str, int], tuple[int, str]]

    def step(self) -> int:
        """One turn of its loop; the work done (0: idle)."""
        ...

    def idle(self) -> bool:
        """It has nothing left to do of its own (e.g. a producer that sent everything)."""
        ...

    def close(self) -> None: ...


Factory = Callable[[Ports], Any]
_REGISTRY: dict[str, Factory] = {}


class UnknownComponent(LookupError):
    pass


def register(name: str, factory: Factory) -> None:
    _REGISTRY[name] = factory


def build(name: str, ports: Ports) -> Any:
    try:
        factory = _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise UnknownComponent(f"no component {name!r}; the components are {known}") from None
    return factory(ports)


def short_name(name: str) -> str:
    """``"exactly-once/ledger"`` -> ``"ledger"``: what its instances and the steps that name them use."""
    return name.rpartition("/")[2]

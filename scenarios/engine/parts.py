"""Components of a lab's own: built from ports (broker, clock) like the shop's services, run by either world.

A lab registers a factory under a name (``register("ledger", Ledger.build)``); a phase's ``WorldSpec``
asks for instances of it (``components={"ledger": ComponentSpec(instances=2, config={...})}``), and the
world builds ``ledger-0``, ``ledger-1``... with ``Part`` (what the world gives: the services' broker
port, its clock, physical names) and runs each like a service instance: an actor in the simulator, a
thread in the Kafka world. The crash step works on them as on services (``consumer.arm_crash()``).
Whatever a component wants the checks to see it writes into ``Part.notes`` (plain JSON-able facts).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.ports import Broker, Clock


class Component(Protocol):
    """What a world needs of an instance: the same surface as a shop service's ``EventService``."""

    name: str
    group_id: str | None  # its consumer group (lag is read for it), None when it only produces
    subscriptions: list[str]
    consumer: Any  # None until it has one
    producer: Any  # None when it has none (the simulator's crash fault takes both clients down)
    exited: str | None  # why it stopped for good (a fenced zombie...): it does nothing more
    blocked: dict[tuple[str, int], tuple[int, str]]

    def step(self) -> int:
        """One turn of its loop; the work done (0: idle)."""

    def idle(self) -> bool:
        """It has nothing left to do of its own (e.g. a producer that sent everything)."""

    def close(self) -> None: ...


@dataclass
class Part:
    """What a world gives one instance of a component."""

    name: str  # "ledger-0"
    index: int
    broker: Broker
    clock: Clock
    config: Mapping[str, Any]
    topic: Callable[[str], str]  # logical topic name -> the physical one of this run
    group: Callable[[str], str]  # logical group name -> the physical one of this run
    notes: list[dict[str, Any]] = field(default_factory=list)  # shared by every instance of the phase
    shared: dict[str, Any] = field(default_factory=dict)  # also shared: what one instance leaves another
    poll_timeout_s: float = 0.0  # the world's: 0 on virtual time


Factory = Callable[[Part], Component]
_FACTORIES: dict[str, Factory] = {}


def register(name: str, factory: Factory) -> None:
    """Make component ``name`` buildable by any world (a lab's story module does this at import)."""
    _FACTORIES[name] = factory


def build(part: Part, kind: str) -> Component:
    try:
        factory = _FACTORIES[kind]
    except KeyError:
        known = ", ".join(sorted(_FACTORIES)) or "none"
        raise ValueError(f"no component {kind!r} is registered (known: {known})") from None
    return factory(part)

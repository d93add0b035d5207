"""The one interface both worlds offer the runner (scenarios.worlds implements it twice).

The runner knows steps, not modes: each step is one call here. What differs by mode (how time
passes, how faults land, how instances run) is behind these methods; a step a world cannot take
raises ``NotAvailable``, which the runner reports in the timeline and the outcome, never silently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Protocol

from scenarios.engine.model import Step
from scenarios.engine.observation import Observation
from scenarios.engine.spec import WorldSpec
from scenarios.validation import ConfigError
from services.ports import PartitionInfo, Record

NO_ANSWER = "no answer"  # a request the order service died in the middle of


class WorldError(ConfigError):
    """The world itself could not be had (a private broker that would not start, no database): one
    line for the person, who can do something about it, rather than a traceback."""


class NotAvailable(Exception):
    """This world cannot take that step (e.g. ``lose_ack`` on a real broker without a fault backend)."""

    def __init__(self, step: str, mode: str, why: str = "") -> None:
        super().__init__(f"{step}: not available in the {mode} world" + (f" ({why})" if why else ""))


class World(Protocol):
    mode: str

    def now_ms(self) -> int: ...

    def logical(self, physical_topic: str) -> str: ...

    def set_monitor(self, monitor: Callable[[], None]) -> None:
        """Called after a service step did work (e.g. to catch stock going negative mid-run)."""

    # ------------------------------------------------------------ the shop
    def set_stock(self, product_id: str, quantity: int) -> None: ...

    def stock(self) -> dict[str, int]: ...

    def money(self) -> dict[str, Decimal]: ...

    def order_statuses(self) -> dict[str, str]: ...

    def place_order(self, body: Mapping[str, Any]) -> tuple[str | None, str]:
        """(order id, "") when accepted, (None, why) when the API refused it; ``why`` starts with
        NO_ANSWER when the order service died during the request (the client cannot know what happened)."""

    # ------------------------------------------------------------ acting on the world
    def inject(self, topic: str, value: bytes, *, key: str | None, partition: int | None) -> tuple[str, int, int]: ...

    def start(self, component: str) -> None:
        """Bring up a component the phase's world deferred (``broker`` or a service kind)."""

    def fault(self, step: Step) -> None:
        """crash, restart, scale, slow, broker_down, lose_ack, heal; NotAvailable when it cannot."""

    def broker_fault(self, step: Step) -> str:
        """broker_kill, broker_pause, broker_start on a replicated cluster; says which broker(s) it hit."""

    def describe(self, topic: str) -> list[PartitionInfo]:
        """Leader, replicas and ISR of each partition of a saga topic (kafka-topics --describe)."""

    def probe(self) -> str:
        """Produce one record with the services' acks and no retries: "" when acknowledged, else why not."""

    def redrive(self, topic: str, partition: int | None, offset: int | None, max_redrives: int) -> dict[str, Any]: ...

    # ------------------------------------------------------------ schemas (a world with codec "avro")
    def set_compatibility(self, event_type: str, level: str) -> dict[str, Any]:
        """Set the compatibility level of ``event_type``'s subject; what the registry answered."""

    def deploy_schema(self, event_type: str, schema: str, renames: Mapping[str, str]) -> dict[str, Any]:
        """A new version of ``event_type``'s producer: its schema is registered first; if the registry
        takes it the producer writes with it from now on, if it refuses (409) the old version stays."""

    def read_as(self, topic: str, event_type: str, readers: Mapping[str, str]) -> dict[str, dict[str, Any]]:
        """Read ``topic`` from the start once per reader schema (label -> schema), as a consumer with
        that schema would: per label, what it read and what it could not."""
    def call(self, component: str, action: str, args: Mapping[str, Any]) -> dict[str, Any]:
        """One action of a lab's own component (scenarios.engine.components), built once per phase."""

    def measure_producer(self, settings: Mapping[str, Any], workload: Mapping[str, Any], runs: int) -> dict[str, Any]:
        """A producer's throughput and produce->ack latency at these settings: measured on a real broker,
        the batch-formation model's prediction (labelled so) in the simulator."""

    # ------------------------------------------------------------ time
    def advance(self, ms: int) -> None: ...

    def advance_to(self, at_ms: int) -> None:
        """Let time pass until the world's clock reads ``at_ms`` (pacing a load)."""

    def ready(self) -> bool:
        """Wait until every group is stable with partitions assigned."""

    def quiet(self, deadline_ms: int | None) -> bool:
        """Run until settled (all orders terminal, outboxes empty, groups caught up); False when the
        deadline passes or nothing more can happen (an instance exited, or orders are PENDING with
        nothing left to deliver)."""

    # ------------------------------------------------------------ looking
    def watch(self, kind: str, topic: str, every_ms: int) -> None: ...

    def compare_cli_lag(self, kind: str, topic: str) -> dict[str, Any]: ...

    def read_all_topics(self) -> dict[str, list[Record]]: ...

    def collect(self, obs: Observation) -> None:
        """Fill in what the world saw: lag, members, exits, client errors, rebalances, redeliveries."""

    def emit(self, kind: str, **fields: Any) -> None:
        """A trace line (sim); nothing in a world without a trace."""

    def trace_lines(self) -> list[str]: ...

    def close(self) -> None: ...


OpenWorld = Callable[[str, int, WorldSpec], World]  # (mode, seed, spec) -> a fresh world

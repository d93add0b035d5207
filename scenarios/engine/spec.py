"""What a phase's world looks like, as data both worlds build from: partitions, instances, how each
service is configured, which address its clients use and which components start only on a step.

Labs write these from their knobs; the script records them, so a replay builds the same world.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Kind = Literal["order", "payment", "inventory"]
Component = Literal["broker", "order", "payment", "inventory"]
TopicName = Literal["orders", "payments", "inventory"]
OrderEvents = Literal["relay", "write-then-produce", "produce-then-write"]


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_defaults=True)


class StartupSpec(_Spec):
    """How a service instance starts (services.handling.StartupPolicy)."""

    wait: bool = True
    retries: int = Field(30, ge=0)
    backoff_ms: int = Field(200, ge=0)
    backoff_max_ms: int = Field(2_000, ge=0)


class ServiceSpec(_Spec):
    """How a service is configured (services.handling.ServiceConfig's lab-relevant fields)."""

    dead_letter: bool = True
    dedupe: bool = True
    work_ms: int = Field(0, ge=0)
    max_records: int = Field(500, ge=1)
    subscribe: tuple[TopicName, ...] | None = None
    startup: StartupSpec | None = None
    order_events: OrderEvents = "relay"  # order service: outbox + relay, or a dual write (services.fault_points)

    # Group membership (services.handling.ServiceConfig); session_timeout_ms None: the world's own.
    static_membership: bool = False
    session_timeout_ms: int | None = Field(None, ge=1)
    assignor: Literal["range", "roundrobin", "cooperative-sticky"] = "range"
    group_protocol: Literal["classic", "consumer"] = "classic"
    max_poll_interval_ms: int = Field(300_000, ge=1)
    acks: Literal["0", "1", "all"] = "all"  # the outbox producer's acks


class ComponentSpec(_Spec):
    """A lab's own component (scenarios.engine.components): how many instances run, and its settings."""

    instances: int = Field(1, ge=0)
    config: dict[str, Any] = Field(default_factory=dict)  # JSON values, handed to the component's factory
    deferred: bool = False  # started by a ``start`` step naming it, not when the world opens


class WorldSpec(_Spec):
    partitions: int = Field(3, ge=1)
    instances: dict[Kind, int] = Field(default_factory=dict)
    services: ServiceSpec = ServiceSpec()  # every kind
    per_kind: dict[Kind, ServiceSpec] = Field(default_factory=dict)  # replaces ``services`` for a kind
    bootstrap: str | None = None  # what the services' clients bootstrap with; None: the world's own
    deferred: tuple[Component, ...] = ()  # started by a ``start`` step, not when the world opens
    client_timeout_s: float = Field(15.0, gt=0)  # kafka: bound on each admin request of the services
    codec: Literal["json", "avro"] = "json"  # avro: a schema registry in the world, Avro values (docs/schemas.md)
    # Kinds whose instances are OS processes of their own where the world has processes (kafka: `kafkalab
    # service run`, so a crash is a real kill -9 and the order API is real HTTP); the simulator's actors
    # already die like processes (no LeaveGroup, nothing flushed).
    processes: tuple[Kind, ...] = ()
    # The network between the clients and the broker can be broken (lose_ack, broker_down, slow_network):
    # kafka mode puts a fault proxy in front of a private broker; the simulator always can.
    network_faults: bool = False
    topics: tuple[str, ...] = ()  # a lab's own topics, next to the shop's (made with ``partitions``)
    components: dict[str, ComponentSpec] = Field(default_factory=dict)  # a lab's own, by "<lab>/<name>"
    brokers: Literal[1, 3] = 1  # 3: a replicated cluster (sim: three simulated brokers; kafka: a private one)
    replication_factor: int = Field(1, ge=1, le=3)  # of the saga topics
    topic_config: dict[str, str] = Field(default_factory=dict)  # e.g. min.insync.replicas, for every saga topic

    def service(self, kind: str) -> ServiceSpec:
        return self.per_kind.get(kind, self.services)  # type: ignore[call-overload]

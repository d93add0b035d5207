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
    acks: Literal["0", "1", "all"] = "all"  # the outbox producer's acks


class WorldSpec(_Spec):
    partitions: int = Field(3, ge=1)
    instances: dict[Kind, int] = Field(default_factory=dict)
    services: ServiceSpec = ServiceSpec()  # every kind
    per_kind: dict[Kind, ServiceSpec] = Field(default_factory=dict)  # replaces ``services`` for a kind
    bootstrap: str | None = None  # what the services' clients bootstrap with; None: the world's own
    deferred: tuple[Component, ...] = ()  # started by a ``start`` step, not when the world opens
    client_timeout_s: float = Field(15.0, gt=0)  # kafka: bound on each admin request of the services
    brokers: Literal[1, 3] = 1  # 3: a replicated cluster (sim: three simulated brokers; kafka: a private one)
    replication_factor: int = Field(1, ge=1, le=3)  # of the saga topics
    topic_config: dict[str, str] = Field(default_factory=dict)  # e.g. min.insync.replicas, for every saga topic

    def service(self, kind: str) -> ServiceSpec:
        return self.per_kind.get(kind, self.services)  # type: ignore[call-overload]

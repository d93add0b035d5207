"""What a service's domain logic plugs into the runner: the Handler protocol, its config, and the
errors that tell the runner to dead-letter (ProcessingError) or retry (RetriableError)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from services.codec import JSON, Codec
from services.events import Event, Topics, header_text
from services.fault_points import OrderEvents
from services.ports import Admin, Assignor, GroupProtocol, Record, StoreTransaction, TopicSpec


class ProcessingError(Exception):
    """The handler cannot process this event, ever (a logic error): dead-letter it."""


class RetriableError(Exception):
    """The handler failed for a passing reason: retry with backoff, dead-letter when attempts run out."""

    retriable = True


@dataclass(frozen=True, slots=True)
class StartupPolicy:
    """How an instance starts: create its topics (needs cluster metadata) and look up its group
    coordinator. ``wait=False``: one attempt, and the first broker error ends the instance; else up
    to ``retries`` more attempts, ``backoff_ms`` doubling up to ``backoff_max_ms`` between them."""

    wait: bool = True
    retries: int = 30
    backoff_ms: int = 200
    backoff_max_ms: int = 2_000
    partitions: int = 3  # of the topics it creates when they are missing

    def backoff(self, attempt: int) -> int:
        """The pause after failed attempt number ``attempt`` (1-based)."""
        return min(self.backoff_ms << min(attempt - 1, 16), self.backoff_max_ms)

    def budget_ms(self) -> int:
        """How long a patient instance keeps trying, in all."""
        return sum(self.backoff(i) for i in range(1, self.retries + 1)) if self.wait else 0

    def attempt(self, admin: Admin, topics: Topics, group_id: str) -> None:
        """One try; raises the BrokerError a broker that is not ready answers with."""
        admin.create_topics([TopicSpec(t, self.partitions) for t in topics.all()], exist_ok=True)
        admin.describe_group(group_id)  # answered only once the group coordinator is there


def subscribed_topics(handler: Handler, topics: Topics, names: Sequence[str] | None) -> list[str]:
    """The physical topics an instance subscribes to: the handler's, or ``names`` (orders, payments...)."""
    if names is None:
        return handler.subscriptions(topics)
    by_name = dict(zip(("orders", "payments", "inventory"), topics.main(), strict=True))
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(f"cannot subscribe to {unknown}: the topics are {', '.join(by_name)}")
    return [by_name[n] for n in names]


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    max_records: int = 500
    poll_timeout_s: float = 0.0  # 0 in the simulator; kafka mode wants ~0.5 to avoid spinning
    max_attempts: int = 3
    backoff_ms: int = 100
    backoff_max_ms: int = 2_000
    outbox_batch: int = 1_000
    topics: Topics = field(default_factory=Topics)
    group_prefix: str = ""  # e.g. a per-test-run prefix on a shared broker
    log_records: bool = False  # a debug line per record; off by default, it costs throughput
    static_membership: bool = False  # group.instance.id = the instance name (no rebalance on restart)
    session_timeout_ms: int = 45_000  # how long a crashed member keeps its partitions
    subscribe: tuple[str, ...] | None = None  # topics by name ("orders", ...); None: the handler's own
    work_ms: int = 0  # time each handled event takes before its transaction (a slow dependency)
    dead_letter: bool = True  # False: a failing record is not parked; its partition stops at it
    dedupe: bool = True  # False: a redelivered event is applied again (no processed-id check)
    startup: StartupPolicy | None = None  # None: no startup calls; the first step() subscribes
    codec: Codec = JSON  # how events become record values and back (services.codec)
    order_events: OrderEvents = OrderEvents.RELAY  # order service: outbox + relay, or a dual write (the outbox lab)
    # The group member's protocol settings (the rebalance-storm lab). assignor and session_timeout_ms are
    # the classic protocol's; under group_protocol="consumer" the broker assigns and times sessions.
    assignor: Assignor = "range"
    group_protocol: GroupProtocol = "classic"
    max_poll_interval_ms: int = 300_000  # a batch that takes longer costs the member its partitions
    # True: a polled batch is handled in ONE store transaction (falls back to one per record when a
    # record fails, is poison or the store is down); False: one per record, as the simulator's labs do.
    batch_transactions: bool = False
    acks: str = "all"  # the outbox producer's acks ("0", "1", "all"); idempotent only with "all"


@dataclass(frozen=True, slots=True)
class FailedRecord:
    """A record being dead-lettered, with what is known about it (the event if it decoded)."""

    record: Record
    event: Event | None
    error: BaseException
    attempts: int

    @property
    def cause_id(self) -> str:
        """The id under which dead-lettering is recorded: the event id, else the coordinates."""
        if self.event is not None:
            return self.event.event_id
        return f"{self.record.topic}/{self.record.partition}/{self.record.offset}"

    @property
    def event_type(self) -> str | None:
        return self.event.event_type if self.event else header_text(self.record, "event-type")

    @property
    def order_id(self) -> str | None:
        if self.event is not None:
            return self.event.order_id
        found = header_text(self.record, "correlation-id")
        if found is None and self.record.key:
            try:
                found = self.record.key.decode() or None
            except UnicodeDecodeError:
                found = None
        return found


class Handler(Protocol):
    """A service's domain logic: which topics it reads and what each event does to its state."""

    group_id: str
    event_types: frozenset[str]  # the types it acts on; others on its topics are skipped undecoded

    def subscriptions(self, topics: Topics) -> list[str]: ...

    def handle(self, tx: StoreTransaction, event: Event, now_ms: int) -> list[Event]:
        """Apply ``event`` inside ``tx``; return the events it causes."""
        ...

    def on_dead_letter(self, tx: StoreTransaction, failed: FailedRecord, now_ms: int) -> list[Event]:
        """Events that compensate for ``failed`` never being processed (often none)."""
        ...

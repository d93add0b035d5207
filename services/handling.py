"""What a service's domain logic plugs into the runner: the Handler protocol, its config, and the
errors that tell the runner to dead-letter (ProcessingError) or retry (RetriableError)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from services.codec import JSON, Codec
from services.events import Event, Topics, header_text
from services.ports import Record, StoreTransaction


class ProcessingError(Exception):
    """The handler cannot process this event, ever (a logic error): dead-letter it."""


class RetriableError(Exception):
    """The handler failed for a passing reason: retry with backoff, dead-letter when attempts run out."""

    retriable = True


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
    codec: Codec = JSON  # how events become record values and back (services.codec)


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

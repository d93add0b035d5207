"""The ports the services depend on: a Kafka-shaped broker and a state store.

Both worlds implement these: ``adapters.sim_broker`` over the simulator and
``adapters.kafka_broker`` over confluent-kafka. No library type ever crosses
this boundary; adapters translate their library's errors into the exceptions
below, so a service handles a broker outage the same way in both worlds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, Protocol

Headers = tuple[tuple[str, bytes], ...]


@dataclass(frozen=True, slots=True, order=True)
class TopicPartition:
    """One partition of one topic."""

    topic: str
    partition: int

    def __str__(self) -> str:
        return f"{self.topic}-{self.partition}"


@dataclass(frozen=True, slots=True)
class Record:
    """A record as a consumer sees it: immutable, positioned, bytes only."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers = ()
    timestamp: int = 0  # milliseconds; virtual in the simulator

    @property
    def tp(self) -> TopicPartition:
        return TopicPartition(self.topic, self.partition)

    def header(self, name: str) -> bytes | None:
        """The last value of header ``name`` (Kafka allows repeats), or None."""
        found = None
        for k, v in self.headers:
            if k == name:
                found = v
        return found


@dataclass(frozen=True, slots=True)
class RecordMetadata:
    """Where the broker put a produced record."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A topic to create."""

    name: str
    partitions: int = 1
    replication_factor: int = 1
    config: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PartitionLag:
    """Lag of one group on one partition: end offset minus committed (or 0 before end)."""

    topic: str
    partition: int
    committed: int | None  # None: the group never committed here
    end: int

    @property
    def lag(self) -> int:
        # Kafka's tools count an uncommitted partition as fully lagging from 0.
        return max(0, self.end - (self.committed or 0))


@dataclass(frozen=True, slots=True)
class MemberDescription:
    member_id: str
    client_id: str
    group_instance_id: str | None
    assignment: tuple[TopicPartition, ...]


@dataclass(frozen=True, slots=True)
class GroupDescription:
    group_id: str
    state: str  # Empty, PreparingRebalance, CompletingRebalance, Stable, Dead
    protocol: str  # assignor name in use, "" when empty
    members: tuple[MemberDescription, ...]


Assignor = Literal["range", "roundrobin", "cooperative-sticky"]
OffsetReset = Literal["earliest", "latest", "error"]


@dataclass(frozen=True, slots=True)
class ProducerConfig:
    """Producer settings both worlds understand (names follow Kafka's configs)."""

    client_id: str = "kafkalab"
    acks: Literal["0", "1", "all"] = "all"
    enable_idempotence: bool = False
    transactional_id: str | None = None
    linger_ms: int = 5
    retries: int = 2_147_483_647
    compression_type: str = "none"


@dataclass(frozen=True, slots=True)
class ConsumerConfig:
    """Consumer group member settings (Kafka's names, milliseconds). Commits are always manual."""

    group_id: str
    client_id: str = "kafkalab"
    auto_offset_reset: OffsetReset = "earliest"
    assignor: Assignor = "range"
    session_timeout_ms: int = 45_000
    heartbeat_interval_ms: int = 3_000
    max_poll_interval_ms: int = 300_000
    group_instance_id: str | None = None  # static membership
    isolation_level: Literal["read_committed", "read_uncommitted"] = "read_committed"


# ---------------------------------------------------------------- errors


class BrokerError(Exception):
    """Base of every error the broker port raises. ``retriable`` says whether trying again can help."""

    retriable = False


class BrokerUnavailable(BrokerError):
    """No broker answered (refused, timed out, or name did not resolve); try again later."""

    retriable = True


class CoordinatorNotAvailable(BrokerUnavailable):
    """The group coordinator is loading or moving (e.g. __consumer_offsets still being created)."""


class UnknownTopic(BrokerError):
    """The topic or partition does not exist."""


class TopicAlreadyExists(BrokerError):
    """create_topics named a topic that exists already."""


class ProduceFailed(BrokerError):
    """A record was not acknowledged; ``retriable`` tells whether a retry may succeed."""

    def __init__(self, message: str, *, retriable: bool = False) -> None:
        super().__init__(message)
        self.retriable = retriable


class CommitFailed(BrokerError):
    """The commit was rejected: the member was fenced or a rebalance took its partitions."""


class RebalanceInProgress(CommitFailed):
    """The group is rebalancing; the commit may succeed after the member rejoins."""

    retriable = True


class InvalidConfig(BrokerError):
    """A setting is missing, malformed or contradictory; the message names it."""


# ---------------------------------------------------------------- broker port

RebalanceCallback = Callable[[list[TopicPartition]], None]


class Producer(Protocol):
    """Sends records. ``produce`` queues; ``flush`` waits for acks and reports where records landed.

    Idempotent and transactional producers use the same ``produce``/``flush``; transactions add the
    begin/commit/abort calls, so callers written for a plain producer keep working.
    """

    def produce(
        self,
        topic: str,
        value: bytes | None,
        *,
        key: bytes | None = None,
        headers: Sequence[tuple[str, bytes]] = (),
        partition: int | None = None,
    ) -> None: ...

    def flush(self, timeout: float = 10.0) -> list[RecordMetadata]:
        """Block until every queued record is acked; return their metadata in produce order.

        Raises ProduceFailed (or BrokerUnavailable) if any record could not be delivered; the records
        not acknowledged are then dropped from the queue, so the caller, who still owns them, produces
        them again rather than finding both copies sent once the broker is back.
        """
        ...

    def begin_transaction(self) -> None: ...

    def send_offsets_to_transaction(
        self, offsets: Mapping[TopicPartition, int], consumer: Consumer
    ) -> None: ...

    def commit_transaction(self) -> None: ...

    def abort_transaction(self) -> None: ...

    def close(self) -> None: ...


class Consumer(Protocol):
    """A member of one consumer group. Never commits on its own: callers commit after processing."""

    @property
    def group_id(self) -> str: ...

    @property
    def member_id(self) -> str: ...

    def subscribe(
        self,
        topics: Sequence[str],
        *,
        on_assign: RebalanceCallback | None = None,
        on_revoke: RebalanceCallback | None = None,
    ) -> None: ...

    def poll(self, max_records: int = 500, timeout: float = 1.0) -> list[Record]:
        """Records from assigned partitions, in offset order per partition. Also drives rebalances."""
        ...

    def commit(self, offsets: Mapping[TopicPartition, int] | None = None) -> None:
        """Commit ``offsets`` (the next offset to read), or the position after everything polled.

        Raises CommitFailed if this member no longer owns a partition in ``offsets``.
        """
        ...

    def assignment(self) -> list[TopicPartition]: ...

    def position(self, tp: TopicPartition) -> int | None: ...

    def seek(self, tp: TopicPartition, offset: int) -> None: ...

    def close(self) -> None:
        """Leave the group (static members do not send LeaveGroup) and release resources."""
        ...


class Admin(Protocol):
    """Cluster metadata and group offsets, as Kafka's Admin API and CLI tools see them."""

    def create_topics(self, specs: Sequence[TopicSpec], *, exist_ok: bool = True) -> None: ...

    def delete_topics(self, names: Sequence[str]) -> None: ...

    def list_topics(self) -> dict[str, int]:
        """Topic name -> partition count (internal topics excluded)."""
        ...

    def end_offsets(self, topics: Sequence[str]) -> dict[TopicPartition, int]:
        """High watermark (read_uncommitted) or last stable offset (read_committed) per partition."""
        ...

    def committed_offsets(self, group_id: str) -> dict[TopicPartition, int]: ...

    def lag(self, group_id: str, topics: Sequence[str] | None = None) -> list[PartitionLag]:
        """Per-partition lag, sorted by topic then partition. ``topics`` defaults to committed ones."""
        ...

    def describe_group(self, group_id: str) -> GroupDescription: ...

    def list_groups(self) -> list[str]: ...


class Broker(Protocol):
    """Factory of clients for one cluster: the one port a service is given."""

    def producer(self, config: ProducerConfig | None = None) -> Producer: ...

    def consumer(self, config: ConsumerConfig) -> Consumer: ...

    def admin(self) -> Admin: ...


class Clock(Protocol):
    """Time as the service should see it: wall time in kafka mode, virtual time in the simulator.

    ``sleep`` in the simulator does not block: it charges the calling actor virtual busy time, so a
    deliberately slow consumer really falls behind on the virtual clock.
    """

    def now_ms(self) -> int: ...

    def sleep(self, ms: int) -> None: ...


# ---------------------------------------------------------------- state store port
# (owned by the services work: the StateStore protocol the order, payment and inventory services use)


class OrderStatus(StrEnum):
    """Where an order is in its saga. PENDING until an outcome arrives; the other two are final."""

    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"

    @property
    def terminal(self) -> bool:
        return self is not OrderStatus.PENDING


class PaymentStatus(StrEnum):
    """A payment's state: declined outright, charged, or charged then refunded."""

    DECLINED = "DECLINED"
    CHARGED = "CHARGED"
    REFUNDED = "REFUNDED"


@dataclass(frozen=True, slots=True)
class Order:
    """An order as the order service stores it. Money is integer cents, so totals add up exactly."""

    order_id: str
    customer_id: str
    product_id: str
    quantity: int
    amount_cents: int
    status: OrderStatus = OrderStatus.PENDING
    reason: str = ""
    created_ms: int = 0
    updated_ms: int = 0


@dataclass(frozen=True, slots=True)
class Payment:
    """The payment service's record of one order's money."""

    order_id: str
    customer_id: str
    amount_cents: int
    status: PaymentStatus


@dataclass(frozen=True, slots=True)
class PaymentTotals:
    """charged: every amount ever charged (refunded ones included); refunded: the part given back."""

    charged_cents: int
    refunded_cents: int


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """A record a transaction decided to send; published after commit, deleted once acked."""

    seq: int
    topic: str
    key: bytes | None
    value: bytes | None
    headers: Headers = ()


class StoreError(Exception):
    """Base of every error the store port raises. ``retriable`` says whether trying again can help."""

    retriable = False


class StoreUnavailable(StoreError):
    """The database could not be reached or the transaction was aborted by it; try again later."""

    retriable = True


class StoreConflict(StoreError):
    """A write broke a uniqueness rule (e.g. the order id exists already)."""


class StoreTransaction(Protocol):
    """The typed operations one transaction offers. Nothing is visible to others until commit."""

    # orders (order service)
    def insert_order(self, order: Order) -> None:
        """Raises StoreConflict if the order id exists."""
        ...

    def get_order(self, order_id: str) -> Order | None: ...

    def set_order_status(self, order_id: str, status: OrderStatus, *, reason: str, now_ms: int) -> bool:
        """Move a PENDING order to ``status``; False (and no change) if unknown or already final."""
        ...

    def list_orders(self, status: OrderStatus | None = None) -> list[Order]:
        """Orders by (created_ms, order_id)."""
        ...

    # payments (payment service)
    def record_payment(self, payment: Payment) -> None:
        """Raises StoreConflict if the order has a payment already."""
        ...

    def get_payment(self, order_id: str) -> Payment | None: ...

    def refund_payment(self, order_id: str) -> bool:
        """CHARGED -> REFUNDED; False (and no change) for any other state."""
        ...

    def payment_totals(self) -> PaymentTotals: ...

    # inventory (inventory service)
    def seed_stock(self, product_id: str, quantity: int) -> None:
        """Create the product with ``quantity`` unless it exists (restarts keep their stock)."""
        ...

    def reserve_stock(self, product_id: str, quantity: int) -> bool:
        """Take ``quantity`` if that much is there, in one conditional write; stock never goes below 0."""
        ...

    def release_stock(self, product_id: str, quantity: int) -> None: ...

    def stock_levels(self) -> dict[str, int]:
        """product id -> units in stock, sorted by product id."""
        ...

    # idempotent consumers
    def is_processed(self, group_id: str, event_id: str) -> bool: ...

    def mark_processed(self, group_id: str, event_id: str) -> None: ...

    # transactional outbox
    def add_outbox(
        self, topic: str, key: bytes | None, value: bytes | None, headers: Headers = ()
    ) -> None: ...

    def pending_outbox(self, limit: int = 1000) -> list[OutboxEntry]:
        """Entries not yet marked published, oldest first."""
        ...

    def mark_published(self, seqs: Sequence[int]) -> None: ...


class StateStore(Protocol):
    """One service's database. ``transaction()`` commits on normal exit and rolls back on an exception."""

    def transaction(self) -> AbstractContextManager[StoreTransaction]: ...

    def close(self) -> None: ...

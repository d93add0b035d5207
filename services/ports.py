"""The ports the services depend on: a Kafka-shaped broker and a state store.

Both worlds implement these: ``adapters.sim_broker`` over the simulator and
``adapters.kafka_broker`` over confluent-kafka. No library type ever crosses
this boundary; adapters translate their library's errors into the port's exceptions
(``services.port_errors``), so a service handles a broker outage the same way in both worlds.
The port's data types live in ``services.port_types``, the state store port in ``services.store_port``;
everything is importable from here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from services.port_errors import (
    BrokerError,
    BrokerUnavailable,
    ClientClosed,
    CommitFailed,
    CoordinatorNotAvailable,
    FencedInstance,
    GroupNotEmpty,
    InvalidConfig,
    InvalidRecord,
    NotEnoughReplicas,
    OffsetOutOfRange,
    PartitionNotAssigned,
    PolicyViolation,
    ProduceFailed,
    ProducerFenced,
    RebalanceInProgress,
    RecordTooLarge,
    TopicAlreadyExists,
    TransactionStateError,
    UnknownGroup,
    UnknownTopic,
    UnreleasedInstance,
)
from services.port_types import (
    Assignor,
    ConfigEntry,
    ConsumerConfig,
    DeliveryCallback,
    GroupDescription,
    GroupProtocol,
    Headers,
    LogAppendTimeRecord,
    MemberDescription,
    OffsetReset,
    PartitionInfo,
    PartitionLag,
    ProducerConfig,
    Record,
    RecordMetadata,
    RemoteAssignor,
    TimestampType,
    TopicPartition,
    TopicSpec,
)
from services.store_port import (
    Order,
    OrderStatus,
    OutboxEntry,
    Payment,
    PaymentStatus,
    PaymentTotals,
    StateStore,
    StoreConflict,
    StoreError,
    StoreTransaction,
    StoreUnavailable,
)

__all__ = [
    "Admin", "Assignor", "Broker", "BrokerError", "BrokerUnavailable", "ClientClosed", "Clock", "CommitFailed",
    "ConfigEntry", "Consumer", "ConsumerConfig", "CoordinatorNotAvailable", "DeliveryCallback", "FencedInstance",
    "GroupDescription", "GroupNotEmpty", "Headers", "InvalidConfig", "InvalidRecord", "LogAppendTimeRecord",
    "MemberDescription",
    "OffsetOutOfRange", "OffsetReset", "Order", "OrderStatus", "OutboxEntry", "PartitionLag",
    "PartitionNotAssigned", "Payment", "PaymentStatus", "PaymentTotals", "PolicyViolation", "ProduceFailed",
    "Producer", "ProducerConfig", "ProducerFenced", "RebalanceCallback", "RebalanceInProgress", "Record",
    "RecordMetadata", "RecordTooLarge", "StateStore", "StoreConflict", "StoreError", "StoreTransaction",
    "StoreUnavailable", "TimestampType", "TopicAlreadyExists", "TopicPartition", "TopicSpec",
    "TransactionStateError", "UnknownGroup", "UnknownTopic",
    "GroupProtocol", "RemoteAssignor", "UnreleasedInstance",
    "TransactionStateError", "UnknownGroup", "UnknownTopic", "NotEnoughReplicas", "PartitionInfo",
]

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
        headers: Sequence[tuple[str, bytes | None]] = (),
        partition: int | None = None,
        timestamp: int | None = None,
        on_delivery: DeliveryCallback | None = None,
    ) -> None:
        """Queue one record. Keys, values and header values are bytes or None (InvalidRecord otherwise,
        str included: encode it yourself); ``timestamp`` (ms since the epoch, CreateTime) defaults to
        the producer's clock. A record over ``message_max_bytes`` raises RecordTooLarge here;
        a transactional producer outside a transaction raises TransactionStateError.
        ``on_delivery(error, metadata)`` is called once for this record when its fate is known."""
        ...

    def flush(self, timeout: float = 10.0) -> Sequence[RecordMetadata]:
        """Block until every queued record is acked; return their metadata in produce order (a sequence
        that compares equal to a list; the simulator builds it only when it is looked at).

        Raises ProduceFailed (or BrokerUnavailable) if any record could not be delivered (after every
        delivery callback ran); the records not acknowledged are then dropped from the queue, so the
        caller, who still owns them, produces them again rather than finding both copies sent once the
        broker is back. With acks=0 the broker never answers: offsets are None and errors the broker
        would have reported are lost.
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

    def assign(self, partitions: Sequence[TopicPartition]) -> None:
        """Manual assignment: read exactly these partitions, outside any group rebalance (no subscribe).
        Positions start at the group's committed offset, else auto_offset_reset; commits are accepted
        only while the group has no members."""
        ...

    def unsubscribe(self) -> None:
        """Leave the group (on_revoke runs for what was owned) or drop the manual assignment."""
        ...

    def assignment(self) -> list[TopicPartition]: ...

    def position(self, tp: TopicPartition) -> int | None:
        """The offset after the last record returned (or the offset sought); None before either."""
        ...

    def seek(self, tp: TopicPartition, offset: int) -> None:
        """Next poll reads ``tp`` from ``offset``. PartitionNotAssigned if ``tp`` is not assigned."""
        ...

    def pause(self, partitions: Sequence[TopicPartition]) -> None:
        """Stop fetching these partitions (the member stays in the group). PartitionNotAssigned if one
        is not assigned; a partition revoked by a rebalance forgets it was paused."""
        ...

    def resume(self, partitions: Sequence[TopicPartition]) -> None: ...

    def paused(self) -> list[TopicPartition]: ...

    def close(self) -> None:
        """Leave the group (static members do not send LeaveGroup) and release resources."""
        ...


class Admin(Protocol):
    """Cluster metadata, offsets, configs and groups, as Kafka's Admin API and CLI tools see them."""

    def create_topics(self, specs: Sequence[TopicSpec], *, exist_ok: bool = True) -> None:
        """InvalidConfig for a config name, type or value the broker does not accept."""
        ...

    def delete_topics(self, names: Sequence[str]) -> None: ...

    def list_topics(self) -> dict[str, int]:
        """Topic name -> partition count (internal topics excluded)."""
        ...

    def create_partitions(self, topic: str, total: int) -> None:
        """Grow ``topic`` to ``total`` partitions (never shrink: InvalidConfig). Consumers of the topic
        notice at their next metadata refresh and rebalance."""
        ...

    def describe_topic_config(self, topic: str) -> dict[str, ConfigEntry]:
        """Every topic config by name, set on the topic or the broker's default (sorted by name)."""
        ...

    def alter_topic_config(self, topic: str, set: Mapping[str, str] | None = None,
                           delete: Sequence[str] = ()) -> None:
        """Set and remove topic configs (incremental, like ``kafka-configs --alter``)."""
        ...

    def beginning_offsets(self, topics: Sequence[str]) -> dict[TopicPartition, int]:
        """Log start offset per partition: moved by retention and delete_records, never by compaction."""
        ...

    def end_offsets(self, topics: Sequence[str]) -> dict[TopicPartition, int]:
        """High watermark (read_uncommitted) or last stable offset (read_committed) per partition."""
        ...

    def offsets_for_times(self, timestamps: Mapping[TopicPartition, int]) -> dict[TopicPartition, int | None]:
        """The first offset whose record timestamp is >= the given ms, or None when there is none."""
        ...

    def delete_records(self, before: Mapping[TopicPartition, int]) -> dict[TopicPartition, int]:
        """Delete every record below the offset given per partition; returns the new log start offsets.
        OffsetOutOfRange beyond the high watermark; PolicyViolation on a topic without cleanup.policy=delete."""
        ...

    def committed_offsets(self, group_id: str) -> dict[TopicPartition, int]: ...

    def alter_group_offsets(self, group_id: str, offsets: Mapping[TopicPartition, int]) -> None:
        """Set a group's committed offsets (creates the group if needed). GroupNotEmpty while it has members."""
        ...

    def lag(self, group_id: str, topics: Sequence[str] | None = None) -> list[PartitionLag]:
        """Per-partition lag, sorted by topic then partition. ``topics`` defaults to committed ones."""
        ...

    def describe_group(self, group_id: str) -> GroupDescription: ...

    def describe_partitions(self, topics: Sequence[str]) -> list[PartitionInfo]:
        """Leader, replicas and ISR of every partition of ``topics`` (kafka-topics --describe), sorted."""
        ...

    def list_groups(self) -> list[str]: ...

    def delete_group(self, group_id: str) -> None:
        """Forget the group and its offsets. GroupNotEmpty while it has members, UnknownGroup if none."""
        ...


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

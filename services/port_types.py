"""The broker port's data: records, where they landed, topics, groups, configs and client settings.

Plain frozen dataclasses with Kafka's names; no library type ever crosses the port.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from services.port_errors import BrokerError, InvalidRecord

# A header value may be None: Kafka keeps a null header value as null.
Headers = tuple[tuple[str, bytes | None], ...]
TimestampType = Literal["CreateTime", "LogAppendTime"]


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
    # CreateTime: set by the producer (or its clock). A record whose timestamp is the broker's clock at
    # append (the topic's message.timestamp.type=LogAppendTime) is a LogAppendTimeRecord. A class
    # attribute, not a field: it costs a fetch nothing.
    timestamp_type: ClassVar[TimestampType] = "CreateTime"

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
class LogAppendTimeRecord(Record):
    """A record whose timestamp the broker set when it appended the record."""

    timestamp_type: ClassVar[TimestampType] = "LogAppendTime"


@dataclass(frozen=True, slots=True)
class RecordMetadata:
    """Where the broker put a produced record. ``offset`` is None when it is not known: with acks=0
    the broker never answers, and a record that failed was never written."""

    topic: str
    partition: int
    offset: int | None


RECORD_OVERHEAD = 36  # librdkafka's worst case for one record's varints and attributes (MessageSet v2)


def _varint_len(n: int) -> int:
    """Bytes of a zigzag varint holding ``n`` (a length, or -1 for null)."""
    z = (n << 1) ^ (n >> 63)
    return 1 if z < 0x80 else 2 if z < 0x4000 else 3 if z < 0x200000 else 4 if z < 0x10000000 else 5


def record_wire_size(key: object, value: object, headers: object) -> int:
    """Check one record's parts and return its size as librdkafka counts it against message.max.bytes.

    The port's one rule for what a record is, applied by both worlds before anything is queued: keys,
    values and header values are bytes or None (never str: encode it yourself, so the bytes on the
    wire are the ones you chose), header names str. Raises InvalidRecord otherwise.
    """
    size = RECORD_OVERHEAD
    if key is not None:
        if key.__class__ is not bytes and not isinstance(key, bytes):
            raise InvalidRecord(f"record key must be bytes or None, not {type(key).__name__}{_hint(key)}")
        size += len(key)
    if value is not None:
        if value.__class__ is not bytes and not isinstance(value, bytes):
            raise InvalidRecord(f"record value must be bytes or None, not {type(value).__name__}{_hint(value)}")
        size += len(value)
    if headers:
        size += headers_size(headers)
    return size


def headers_size(headers: object) -> int:
    """Header bytes on the wire: per header two zigzag varints (name and value lengths) and the bytes.
    Raises InvalidRecord for anything that is not a sequence of (str, bytes | None) pairs."""
    if headers.__class__ is not tuple and isinstance(headers, (str, bytes, dict)):
        raise InvalidRecord("record headers must be a sequence of (name, value) pairs")
    size = 0
    try:
        for name, v in headers:
            if name.__class__ is not str and not isinstance(name, str):
                raise InvalidRecord(f"a header name must be str, not {type(name).__name__}")
            n = len(name) if name.isascii() else len(name.encode())
            if v.__class__ is bytes or isinstance(v, bytes):
                m = len(v)
                size += n + m + 2 if n < 64 and m < 64 else n + m + _varint_len(n) + _varint_len(m)
            elif v is None:
                size += n + 1 + _varint_len(n)
            else:
                raise InvalidRecord(f"header {name!r} must be bytes or None, not {type(v).__name__}{_hint(v)}")
    except (TypeError, ValueError) as exc:
        if isinstance(exc, InvalidRecord):
            raise
        raise InvalidRecord(f"record headers must be (name, value) pairs: {exc}") from None
    return size


def check_timestamp(timestamp: object) -> int:
    """A producer-set timestamp: positive milliseconds since the epoch (CreateTime)."""
    if not isinstance(timestamp, int) or isinstance(timestamp, bool) or timestamp <= 0:
        raise InvalidRecord(f"timestamp must be positive milliseconds since the epoch, not {timestamp!r}")
    return timestamp


def _hint(value: object) -> str:
    return f" (encode it first: {value!r}.encode())" if isinstance(value, str) else ""


# Called once per record, from flush() (the Kafka adapter may also call it from a later produce()):
# (None, metadata) when the record was written, (error, metadata with offset None) when it was not.
DeliveryCallback = Callable[[BrokerError | None, RecordMetadata], None]


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A topic to create."""

    name: str
    partitions: int = 1
    replication_factor: int = 1
    config: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PartitionInfo:
    """One partition as ``kafka-topics --describe`` shows it: leader (None: offline), replicas, ISR."""

    topic: str
    partition: int
    leader: int | None
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    leader_epoch: int | None = None  # None where the client does not report it

    def describe(self) -> str:
        ids = lambda xs: ",".join(map(str, xs))  # noqa: E731
        leader = "none" if self.leader is None else self.leader
        return (f"Topic: {self.topic}\tPartition: {self.partition}\tLeader: {leader}\t"
                f"Replicas: {ids(self.replicas)}\tIsr: {ids(self.isr)}")


@dataclass(frozen=True, slots=True)
class ConfigEntry:
    """One topic config as the broker describes it: set on the topic, or the broker's default."""

    name: str
    value: str | None
    is_default: bool  # False when set on the topic itself (kafka-configs --alter)


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
GroupProtocol = Literal["classic", "consumer"]  # consumer: KIP-848, the broker assigns
RemoteAssignor = Literal["uniform", "range"]  # the broker-side assignors of the consumer protocol
OffsetReset = Literal["earliest", "latest", "error"]


@dataclass(frozen=True, slots=True)
class ProducerConfig:
    """Producer settings both worlds understand (names and defaults follow librdkafka's configs).

    Both worlds refuse what librdkafka refuses (an unknown compression type, linger_ms outside
    0..900000, acks other than all with idempotence, ...) with InvalidConfig.
    """

    client_id: str = "kafkalab"
    acks: Literal["0", "1", "all"] = "all"
    enable_idempotence: bool = False
    transactional_id: str | None = None
    linger_ms: int = 5
    retries: int = 2_147_483_647
    compression_type: str = "none"
    message_max_bytes: int = 1_000_000  # the client refuses a larger record at produce()
    sticky_partitioning_linger_ms: int = 10  # keyless records stick to one partition this long


@dataclass(frozen=True, slots=True)
class ConsumerConfig:
    """Consumer group member settings (Kafka's names, milliseconds). Commits are always manual."""

    group_id: str
    client_id: str = "kafkalab"
    auto_offset_reset: OffsetReset = "earliest"
    assignor: Assignor = "range"
    session_timeout_ms: int = 45_000  # the broker refuses values outside group.min/max.session.timeout.ms
    heartbeat_interval_ms: int = 3_000
    max_poll_interval_ms: int = 300_000
    group_instance_id: str | None = None  # static membership
    isolation_level: Literal["read_committed", "read_uncommitted"] = "read_committed"
    # How often the client refreshes metadata: a group notices partitions added to a subscribed topic
    # only then (librdkafka's default: 5 minutes).
    topic_metadata_refresh_interval_ms: int = 300_000
    # group.protocol. Under "consumer" (KIP-848) the broker assigns (remote_assignor; None: its default,
    # uniform) and owns session and heartbeat timing (group.consumer.*): then assignor, session_timeout_ms
    # and heartbeat_interval_ms must keep their defaults here, as librdkafka refuses them when set.
    group_protocol: GroupProtocol = "classic"
    remote_assignor: RemoteAssignor | None = None

"""The broker port's exceptions. Both worlds raise exactly these: the simulator directly, the
confluent-kafka adapter by translating librdkafka's error codes (``adapters.kafka_errors``), so a
service handles an outage, a fenced member or a record that is too large the same way in both.
"""

from __future__ import annotations


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


class InvalidConfig(BrokerError):
    """A setting is missing, malformed or contradictory; the message names it (Kafka: INVALID_CONFIG,
    librdkafka: an invalid configuration property)."""


class PolicyViolation(BrokerError):
    """The broker refused a request its rules forbid, e.g. deleting records of a compacted-only topic."""


class InvalidRecord(BrokerError, TypeError):
    """``produce`` was given something that is not a record: keys, values and header values are bytes
    or None, header names str, timestamps positive milliseconds. Nothing was queued."""


class ProduceFailed(BrokerError):
    """A record was not acknowledged; ``retriable`` tells whether a retry may succeed."""

    def __init__(self, message: str, *, retriable: bool = False) -> None:
        super().__init__(message)
        self.retriable = retriable


class RecordTooLarge(ProduceFailed):
    """A record (or the batch it travelled in) is larger than the client's ``message.max.bytes``
    (raised by ``produce``) or the topic's ``max.message.bytes`` (raised by ``flush``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retriable=False)


class NotEnoughReplicas(ProduceFailed):
    """acks=all while fewer replicas are in sync than the topic's min.insync.replicas; nothing was
    written. Retriable: it succeeds once enough replicas are back in sync."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retriable=True)


class ProducerFenced(ProduceFailed):
    """A newer producer with the same transactional id took over; this one can never send again."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retriable=False)


class TransactionStateError(BrokerError):
    """A transactional call made in the wrong state: produce or commit before begin_transaction(),
    begin while a transaction is open, or a transactional call on a plain producer."""


class CommitFailed(BrokerError):
    """The commit was rejected: the member was fenced or a rebalance took its partitions."""


class RebalanceInProgress(CommitFailed):
    """The group is rebalancing; the commit may succeed after the member rejoins."""

    retriable = True


class FencedInstance(CommitFailed):
    """A newer consumer with the same group_instance_id took this static member's place; this consumer
    is finished (librdkafka raises it as a fatal error) and must be closed."""


class UnreleasedInstance(BrokerError):
    """Consumer protocol: this consumer's group_instance_id is held by a member that is still in the group
    (UNRELEASED_INSTANCE_ID). The newly joining consumer is refused (librdkafka: fatal) and must be closed;
    the existing member keeps its place. (The classic protocol fences the existing one: FencedInstance.)"""


class OffsetOutOfRange(BrokerError):
    """No valid position and auto_offset_reset='error': no committed offset, or the position fell
    outside the log (e.g. retention deleted the records it pointed at)."""


class PartitionNotAssigned(BrokerError):
    """seek/pause/resume named a partition that is not assigned to this consumer."""


class GroupNotEmpty(BrokerError):
    """The group still has members: delete it, or reset its offsets, only once every member left."""


class UnknownGroup(BrokerError):
    """No such consumer group (never used, or deleted)."""


class ClientClosed(RuntimeError):
    """The client was closed (or crashed by a fault); using it again is a programming error."""

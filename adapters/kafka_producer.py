"""The broker port's Producer over ``confluent_kafka.Producer``."""

from __future__ import annotations

import collections
import time
from collections.abc import Mapping, Sequence
from typing import Any

import confluent_kafka
from confluent_kafka import KafkaError, KafkaException

from adapters.kafka_errors import ConnectionWatch, produce_failed
from services.port_types import check_timestamp, record_wire_size
from services.ports import (
    BrokerError,
    Consumer,
    DeliveryCallback,
    InvalidConfig,
    ProduceFailed,
    RecordMetadata,
    TopicPartition,
    TransactionStateError,
    UnknownTopic,
)

TRANSACTION_TIMEOUT_S = 30.0


def _plainly_valid(key: object, value: object, headers: object) -> bool:
    """True for the common record (bytes or None; headers (str, bytes | None) tuples), checked in a
    fraction of the time the port's full rules take; anything else goes through those rules. The size
    they compute is not needed here: librdkafka counts message.max.bytes itself."""
    if not (key is None or key.__class__ is bytes) or not (value is None or value.__class__ is bytes):
        return False
    if headers.__class__ is not tuple and headers.__class__ is not list:
        return not headers and headers.__class__ is not str and headers.__class__ is not bytes
    for header in headers:  # type: ignore[attr-defined]
        if header.__class__ is not tuple or len(header) != 2:
            return False
        name, v = header
        if name.__class__ is not str or not (v is None or v.__class__ is bytes):
            return False
    return True


def _metadata(msg: confluent_kafka.Message) -> RecordMetadata:
    offset = msg.offset()
    return RecordMetadata(msg.topic(), msg.partition(), offset if offset is not None and offset >= 0 else None)


class _Batch:
    """The records produced since the last flush and their delivery reports.

    Every record of a batch shares one delivery callback (a closure per record would be an allocation
    the garbage collector then walks, per record, until the ack). librdkafka reports in delivery order,
    which is produce order within a partition but not across partitions, so the batch also keeps
    references to each record's topic, key and value (no copy): ``in_produce_order`` matches the reports
    back to them, the only time the order is needed (flush's metadata, when someone looks at it).
    """

    __slots__ = ("reports", "failures", "topics", "keys", "values", "delivered")

    def __init__(self) -> None:
        self.reports: list[confluent_kafka.Message] = []  # delivered or failed, in delivery order
        self.failures: list[KafkaError] = []
        self.topics: list[str] = []
        self.keys: list[bytes | None] = []
        self.values: list[bytes | None] = []
        reports, failures = self.reports, self.failures

        def delivered(err: KafkaError | None, msg: confluent_kafka.Message) -> None:
            reports.append(msg)
            if err is not None:
                failures.append(err)

        self.delivered = delivered

    def told(self, on_delivery: DeliveryCallback) -> Any:
        """A record's own callback (the caller asked for one): the batch's report, then the caller's."""
        delivered = self.delivered

        def delivered_and_told(err: KafkaError | None, msg: confluent_kafka.Message) -> None:
            delivered(err, msg)
            metadata = _metadata(msg)
            if err is not None:
                metadata = RecordMetadata(metadata.topic, metadata.partition, None)
            on_delivery(None if err is None else produce_failed(err, action=f"deliver to {msg.topic()}"), metadata)

        return delivered_and_told

    def sent(self, topic: str, key: bytes | None, value: bytes | None) -> int:
        self.topics.append(topic)
        self.keys.append(key)
        self.values.append(value)
        return len(self.topics)


def in_produce_order(
    reports: list[confluent_kafka.Message], topics: list[str], keys: list[object], values: list[object]
) -> list[confluent_kafka.Message]:
    """The delivery reports reordered as the records were produced.

    Reports of one partition come in produce order, so the report of the next record produced is at
    the head of its partition's queue: the head whose topic, key and value are the record's. Records
    alike in all three are interchangeable; should nothing match (never expected), delivery order.
    """
    queues: dict[tuple[str, int], collections.deque[confluent_kafka.Message]] = {}
    for msg in reports:
        queues.setdefault((msg.topic(), msg.partition()), collections.deque()).append(msg)
    if len(queues) <= 1 or len(reports) != len(topics):
        return reports
    of_topic: dict[str, list[collections.deque[confluent_kafka.Message]]] = {}
    for (topic, _), queue in queues.items():
        of_topic.setdefault(topic, []).append(queue)
    ordered = []
    for topic, key, value in zip(topics, keys, values, strict=True):
        for queue in of_topic.get(topic, ()):
            if queue and queue[0].key() == key and queue[0].value() == value:
                ordered.append(queue.popleft())
                break
        else:
            return reports
    return ordered


class FlushedMetadata(Sequence):
    """What flush() returns: RecordMetadata in produce order, built the first time it is looked at
    (the services never look: they only need the flush to succeed). Compares equal to a list."""

    __slots__ = ("_batch", "_items")

    def __init__(self, batch: _Batch) -> None:
        self._batch: _Batch | None = batch
        self._items: list[RecordMetadata] | None = None

    def _list(self) -> list[RecordMetadata]:
        if self._items is None:
            batch, self._batch = self._batch, None
            assert batch is not None
            ordered = in_produce_order(batch.reports, batch.topics, batch.keys, batch.values)
            self._items = [_metadata(m) for m in ordered]
        return self._items

    def __len__(self) -> int:
        return len(self._batch.reports) if self._items is None else len(self._items)  # type: ignore[union-attr]

    def __getitem__(self, index: Any) -> Any:
        return self._list()[index]

    def __iter__(self) -> Any:
        return iter(self._list())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, list | tuple | FlushedMetadata):
            return self._list() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # a list-like sequence

    def __repr__(self) -> str:
        return repr(self._list())


class KafkaProducer:
    """Queues records; ``flush`` waits for acks. Transactions start lazily (init on first begin)."""

    def __init__(self, settings: dict[str, Any], watch: ConnectionWatch) -> None:
        self._watch = watch
        self._transactional = "transactional.id" in settings
        self._initialised = False
        self.settings = settings  # what librdkafka was given (a benchmark builds the raw client from it)
        try:
            self._producer = confluent_kafka.Producer(settings)
        except KafkaException as exc:
            raise watch.translate(exc, "create producer") from exc
        self._batch = _Batch()
        self._closed = False

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
        if not _plainly_valid(key, value, headers):
            record_wire_size(key, value, headers)  # the port's record rules (InvalidRecord), before librdkafka's
        batch = self._batch
        delivered = batch.delivered if on_delivery is None else batch.told(on_delivery)
        if headers.__class__ is not list:  # librdkafka takes a list (or a dict), not a tuple
            headers = list(headers) if headers else None  # type: ignore[assignment]
        kwargs: dict[str, Any] | None = None
        if partition is not None or timestamp is not None:  # the common case builds no kwargs dict
            kwargs = {"value": value, "key": key, "on_delivery": delivered, "headers": headers}
            if partition is not None:
                kwargs["partition"] = partition
            if timestamp is not None:
                kwargs["timestamp"] = check_timestamp(timestamp)
        for attempt in range(2):
            try:
                if kwargs is None:
                    self._producer.produce(topic, value, key, on_delivery=delivered, headers=headers)
                else:
                    self._producer.produce(topic, **kwargs)
                break
            except BufferError as exc:
                # The local queue is full: serve delivery reports for a moment, then try once more.
                if attempt == 1:
                    raise ProduceFailed(f"local queue full producing to {topic}", retriable=True) from exc
                self._producer.poll(1.0)
            except KafkaException as exc:
                err: KafkaError = exc.args[0]
                if err.code() == KafkaError._STATE:
                    raise TransactionStateError(
                        f"produce to {topic}: {err.str()} [_STATE]: a transactional producer must "
                        "begin_transaction() before produce()"
                    ) from exc
                failure = self._watch.translate(exc, f"produce to {topic}")
                if isinstance(failure, UnknownTopic):  # e.g. an explicit partition the topic does not have
                    raise failure from exc
                raise produce_failed(err, action=f"produce to {topic}") from exc
        if not batch.sent(topic, key, value) & 255:  # serve delivery reports now and then, not per record
            self._producer.poll(0)

    def flush(self, timeout: float = 10.0) -> Sequence[RecordMetadata]:
        batch, self._batch = self._batch, _Batch()
        remaining = self._producer.flush(timeout)
        if remaining:
            # Drop what never left the client so its outcome is definite (not delivered).
            self._producer.purge(in_queue=True, in_flight=False)
            self._producer.poll(0)
            cause = self._watch.last
            message = f"{remaining} record(s) not acknowledged within {timeout:g}s"
            if cause is not None:
                message = self._watch.translate(cause, "produce").args[0] + f" ({message})"
            raise ProduceFailed(message, retriable=True)
        failures = batch.failures
        if failures and isinstance(self._watch.translate(failures[0]), UnknownTopic):
            # The client learns the topic's partitions only after produce(): same error as an early refusal.
            raise self._watch.translate(failures[0], "deliver a record")
        if failures:
            raise produce_failed(
                failures[0],
                action=f"deliver {len(failures)} of {len(batch.topics)} record(s)",
                bootstrap=self._watch.bootstrap if self._watch.last else None,
            )
        self._watch.healthy()
        return FlushedMetadata(batch)

    # ------------------------------------------------------------ transactions

    def begin_transaction(self) -> None:
        self._require_transactional("begin_transaction")
        if not self._initialised:
            self._call("init transactions", self._producer.init_transactions, TRANSACTION_TIMEOUT_S)
            self._initialised = True
        self._call("begin transaction", self._producer.begin_transaction)

    def send_offsets_to_transaction(self, offsets: Mapping[TopicPartition, int], consumer: Consumer) -> None:
        self._require_transactional("send_offsets_to_transaction")
        group_metadata = getattr(consumer, "group_metadata", None)
        if group_metadata is None:
            raise InvalidConfig("send_offsets_to_transaction needs a consumer from the same KafkaBroker")
        positions = [
            confluent_kafka.TopicPartition(tp.topic, tp.partition, off) for tp, off in offsets.items()
        ]
        self._call(
            "send offsets to transaction",
            self._producer.send_offsets_to_transaction,
            positions,
            group_metadata(),
            TRANSACTION_TIMEOUT_S,
        )

    def commit_transaction(self) -> None:
        self._require_transactional("commit_transaction")
        self._call("commit transaction", self._producer.commit_transaction, TRANSACTION_TIMEOUT_S)

    def abort_transaction(self) -> None:
        self._require_transactional("abort_transaction")
        self._call("abort transaction", self._producer.abort_transaction, TRANSACTION_TIMEOUT_S)
        # Records of the aborted transaction were purged; their reports must not leak into the next flush.
        self._producer.poll(0)
        self._batch = _Batch()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        deadline = time.monotonic() + 5.0
        while len(self._producer) and time.monotonic() < deadline:
            self._producer.flush(0.5)

    # ------------------------------------------------------------ helpers

    def _require_transactional(self, what: str) -> None:
        if not self._transactional:
            raise TransactionStateError(f"{what}: not a transactional producer (no transactional_id)")

    def _call(self, action: str, fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except KafkaException as exc:
            err: KafkaError = exc.args[0]
            if err.code() == KafkaError._STATE:
                raise TransactionStateError(f"{action}: {err.str()} [_STATE]") from exc
            failure: BrokerError = self._watch.translate(exc, action)
            if err.txn_requires_abort() or err.fatal():
                # Aborting (or, when fatal, recreating the producer) is the way out, not retrying.
                failure = ProduceFailed(
                    f"{failure}. The transaction must be aborted"
                    + (" and the producer recreated (fatal error)." if err.fatal() else "."),
                    retriable=False,
                )
            raise failure from exc

"""The broker port's Consumer over ``confluent_kafka.Consumer``.

Commits are manual and synchronous. ``commit()`` with no arguments commits the position of every owned
partition: librdkafka's application position (after the last record handed out, and past any
transaction markers behind it, as in Java), or, right after a seek, the offset sought. A
commit naming a partition this member no longer owns is refused locally with CommitFailed (classic
Kafka would accept it while the generation is current, silently overwriting the new owner).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import confluent_kafka
from confluent_kafka import KafkaError, KafkaException

from adapters.kafka_errors import ConnectionWatch
from services.ports import (
    BrokerError,
    CommitFailed,
    ConsumerConfig,
    InvalidConfig,
    PartitionNotAssigned,
    RebalanceCallback,
    Record,
    TopicPartition,
)

log = logging.getLogger("kafkalab.kafka")



def _port_tp(tp: confluent_kafka.TopicPartition) -> TopicPartition:
    return TopicPartition(tp.topic, tp.partition)


class MessageRecord(Record):
    """A port Record that reads its fields from librdkafka's Message instead of copying them.

    ``poll`` would otherwise spend more time building Records than librdkafka spends fetching and
    decoding the records (a copy of topic, key, value, headers and timestamp per record). The fields
    are the Message's, so a MessageRecord is equal to (and hashes like) the plain Record with the same
    values; ``dataclasses.replace`` on one gives a plain Record.
    """

    __slots__ = ("_msg", "_headers")

    def __new__(cls, *args: Any, **fields: Any) -> Record:  # type: ignore[misc]
        # Only dataclasses.replace (and explicit construction) call the class: give a plain Record.
        return Record(*args, **fields)

    @property  # type: ignore[override]
    def topic(self) -> str:
        return self._msg.topic()

    @property  # type: ignore[override]
    def partition(self) -> int:
        return self._msg.partition()

    @property  # type: ignore[override]
    def offset(self) -> int:
        return self._msg.offset()

    @property  # type: ignore[override]
    def key(self) -> bytes | None:
        return self._msg.key()

    @property  # type: ignore[override]
    def value(self) -> bytes | None:
        return self._msg.value()

    @property  # type: ignore[override]
    def headers(self) -> tuple[tuple[str, bytes | None], ...]:
        try:
            return self._headers
        except AttributeError:
            found = self._msg.headers()
            headers = () if found is None else tuple(found)
            _set_headers(self, headers)
            return headers

    @property  # type: ignore[override]
    def timestamp(self) -> int:
        return max(self._msg.timestamp()[1], 0)

    @property  # type: ignore[override]
    def timestamp_type(self) -> str:
        kind = self._msg.timestamp()[0]
        return "LogAppendTime" if kind == confluent_kafka.TIMESTAMP_LOG_APPEND_TIME else "CreateTime"

    def _fields(self) -> tuple[Any, ...]:
        return (self.topic, self.partition, self.offset, self.key, self.value, self.headers, self.timestamp)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record):
            return NotImplemented
        return self._fields() == (other.topic, other.partition, other.offset, other.key, other.value,
                                  other.headers, other.timestamp)

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return "Record(topic={!r}, partition={!r}, offset={!r}, key={!r}, value={!r}, headers={!r}, " \
               "timestamp={!r})".format(*self._fields())


_set_msg = MessageRecord._msg.__set__  # type: ignore[attr-defined]
_set_headers = MessageRecord._headers.__set__  # type: ignore[attr-defined]
_new = object.__new__


def _record(msg: confluent_kafka.Message) -> Record:
    record = _new(MessageRecord)
    _set_msg(record, msg)
    return record


class KafkaConsumer:
    """One group member. ``poll`` also serves rebalance callbacks, as in every Kafka client."""

    def __init__(self, config: ConsumerConfig, settings: dict[str, Any], watch: ConnectionWatch) -> None:
        self._config = config
        self._watch = watch
        # The consumer protocol is incremental only, as cooperative-sticky is.
        self._cooperative = config.assignor == "cooperative-sticky" or config.group_protocol == "consumer"
        self.settings = settings  # what librdkafka was given (a benchmark builds the raw client from it)
        try:
            self._consumer = confluent_kafka.Consumer(settings)
        except KafkaException as exc:
            raise watch.translate(exc, "create consumer") from exc
        self._owned: set[TopicPartition] = set()
        # The offset sought: librdkafka reports no position for a partition between a seek and its next
        # record (after a record it does: the position of the record after the last one handed out).
        self._next: dict[TopicPartition, int] = {}
        self._pending_error: BrokerError | None = None
        self._paused: set[TopicPartition] = set()
        self._manual = False  # assign() rather than subscribe()
        self._topics: tuple[str, ...] = ()
        self._on_assign: RebalanceCallback | None = None
        self._on_revoke: RebalanceCallback | None = None
        self._closed = False

    # ------------------------------------------------------------ identity

    @property
    def group_id(self) -> str:
        return self._config.group_id

    @property
    def member_id(self) -> str:
        if self._closed:
            return ""
        return self._consumer.memberid() or ""

    def group_metadata(self) -> object:
        """The opaque group metadata a transactional producer needs (send_offsets_to_transaction)."""
        return self._consumer.consumer_group_metadata()

    # ------------------------------------------------------------ group membership

    def subscribe(
        self,
        topics: Sequence[str],
        *,
        on_assign: RebalanceCallback | None = None,
        on_revoke: RebalanceCallback | None = None,
    ) -> None:
        if self._manual:
            raise InvalidConfig("subscribe() after assign(): call unsubscribe() first")
        self._on_assign, self._on_revoke = on_assign, on_revoke
        self._topics = tuple(topics)
        try:
            self._consumer.subscribe(
                list(topics), on_assign=self._assigned, on_revoke=self._revoked, on_lost=self._lost
            )
        except KafkaException as exc:
            raise self._watch.translate(exc, f"subscribe to {', '.join(topics)}") from exc

    def assign(self, partitions: Sequence[TopicPartition]) -> None:
        if self._topics:
            raise InvalidConfig("assign() while subscribed: call unsubscribe() first")
        wanted = list(dict.fromkeys(partitions))
        try:
            self._consumer.assign([confluent_kafka.TopicPartition(tp.topic, tp.partition) for tp in wanted])
        except KafkaException as exc:
            raise self._watch.translate(exc, "assign") from exc
        self._manual = True
        self._forget(self._owned - set(wanted))
        self._owned = set(wanted)

    def unsubscribe(self) -> None:
        if self._manual:
            self._consumer.unassign()
            self._forget(set(self._owned))
            self._owned.clear()
            self._manual = False
            return
        try:
            self._consumer.unsubscribe()
        except KafkaException as exc:
            raise self._watch.translate(exc, "unsubscribe") from exc
        # The revoke callback is served from the consumer's queue: serve it here, as the port promises.
        deadline = time.monotonic() + 5.0
        while self._owned and time.monotonic() < deadline:
            self._consumer.consume(num_messages=1, timeout=0.1)
        self._on_assign = self._on_revoke = None
        self._topics = ()

    def _forget(self, tps: set[TopicPartition]) -> None:
        for tp in tps:
            self._owned.discard(tp)
            self._next.pop(tp, None)
            self._paused.discard(tp)

    # The client calls assign/unassign (incremental for cooperative) after each callback returns.
    def _assigned(self, _consumer: Any, partitions: list[confluent_kafka.TopicPartition]) -> None:
        added = [_port_tp(tp) for tp in partitions]
        if not self._cooperative:
            self._forget(set(self._owned))
        self._owned.update(added)
        log.debug("assigned", extra={"group": self.group_id, "partitions": [str(t) for t in added]})
        if self._on_assign is not None:
            self._on_assign(sorted(added))

    def _revoked(self, _consumer: Any, partitions: list[confluent_kafka.TopicPartition]) -> None:
        revoked = sorted(_port_tp(tp) for tp in partitions)
        try:
            # Still owned during the callback, so the application may commit its progress here.
            if self._on_revoke is not None:
                self._on_revoke(revoked)
        finally:
            self._forget(set(revoked))

    def _lost(self, consumer: Any, partitions: list[confluent_kafka.TopicPartition]) -> None:
        # Lost (session timeout, max.poll.interval exceeded): someone else may own them already, so
        # drop ownership first; a commit attempted in on_revoke then fails, as it would on the broker.
        lost = [_port_tp(tp) for tp in partitions]
        self._forget(set(lost))
        if self._on_revoke is not None:
            self._on_revoke(sorted(lost))

    # ------------------------------------------------------------ records

    def poll(self, max_records: int = 500, timeout: float = 1.0) -> list[Record]:
        if self._pending_error is not None:
            error, self._pending_error = self._pending_error, None
            raise error
        records: list[Record] = []
        try:
            messages = self._fetch(max(1, max_records), max(0.0, timeout))
        except KafkaException as exc:
            raise self._watch.translate(exc, "poll") from exc
        error: BrokerError | None = None
        append, new, set_msg = records.append, _new, _set_msg
        for msg in messages:
            err = msg.error()
            if err is None:  # the common case: one allocation, no copy (see MessageRecord)
                record = new(MessageRecord)
                set_msg(record, msg)
                append(record)
            elif err.code() == KafkaError._PARTITION_EOF:
                continue
            elif err.code() == KafkaError._MAX_POLL_EXCEEDED:
                # The member left the group; the next poll rejoins and on_revoke has run for what was lost.
                log.warning("max.poll.interval.ms exceeded", extra={"group": self.group_id})
            elif error is None:
                error = self._watch.translate(err, f"consume ({msg.topic() or 'group'})")
        if records:
            self._watch.healthy()
            self._pending_error = error  # report it on the next poll rather than drop these records
        elif error is not None:
            raise error
        elif self._watch.last is not None and self._watch.last.code() in (
            KafkaError._ALL_BROKERS_DOWN,
            KafkaError._RESOLVE,
        ):
            cause, self._watch.last = self._watch.last, None
            raise self._watch.translate(cause, "poll")
        return records

    def _fetch(self, max_records: int, timeout: float) -> list[confluent_kafka.Message]:
        """What has arrived, at once; else wait up to ``timeout`` for the first record only.

        librdkafka's ``consume(n, timeout)`` returns only when n records are there or the timeout
        expires, so a lone record would wait out the whole timeout at every hop of the saga.
        """
        consume = self._consumer.consume
        messages = consume(num_messages=max_records, timeout=0)
        if messages or timeout <= 0:
            return messages
        messages = consume(num_messages=1, timeout=timeout)
        if messages and max_records > 1:
            messages += consume(num_messages=max_records - 1, timeout=0)
        return messages

    def commit(self, offsets: Mapping[TopicPartition, int] | None = None) -> None:
        wanted = self._positions(sorted(self._owned)) if offsets is None else dict(offsets)
        if not wanted:
            return
        not_owned = sorted(tp for tp in wanted if tp not in self._owned)
        if not_owned:
            raise CommitFailed(
                f"commit refused: member {self.member_id or '?'} of group {self.group_id} no longer owns "
                f"{', '.join(map(str, not_owned))} (a rebalance moved them; the new owner will reprocess)"
            )
        request = [
            confluent_kafka.TopicPartition(tp.topic, tp.partition, off) for tp, off in sorted(wanted.items())
        ]
        try:
            result = self._consumer.commit(offsets=request, asynchronous=False)
        except KafkaException as exc:
            raise self._watch.translate(exc, f"commit for group {self.group_id}") from exc
        for tp in result or ():
            if tp.error is not None:
                raise self._watch.translate(tp.error, f"commit {tp.topic}-{tp.partition}")

    # ------------------------------------------------------------ positions

    def assignment(self) -> list[TopicPartition]:
        return sorted(self._owned)

    def position(self, tp: TopicPartition) -> int | None:
        return self._positions([tp]).get(tp)

    def _positions(self, wanted: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        if not wanted:
            return {}
        try:
            found = self._consumer.position(
                [confluent_kafka.TopicPartition(tp.topic, tp.partition) for tp in wanted]
            )
        except KafkaException as exc:
            raise self._watch.translate(exc, "positions") from exc
        positions = {}
        for tp, lib in zip(wanted, found, strict=True):
            offset = lib.offset if lib.offset >= 0 else self._next.get(tp)
            if offset is not None:
                positions[tp] = offset
        return positions

    def _check_owned(self, tps: Sequence[TopicPartition], action: str) -> list[confluent_kafka.TopicPartition]:
        missing = [str(tp) for tp in tps if tp not in self._owned]
        if missing:
            raise PartitionNotAssigned(f"{action}: {', '.join(missing)} not assigned to this consumer")
        return [confluent_kafka.TopicPartition(tp.topic, tp.partition) for tp in tps]

    def pause(self, partitions: Sequence[TopicPartition]) -> None:
        self._set_paused(partitions, True)

    def resume(self, partitions: Sequence[TopicPartition]) -> None:
        self._set_paused(partitions, False)

    def _set_paused(self, partitions: Sequence[TopicPartition], paused: bool) -> None:
        action = "pause" if paused else "resume"
        request = self._check_owned(partitions, action)
        try:
            (self._consumer.pause if paused else self._consumer.resume)(request)
        except KafkaException as exc:
            raise self._watch.translate(exc, action) from exc
        (self._paused.update if paused else self._paused.difference_update)(partitions)

    def paused(self) -> list[TopicPartition]:
        return sorted(self._paused)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self._check_owned([tp], "seek")
        try:
            self._consumer.seek(confluent_kafka.TopicPartition(tp.topic, tp.partition, offset))
        except KafkaException as exc:
            raise self._watch.translate(exc, f"seek {tp} to {offset}") from exc
        self._next[tp] = offset

    def close(self) -> None:
        """Leave the group (librdkafka sends no LeaveGroup for static members) without committing."""
        if self._closed:
            return
        self._closed = True
        try:
            self._consumer.close()
        except (KafkaException, RuntimeError) as exc:
            log.warning("consumer close failed: %s", exc)
        self._forget(set(self._owned))

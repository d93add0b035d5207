"""The broker port's Consumer over ``confluent_kafka.Consumer``.

Commits are manual and synchronous. ``commit()`` with no arguments commits the position of every owned
partition: librdkafka's application position (after the last record handed out, and past any
transaction markers behind it, as in Java), or, right after a seek, the offset sought. A
commit naming a partition this member no longer owns is refused locally with CommitFailed (classic
Kafka would accept it while the generation is current, silently overwriting the new owner).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import confluent_kafka
from confluent_kafka import KafkaError, KafkaException

from adapters.kafka_errors import ConnectionWatch
from services.ports import (
    BrokerError,
    CommitFailed,
    ConsumerConfig,
    RebalanceCallback,
    Record,
    TopicPartition,
)

log = logging.getLogger("kafkalab.kafka")

_ASSIGNORS = {"range": "range", "roundrobin": "roundrobin", "cooperative-sticky": "cooperative-sticky"}


def consumer_settings(config: ConsumerConfig) -> dict[str, Any]:
    """librdkafka settings for ``config``: manual commits, nothing stored behind the caller's back."""
    settings: dict[str, Any] = {
        "group.id": config.group_id,
        "client.id": config.client_id,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "enable.partition.eof": False,
        "auto.offset.reset": config.auto_offset_reset,
        "partition.assignment.strategy": _ASSIGNORS.get(config.assignor, config.assignor),
        "session.timeout.ms": config.session_timeout_ms,
        "heartbeat.interval.ms": config.heartbeat_interval_ms,
        "max.poll.interval.ms": config.max_poll_interval_ms,
        "isolation.level": config.isolation_level,
    }
    if config.group_instance_id:
        settings["group.instance.id"] = config.group_instance_id
    return settings


def _port_tp(tp: confluent_kafka.TopicPartition) -> TopicPartition:
    return TopicPartition(tp.topic, tp.partition)


def _record(msg: confluent_kafka.Message) -> Record:
    headers = tuple((name, bytes(value or b"")) for name, value in (msg.headers() or ()))
    _, timestamp = msg.timestamp()
    return Record(
        topic=msg.topic(),
        partition=msg.partition(),
        offset=msg.offset(),
        key=msg.key(),
        value=msg.value(),
        headers=headers,
        timestamp=max(timestamp, 0),
    )


class KafkaConsumer:
    """One group member. ``poll`` also serves rebalance callbacks, as in every Kafka client."""

    def __init__(self, config: ConsumerConfig, settings: dict[str, Any], watch: ConnectionWatch) -> None:
        self._config = config
        self._watch = watch
        self._cooperative = config.assignor == "cooperative-sticky"
        try:
            self._consumer = confluent_kafka.Consumer(settings)
        except KafkaException as exc:
            raise watch.translate(exc, "create consumer") from exc
        self._owned: set[TopicPartition] = set()
        # Offset after the last record handed out, or the offset sought: librdkafka reports no position
        # for a partition between a seek and its next record, nor before the first record.
        self._next: dict[TopicPartition, int] = {}
        self._pending_error: BrokerError | None = None
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
        self._on_assign, self._on_revoke = on_assign, on_revoke
        try:
            self._consumer.subscribe(
                list(topics), on_assign=self._assigned, on_revoke=self._revoked, on_lost=self._lost
            )
        except KafkaException as exc:
            raise self._watch.translate(exc, f"subscribe to {', '.join(topics)}") from exc

    # The client calls assign/unassign (incremental for cooperative) after each callback returns.
    def _assigned(self, _consumer: Any, partitions: list[confluent_kafka.TopicPartition]) -> None:
        added = [_port_tp(tp) for tp in partitions]
        if not self._cooperative:
            self._owned.clear()
            self._next.clear()
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
            for tp in revoked:
                self._owned.discard(tp)
                self._next.pop(tp, None)

    def _lost(self, consumer: Any, partitions: list[confluent_kafka.TopicPartition]) -> None:
        # Lost (session timeout, max.poll.interval exceeded): someone else may own them already, so
        # drop ownership first; a commit attempted in on_revoke then fails, as it would on the broker.
        lost = [_port_tp(tp) for tp in partitions]
        for tp in lost:
            self._owned.discard(tp)
            self._next.pop(tp, None)
        if self._on_revoke is not None:
            self._on_revoke(sorted(lost))

    # ------------------------------------------------------------ records

    def poll(self, max_records: int = 500, timeout: float = 1.0) -> list[Record]:
        if self._pending_error is not None:
            error, self._pending_error = self._pending_error, None
            raise error
        try:
            messages = self._consumer.consume(num_messages=max(1, max_records), timeout=max(0.0, timeout))
        except KafkaException as exc:
            raise self._watch.translate(exc, "poll") from exc
        records: list[Record] = []
        error: BrokerError | None = None
        for msg in messages:
            err = msg.error()
            if err is None:
                record = _record(msg)
                records.append(record)
                self._next[record.tp] = record.offset + 1
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

    def seek(self, tp: TopicPartition, offset: int) -> None:
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
        self._owned.clear()
        self._next.clear()

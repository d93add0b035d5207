"""One step-driven consumer service: poll a batch, handle it, publish, commit. At least once, no loss.

Per record, in ONE store transaction: check the event id was not processed by this consumer group,
mark it processed, apply the handler's state change, and put the events it causes in the outbox.
After the batch the outbox is published (produce, flush, then delete what was acked) and only then
are offsets committed. So:

- a crash before the store commit: nothing happened; the record is redelivered and handled.
- a crash after the store commit but before publishing: the redelivered record is skipped as a
  duplicate, and its events are still in the outbox, published by the next step of any instance.
- a crash after publishing but before deleting from the outbox or committing offsets: events are
  published again. Their ids are derived from their cause, so consumers skip the copies.

Errors while handling a record: a retriable one (``retriable = True``, or a StoreConflict, which a
concurrent instance causes and a re-read resolves) is retried up to ``max_attempts`` times with
exponential backoff on the injected clock (virtual in the simulator). A permanent one (PoisonRecord,
ProcessingError, any other exception) and an exhausted retriable one send the record to
``<topic>.dlq`` with headers naming source topic, partition, offset, consumer group, error and
attempts, and the consumer moves on. A store outage is different: good records must not be
dead-lettered because the database is down, so the partition is rewound to that record and the step
ends; the next step tries again. Broker errors (poll, produce, commit) end the step the same way:
nothing is lost, because the store state and the outbox are already durable.

Dead-lettering is itself recorded through the outbox, under the failed event's id (or the record's
coordinates if it did not decode), so a redelivered poison record is not dead-lettered twice. A
dead letter sent back to its topic (header ``dlq-redrive-count``) is a new attempt, recorded per
redrive: handled again, and dead-lettered again if it still fails.
The handler's ``on_dead_letter`` may add compensating events (see ``services.saga``).

Settings that change this (``ServiceConfig``; the defaults give everything above):

- ``dead_letter=False``: a record that fails permanently is not parked. Its partition is rewound to
  it and the rest of that partition's batch is left for the next step (other partitions go on), so
  the partition stops at that offset and retries it every step; ``blocked`` names it. Nothing is
  lost or applied twice, but nothing behind it on that partition is processed either.
- ``dedupe=False``: the processed-id check is skipped, so a redelivered or republished event is
  applied again (effects happen once per delivery, not once per event).
- ``work_ms``: each handled event first spends this long on the clock, outside any transaction
  (instances in parallel each spend their own time, as separate processes would).
- ``subscribe``: the topics by name (``orders``, ``payments``, ``inventory``) instead of the handler's.
- ``static_membership``, ``session_timeout_ms``, ``assignor``, ``group_protocol``,
  ``max_poll_interval_ms``: the group member's settings (``group.instance.id`` is the instance's name).
  Under ``group_protocol="consumer"`` the broker assigns and times sessions, so the classic
  ``assignor`` and ``session_timeout_ms`` are not passed on.
- ``startup``: before its first poll an instance creates its topics and looks up its group
  coordinator, retrying per the policy; if it gives up, ``exited`` says why and ``step()`` does
  nothing from then on (the process has ended).
- ``batch_transactions``: the whole polled batch is handled in ONE store transaction (the same
  checks and writes per record, one commit), and the outbox entries it wrote are read in it too.
  The idempotency and outbox rules above hold per record as before: if any record of the batch
  raises (a poison record, a store conflict, an outage), that transaction is rolled back, so none
  of the batch happened, and the batch is handled again one transaction per record, with the
  retries, dead letters and rewinds described above.

``publish_pending`` may also be called from another thread (a relay that publishes the moment an
HTTP request's transaction commits): publishing takes a lock, so two threads never publish the same
entries at once through one producer.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence
from typing import Any

import structlog

from services.codec import Codec
from services.events import SCHEMAS, Event, PoisonRecord, header_text
from services.fault_points import AFTER_PRODUCE, FaultPoints
from services.handling import (
    FailedRecord,
    Handler,
    ProcessingError,
    RetriableError,
    ServiceConfig,
    StartupPolicy,
    subscribed_topics,
)
from services.ports import (
    Broker,
    BrokerError,
    Clock,
    Consumer,
    ConsumerConfig,
    OutboxEntry,
    Producer,
    ProducerConfig,
    Record,
    StateStore,
    StoreConflict,
    StoreError,
    TopicPartition,
)
from services.registry import RegistryUnavailable

REDRIVE_COUNT = "dlq-redrive-count"  # set on a dead letter sent back to its source topic

__all__ = ["EventService", "FailedRecord", "Handler", "ProcessingError", "RetriableError", "ServiceConfig",
           "StartupPolicy"]


def _redriven(record: Record, event: Event) -> Event:
    """A dead letter sent back is a deliberate new attempt, not a duplicate: it goes by its own id
    (the event's, per redrive), so it is handled, and dead-lettered again if it still fails."""
    count = record.header(REDRIVE_COUNT)
    if count is None:
        return event
    return dataclasses.replace(event, event_id=f"{event.event_id}/redrive-{count.decode('ascii', 'replace')}")


def _is_retriable(exc: BaseException) -> bool:
    return bool(getattr(exc, "retriable", False)) or isinstance(exc, StoreConflict)


class _Rewind(Exception):
    """The store is down: stop the batch here and read this record again next step."""


class _Blocked(Exception):
    """No dead-letter queue: this record's partition waits on it (read again next step)."""


class EventService:
    """One instance (one consumer group member) of a service. ``step()`` returns the work it did."""

    def __init__(
        self,
        name: str,
        handler: Handler,
        *,
        broker: Broker,
        store: StateStore,
        clock: Clock,
        logger: Any = None,
        config: ServiceConfig | None = None,
    ) -> None:
        self.name = name
        self.handler = handler
        self.store = store
        self.clock = clock
        self.config = config or ServiceConfig()
        self.group_id = f"{self.config.group_prefix}{handler.group_id}"
        self.topics = self.config.topics
        self._log = (logger or structlog.get_logger("kafkalab.services")).bind(service=name)
        self._broker = broker
        self._consumer: Consumer | None = None
        self._producer: Producer | None = None
        self._stalled = False  # the last step left work undone (broker or store down)
        self._last_trouble: tuple[str, str] | None = None
        self._ignored_types = {t.encode() for t in SCHEMAS if t not in handler.event_types}
        self.subscriptions = subscribed_topics(handler, self.topics, self.config.subscribe)
        self.dead_lettered = 0
        self._encode, self._decode = self.config.codec.encode, self.config.codec.decode
        self.blocked: dict[tuple[str, int], tuple[int, str]] = {}  # (topic, partition) -> (offset, error)
        self.exited: str | None = None  # why startup gave up; the instance does nothing more
        self._starting = self.config.startup is not None
        self._start_attempts = 0
        self.fault_points = FaultPoints()  # where a world may crash this instance (services.fault_points)
        self._publishing = threading.Lock()
        self._batched = self.config.batch_transactions and not self.config.work_ms and not self.config.log_records

    def write_with(self, codec: Codec) -> None:
        """A new version of this instance's producing code: what it publishes from now on is encoded by
        ``codec`` (what it reads is still decoded as before, as in a rolling deploy of the writers)."""
        self._encode = codec.encode

    # ------------------------------------------------------------ the loop body

    def step(self, max_records: int | None = None) -> int:
        """Poll one batch, handle it, publish the outbox, commit. Never raises broker or store errors."""
        if self._starting:
            return self._start_up()
        if self.exited is not None:
            return 0
        try:
            consumer = self._subscribed()
            records = consumer.poll(max_records or self.config.max_records, timeout=self.config.poll_timeout_s)
        except BrokerError as exc:
            self._broker_trouble("poll failed", exc)
            self.publish_pending()
            return 1  # not quiet: the next step must try again
        if self._batched and records:
            batch = self._handle_batch(records)
            if batch is not None:
                return self._finish_batch(consumer, records, batch)
        done: dict[tuple[str, int], int] = {}  # plain tuples: a TopicPartition per record costs
        work = 0
        rewound = False
        halted: set[tuple[str, int]] = set()  # partitions stopped at a record (no dead-letter queue)
        process = self._process
        for i, record in enumerate(records):
            if halted and (record.topic, record.partition) in halted:
                continue
            try:
                process(record)
            except _Blocked:
                self._rewind(consumer, [record])
                halted.add((record.topic, record.partition))
                continue
            except (_Rewind, StoreError):
                self._rewind(consumer, [r for r in records[i:] if (r.topic, r.partition) not in halted])
                rewound = True
                break
            done[record.topic, record.partition] = record.offset + 1
            if self.blocked:
                self.blocked.pop((record.topic, record.partition), None)
            work += 1
        work += self.publish_pending()
        if not self._stalled:
            self._last_trouble = None
        if rewound or self._stalled or halted:
            work = max(work, 1)  # not quiet: something is waiting for the broker or the store
        if done:
            try:
                consumer.commit({TopicPartition(*tp): offset for tp, offset in done.items()})
            except BrokerError as exc:  # durable in the store already: a redelivery is skipped
                self._broker_trouble("commit failed", exc)
        return work

    def publish_pending(self, entries: Sequence[OutboxEntry] | None = None) -> int:
        """Publish the outbox (oldest first) and forget what was acked. Returns records published.
        ``entries``: the outbox as the caller's transaction just read it (no second read)."""
        with self._publishing:
            return self._publish(entries)

    def _publish(self, entries: Sequence[OutboxEntry] | None) -> int:
        self._stalled = True
        if entries is None:
            try:
                with self.store.transaction() as tx:
                    entries = tx.pending_outbox(self.config.outbox_batch)
            except StoreError as exc:
                self._log.warning("outbox read failed", error=repr(exc))
                return 0
        if not entries:
            self._stalled = False
            return 0
        try:
            if self._producer is None:
                acks = self.config.acks
                self._producer = self._broker.producer(ProducerConfig(client_id=self.name, acks=acks,  # type: ignore[arg-type]
                                                                      enable_idempotence=acks == "all"))
            for e in entries:
                self._producer.produce(e.topic, e.value, key=e.key, headers=e.headers)
            self._producer.flush()
        except BrokerError as exc:  # stays in the outbox; the next step publishes it again
            self._broker_trouble("publish failed", exc, pending=len(entries))
            return 0
        self.fault_points.reached(AFTER_PRODUCE)  # acked, not yet marked published: a crash republishes
        try:
            with self.store.transaction() as tx:
                tx.mark_published([e.seq for e in entries])
        except StoreError as exc:  # they will be published twice; consumers skip the copies
            self._log.warning("outbox cleanup failed", error=repr(exc))
        self._stalled = False
        return len(entries)

    def _broker_trouble(self, what: str, exc: BaseException, **fields: Any) -> None:
        # An outage fails every step (every few ms): warn once per kind of trouble, then stay quiet.
        key = (what, type(exc).__name__)
        if key != self._last_trouble:
            self._last_trouble = key
            self._log.warning(what, error=repr(exc), **fields)

    def close(self) -> None:
        """Leave the group and release the clients."""
        for client in (self._consumer, self._producer):
            if client is not None:
                try:
                    client.close()
                except BrokerError as exc:
                    self._log.warning("close failed", error=repr(exc))
        self._consumer = self._producer = None

    @property
    def consumer(self) -> Consumer | None:
        """The group member, once subscribed (fault injection crashes it)."""
        return self._consumer

    @property
    def producer(self) -> Producer | None:
        """The producer, once something was published."""
        return self._producer

    # ------------------------------------------------------------ internals

    def _start_up(self) -> int:
        policy = self.config.startup
        assert policy is not None
        self._start_attempts += 1
        try:
            policy.attempt(self._broker.admin(), self.topics, self.group_id)
        except BrokerError as exc:
            if policy.wait and self._start_attempts <= policy.retries:
                self._broker_trouble("startup failed, retrying", exc)
                self.clock.sleep(policy.backoff(self._start_attempts))
                return 1
            self._starting = False
            self.exited = f"{type(exc).__name__}: {exc}"
            self._log.error("startup failed, exiting", error=self.exited, attempts=self._start_attempts)
            return 0
        self._starting = False
        self._last_trouble = None
        return 1

    def _subscribed(self) -> Consumer:
        if self._consumer is None:
            consumer = self._broker.consumer(self._consumer_config())
            consumer.subscribe(self.subscriptions)
            self._consumer = consumer
        return self._consumer

    def _consumer_config(self) -> ConsumerConfig:
        cfg = self.config
        classic = {"assignor": cfg.assignor, "session_timeout_ms": cfg.session_timeout_ms}
        return ConsumerConfig(
            group_id=self.group_id,
            client_id=self.name,
            group_instance_id=self.name if cfg.static_membership else None,
            max_poll_interval_ms=cfg.max_poll_interval_ms,
            group_protocol=cfg.group_protocol,
            **(classic if cfg.group_protocol == "classic" else {}),  # the consumer protocol's are the broker's
        )

    def _handle_batch(self, records: Sequence[Record]) -> Sequence[OutboxEntry] | None:
        """Every record of the batch in one transaction; the outbox entries pending after it (read
        in it, so only when the batch added some), or None when it was rolled back (nothing happened)."""
        group_id, dedupe, ignored = self.group_id, self.config.dedupe, self._ignored_types
        handle, encode, decode, topics, now = self.handler.handle, self._encode, self._decode, self.topics, self.clock.now_ms
        try:
            with self.store.transaction() as tx:
                events = []
                for record in records:
                    if record.header("event-type") in ignored:
                        continue
                    event = decode(record)
                    events.append(_redriven(record, event) if len(record.headers) > 4 else event)
                # One statement marks the whole batch processed and says which events are new.
                fresh = tx.claim_events(group_id, [e.event_id for e in events])
                outbox = []
                for event in events:
                    if event.event_id in fresh:
                        fresh.discard(event.event_id)  # a second copy inside the batch is a duplicate
                    elif dedupe:
                        continue
                    outbox += [encode(caused, topics) for caused in handle(tx, event, now())]
                tx.add_outbox_many(outbox)
                entries = tx.pending_outbox(self.config.outbox_batch) if outbox else ()
        except Exception:  # rolled back: the per-record path classifies it (retry, DLQ, rewind)
            return None
        return entries

    def _finish_batch(self, consumer: Consumer, records: Sequence[Record], entries: Sequence[OutboxEntry]) -> int:
        done: dict[tuple[str, int], int] = {}
        for record in records:
            done[record.topic, record.partition] = record.offset + 1
        if self.blocked:
            for tp in done:
                self.blocked.pop(tp, None)
        work = len(records) + self.publish_pending(entries or None)
        if not self._stalled:
            self._last_trouble = None
        else:
            work = max(work, 1)
        try:
            consumer.commit({TopicPartition(*tp): offset for tp, offset in done.items()})
        except BrokerError as exc:  # durable in the store already: a redelivery is skipped
            self._broker_trouble("commit failed", exc)
        return work

    def _rewind(self, consumer: Consumer, rest: Sequence[Record]) -> None:
        first: dict[TopicPartition, int] = {}
        for r in rest:
            first.setdefault(r.tp, r.offset)
        for tp, offset in first.items():
            try:
                consumer.seek(tp, offset)
            except BrokerError as exc:
                self._log.warning("seek failed", error=repr(exc), tp=str(tp))

    def _process(self, record: Record) -> None:
        declared = record.header("event-type")
        if declared in self._ignored_types:
            return  # a well-known type this service does not act on: not worth decoding
        try:
            event = self._decode(record)
        except PoisonRecord as exc:
            self._dead_letter(FailedRecord(record, None, exc, 1))
            return
        except RegistryUnavailable as exc:  # good records must not be dead-lettered for an outage
            self._broker_trouble("schema registry unavailable", exc)
            raise _Rewind from exc
        if len(record.headers) > 4:  # the saga's four tracing headers, and something more
            event = _redriven(record, event)
        if self.config.log_records:
            self._record_log(record, event.event_type).debug("handling")
        if self.config.work_ms:
            self.clock.sleep(self.config.work_ms)
        attempt = 0
        while True:
            attempt += 1
            try:
                self._apply(event)
                return
            except Exception as exc:  # every failure is classified below; the consumer never dies
                if _is_retriable(exc) and attempt < self.config.max_attempts:
                    self._record_log(record, event.event_type).info("retrying", error=repr(exc), attempt=attempt)
                    self.clock.sleep(min(self.config.backoff_ms << (attempt - 1), self.config.backoff_max_ms))
                    continue
                if isinstance(exc, StoreError) and exc.retriable:
                    self._record_log(record, event.event_type).warning("store unavailable", error=repr(exc))
                    raise _Rewind from exc
                self._dead_letter(FailedRecord(record, event, exc, attempt))
                return

    def _apply(self, event: Event) -> None:
        group_id, event_id = self.group_id, event.event_id
        with self.store.transaction() as tx:
            if not tx.is_processed(group_id, event_id):
                tx.mark_processed(group_id, event_id)
            elif self.config.dedupe:
                return  # a redelivery or a republished copy: already applied
            caused_events = self.handler.handle(tx, event, self.clock.now_ms())
            for caused in caused_events:
                tx.add_outbox(*self._encode(caused, self.topics))

    def _dead_letter(self, failed: FailedRecord) -> None:
        record = failed.record
        if not self.config.dead_letter:
            self._block(failed)
        self._record_log(record, failed.event_type).warning(
            "dead-lettering", error=repr(failed.error), attempts=failed.attempts
        )
        try:
            self._write_dead_letter(failed, compensate=True)
        except StoreError as exc:
            if exc.retriable:
                raise _Rewind from exc
            raise
        except Exception as exc:  # a broken compensation must not keep the poison record in place
            self._record_log(record, failed.event_type).error("compensation failed", error=repr(exc))
            self._write_dead_letter(failed, compensate=False)

    def _block(self, failed: FailedRecord) -> None:
        record = failed.record
        where = (record.topic, record.partition)
        if self.blocked.get(where, (None, ""))[0] != record.offset:
            error = f"{type(failed.error).__name__}: {failed.error}"
            self._record_log(record, failed.event_type).error("cannot process record; no DLQ, retrying it",
                                                               error=error)
            self.blocked[where] = (record.offset, error)
        raise _Blocked

    def _write_dead_letter(self, failed: FailedRecord, *, compensate: bool) -> None:
        record = failed.record
        with self.store.transaction() as tx:
            if tx.is_processed(self.group_id, failed.cause_id):
                return  # dead-lettered (or handled) before this redelivery
            tx.mark_processed(self.group_id, failed.cause_id)
            dlq_headers = (
                ("dlq-source-topic", record.topic.encode()),
                ("dlq-source-partition", str(record.partition).encode()),
                ("dlq-source-offset", str(record.offset).encode()),
                ("dlq-consumer-group", self.group_id.encode()),
                ("dlq-error", f"{type(failed.error).__name__}: {failed.error}"[:1000].encode()),
                ("dlq-attempts", str(failed.attempts).encode()),
            )
            tx.add_outbox(self.topics.dlq(record.topic), record.key, record.value, record.headers + dlq_headers)
            if compensate:
                for caused in self.handler.on_dead_letter(tx, failed, self.clock.now_ms()):
                    tx.add_outbox(*self._encode(caused, self.topics))
            self.dead_lettered += 1  # counted even if the commit fails; a count, not a ledger

    def _record_log(self, record: Record, event_type: str | None) -> Any:
        return self._log.bind(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            correlation_id=header_text(record, "correlation-id"),
            event_type=event_type,
        )

"""A producer: checks and partitioning at produce(), batches per partition at flush() (``sim.batches``),
idempotence, transactions, delivery reports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from services.port_types import RECORD_OVERHEAD, check_timestamp, headers_size, record_wire_size
from services.ports import (
    BrokerError,
    ClientClosed,
    DeliveryCallback,
    ProducerConfig,
    RecordMetadata,
    RecordTooLarge,
    TopicPartition,
    TransactionStateError,
    UnknownTopic,
)

from .batches import BATCH_LIMIT, Batch
from .client_config import check_producer
from .log import Txn
from .partitioner import StickyPartitioner
from .records import FlushedMetadata, metadata_for

if TYPE_CHECKING:
    from .cluster import Cluster, Topic
    from .consumer import SimConsumer

TRANSACTION_TIMEOUT_MS = 60_000


class SimProducer:
    """Implements ``services.ports.Producer``.

    ``produce`` only queues (like librdkafka, it never talks to the broker, so it works while the
    broker is down); ``flush`` sends the batches and raises, dropping what it could not deliver.
    """

    def __init__(self, cluster: Cluster, config: ProducerConfig | None = None, *, name: str = "") -> None:
        self.config = config = config or ProducerConfig()
        check_producer(config)
        self.name = name or config.client_id
        self._cluster = cluster
        self._sticky = StickyPartitioner(cluster.rng, config.sticky_partitioning_linger_ms)
        self._sticky_current = self._sticky.current
        self._sticky_linger = config.sticky_partitioning_linger_ms
        self._max_bytes = config.message_max_bytes
        self._max_payload = config.message_max_bytes - RECORD_OVERHEAD  # key + value + headers
        self._batch_limit = min(BATCH_LIMIT, config.message_max_bytes)
        self._acks0 = config.acks == "0"
        # Records queued since the last flush, grouped per partition as they arrive (so flush does no
        # per-record grouping): _batch_tps[i] is a (topic, partition) and _batches[i] its (key, value,
        # headers, timestamp) entries; _order holds each record's batch index in produce order, and
        # _callbacks (None until a callback is given) the delivery callbacks by produce index.
        self._slot_of: dict[tuple[str, int], int] = {}
        self._batch_tps: list[tuple[str, int]] = []
        self._batches: list[list[tuple]] = []
        self._header_bytes: list[int] = []  # per batch: its records' header bytes
        self._order: list[int] = []
        self._callbacks: dict[int, DeliveryCallback] | None = None
        self._explicit_ts = False  # a producer-set timestamp is queued: timestamps may not be in order
        self._seq: dict[tuple[str, int], int] = {}
        self._txn: Txn | None = None
        self._closed = False
        self._topics = cluster.topics  # the live dict: topics created later are seen
        self._now_ms = cluster.clock.now_ms
        tid = config.transactional_id
        self._transactional = bool(tid)
        self.idempotent = bool(config.enable_idempotence or tid)
        self.producer_id, self.epoch = -1, 0
        if tid:
            self.producer_id, self.epoch = cluster.txns.init(tid, TRANSACTION_TIMEOUT_MS)
        elif self.idempotent:
            self.producer_id = cluster.txns.allocate_pid()

    # ---------------------------------------------------------------- sending
    def produce(self, topic: str, value: bytes | None, *, key: bytes | None = None,
                headers: Sequence[tuple[str, bytes | None]] = (), partition: int | None = None,
                timestamp: int | None = None, on_delivery: DeliveryCallback | None = None) -> None:
        if self._closed:
            raise ClientClosed(f"producer {self.name} is closed")
        hsize = 0
        if value.__class__ is bytes and not headers and (key is None or key.__class__ is bytes):
            size = len(value) if key is None else len(value) + len(key)  # the common case, inline
        else:
            hsize = headers_size(headers) if headers else 0
            size = record_wire_size(key, value, ()) - RECORD_OVERHEAD + hsize
        if size > self._max_payload:
            raise RecordTooLarge(f"produce to {topic}: a record of {size + RECORD_OVERHEAD} bytes is larger than "
                                 f"message.max.bytes={self._max_bytes} [MSG_SIZE_TOO_LARGE]")
        if self._transactional and self._txn is None:
            raise TransactionStateError("a transactional producer must begin_transaction() before produce() "
                                        "[_STATE: Erroneous state]")
        now = self._now_ms()
        t = self._topics.get(topic)
        if t is None:
            t = self._auto_create(topic)
        if partition is None:
            if key is None:
                found = self._sticky_current.get(topic)  # inline fast path of StickyPartitioner.partition
                if found is not None and now < found[1] and found[2] is t:
                    tp = found[0]
                else:
                    tp = self._sticky.partition(t, now)
            else:
                tp = t.routes.get(key)
                if tp is None:
                    tp = t.route(key)
        elif not 0 <= partition < len(t.partitions):
            raise UnknownTopic(f"unknown partition {topic}-{partition}")
        else:
            tp = (topic, partition)
        slot = self._slot_of.get(tp)
        if slot is None:
            slot = self._slot_of[tp] = len(self._batches)
            self._batch_tps.append(tp)
            self._batches.append([])
            self._header_bytes.append(0)
        if hsize:
            self._header_bytes[slot] += hsize  # counted once here, not again at flush
        self._batches[slot].append((key, value, headers if headers.__class__ is tuple else tuple(headers),
                                    now if timestamp is None else self._stamp(timestamp)))
        if on_delivery is not None:
            if self._callbacks is None:
                self._callbacks = {}
            self._callbacks[len(self._order)] = on_delivery
        self._order.append(slot)

    def _stamp(self, timestamp: object) -> int:
        self._explicit_ts = True
        return check_timestamp(timestamp)

    def _take_queue(self) -> tuple:
        """Hand over (and forget) what was queued: partitions, entries, batch index per record, callbacks."""
        taken = (self._batch_tps, self._batches, self._header_bytes, self._order, self._callbacks,
                 self._explicit_ts)
        self._slot_of, self._batch_tps, self._batches, self._header_bytes, self._order = {}, [], [], [], []
        self._callbacks, self._explicit_ts = None, False
        return taken

    def _auto_create(self, topic: str) -> Topic:
        cluster = self._cluster
        if not cluster.auto_create_topics:
            raise UnknownTopic(f"unknown topic {topic!r} (auto.create.topics.enable=false)")
        return cluster.create_topic(topic, cluster.default_partitions, exist_ok=True)

    def flush(self, timeout: float = 10.0) -> Sequence[RecordMetadata]:
        if self._closed:
            raise ClientClosed(f"producer {self.name} is closed")
        if not self._order:
            return []
        cluster = self._cluster
        # A failed flush drops what it could not deliver, as the confluent-kafka adapter does (it purges on
        # timeout): the caller still holds the records and produces them again, so nothing is sent twice.
        tps, queued, header_bytes, order, callbacks, explicit_ts = self._take_queue()
        try:
            cluster.check_up()
            self._check_fenced()
        except BrokerError as exc:
            self._report(tps, order, callbacks, [None] * len(tps), [exc] * len(tps))
            raise
        now = cluster.clock.now_ms()
        topics = cluster.topics
        bases: list[int | None] = []
        errors: list[BrokerError | None] | None = None
        for tp, entries, hbytes in zip(tps, queued, header_bytes, strict=True):
            batch = Batch(tp, entries, explicit_ts, hbytes)
            topic = topics.get(tp[0])
            refusal = batch.refusal(topic.settings if topic is not None else None, now, self._batch_limit)
            base = None
            if refusal is None:
                try:
                    base = [self._send(chunk) for chunk in batch.chunks(self._batch_limit)][0]
                except BrokerError as exc:  # the leader's answer on a replicated partition (sim.replication)
                    refusal = exc
            if refusal is not None and not (self._acks0 and not isinstance(refusal, UnknownTopic)):
                errors = errors or [None] * len(tps)
                errors[len(bases)] = refusal
            bases.append(None if refusal is not None else base)
        if self._acks0:
            bases = [None] * len(tps)  # the broker never answers: no offsets (and no errors) come back
        metadata = FlushedMetadata(tps, bases, order)
        if callbacks is not None:
            self._report(tps, order, callbacks, bases, errors, metadata)
        if errors is not None:
            raise next(e for e in (errors[slot] for slot in order) if e is not None)
        return metadata

    def _send(self, batch: Batch) -> int:
        """Write one batch (twice if a fault loses its ack); return its first offset."""
        cluster = self._cluster
        tp = batch.tp
        log = cluster.log(*tp)
        rep = log.replicas
        if rep is not None:
            cluster.replication.before_append(rep, self.config.acks, cluster.clock.now_ms())
        seq = self._seq.get(tp, 0) if self.idempotent else -1
        if self._txn is not None:
            cluster.txns.add_partition(self._txn, log)
        now = cluster.clock.now_ms()
        args = (batch.keys, batch.values, batch.headers, batch.stamps, now)
        kwargs = {"batch_bytes": batch.bytes, "max_ts": batch.max_ts, "producer_id": self.producer_id,
                  "epoch": self.epoch, "base_seq": seq, "txn": self._txn}
        base, dup = log.append_batch(*args, **kwargs)
        if cluster.trace.enabled:
            cluster.emit("produce", producer=self.name, topic=tp[0], partition=tp[1], base=base, count=len(batch),
                         pid=self.producer_id, seq=seq, txn=self._txn is not None, bytes=batch.bytes,
                         digest=batch.digest())
        else:
            cluster.bump()
        if cluster.lost_acks and (None in cluster.lost_acks or tp[0] in cluster.lost_acks):
            cluster.lost_acks.remove(None if None in cluster.lost_acks else tp[0])
            cluster.emit("fault_ack_lost", producer=self.name, topic=tp[0], partition=tp[1], base=base)
            # The producer never heard back, so it sends the same batch again.
            base, dup = log.append_batch(*args, **kwargs)
            cluster.emit("produce_retry", producer=self.name, topic=tp[0], partition=tp[1], base=base,
                         count=len(batch), deduplicated=dup)
        if self.idempotent:
            self._seq[tp] = seq + len(batch)
        if rep is not None:
            cluster.replication.after_append(rep, self.config.acks, now)  # acks=all: raises if not replicated
        return base

    def _report(self, tps, order, callbacks, bases, errors, metadata=None) -> None:
        """Run the delivery callbacks, in produce order: (error, metadata without offset) or (None, metadata)."""
        if callbacks is None:
            return
        if metadata is None:
            metadata = metadata_for(tps, [None] * len(tps), order)
        for index, callback in sorted(callbacks.items()):
            callback(errors[order[index]] if errors is not None else None, metadata[index])

    # ---------------------------------------------------------------- transactions
    def _check_fenced(self) -> None:
        tid = self.config.transactional_id
        if tid:
            self._cluster.txns.check_epoch(tid, self.epoch)

    def _require_txn(self) -> Txn:
        if not self.config.transactional_id:
            raise TransactionStateError("not a transactional producer (no transactional_id)")
        if self._closed:
            raise ClientClosed(f"producer {self.name} is closed")
        self._check_fenced()
        if self._txn is None:
            raise TransactionStateError("no transaction is open [_STATE: Operation not valid in state Ready]")
        return self._txn

    def begin_transaction(self) -> None:
        if not self.config.transactional_id:
            raise TransactionStateError("not a transactional producer (no transactional_id)")
        if self._closed:
            raise ClientClosed(f"producer {self.name} is closed")
        self._cluster.check_up()
        self._txn = self._cluster.txns.begin(self.config.transactional_id, self.epoch)

    def send_offsets_to_transaction(self, offsets: Mapping[TopicPartition, int], consumer: SimConsumer) -> None:
        txn = self._require_txn()
        self._cluster.check_up(group_call=True)
        tps = {(tp.topic, tp.partition): off for tp, off in offsets.items()}
        consumer.check_can_commit(tps)
        for (topic, part), off in tps.items():
            txn.offsets[(consumer.group_id, topic, part)] = off
        self._cluster.emit("txn_offsets", transactional_id=txn.transactional_id, group=consumer.group_id,
                           offsets={f"{t}-{p}": o for (t, p), o in sorted(tps.items())})

    def commit_transaction(self) -> None:
        txn = self._require_txn()
        self.flush()
        self._cluster.txns.end(txn, commit=True)
        self._txn = None

    def abort_transaction(self) -> None:
        txn = self._require_txn()
        self._cluster.check_up()
        self._take_queue()  # unsent records of an aborted transaction are dropped
        self._cluster.txns.end(txn, commit=False, reason="aborted by producer")
        self._txn = None

    # ---------------------------------------------------------------- lifecycle
    def close(self) -> None:
        if self._closed:
            return
        if self._order and self._cluster.clock.now_ms() >= self._cluster.down_until and self._txn is None:
            self.flush()
        self._closed = True
        self._cluster.emit("producer_closed", producer=self.name)

    def crash(self) -> None:
        """Fault: queued records are lost and an open transaction stays open until it times out."""
        self._closed = True
        self._take_queue()
        self._cluster.emit("fault_crash", client=self.name, kind="producer")

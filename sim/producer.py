"""A producer: partitioning at produce(), batches per partition at flush(), idempotence, transactions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import count, repeat
from typing import TYPE_CHECKING

from services.ports import (
    ClientClosed,
    ProduceFailed,
    ProducerConfig,
    RecordMetadata,
    TopicPartition,
    TransactionStateError,
    UnknownTopic,
)

from .log import METADATA_SETTERS, Txn, consume
from .partitioner import StickyPartitioner

if TYPE_CHECKING:
    from .cluster import Cluster
    from .consumer import SimConsumer

TRANSACTION_TIMEOUT_MS = 60_000


class SimProducer:
    """Implements ``services.ports.Producer``.

    ``produce`` only queues (like librdkafka, it never talks to the broker, so it works while the
    broker is down); ``flush`` sends one batch per partition and raises BrokerUnavailable, keeping
    the queue, while the broker is down.
    """

    def __init__(self, cluster: Cluster, config: ProducerConfig | None = None, *, name: str = "") -> None:
        self.config = config or ProducerConfig()
        self.name = name or self.config.client_id
        self._cluster = cluster
        self._sticky = StickyPartitioner(cluster.rng)
        self._sticky_current = self._sticky.current
        # Records queued since the last flush, grouped per partition as they arrive (so flush does no
        # per-record grouping): _batch_tps[i] is a (topic, partition) and _batches[i] its
        # (key, value, headers, timestamp) entries; _order holds each record's batch index in produce order.
        self._slot_of: dict[tuple[str, int], int] = {}
        self._batch_tps: list[tuple[str, int]] = []
        self._batches: list[list[tuple]] = []
        self._order: list[int] = []
        self._seq: dict[tuple[str, int], int] = {}
        self._txn: Txn | None = None
        self._closed = False
        self._topics = cluster.topics  # the live dict: topics created later are seen
        self._now_ms = cluster.clock.now_ms
        tid = self.config.transactional_id
        self._transactional = bool(tid)
        self.idempotent = bool(self.config.enable_idempotence or tid)
        self.producer_id, self.epoch = -1, 0
        if tid:
            self.producer_id, self.epoch = cluster.txns.init(tid, TRANSACTION_TIMEOUT_MS)
        elif self.idempotent:
            self.producer_id = cluster.txns.allocate_pid()

    # ---------------------------------------------------------------- sending
    def produce(self, topic: str, value: bytes | None, *, key: bytes | None = None,
                headers: Sequence[tuple[str, bytes]] = (), partition: int | None = None) -> None:
        if self._closed:
            raise ClientClosed(f"producer {self.name} is closed")
        t = self._topics.get(topic)
        if t is None:
            t = self._auto_create(topic)
        if partition is None:
            if key is None:
                n = len(t.partitions)
                partition = self._sticky_current.get(topic)  # inline fast path of StickyPartitioner.partition
                if partition is None or partition >= n:
                    partition = self._sticky.partition(topic, n)
                tp = (topic, partition)
            else:
                tp = t.routes.get(key)
                if tp is None:
                    tp = t.route(key)
        elif not 0 <= partition < len(t.partitions):
            raise UnknownTopic(f"unknown partition {topic}-{partition}")
        else:
            tp = (topic, partition)
        if self._transactional and self._txn is None:
            raise TransactionStateError("a transactional producer must begin_transaction() before produce()")
        slot = self._slot_of.get(tp)
        if slot is None:
            slot = self._slot_of[tp] = len(self._batches)
            self._batch_tps.append(tp)
            self._batches.append([])
        self._batches[slot].append((key, value, headers if headers.__class__ is tuple else tuple(headers),
                                    self._now_ms()))
        self._order.append(slot)

    def _take_queue(self) -> tuple[list[tuple[str, int]], list[list[tuple]], list[int]]:
        """Hand over (and forget) what was queued: partitions, their batches, batch index per record."""
        taken = self._batch_tps, self._batches, self._order
        self._slot_of, self._batch_tps, self._batches, self._order = {}, [], [], []
        return taken

    def _auto_create(self, topic: str):
        cluster = self._cluster
        if not cluster.auto_create_topics:
            raise UnknownTopic(f"unknown topic {topic!r} (auto.create.topics.enable=false)")
        return cluster.create_topic(topic, cluster.default_partitions, exist_ok=True)

    def flush(self, timeout: float = 10.0) -> list[RecordMetadata]:
        if self._closed:
            raise ClientClosed(f"producer {self.name} is closed")
        if not self._order:
            return []
        cluster = self._cluster
        # A failed flush drops what it could not deliver, as the confluent-kafka adapter does (it purges on
        # timeout): the caller still holds the records and produces them again, so nothing is sent twice.
        tps, batches, order = self._take_queue()
        cluster.check_up()
        self._check_fenced()
        for (topic, _), entries in zip(tps, batches, strict=True):
            if topic not in cluster.topics:
                raise ProduceFailed(f"topic {topic!r} was deleted", retriable=False)
            if cluster.topics[topic].compacted and any(e[0] is None for e in entries):
                raise ProduceFailed(f"compacted topic {topic!r} rejects records without a key", retriable=False)
        bases = [self._send_batch(tp, entries) for tp, entries in zip(tps, batches, strict=True)]
        self._sticky.batch_done()
        return _metadata(tps, bases, order)

    def _send_batch(self, tp: tuple[str, int], entries: list) -> int:
        cluster = self._cluster
        log = cluster.log(*tp)
        seq = self._seq.get(tp, 0) if self.idempotent else -1
        if self._txn is not None:
            cluster.txns.add_partition(self._txn, log)
        now = cluster.clock.now_ms()
        base, dup = log.append_batch(entries, now, producer_id=self.producer_id, epoch=self.epoch,
                                     base_seq=seq, txn=self._txn)
        cluster.emit("produce", producer=self.name, topic=tp[0], partition=tp[1], base=base, count=len(entries),
                     pid=self.producer_id, seq=seq, txn=self._txn is not None)
        if cluster.lost_acks and (None in cluster.lost_acks or tp[0] in cluster.lost_acks):
            cluster.lost_acks.remove(None if None in cluster.lost_acks else tp[0])
            cluster.emit("fault_ack_lost", producer=self.name, topic=tp[0], partition=tp[1], base=base)
            # The producer never heard back, so it sends the same batch again.
            base, dup = log.append_batch(entries, now, producer_id=self.producer_id, epoch=self.epoch,
                                         base_seq=seq, txn=self._txn)
            cluster.emit("produce_retry", producer=self.name, topic=tp[0], partition=tp[1], base=base,
                         count=len(entries), deduplicated=dup)
        if self.idempotent:
            self._seq[tp] = seq + len(entries)
        return base

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
            raise TransactionStateError("no transaction is open")
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


def _metadata(tps: list[tuple[str, int]], bases: list[int], order: list[int]) -> list[RecordMetadata]:
    """RecordMetadata in produce order (offsets run on from each partition's base), built with C-level
    ``map`` passes instead of a Python loop per record: this is on the hot path of every flush."""
    n = len(order)
    out = list(map(object.__new__, repeat(RecordMetadata, n)))
    s_topic, s_part, s_off = METADATA_SETTERS
    if len(tps) == 1:
        (topic, partition), = tps
        consume(map(s_topic, out, repeat(topic, n)))
        consume(map(s_part, out, repeat(partition, n)))
        consume(map(s_off, out, range(bases[0], bases[0] + n)))
        return out
    topics = [tp[0] for tp in tps]
    partitions = [tp[1] for tp in tps]
    counters = [count(base) for base in bases]
    one_topic = topics.count(topics[0]) == len(topics)
    consume(map(s_topic, out, repeat(topics[0], n) if one_topic else map(topics.__getitem__, order)))
    consume(map(s_part, out, map(partitions.__getitem__, order)))
    consume(map(s_off, out, map(next, map(counters.__getitem__, order))))
    return out

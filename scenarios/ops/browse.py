"""Browsing topics through the broker port: every record of the topics, read incrementally.

``TopicTail`` keeps one consumer on manual assignment (no group join, no commit), so a refresh costs
one metadata round and the records that arrived since the last one, in either world. The simulator
hands out records at once; a real broker is polled until the end offsets seen at the start of the
refresh are reached, or the caller's patience is over.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from services.ports import Broker, BrokerError, ConsumerConfig, Record, TopicPartition
from services.registry import RegistryError

MAX_PER_PARTITION = 20_000  # a browser, not an archive: the oldest records beyond this are let go
AVRO_MAGIC = b"\x00"


@dataclass(frozen=True, slots=True)
class PartitionOffsets:
    topic: str
    partition: int
    begin: int  # log start offset
    end: int  # high watermark


class TopicTail:
    """The records of every topic ``wanted`` accepts, refreshed on demand."""

    def __init__(self, broker: Broker, group: str, wanted: Callable[[str], bool] = lambda _t: True) -> None:
        self._broker = broker
        self._group = group
        self._wanted = wanted
        self._admin: Any = None
        self._consumer: Any = None
        self._assigned: tuple[TopicPartition, ...] = ()
        self.records: dict[TopicPartition, list[Record]] = {}
        self.offsets: dict[TopicPartition, PartitionOffsets] = {}

    def refresh(self, patience: Callable[[], bool], poll_timeout_s: float = 0.2) -> None:
        """Read what arrived since the last refresh; BrokerError when the broker cannot be asked."""
        if self._admin is None:
            self._admin = self._broker.admin()
        names = sorted(t for t in self._admin.list_topics() if self._wanted(t))
        begins = self._admin.beginning_offsets(names) if names else {}
        ends = self._admin.end_offsets(names) if names else {}
        self.offsets = {tp: PartitionOffsets(tp.topic, tp.partition, begins.get(tp, 0), end)
                        for tp, end in sorted(ends.items())}
        for tp in list(self.records):
            if tp not in self.offsets:  # the topic was deleted
                del self.records[tp]
        for tp, off in self.offsets.items():
            kept = self.records.setdefault(tp, [])
            if kept and kept[0].offset < off.begin:  # retention or delete_records moved the start
                self.records[tp] = [r for r in kept if r.offset >= off.begin]
        todo = {tp: off.end for tp, off in self.offsets.items() if off.end > self._next(tp)}
        if not todo:
            return
        consumer = self._consumer_for(tuple(self.offsets))
        while todo and patience():
            try:
                for r in consumer.poll(1000, timeout=poll_timeout_s):
                    self._keep(r)
                for tp in list(todo):
                    pos = consumer.position(tp)
                    if self._next(tp) >= todo[tp] or (pos is not None and pos >= todo[tp]):
                        del todo[tp]
            except BrokerError:
                continue  # a leader moving, a partition just made: ask again

    def _next(self, tp: TopicPartition) -> int:
        kept = self.records.get(tp)
        return kept[-1].offset + 1 if kept else self.offsets[tp].begin if tp in self.offsets else 0

    def _keep(self, r: Record) -> None:
        kept = self.records.setdefault(r.tp, [])
        if kept and r.offset <= kept[-1].offset:
            return  # read again after a re-assignment
        kept.append(r)
        if len(kept) > MAX_PER_PARTITION:
            del kept[: len(kept) - MAX_PER_PARTITION]

    def _consumer_for(self, partitions: tuple[TopicPartition, ...]) -> Any:
        """One consumer for every partition; a new one when partitions appear (e.g. a first DLQ topic)."""
        if partitions != self._assigned:
            self.close()
            self._consumer = self._broker.consumer(ConsumerConfig(
                group_id=self._group, client_id="kafkalab-console", isolation_level="read_uncommitted"))
            self._consumer.assign(list(partitions))
            for tp in partitions:
                if self.records.get(tp):
                    with contextlib.suppress(BrokerError):  # else from the start again; _keep drops repeats
                        self._consumer.seek(tp, self._next(tp))
            self._assigned = partitions
        return self._consumer

    def all_records(self) -> list[Record]:
        return [r for tp in sorted(self.records) for r in self.records[tp]]

    def close(self) -> None:
        if self._consumer is not None:
            with contextlib.suppress(BrokerError):
                self._consumer.close()
            self._consumer = None
            self._assigned = ()


def decode_value(value: bytes | None, reader: Any = None) -> tuple[str, Any]:
    """(format, value as a person reads it): JSON as an object, Avro through ``reader`` (a registry's
    ``WireReader``: the record its schema id names), else text.

    An Avro value ``reader`` cannot read (no reader, an id the registry does not know, no registry
    answering) is its schema id, size and leading bytes in hex, with a note saying why.
    """
    if value is None:
        return "null", None
    if value[:1] == AVRO_MAGIC and len(value) >= 5:
        schema_id = int.from_bytes(value[1:5], "big")
        note = "no schema registry to ask: shown as hex"
        if reader is not None:
            try:
                return "avro", {"schemaId": schema_id, "value": plain(reader.read(value))}
            except RegistryError as exc:
                note = f"{exc}: shown as hex"
        return "avro", {"schemaId": schema_id, "bytes": len(value), "hex": value[5:69].hex(), "note": note}
    try:
        return "json", json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return "text", value.decode("utf-8", "replace")


def plain(value: Any) -> Any:
    """A decoded Avro value as JSON can carry it: bytes as hex, anything unusual as its text."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)  # a decimal, a date, a uuid: as Avro's logical types print them


def header_text(r: Record, name: str) -> str | None:
    v = r.header(name)
    return None if v is None else v.decode("utf-8", "replace")

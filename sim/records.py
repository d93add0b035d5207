"""Records built from a log's columns, and RecordMetadata built for a flush: the simulator's hot paths."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from itertools import count, repeat

from services.ports import LogAppendTimeRecord, Record, RecordMetadata

CREATE_TIME, LOG_APPEND_TIME = "CreateTime", "LogAppendTime"
RECORD_CLASSES = {CREATE_TIME: Record, LOG_APPEND_TIME: LogAppendTimeRecord}


def _slot_setters(cls: type, names: tuple[str, ...]) -> tuple:
    return tuple(cls.__dict__[name].__set__ for name in names)


RECORD_SETTERS = _slot_setters(Record, ("topic", "partition", "offset", "key", "value", "headers", "timestamp"))
METADATA_SETTERS = _slot_setters(RecordMetadata, ("topic", "partition", "offset"))


consume = deque(maxlen=0).extend  # runs an iterator to its end in C, keeping nothing


def make_records(topic: str, partition: int, offsets, keys, values, headers, timestamps, ts_types) -> list[Record]:
    """Build real frozen ``Record``s from parallel columns (``offsets`` may be a range, ``ts_types`` None
    when every record is CreateTime).

    The hot path of every fetch: one C-level ``map`` pass per field over the slot setters is about twice
    as fast as a Python loop over the same setters, and four times the dataclass ``__init__`` (which
    calls object.__setattr__ per field).
    """
    n = len(keys)
    classes = repeat(Record, n) if ts_types is None else map(RECORD_CLASSES.__getitem__, ts_types)
    out = list(map(object.__new__, classes))
    s_topic, s_part, s_off, s_key, s_value, s_headers, s_ts = RECORD_SETTERS
    consume(map(s_topic, out, repeat(topic, n)))
    consume(map(s_part, out, repeat(partition, n)))
    consume(map(s_off, out, offsets))
    consume(map(s_key, out, keys))
    consume(map(s_value, out, values))
    consume(map(s_headers, out, headers))
    consume(map(s_ts, out, timestamps))
    return out




def metadata_for(tps: list[tuple[str, int]], bases: list[int | None], order: list[int]) -> list[RecordMetadata]:
    """RecordMetadata in produce order (offsets run on from each partition's base; None where the base is
    None: not written, or acks=0), built with C-level ``map`` passes instead of a Python loop per record:
    this is on the hot path of every flush."""
    n = len(order)
    out = list(map(object.__new__, repeat(RecordMetadata, n)))
    s_topic, s_part, s_off = METADATA_SETTERS
    if len(tps) == 1:
        (topic, partition), = tps
        base = bases[0]
        consume(map(s_topic, out, repeat(topic, n)))
        consume(map(s_part, out, repeat(partition, n)))
        consume(map(s_off, out, repeat(None, n) if base is None else range(base, base + n)))
        return out
    topics = [tp[0] for tp in tps]
    partitions = [tp[1] for tp in tps]
    counters = [repeat(None) if base is None else count(base) for base in bases]
    one_topic = topics.count(topics[0]) == len(topics)
    consume(map(s_topic, out, repeat(topics[0], n) if one_topic else map(topics.__getitem__, order)))
    consume(map(s_part, out, map(partitions.__getitem__, order)))
    consume(map(s_off, out, map(next, map(counters.__getitem__, order))))
    return out


class FlushedMetadata(Sequence):
    """What flush() returns: RecordMetadata in produce order, built the first time it is looked at.

    Building a RecordMetadata per record is most of a flush's cost, and the services never look (they
    need only to know the flush succeeded), so the list is made on demand. It compares equal to a list
    of the same metadata.
    """

    __slots__ = ("_args", "_items")

    def __init__(self, tps: list[tuple[str, int]], bases: list[int | None], order: list[int]) -> None:
        self._args: tuple | None = (tps, bases, order)
        self._items: list[RecordMetadata] | None = None

    def _list(self) -> list[RecordMetadata]:
        if self._items is None:
            self._items, self._args = metadata_for(*self._args), None
        return self._items

    def __len__(self) -> int:
        return len(self._args[2]) if self._items is None else len(self._items)

    def __getitem__(self, index):
        return self._list()[index]

    def __iter__(self):
        return iter(self._list())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, list | tuple | FlushedMetadata):
            return self._list() == list(other)
        return NotImplemented

    __hash__ = None  # a mutable-looking sequence, like list

    def __repr__(self) -> str:
        return repr(self._list())

"""Key -> partition exactly as Kafka's Java clients do it, and librdkafka's sticky choice for keyless records."""

from __future__ import annotations

import random

_M = 0x5BD1E995
_SEED = 0x9747B28C
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's ``Utils.murmur2``: the 32-bit hash as an unsigned int (Java's int, reinterpreted)."""
    length = len(data)
    h = (_SEED ^ length) & _MASK
    blocks = length // 4
    for i in range(blocks):
        k = int.from_bytes(data[4 * i : 4 * i + 4], "little")
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = length & 3
    base = blocks * 4
    if tail == 3:
        h ^= data[base + 2] << 16
    if tail >= 2:
        h ^= data[base + 1] << 8
    if tail >= 1:
        h ^= data[base]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h


PARTITION_CACHE: dict[tuple[bytes, int], int] = {}
_CACHE_LIMIT = 65_536


def partition_for_key(key: bytes, num_partitions: int) -> int:
    """``toPositive(murmur2(key)) % n``; memoised because services reuse a small set of keys."""
    found = PARTITION_CACHE.get((key, num_partitions))
    if found is None:
        found = (murmur2(key) & 0x7FFFFFFF) % num_partitions
        if len(PARTITION_CACHE) >= _CACHE_LIMIT:
            PARTITION_CACHE.clear()
        PARTITION_CACHE[(key, num_partitions)] = found
    return found


class StickyPartitioner:
    """Keyless records stick to one seeded-random partition per topic for ``sticky.partitioning.linger.ms``
    of (virtual) time, then a new random partition is drawn (it may be the same one), as librdkafka does;
    with 0 every keyless record draws."""

    def __init__(self, rng: random.Random, linger_ms: int) -> None:
        self._rng = rng
        self.linger_ms = linger_ms
        # topic name -> ((topic, partition), sticks until ms, the Topic it was drawn for); read inline by producers
        self.current: dict[str, tuple[tuple[str, int], int, object]] = {}

    def partition(self, topic, now_ms: int) -> tuple[str, int]:
        """The (topic, partition) for a keyless record to ``topic`` (a cluster Topic) at ``now_ms``."""
        found = self.current.get(topic.name)
        if found is not None and now_ms < found[1] and found[2] is topic:
            return found[0]
        tp = (topic.name, self._rng.randrange(len(topic.partitions)))
        self.current[topic.name] = (tp, now_ms + self.linger_ms, topic)
        return tp

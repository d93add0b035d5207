"""Key -> partition exactly as Kafka's Java clients do it, and the sticky choice for keyless records."""

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
    """Keyless records stick to one seeded-random partition per topic until the batch is sent."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self.current: dict[str, int] = {}  # topic -> partition of the open batch (the producer reads it inline)
        self._previous: dict[str, int] = {}

    def partition(self, topic: str, num_partitions: int) -> int:
        chosen = self.current.get(topic)
        if chosen is None or chosen >= num_partitions:
            chosen = self._rng.randrange(num_partitions)
            last = self._previous.get(topic)
            if num_partitions > 1 and chosen == last:
                # Kafka moves to a different partition when a batch completes.
                chosen = (chosen + 1 + self._rng.randrange(num_partitions - 1)) % num_partitions
            self.current[topic] = chosen
        return chosen

    def batch_done(self) -> None:
        """A flush sent the batches: the next keyless record picks a new partition."""
        self._previous.update(self.current)
        self.current.clear()

"""A deterministic, in-process, virtual-time model of Kafka. Standard library only (plus the port types)."""

from .errors import ClientClosed, FencedInstance, OffsetOutOfRange, ProducerFenced, TransactionStateError
from .partitioner import murmur2, partition_for_key
from .world import World

__all__ = [
    "ClientClosed",
    "FencedInstance",
    "OffsetOutOfRange",
    "ProducerFenced",
    "TransactionStateError",
    "World",
    "murmur2",
    "partition_for_key",
]

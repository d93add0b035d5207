"""A deterministic, in-process, virtual-time model of Kafka. Standard library only (plus the port types).

    w = World(seed=7, trace=True)            # rng, virtual clock, cluster, scheduler, trace, faults
    w.create_topic("orders", 6, {"cleanup.policy": "delete"})
    w.spawn("payments", step, period_ms=10)  # step() -> work done; 0 = idle
    w.run_until_idle(); w.run_for(5_000); w.step()
    w.faults.crash(consumer); w.faults.broker_down(2_000); w.faults.lose_next_ack("orders")
    w.trace.sha256()                         # same seed + same script = same hash

Clients: ``w.producer(ProducerConfig)``, ``w.consumer(ConsumerConfig)``, ``w.admin()``; the port adapter
is ``adapters.sim_broker.SimBroker(w)``. Modules: clock, scheduler, trace, partitioner, records (Record
and metadata builders), log (one partition and its segments), batches (a produce request's batch), cleaner
(log cleaning and retention), topic_config and broker_config (what the broker accepts), client_config
(librdkafka's rules), cluster, group (coordinator), assignors, producer, transactions, fetcher, consumer,
admin, faults, world.
"""

from services.ports import (
    ClientClosed,
    FencedInstance,
    OffsetOutOfRange,
    ProducerFenced,
    TransactionStateError,
)

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

"""Mid-step process deaths, which the simulator's between-step faults cannot express.

A service step polls, handles, publishes and commits in one go, so crashing a member *between*
steps never leaves records processed but uncommitted, or events published but still in the
outbox. Those are the crashes at-least-once delivery and idempotent consumers exist for. The
``TrapBroker`` hands the services wrapped clients; arming a trap on an instance makes its process
die at one exact point of a later step:

- ``before_publish``: the batch's state changes and outbox entries are committed in the store, but
  nothing was sent; another instance of the service publishes the outbox, and the records come
  again (offsets were not committed) and must be skipped.
- ``after_publish``: the outbox was flushed to the broker but not yet marked published; the next
  instance publishes the same events a second time.
- ``before_commit``: the batch was handled and its outbox published, the offset commit never
  happens. Another member (after the session timeout) or a restarted one gets the records again.

Death is ``ProcessDied`` (a BaseException, like SystemExit: no ``except Exception`` in a service
may swallow a kill). The broker also shortens the group timeouts (real Kafka settings, the same
for every member) so a dead member's partitions move within seconds of virtual time, not 45.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from adapters.sim_broker import SimBroker
from services.ports import ConsumerConfig, ProducerConfig, RecordMetadata, TopicPartition
from sim import World

TRAP_POINTS = ("before_publish", "after_publish", "before_commit")
SESSION_TIMEOUT_MS = 10_000
MAX_POLL_INTERVAL_MS = 15_000


class ProcessDied(BaseException):
    """The instance's process was killed mid-step by an armed trap."""

    def __init__(self, instance: str, point: str) -> None:
        super().__init__(f"{instance} died at {point}")
        self.instance = instance
        self.point = point


class TrapBroker(SimBroker):
    """``SimBroker`` whose clients can be made to die at a chosen point (see module doc)."""

    def __init__(self, world: World) -> None:
        super().__init__(world)
        self.traps: dict[str, str] = {}  # instance (client id) -> trap point

    def arm(self, instance: str, point: str) -> None:
        if point not in TRAP_POINTS:
            raise ValueError(f"unknown trap point {point!r}")
        self.traps[instance] = point

    def disarm_all(self) -> None:
        self.traps.clear()

    def spring(self, instance: str, point: str) -> None:
        """If ``point`` is armed for ``instance``, raise ProcessDied (whoever catches it crashes the
        instance's clients with ``world.faults.crash``, as for any crash)."""
        if self.traps.get(instance) == point:
            del self.traps[instance]
            raise ProcessDied(instance, point)

    def producer(self, config: ProducerConfig | None = None) -> TrappedProducer:
        config = config or ProducerConfig()
        return TrappedProducer(super().producer(config), self, config.client_id)

    def consumer(self, config: ConsumerConfig) -> TrappedConsumer:
        config = replace(config, session_timeout_ms=SESSION_TIMEOUT_MS, max_poll_interval_ms=MAX_POLL_INTERVAL_MS)
        return TrappedConsumer(super().consumer(config), self, config.client_id)


class _Wrapped:
    """Delegates everything to the simulator's client except what a trap intercepts."""

    def __init__(self, inner: Any, broker: TrapBroker, instance: str) -> None:
        self._inner = inner
        self._broker = broker
        self._instance = instance

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def crash(self) -> None:
        self._inner.crash()


class TrappedConsumer(_Wrapped):
    @property
    def group_id(self) -> str:
        return self._inner.group_id

    @property
    def member_id(self) -> str:
        return self._inner.member_id

    def commit(self, offsets: Mapping[TopicPartition, int] | None = None) -> None:
        self._broker.spring(self._instance, "before_commit")
        self._inner.commit(offsets)


class TrappedProducer(_Wrapped):
    def flush(self, timeout: float = 10.0) -> list[RecordMetadata]:
        self._broker.spring(self._instance, "before_publish")  # the crash drops the queued records
        acked = self._inner.flush(timeout)
        if acked:
            self._broker.spring(self._instance, "after_publish")
        return acked
